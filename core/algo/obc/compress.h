// The Optimal Brain Compression driver: walks a model's quantizable layers in topological order and
// compresses each one's weight with OBQ, GPTQ, ExactOBS pruning or magnitude pruning (and pruning then
// quantization), from its layer Hessian on calibration data.
//
// Inputs of a layer come, by default, from the model compressed so far (`sequential`): the layers already
// done carry their new weights and, when the plan quantizes activations, the activations are
// fake-quantized as in core/quant/simulate.h — the inputs the layer will see at inference. Otherwise they
// come from the float model. Layers that consume the same value are done from the same pass. Each pass runs
// only the part of the model that computes that value.
//
// The input graph and plan are never modified: the result holds a copy of the graph whose initializers
// carry the compressed weights (on the plan's grid when quantizing, so fake quantization under the plan
// leaves them unchanged), and the plan (whose weight ranges are re-derived from the pruned weights when
// quantizing after pruning). Cancelling (progress returns false, checked between row/column blocks and
// batches) throws CancelledError.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/algo/obc/exactobs.h"
#include "core/algo/obc/gptq.h"
#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/quant/plan.h"

namespace qs::obc {

enum class QuantAlgo { None, Rtn, Obq, Gptq };
enum class PruneMethod { None, Magnitude, ExactObs };
QuantAlgo parse_quant_algo(const std::string& s);      // "none", "rtn", "obq", "gptq"
PruneMethod parse_prune_method(const std::string& s);  // "none", "magnitude", "exactobs"
const char* quant_algo_name(QuantAlgo a);
const char* prune_method_name(PruneMethod m);

struct CompressProgress {
  int64_t layer = 0, layers = 0;  // current layer (0-based) of the layers to compress
  std::string name;               // its node name
  std::string phase;              // "inputs", "prune-scan", "prune", "quantize"
  int64_t done = 0, total = 0;    // samples, rows or columns of the phase
};
using CompressProgressFn = std::function<bool(const CompressProgress&)>;

struct CompressOptions {
  QuantAlgo quant = QuantAlgo::Obq;  // None: no quantization (pruning only)
  PruneMethod prune = PruneMethod::None;
  PruneSpec prune_spec;
  bool sequential = true;
  double damp = 0.01;
  int obs_block = 0;                     // OBQ/ExactOBS lazy-update block (0: automatic)
  GptqOptions gptq;                      // its damp is replaced by `damp`
  std::string weight_method = "minmax";  // weight range re-derived after pruning (quantize after prune)
  // OBQ and GPTQ minimize the damped loss greedily and can, rarely (seen on 9-column depthwise rows),
  // end above round-to-nearest on the undamped loss. Rows are independent in the layer loss, so each
  // output channel keeps whichever of the two is lower (counted in LayerReport::rows_rtn). Not used when
  // pruning (it would change the sparsity) nor with GPTQ groups (another grid).
  bool rtn_guard = true;
  int64_t calib_count = 256;  // calibration samples (the first N)
  int64_t batch = 32;
  CompressProgressFn progress;
};

struct LayerReport {
  std::string layer, op_type, weight;
  int64_t rows = 0, cols = 0, groups = 1;
  int64_t samples = 0;  // Hessian columns N
  bool compressed = false;
  bool pruned = false;  // pruning applied to this layer (N:M needs input channels divisible by M)
  std::string note;     // why a layer was left alone
  // Losses ‖WX − ŴX‖²/N (summed over output channels) on the layer's calibration inputs X:
  double signal = 0;          // ‖WX‖²/N, for scale
  double loss_before = 0;     // baseline on the same inputs: round-to-nearest on the same grid (quantizing),
                              // magnitude pruning to the same sparsity/pattern (pruning), both (both)
  double loss_after = 0;      // the chosen method
  double sparsity = 0;        // fraction of zero weights after
  double seconds_inputs = 0;  // forward passes and Hessian (shared by the layers of one pass)
  double seconds_solve = 0;
  int64_t breakdowns = 0;  // OBS steps with a non-positive pivot in float (fixed without compensation)
  int64_t rows_rtn = 0;    // output channels where round-to-nearest was kept (rtn_guard)
};

struct CompressResult {
  Graph graph;
  QuantPlan plan;
  std::vector<LayerReport> layers;
  double seconds = 0;
};

// Throws Error for bad options or data, UnsupportedError for a model the runtime cannot run,
// CancelledError when cancelled.
CompressResult compress_model(const Graph& g, Dataset& data, const QuantPlan& plan, const CompressOptions& o);

}  // namespace qs::obc
