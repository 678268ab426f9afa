// Where a model is quantized: the weight tensors and the activation values at the points the integer
// engine needs. The rules (stated once, here):
//
// - Layers: Conv, ConvTranspose, Gemm with a constant weight and MatMul with one constant operand have a
//   quantized weight, per output channel by default: Conv axis 0 ([Cout, Cin/g, k...]); ConvTranspose
//   axis 1 ([Cin, Cout/g, k...]); Gemm axis 0 when transB=1 ([N, K]) else 1 ([K, N]); MatMul: the
//   weight's last axis when it is the right operand ([..., K, N]), its second-to-last when it is the left
//   one. Biases are not plan entries: they are quantized to int32 with scale s_in · s_w[c].
// - Activation points: every float graph input consumed by an integer op; the output of every layer and of
//   every requantizing op (Add, Sub, Mul, Concat, AveragePool, GlobalAveragePool and a ReduceMean that is
//   one (is_global_reduce_mean), and Relu/Clip/
//   LeakyRelu/PRelu when not fused); but when a layer's only consumer is a Relu or a Clip with constant
//   bounds, the activation is fused (a clamp in the integer engine) and the point moves to its output.
// - Data movement keeps the scale and zero point of its input, so it adds no point: Reshape, Flatten,
//   Transpose, Squeeze, Unsqueeze, MaxPool, GlobalMaxPool, Identity, Dropout, Slice, Split, Gather (data),
//   Pad, Resize (nearest), Expand, Tile, DepthToSpace, SpaceToDepth.
// - Every other op computing on floats is a float island (Softmax, LayerNormalization, Sigmoid, Tanh, Erf,
//   Div, Pow, Sqrt, Exp, HardSwish, ReduceMean, BatchNormalization left unfused, Resize linear, ...): its
//   inputs are dequantized, and its outputs are activation points when an integer op consumes them.
// - Only float32 values are considered; shape arithmetic on int64 is never quantized.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/graph/graph.h"

namespace qs {

struct WeightPoint {
  std::string tensor;  // initializer name
  std::string layer;   // node name
  std::string op_type;
  int axis = 0;        // output-channel axis of the weight
  std::string bias;    // bias initializer name, "" when none
  std::string input;   // the layer's activation input value
  std::string output;  // the layer's output value (before any fused activation)
};

struct ActivationPoint {
  std::string tensor;    // value name
  std::string producer;  // node name, "" for a graph input
  std::string op_type;   // producing op type, or "input"
  bool fused_activation = false;  // the point follows a layer with its Relu/Clip fused
};

struct QuantPoints {
  std::vector<WeightPoint> weights;          // in topological order
  std::vector<ActivationPoint> activations;  // in topological order
  // Node names of ops with no integer form at all. The integer engine's full list (also ops whose operands
  // rule the integer form out, e.g. a Concat with a constant input) is lower()'s: lower_all_points() in
  // core/int.
  std::vector<std::string> float_islands;
  // For every float value reachable by data movement from a point: the point whose parameters it carries
  // (e.g. the Flatten output maps to the Relu output before it). Points map to themselves.
  std::map<std::string, std::string> carrier;
};

// The number of bias values a layer whose weight has `weight_channels` quantization scales (1: per tensor)
// needs for its bias to be quantized with them: one per output channel. A grouped ConvTranspose's scales
// run along W's axis 1 (Cout / group of them) and repeat for each group: bias value c takes scale
// c mod weight_channels, which for every other layer is c itself.
int64_t bias_channels(const Node& layer, int64_t weight_channels, int64_t bias_numel);

enum class OpRole { Layer, Requantize, Movement, FloatIsland, Shape };
OpRole op_role(const Graph& g, const Node& n);
// A ReduceMean over every axis after the first two of an input of known rank (torch's x.mean((2, 3))): a
// GlobalAveragePool (keepdims = 1) or one followed by a flatten (keepdims = 0), so it requantizes as one.
bool is_global_reduce_mean(const Graph& g, const Node& n);

// `types` gives the element type of every value (from a dry run; see value_types in executor.h).
QuantPoints find_quant_points(const Graph& g, const std::map<std::string, DType>& types);

}  // namespace qs
