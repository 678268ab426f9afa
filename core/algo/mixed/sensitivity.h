// Sensitivity of a model to each tensor's bit-width: the table the mixed-precision ILP minimizes over.
//
// sensitivity(t, b) = Σ_k w_k · NMSE_k(t, b), with only tensor t fake-quantized at b bits (every other
// weight and activation in float), where k runs over the observed tensors (the model output, and
// activation values when weights are given for them, e.g. their LFH — DESIGN.md §5), and
//   NMSE_k = Σ (z_k^quant − z_k^float)² / Σ (z_k^float)²   over the calibration samples (double sums).
// The normalization makes tensors of different scales comparable, so the weights w_k alone say how much
// each one matters. With output_kl, a graph output's term is instead its mean softmax KL divergence. A weight
// t is quantized as the plan quantizes it (spec, range method re-run at b bits); an activation t with the
// plan's calibrated range at b bits.
//
// Speed: the float model runs once per batch and every value that a later run needs is kept (the cut
// below, and the float observed tensors); then for each (t, b) only the nodes downstream of t run, fed
// with those values. Samples are processed in chunks so the kept values stay under `cache_bytes`.
// The (t, b) runs are independent and are spread over the threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/quant/plan.h"
#include "core/quant/quant_points.h"

namespace qs {

struct LfhResult;

struct SensitivityOptions {
  std::vector<int> weight_bits = {2, 3, 4, 5, 6, 8};  // candidates for every weight (2..8)
  std::vector<int> act_bits;  // candidates for every activation point (4..8, 16); empty: not measured
  // Bits to measure for particular tensors instead of the lists above (e.g. a pinned width); 32 = float
  // (sensitivity 0, not run).
  std::map<std::string, std::vector<int>> bits_for;
  // w_k per observed tensor (graph outputs or activation values, by name). Empty: every graph output
  // with weight 1. Tensors with weight 0 are not observed.
  std::map<std::string, double> observe;
  // Graph outputs compared as class distributions rather than by NMSE: the mean over samples (and positions
  // after axis 1) of KL(softmax(z^float) ‖ softmax(z^quant)) along axis 1 — what a classifier's decision
  // depends on, while logit NMSE also counts shifts and scalings that change no prediction. Still label-free.
  bool output_kl = false;
  int64_t samples = 64;  // calibration samples (the first ones of the dataset)
  int64_t batch = 32;
  int64_t cache_bytes = int64_t{1} << 30;  // bound on the float values kept at once
  ProgressFn progress;                     // (runs done, total runs); false cancels (CancelledError)
};

struct SensitivityRow {
  std::string tensor;
  TensorKind kind = TensorKind::Weight;
  std::string layer;
  std::vector<int> bits;     // the widths measured (ascending)
  std::vector<double> loss;  // sensitivity per width
  // Per width: NMSE of each observed tensor downstream (for inspection; unweighted).
  std::vector<std::map<std::string, double>> nmse;
  double loss_at(int b) const;  // throws Error when b was not measured
};

struct SensitivityTable {
  std::vector<SensitivityRow> rows;       // weights in plan order, then activations (when measured)
  std::map<std::string, double> observe;  // the weights used
  bool output_kl = false;                 // graph outputs measured by softmax KL (SensitivityOptions)
  int64_t samples = 0;
  int64_t runs = 0;       // (tensor, bits) pairs run
  int64_t nodes_run = 0;  // nodes evaluated per sample over all runs (vs runs × nodes of the model)
  int64_t model_nodes = 0;
  double seconds = 0;        // wall time of compute_sensitivity
  double float_seconds = 0;  // the float passes (one forward over the samples)
  const SensitivityRow* find(const std::string& tensor) const;
};

// Throws Error for bad options (bits outside the allowed widths, an observed name the model lacks, an
// empty dataset), CancelledError when progress returns false.
SensitivityTable compute_sensitivity(const Graph& g, Dataset& data, const QuantPlan& plan,
                                     const QuantPoints& points, const SensitivityOptions& o);

// The joint distortion of a whole plan: every entry applied at once (the fake-quant simulation), measured
// as compute_sensitivity measures a single tensor — the first table.samples samples of `data`, the table's
// observed tensors, weights and metric. The ILP adds single-tensor sensitivities; this measures the sum.
double measure_distortion(const Graph& g, Dataset& data, const QuantPlan& plan, const QuantPoints& points,
                          const SensitivityTable& table, int64_t batch);

// Observation weights from LFH (EPTQ): every activation tensor's lfh_objective_weight (1 + its
// log-normalized trace, DESIGN.md §5).
std::map<std::string, double> lfh_observe_weights(const LfhResult& lfh);

std::string sensitivity_to_json(const SensitivityTable& t);

}  // namespace qs
