// LayerProbe: the float data of one plan entry, cached so that a changed clip range or bit-width can be
// re-simulated for that entry alone in milliseconds (the histogram's draggable markers).
//
// What is cached, and what evaluate() computes, is exactly analyze()'s "isolated" figure
// (core/quant/analysis.h) on the same samples:
//   activation: the float values of the tensor over the first `samples` calibration samples;
//               isolated error = FQ(x) vs x.
//   weight:     the layer's float inputs and float output over those samples; isolated error = the layer
//               alone, run with the fake-quantized weight on its float inputs, vs its float output.
// Memory is bounded by ProbeOptions::max_elements: fewer samples are kept when one sample is large (the
// count used is reported, and figures are then over fewer samples than analyze's).
//
// Thread safety: build() runs on a worker; evaluate() is const and may run on any thread, concurrently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/quant/analysis.h"
#include "core/quant/histogram.h"
#include "core/quant/plan.h"
#include "core/quant/quant_points.h"

namespace qs::ui {

struct ProbeOptions {
  int64_t samples = 256;           // samples read (the first N of the data set), as analyze's count
  int64_t max_elements = 1 << 22;  // cap on cached floats (16 MiB); fewer samples when exceeded
  int64_t batch = 32;
  int histogram_bins = 256;  // activations; weights use fewer when they are small
  ProgressFn progress;
};

// The figures for one candidate quantization of the entry.
struct ProbeResult {
  ErrorStats isolated;                 // count 0 when the probe has no data (weights without samples)
  double clipped_fraction = 0;         // share of float values beyond the representable range
  float clip_lo = 0, clip_hi = 0;      // representable range (per channel: the widest), ± half a step
  std::vector<float> grid;             // quantization levels (per-tensor entries; empty per channel)
  std::vector<ChannelStats> channels;  // per-channel weights
};

class LayerProbe {
 public:
  // `data` may be null for a weight: then only weight-domain figures (channels, clipping) are available.
  // Throws Error when the entry does not belong to the model, CancelledError when progress says stop.
  static std::unique_ptr<LayerProbe> build(const Graph& g, const QuantPoints& points, const PlanEntry& entry,
                                           Dataset* data, const ProbeOptions& options);

  const std::string& tensor() const { return tensor_; }
  TensorKind kind() const { return kind_; }
  int64_t samples() const { return samples_; }
  bool hasData() const { return samples_ > 0; }
  // Float values: the activation over the cached samples, or the weight tensor.
  const Histogram& histogram() const { return hist_; }
  float min() const { return min_; }
  float max() const { return max_; }

  // Re-simulates the entry with `e`'s quantize flag, spec and params (lo/hi are not read; make params
  // with params_from_range). Thread-safe.
  ProbeResult evaluate(const PlanEntry& e) const;

 private:
  LayerProbe() = default;
  std::string tensor_;
  TensorKind kind_ = TensorKind::Activation;
  int64_t samples_ = 0;
  Histogram hist_{256};
  float min_ = 0, max_ = 0;
  // Activation: the values, one tensor per batch. Weight: the layer's float inputs per batch (by name)
  // and its float output.
  std::vector<Tensor> values_;
  std::vector<std::map<std::string, Tensor>> inputs_;
  Graph layer_;    // the layer alone (weight probes)
  Tensor weight_;  // the float weight
  std::string weight_name_, output_name_;
};

// Orders plan entries along the network: by the topological index of the node they belong to (a weight's
// layer, an activation's producer; graph inputs first), weights before activations at the same node.
// Returns indices into plan.entries.
std::vector<size_t> network_order(const Graph& g, const QuantPlan& plan);

}  // namespace qs::ui
