// Lowering: which node of a model runs how on the integer engine under a given plan. One decision,
// shared by the integer engine (core/int/engine.h), the fake-quant simulation that models it
// (core/quant/simulate.cpp), the exporters and the float-island listings of `info` and `analyze`.
//
// A value is held as integers when it is an enabled activation point of the plan (core/quant/
// quant_points.h) produced by an integer node or a float island, or when data movement carries such a
// value (same scale and zero point). A node runs on integers when every input it computes on is held as
// integers, its result is an enabled point, and the op has an integer form:
//   Layer        Conv, ConvTranspose, Gemm (alpha = beta = 1, transA = 0, bias [N]), MatMul with a constant
//                2-D operand — int8 weights, int32 bias (scale s_in·s_w), int32 accumulation, fixed-point
//                requantization; a Relu/Clip consuming only the layer output is fused as a clamp
//   MatMulInt    MatMul of two quantized activations
//   Add, Sub     rescaled to the output (Add may fuse a Relu/Clip), Mul: product requantized
//   ConstOperand Add, Sub or Mul of a quantized value and a float constant, and Div by a constant when the
//                quotient is a point: one fixed-point multiply-add per element (requant.h, ConstAffine);
//                the constant is not quantized
//   Concat       each input requantized to the output
//   AveragePool, GlobalAveragePool  integer window sums, one requantization per divisor
//   Activation   Relu, Clip (constant bounds), LeakyRelu, PRelu (constant slope) not fused: requantized
//   Table        Sigmoid, Tanh, Erf, Exp, HardSwish, Softplus, ... (and Pow by a scalar constant) of an 8-bit
//                value whose result is a point: a lookup over the input's levels, each entry the float
//                island's own result for that level (level_table.h), so equal to the island exactly
//   Movement     Reshape, Flatten, Transpose, Squeeze, Unsqueeze, MaxPool, GlobalMaxPool, Slice, Split,
//                Gather, Pad (a constant on the grid), Resize nearest, Expand, Tile, Depth/SpaceToDepth, ...
//                on the integers themselves
//   Meta         Shape, Size: read only the shape
// Anything else that touches a quantized value is a float island: its quantized inputs are dequantized,
// it runs the float kernel, and its outputs that are enabled points are quantized. `reason` says why.
// Nodes that see no quantized value at all (the model outside the plan, shape arithmetic) are Float.
#pragma once

#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/graph/graph.h"
#include "core/quant/plan.h"
#include "core/quant/quant_points.h"

namespace qs {

enum class IntKind {
  Layer,
  MatMulInt,
  Add,
  Sub,
  Mul,
  ConstOperand,  // Add/Sub/Mul with a float constant operand (const_input), Div by one
  Concat,
  AveragePool,
  GlobalAveragePool,
  Activation,
  Table,  // an elementwise op of one 8-bit input as a table over its levels (level_table.h)
  Movement,
  Meta,
  Fused,        // a Relu/Clip folded into the node before it (no work of its own)
  FloatIsland,  // float kernel between dequantize and quantize
  Float,        // float kernel on float values only
};
const char* int_kind_name(IntKind k);
bool is_integer_kind(IntKind k);  // Layer .. Activation, Movement, Meta, Fused

struct LoweredNode {
  const Node* node = nullptr;  // points into the graph given to lower()
  IntKind kind = IntKind::Float;
  std::string reason;  // FloatIsland: why the node runs in float
  // Value holding the node's (requantized) result: the fused activation's output, else outputs[0].
  std::string result;
  const Node* fused = nullptr;  // the fused Relu/Clip
  // Relu/Clip bounds (the fused activation's, or the node's own for Activation Relu/Clip).
  float act_lo = -std::numeric_limits<float>::infinity();
  float act_hi = std::numeric_limits<float>::infinity();
  int weight_input = -1;  // Layer: index of the constant weight input
  std::string weight;     // Layer: weight initializer
  std::string bias;       // Layer: bias initializer, "" when none
  int channel_axis = 1;   // Layer: axis of the output's channels (Conv 1, Gemm 1, MatMul -1 or -2)
  int const_input = -1;   // ConstOperand: index of the constant input (the other one is quantized)
  std::vector<int32_t> table;  // Table: the output level for each input level qmin .. qmax
};

struct Lowering {
  std::vector<LoweredNode> nodes;             // one per graph node, in graph order
  std::map<std::string, QuantParams> params;  // every value held as integers

  bool integer(const std::string& value) const { return params.count(value) != 0; }
  const QuantParams* params_of(const std::string& value) const;
  const LoweredNode* find(const std::string& node_name) const;
  // Float islands, in graph order.
  std::vector<const LoweredNode*> float_islands() const;
};

struct LowerOptions {
  // false: biases stay float (SimOptions::quantize_bias = false); layers with a bias are then float islands.
  bool quantize_bias = true;
  // false: the ops that would be Tables stay FloatIsland and no table is built (level_table runs each one's
  // float kernel a few hundred times). For the simulation, which models a Table as the island it equals.
  bool tables = true;
};

// `plan` should have passed validate_plan against `g` and `points`.
Lowering lower(const Graph& g, const QuantPlan& plan, const QuantPoints& points, const LowerOptions& options = {});

// Bounds of a Relu/Clip node with constant bounds (Clip: attributes before opset 11, initializers after;
// omitted bounds are infinite). False when a bound is computed at run time.
bool activation_bounds(const Graph& g, const Node& n, float* lo, float* hi);

// "node 'x' (Softmax): no integer form" lines for listings.
std::string describe_island(const LoweredNode& n);

// The lowering with every quantization point of `points` enabled at the default specs (8-bit, weights per
// output channel): the float islands no plan avoids, which `info` lists before a plan exists. Ranges do
// not decide which nodes are islands (a Pad constant aside), so every range is [-1, 1].
Lowering lower_all_points(const Graph& g, const QuantPoints& points);

}  // namespace qs
