#include "core/quant/quant_points.h"

#include <set>

#include "core/analysis/model_summary.h"

namespace qs {

namespace {

const std::set<std::string> kRequantize = {"Add", "Sub", "Mul", "Concat", "AveragePool", "GlobalAveragePool",
                                           "Relu", "Clip", "LeakyRelu", "PRelu", "MatMul", "Gemm"};
const std::set<std::string> kMovement = {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "MaxPool",
                                         "GlobalMaxPool", "Identity", "Dropout", "Slice", "Split", "Gather",
                                         "Pad", "Expand", "Tile", "DepthToSpace", "SpaceToDepth"};

int weight_axis(const Node& n, int weight_input, const Tensor& w) {
  if (n.op_type == "Conv") return 0;
  if (n.op_type == "ConvTranspose") return 1;
  if (n.op_type == "Gemm") return n.attr_int("transB", 0) ? 0 : 1;
  // MatMul: the output channels are the last axis of a right operand, the second-to-last of a left one.
  return weight_input == 1 ? static_cast<int>(w.rank()) - 1 : static_cast<int>(w.rank()) - 2;
}

bool is_fusable_activation(const Graph& g, const Node& n) {
  if (n.op_type == "Relu") return true;
  if (n.op_type != "Clip") return false;
  // Clip bounds must be constants (attributes before opset 11, initializers after).
  for (size_t i = 1; i < n.inputs.size(); ++i)
    if (n.has_input(i) && !g.is_initializer(n.inputs[i])) return false;
  return true;
}

}  // namespace

int64_t bias_channels(const Node& layer, int64_t weight_channels, int64_t bias_numel) {
  if (weight_channels == 1) return bias_numel;
  return layer.op_type == "ConvTranspose" ? weight_channels * layer.attr_int("group", 1) : weight_channels;
}

bool is_global_reduce_mean(const Graph& g, const Node& n) {
  if (n.op_type != "ReduceMean" || !n.domain.empty() || !n.has_input(0)) return false;
  // The input's rank, from the shapes import inferred.
  const ValueInfo* vi = nullptr;
  auto it = g.value_info.find(n.inputs[0]);
  if (it != g.value_info.end()) vi = &it->second;
  for (const auto& in : g.inputs)
    if (in.name == n.inputs[0]) vi = &in;
  if (!vi || !vi->shape || vi->shape->size() < 3) return false;
  const int64_t rank = static_cast<int64_t>(vi->shape->size());
  std::vector<int64_t> axes;
  if (n.has_attr("axes")) {
    axes = n.attr_ints("axes");
  } else if (n.has_input(1)) {  // opset 18: a constant input
    const Tensor* t = g.initializer(n.inputs[1]);
    if (!t || t->dtype() != DType::Int64) return false;
    axes = t->to_vector<int64_t>();
  }
  if (axes.empty()) return false;  // every axis (or, with noop_with_empty_axes, none): not per channel
  std::set<int64_t> got;
  for (int64_t a : axes) got.insert(a < 0 ? a + rank : a);
  std::set<int64_t> want;
  for (int64_t a = 2; a < rank; ++a) want.insert(a);
  return got == want;
}

OpRole op_role(const Graph& g, const Node& n) {
  if (!n.domain.empty()) return OpRole::FloatIsland;
  if (is_global_reduce_mean(g, n)) return OpRole::Requantize;
  if (is_quantizable_layer(g, n)) return OpRole::Layer;
  if (n.op_type == "Resize" || n.op_type == "Upsample")
    return n.attr_string("mode", "nearest") == "nearest" ? OpRole::Movement : OpRole::FloatIsland;
  if (kMovement.count(n.op_type)) return OpRole::Movement;
  if (kRequantize.count(n.op_type)) return OpRole::Requantize;
  return OpRole::FloatIsland;
}

QuantPoints find_quant_points(const Graph& g, const std::map<std::string, DType>& types) {
  QuantPoints qp;
  auto is_float = [&](const std::string& v) {
    auto it = types.find(v);
    return !v.empty() && it != types.end() && it->second == DType::Float32;
  };
  std::set<std::string> graph_outputs;
  for (const auto& o : g.outputs) graph_outputs.insert(o.name);
  std::set<std::string> fused_nodes;  // Relu/Clip nodes fused into the layer before them

  auto add_point = [&](const std::string& v, const Node* producer, bool fused) {
    qp.activations.push_back({v, producer ? producer->name : "", producer ? producer->op_type : "input", fused});
    qp.carrier[v] = v;
  };

  for (const auto& in : g.inputs)
    if (is_float(in.name)) add_point(in.name, nullptr, false);

  for (const Node& n : g.nodes) {
    const OpRole role = op_role(g, n);
    if (fused_nodes.count(n.name)) continue;
    bool any_float_out = false;
    for (const auto& o : n.outputs) any_float_out = any_float_out || is_float(o);
    if (!any_float_out) continue;  // shape arithmetic

    if (role == OpRole::Layer) {
      int w = 1;
      is_quantizable_layer(g, n, &w);
      const std::string& wname = n.inputs[static_cast<size_t>(w)];
      WeightPoint wp{wname, n.name, n.op_type, weight_axis(n, w, *g.initializer(wname)), "",
                     n.inputs[static_cast<size_t>(1 - w)], n.outputs[0]};
      if ((n.op_type == "Conv" || n.op_type == "ConvTranspose" || n.op_type == "Gemm") && n.has_input(2) &&
          g.is_initializer(n.inputs[2]))
        wp.bias = n.inputs[2];
      qp.weights.push_back(wp);
    }
    if (role == OpRole::Layer || role == OpRole::Requantize) {
      const std::string& out = n.outputs[0];
      const auto users = g.consumers(out);
      const bool can_fuse = (role == OpRole::Layer || n.op_type == "Add") && users.size() == 1 &&
                            !graph_outputs.count(out) &&
                            is_fusable_activation(g, g.nodes[static_cast<size_t>(users[0])]);
      if (can_fuse) {
        const Node& act = g.nodes[static_cast<size_t>(users[0])];
        fused_nodes.insert(act.name);
        add_point(act.outputs[0], &act, true);
      } else if (is_float(out)) {
        add_point(out, &n, false);
      }
      continue;
    }
    if (role == OpRole::Movement) {
      auto it = n.has_input(0) ? qp.carrier.find(n.inputs[0]) : qp.carrier.end();
      if (it != qp.carrier.end()) {
        const std::string c = it->second;
        for (const auto& o : n.outputs)
          if (is_float(o)) qp.carrier[o] = c;
      }
      continue;
    }
    // Float island: inputs are dequantized; outputs consumed by integer ops are requantized.
    qp.float_islands.push_back(n.name);
    for (const auto& o : n.outputs) {
      if (!is_float(o) || graph_outputs.count(o)) continue;
      bool feeds_integer = false;
      for (int u : g.consumers(o)) {
        const OpRole r = op_role(g, g.nodes[static_cast<size_t>(u)]);
        feeds_integer = feeds_integer || r != OpRole::FloatIsland;
      }
      if (feeds_integer) add_point(o, &n, false);
    }
  }
  return qp;
}

}  // namespace qs
