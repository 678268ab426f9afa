// Per-tensor analysis of a plan: the data behind the app's histograms and collapse view, and
// `quantscope-cli analyze`.
//
// Error figures compare a quantized value y with the float value x over all calibration samples:
//   SQNR = 10·log10(Σx² / Σ(x−y)²) dB, MSE = Σ(x−y)²/n, cosine = Σxy / √(Σx²·Σy²), accumulated in double.
// The value compared ("observed") is the tensor itself for an activation, and the layer's output (before
// any fused activation) for a weight.
//   isolated:   only this entry quantized. Activation: FQ(x) vs x on the float model. Weight: the layer
//               alone, run on its float input with the fake-quantized weight, vs its float output.
//   cumulative: the whole plan applied (simulation), vs the float model.
#pragma once

#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/quant/plan.h"

namespace qs {

struct ErrorStats {
  double sqnr_db = 0;  // +inf when identical
  double mse = 0;
  double cosine = 1;
  int64_t count = 0;
};

// Accumulates x (float) and y (quantized) batch by batch into the figures above; pairs that are not float32
// tensors of equal size are ignored.
struct ErrorAccumulator {
  double sx2 = 0, sy2 = 0, sxy = 0, sd2 = 0;
  int64_t n = 0;
  void add(const Tensor& x, const Tensor& y);
  ErrorStats stats() const;
};

struct ChannelStats {
  float min = 0, max = 0;  // float values of the channel
  float scale = 0;
  int32_t zero_point = 0;
  double sqnr_db = 0;      // of the channel's weights alone
  double zero_fraction = 0;  // share of the channel's weights that quantize to the zero point
};

struct TensorReport {
  std::string tensor;
  TensorKind kind = TensorKind::Activation;
  std::string layer, op_type;
  std::string observed;  // value the error figures are about
  bool quantized = true;
  int bits = 8;
  std::string method;
  float float_min = 0, float_max = 0;  // seen
  float clip_lo = 0, clip_hi = 0;      // representable range (per tensor; per channel: the widest)
  double clipped_fraction = 0;         // share of values beyond the representable range (+ half a step)
  double hist_lo = 0, hist_hi = 0;     // histogram of the float values
  std::vector<uint64_t> hist;
  std::vector<float> grid;             // quantization levels (per-tensor entries)
  std::vector<ChannelStats> channels;  // per-channel weights
  ErrorStats isolated, cumulative;
};

struct AnalysisReport {
  std::string model, plan;
  int64_t samples = 0;
  double seconds = 0;
  std::vector<TensorReport> tensors;  // plan order (weights, then activations, each topological)
  // Model output (the first graph output): quantized vs float.
  ErrorStats output;
  double top1_agreement = 0;
  std::vector<std::string> float_islands;
};

struct AnalysisOptions {
  int64_t count = 256;
  int64_t batch = 32;
  int histogram_bins = 256;
  ProgressFn progress;
};

AnalysisReport analyze(const Graph& g, const QuantPlan& plan, Dataset& data, const AnalysisOptions& o = {});
std::string report_to_json(const AnalysisReport& r);
void save_report(const AnalysisReport& r, const std::string& path);  // atomic

}  // namespace qs
