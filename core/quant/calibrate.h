// Calibration: from a model and unlabeled data to a quantization plan (ranges, scales, zero points for
// every weight and activation point), streamed over batches with bounded memory.
#pragma once

#include <functional>
#include <string>

#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/quant/observer.h"
#include "core/quant/plan.h"
#include "core/quant/quant_points.h"

namespace qs {

struct CalibrationOptions {
  int weight_bits = 8;           // 2..8; 32 keeps weights in float (entries present, quantize = false)
  int act_bits = 8;              // 4..8 or 16; 32 keeps activations in float
  bool per_channel = true;       // weights per output channel (else per tensor)
  bool act_signed = true;        // int8 activations (TFLite); false: uint8 (ONNX Runtime's default)
  std::string act_method = "minmax";     // minmax | ema | percentile | mse | kl
  std::string weight_method = "minmax";  // minmax | mse
  ObserverOptions observer;
  int64_t calib_count = 256;     // samples used (the first N of the data set)
  int64_t batch = 32;
  ProgressFn progress;           // (samples done, total); false cancels (CancelledError)
};

// The QuantSpec each kind of tensor gets under `o` (weights symmetric signed narrow range per the TFLite
// spec; activations asymmetric, int16 activations symmetric as TFLite's 16x8 mode).
QuantSpec weight_spec(const CalibrationOptions& o, int axis);
QuantSpec activation_spec(const CalibrationOptions& o);
// The plan entry of a point (tensor, kind, layer, op type and `spec`); its range and params are the caller's.
PlanEntry plan_entry(const WeightPoint& w, const QuantSpec& spec);
PlanEntry plan_entry(const ActivationPoint& a, const QuantSpec& spec);

// Finds the quantization points (with a dry run on one zero sample for element types), given the shape of
// one sample of the model's only input,
QuantPoints quant_points_for(const Graph& g, const Shape& sample_shape);
// or of each of its inputs, by name (every input needs one).
QuantPoints quant_points_for(const Graph& g, const std::map<std::string, Shape>& sample_shapes);
// or of the inputs a dataset feeds (its own to the first input, its attached ones by name).
QuantPoints quant_points_for(const Graph& g, const Dataset& data);

// Builds the plan. Activation ranges are observed on the float model. Throws Error for bad options.
QuantPlan calibrate(const Graph& g, Dataset& data, const CalibrationOptions& o);

}  // namespace qs
