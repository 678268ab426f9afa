// Empirical bias correction (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization and
// Bias Correction", §4.2, the empirical variant): quantizing a layer's weights shifts the mean of its
// outputs, E[y_float − y_quant] ≠ 0 per output channel, and that shift travels through the rest of the
// network. Measured on calibration data and added to the layer's bias, it is removed at no inference cost.
//
// What is measured, per layer with quantized weights (Conv, ConvTranspose, Gemm; MatMul has no bias
// input and is reported as skipped):
//   y_float — the layer's output (pre-activation) in the float model;
//   y_quant — the same layer computed from its input in the model simulated under the plan
//             (core/quant/simulate.h: activations quantized at the plan's points, every other layer's
//             weights fake-quantized, biases on the int32 grid), with its own weights fake-quantized and its
//             bias quantized to int32 with scale s_in·s_w — i.e. the integer engine's accumulator before
//             requantization and any fused activation.
// The mean of y_float − y_quant over samples and spatial positions, per output channel, is added to the
// bias as the measurement used it, i.e. already on the int32 grid (a zero bias is created for a
// Conv/ConvTranspose/Gemm without one). The corrected bias is again
// quantized to int32 by the simulation and the engine, so the residual mean error is at most half a unit of
// s_in·s_w[c].
//
// Sequential form (default): layers are corrected in topological order, each measured with every layer
// upstream of it already corrected, so later layers also absorb the shift of earlier ones' outputs. Layers
// that do not depend on each other are corrected in the same pass over the data (one pass per level of the
// layer dependency graph, plus the float statistics taken in the first). Non-sequential form: one pass
// measures every layer in the uncorrected quantized model.
#pragma once

#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/quant/plan.h"

namespace qs {

struct BiasCorrectionOptions {
  int64_t calib_count = 256;  // samples used (the first N of the data set); <= 0: all
  int64_t batch = 32;
  bool sequential = true;
  // (samples done, total) over all passes; false cancels (CancelledError).
  ProgressFn progress;
};

struct BiasCorrectionLayer {
  std::string layer, op_type;
  std::string bias;      // the corrected bias initializer ("" when skipped)
  bool created = false;  // the layer had no bias: a zero one was added first
  std::string skipped;   // why the layer was not corrected ("" when it was)
  int pass = 0;          // the pass over the data that measured it (1-based)
  std::vector<double>
      correction;  // per output channel: E[y_float − y_quant], added to the bias (÷ beta for Gemm)
};

struct BiasCorrectionResult {
  Graph graph;                              // `weights` with corrected (and created) biases
  std::vector<BiasCorrectionLayer> layers;  // every layer with a weight entry, topological order
  int passes = 0;
  int64_t samples = 0;
  double seconds = 0;
};

// `float_graph`: the reference float model. `weights`: the model the plan applies to (the float model
// itself, or tuned weights from OBQ/GPTQ/EPTQ), with the same nodes. Layers are corrected when their weight
// entry is active, or when their weights in `weights` differ from the float model's (e.g. GPTQ with groups
// keeps such weights outside the plan). Throws Error for an empty data set or graphs that do not match.
BiasCorrectionResult correct_biases(const Graph& float_graph, const Graph& weights, Dataset& data,
                                    const QuantPlan& plan, const BiasCorrectionOptions& o = {});

}  // namespace qs
