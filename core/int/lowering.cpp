#include "core/int/lowering.h"

#include <cmath>
#include <set>

#include "core/analysis/model_summary.h"
#include "core/int/level_table.h"
#include "core/quant/calibrate.h"
#include "core/quant/quantizer.h"

namespace qs {

namespace {

const std::set<std::string> kMovement = {"Reshape", "Flatten",  "Transpose", "Squeeze",      "Unsqueeze",
                                         "MaxPool", "GlobalMaxPool", "Identity", "Dropout", "Slice",
                                         "Split",   "Gather",   "Pad",       "Expand",       "Tile",
                                         "DepthToSpace", "SpaceToDepth", "Resize", "Upsample"};

bool all_inputs_integer(const Lowering& L, const Node& n, std::string* missing) {
  for (const auto& in : n.inputs) {
    if (in.empty()) continue;
    if (!L.integer(in)) {
      *missing = in;
      return false;
    }
  }
  return true;
}

// The constant scalar of input `i` (or attribute `attr` before `opset`), or `def` when omitted.
bool const_scalar(const Graph& g, const Node& n, size_t i, float def, float* v) {
  *v = def;
  if (!n.has_input(i)) return true;
  const Tensor* t = g.initializer(n.inputs[i]);
  if (!t || t->numel() != 1) return false;
  *v = static_cast<float>(t->value_as_double(0));
  return true;
}

// For a two-input node: the index of its float32 constant input when the other input is held as integers,
// else -1.
int const_operand(const Graph& g, const Lowering& L, const Node& n) {
  for (int k = 0; k < 2; ++k) {
    const Tensor* c = g.initializer(n.inputs[static_cast<size_t>(k)]);
    if (c && c->dtype() == DType::Float32 && L.integer(n.inputs[static_cast<size_t>(1 - k)])) return k;
  }
  return -1;
}

}  // namespace

const char* int_kind_name(IntKind k) {
  switch (k) {
    case IntKind::Layer: return "layer";
    case IntKind::MatMulInt: return "matmul";
    case IntKind::Add: return "add";
    case IntKind::Sub: return "sub";
    case IntKind::Mul: return "mul";
    case IntKind::ConstOperand: return "constant operand";
    case IntKind::Concat: return "concat";
    case IntKind::AveragePool: return "averagepool";
    case IntKind::GlobalAveragePool: return "globalaveragepool";
    case IntKind::Activation: return "activation";
    case IntKind::Table:
      return "table";
    case IntKind::Movement: return "movement";
    case IntKind::Meta: return "meta";
    case IntKind::Fused: return "fused";
    case IntKind::FloatIsland: return "float island";
    case IntKind::Float: return "float";
  }
  return "?";
}

bool is_integer_kind(IntKind k) { return k != IntKind::FloatIsland && k != IntKind::Float; }

const QuantParams* Lowering::params_of(const std::string& value) const {
  auto it = params.find(value);
  return it == params.end() ? nullptr : &it->second;
}

const LoweredNode* Lowering::find(const std::string& node_name) const {
  for (const auto& n : nodes)
    if (n.node->name == node_name) return &n;
  return nullptr;
}

std::vector<const LoweredNode*> Lowering::float_islands() const {
  std::vector<const LoweredNode*> r;
  for (const auto& n : nodes)
    if (n.kind == IntKind::FloatIsland) r.push_back(&n);
  return r;
}

bool activation_bounds(const Graph& g, const Node& n, float* lo, float* hi) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  if (n.op_type == "Relu") {
    *lo = 0;
    *hi = inf;
    return true;
  }
  if (n.op_type != "Clip") return false;
  if (n.has_attr("min") || n.has_attr("max")) {  // opset < 11
    *lo = n.attr_float("min", -inf);
    *hi = n.attr_float("max", inf);
    return true;
  }
  return const_scalar(g, n, 1, -inf, lo) && const_scalar(g, n, 2, inf, hi);
}

std::string describe_island(const LoweredNode& n) {
  return "node '" + n.node->name + "' (" + n.node->op_type + "): " + n.reason;
}

Lowering lower(const Graph& g, const QuantPlan& plan, const QuantPoints& points, const LowerOptions& options) {
  Lowering L;
  std::set<std::string> active_points;
  for (const auto& a : points.activations)
    if (plan.active(a.tensor)) active_points.insert(a.tensor);
  std::map<std::string, const WeightPoint*> weight_of_layer;
  for (const auto& w : points.weights) weight_of_layer[w.layer] = &w;
  std::set<std::string> graph_outputs;
  for (const auto& o : g.outputs) graph_outputs.insert(o.name);

  auto point_params = [&](const std::string& v) { return plan.active(v)->params; };
  for (const auto& in : g.inputs)
    if (active_points.count(in.name)) L.params[in.name] = point_params(in.name);

  std::set<std::string> fused;  // names of Relu/Clip nodes already folded
  // A Relu/Clip with constant bounds consuming only `out` whose output is an enabled point.
  auto fusable = [&](const std::string& out, const Node** act, float* lo, float* hi) {
    if (graph_outputs.count(out) || active_points.count(out)) return false;
    const auto users = g.consumers(out);
    if (users.size() != 1) return false;
    const Node& a = g.nodes[static_cast<size_t>(users[0])];
    if (!a.domain.empty() || !activation_bounds(g, a, lo, hi)) return false;
    if (!active_points.count(a.outputs[0])) return false;
    *act = &a;
    return true;
  };

  for (const Node& n : g.nodes) {
    LoweredNode ln;
    ln.node = &n;
    ln.result = n.outputs.empty() ? "" : n.outputs[0];
    if (fused.count(n.name)) {
      ln.kind = IntKind::Fused;
      L.nodes.push_back(ln);
      continue;
    }
    std::string missing;
    bool ins_int = false;
    if (n.op_type == "Clip" && n.domain.empty()) {
      // Clip's bounds are constants read at build time, not operands: only its data must be integer.
      ins_int = n.has_input(0) && L.integer(n.inputs[0]);
      if (!ins_int) missing = n.inputs.empty() ? std::string() : n.inputs[0];
    } else {
      ins_int = all_inputs_integer(L, n, &missing);
    }
    auto island = [&](const std::string& why) {
      ln.kind = IntKind::FloatIsland;
      ln.reason = why;
    };
    // Sets result/fused for ops that may fuse an activation; false when the result is not a point.
    auto resolve_result = [&](bool may_fuse) {
      const Node* act = nullptr;
      float lo = 0, hi = 0;
      if (may_fuse && fusable(n.outputs[0], &act, &lo, &hi)) {
        ln.fused = act;
        ln.result = act->outputs[0];
        ln.act_lo = lo;
        ln.act_hi = hi;
        return true;
      }
      ln.result = n.outputs[0];
      return active_points.count(ln.result) != 0;
    };
    const std::string not_int_input =
        g.is_initializer(missing)
            ? "input '" + missing + "' is a constant; " + n.op_type +
                  " has an integer form only between quantized values"
            : "input '" + missing + "' is not quantized";
    // A node of a requantizing op type none of whose inputs or outputs is a quantization point (or carries
    // one), e.g. Concat/Mul/Add on int64 shape values: it is shape arithmetic, not an island.
    bool touches_point = false;
    for (const auto& v : n.inputs)
      touches_point = touches_point || (!v.empty() && (L.integer(v) || points.carrier.count(v)));
    for (const auto& v : n.outputs) touches_point = touches_point || (!v.empty() && points.carrier.count(v));
    const std::string no_point = "its output '" + (n.outputs.empty() ? std::string() : n.outputs[0]) +
                                 "' has no enabled quantization point";
    const OpRole role = op_role(g, n);
    // Add/Sub/Mul/Div of a quantized value and a float constant: the constant's input index.
    const int k_const = n.num_inputs() == 2 ? const_operand(g, L, n) : -1;

    if (role == OpRole::Layer) {
      const WeightPoint& wp = *weight_of_layer.at(n.name);
      int w = 1;
      is_quantizable_layer(g, n, &w);
      ln.weight_input = w;
      ln.weight = wp.tensor;
      ln.bias = wp.bias;
      const PlanEntry* we = plan.active(wp.tensor);
      const Tensor& wt = *g.initializer(wp.tensor);
      ln.channel_axis = n.op_type == "MatMul" ? (w == 1 ? -1 : -2) : 1;
      const std::string& x = wp.input;
      if (!L.integer(x)) {
        island("input '" + x + "' is not quantized");
      } else if (!we) {
        island("weight '" + wp.tensor + "' is not quantized");
      } else if (we->spec.axis != -1 && we->spec.axis != wp.axis) {
        island("weight '" + wp.tensor + "' is quantized along axis " + std::to_string(we->spec.axis) +
               ", not its output channels (axis " + std::to_string(wp.axis) + ")");
      } else if (n.op_type == "Gemm" && (n.attr_int("transA", 0) != 0 || n.attr_float("alpha", 1.f) != 1.f ||
                                         n.attr_float("beta", 1.f) != 1.f)) {
        island("Gemm with transA or alpha/beta other than 1 has no integer form here");
      } else if (n.op_type == "MatMul" && wt.rank() != 2) {
        island("MatMul with a " + std::to_string(wt.rank()) + "-D constant operand (2-D is supported)");
      } else if (n.op_type != "MatMul" && n.has_input(2) && wp.bias.empty()) {
        island("the bias is computed at run time");
      } else if (!resolve_result(true)) {
        island(no_point);
      } else {
        ln.kind = IntKind::Layer;
        if (!wp.bias.empty()) {
          const Tensor& b = *g.initializer(wp.bias);
          const int64_t out_ch = bias_channels(n, we->params.channels(), b.numel());
          const int64_t n_out = n.op_type == "Gemm" ? (n.attr_int("transB", 0) ? wt.dim(0) : wt.dim(1))
                                : n.op_type == "Conv" ? wt.dim(0)
                                                      : wt.dim(1) * n.attr_int("group", 1);
          if (!options.quantize_bias) {
            ln.kind = IntKind::FloatIsland;
            ln.reason = "the bias is kept in float";
          } else if (b.numel() != out_ch || b.numel() != n_out || (b.rank() == 2 && b.dim(0) != 1) || b.rank() > 2) {
            ln.kind = IntKind::FloatIsland;
            ln.reason = "bias '" + wp.bias + "' of shape " + shape_str(b.shape()) + " is not one value per output channel";
          }
        }
      }
    } else if (role == OpRole::Requantize && !touches_point) {
      ln.kind = IntKind::Float;
    } else if (role == OpRole::Requantize) {
      const std::string& op = n.op_type;
      float lo = 0, hi = 0;
      if (op == "PRelu") {
        // The slope is a constant (never quantized): only the data input must be integer.
        const Tensor* slope = n.has_input(1) ? g.initializer(n.inputs[1]) : nullptr;
        if (!L.integer(n.inputs[0])) island("input '" + n.inputs[0] + "' is not quantized");
        else if (!slope || slope->dtype() != DType::Float32) island("the slope is not a float constant");
        else if (!resolve_result(false)) island(no_point);
        else ln.kind = IntKind::Activation;
      } else if ((op == "Add" || op == "Sub" || op == "Mul") && k_const >= 0) {
        const int k = k_const;
        const Tensor& c = *g.initializer(n.inputs[static_cast<size_t>(k)]);
        bool finite = true;
        for (float v : c.span<float>()) finite = finite && std::isfinite(v);
        if (!finite)
          island("constant '" + n.inputs[static_cast<size_t>(k)] + "' has non-finite values");
        else if (!resolve_result(op == "Add"))
          island(no_point);
        else {
          ln.kind = IntKind::ConstOperand;
          ln.const_input = k;
        }
      } else if (!ins_int) {
        island(not_int_input);
      } else if (op == "Add" || op == "Sub" || op == "Mul") {
        if (n.num_inputs() != 2) island("expects 2 inputs");
        else if (!resolve_result(op == "Add")) island(no_point);
        else ln.kind = op == "Add" ? IntKind::Add : op == "Sub" ? IntKind::Sub : IntKind::Mul;
      } else if (op == "Concat") {
        if (!resolve_result(false)) island(no_point);
        else ln.kind = IntKind::Concat;
      } else if (op == "AveragePool" || op == "GlobalAveragePool" || op == "ReduceMean") {
        // (A ReduceMean gets here only as a global average: op_role, is_global_reduce_mean.)
        if (!resolve_result(false)) island(no_point);
        else ln.kind = op == "AveragePool" ? IntKind::AveragePool : IntKind::GlobalAveragePool;
      } else if (op == "Relu" || op == "Clip") {
        if (!activation_bounds(g, n, &lo, &hi)) island("Clip bounds computed at run time");
        else if (!resolve_result(false)) island(no_point);
        else {
          ln.kind = IntKind::Activation;
          ln.act_lo = lo;
          ln.act_hi = hi;
        }
      } else if (op == "LeakyRelu") {
        if (!resolve_result(false)) island(no_point);
        else ln.kind = IntKind::Activation;
      } else if (op == "MatMul") {
        if (!resolve_result(false)) island(no_point);
        else ln.kind = IntKind::MatMulInt;
      } else {
        island("no integer form for " + op + " with these inputs");
      }
    } else if (role == OpRole::Movement && n.has_input(0) && L.integer(n.inputs[0])) {
      const QuantParams& p = L.params.at(n.inputs[0]);
      if (n.op_type == "Pad") {
        // The pad constant must be a level of the grid, or the engine could not pad with it exactly.
        float c = 0;
        if (n.has_attr("value")) c = n.attr_float("value", 0.f);
        else if (!const_scalar(g, n, 2, 0.f, &c)) c = std::numeric_limits<float>::quiet_NaN();
        const bool constant_mode = n.attr_string("mode", "constant") == "constant";
        const float fq = std::isnan(c) ? c : fake_quantize_value(c, p.scale[0], p.zero_point[0], p.qmin, p.qmax);
        if (constant_mode && !(fq == c)) {
          island("pad value " + std::to_string(c) + " is not on the grid of '" + n.inputs[0] + "'");
          L.nodes.push_back(ln);
          continue;
        }
      }
      ln.kind = IntKind::Movement;
      for (const auto& o : n.outputs)
        if (!o.empty() && points.carrier.count(o)) L.params[o] = p;
      L.nodes.push_back(ln);
      continue;
    } else if ((n.op_type == "Shape" || n.op_type == "Size") && n.domain.empty()) {
      ln.kind = n.has_input(0) && L.integer(n.inputs[0]) ? IntKind::Meta : IntKind::Float;
      L.nodes.push_back(ln);
      continue;
    } else if (n.op_type == "Div" && n.domain.empty() && k_const == 1) {
      // x / k where the quotient is a point anyway (e.g. an attention scale before a MatMul): the product
      // with 1/k, a ConstOperand. Div is not a requantizing op, so it adds no point of its own: a quotient
      // that feeds only float islands stays in float with them.
      bool usable = true;
      for (float v : g.initializer(n.inputs[1])->span<float>()) usable = usable && std::isfinite(1.0 / v);
      if (!usable) {
        island("divisor '" + n.inputs[1] + "' has zero or non-finite values");
      } else if (!active_points.count(n.outputs[0])) {
        island(
            "division by a constant; its quotient is read only by float ops, so it is no quantization point");
      } else {
        resolve_result(false);
        ln.kind = IntKind::ConstOperand;
        ln.const_input = 1;
      }
    } else {
      // Float islands proper, and movement of float values.
      bool touches = false;
      for (const auto& in : n.inputs) touches = touches || (!in.empty() && L.integer(in));
      for (const auto& o : n.outputs) touches = touches || (!o.empty() && active_points.count(o));
      std::string why;
      if (role == OpRole::Movement || !touches) {
        ln.kind = IntKind::Float;
      } else if (!tabulable_op(g, n)) {
        island(n.domain.empty() ? "no integer form" : "custom domain '" + n.domain + "'");
      } else if (!L.integer(n.inputs[0])) {
        island("input '" + n.inputs[0] + "' is not quantized");
      } else if (!resolve_result(false)) {
        island(no_point);
      } else if (!options.tables) {
        island("a level table, not built here");
      } else {
        ln.table = level_table(g, n, L.params.at(n.inputs[0]), point_params(ln.result), &why);
        if (ln.table.empty())
          island(why);
        else
          ln.kind = IntKind::Table;
      }
    }

    if (is_integer_kind(ln.kind)) {
      L.params[ln.result] = point_params(ln.result);
      if (ln.fused) fused.insert(ln.fused->name);
    } else {
      // Float: outputs that are enabled points are quantized after the node.
      for (const auto& o : n.outputs)
        if (!o.empty() && active_points.count(o)) L.params[o] = point_params(o);
    }
    L.nodes.push_back(ln);
  }
  return L;
}

Lowering lower_all_points(const Graph& g, const QuantPoints& points) {
  const CalibrationOptions defaults;
  QuantPlan plan;
  for (const auto& w : points.weights) {
    PlanEntry e = plan_entry(w, weight_spec(defaults, w.axis));
    const Tensor& t = *g.initializer(w.tensor);
    const int64_t channels = t.rank() > w.axis ? t.dim(w.axis) : 1;
    e.lo.assign(static_cast<size_t>(channels), -1.f);
    e.hi.assign(static_cast<size_t>(channels), 1.f);
    e.set_spec(e.spec);
    plan.entries.push_back(std::move(e));
  }
  for (const auto& a : points.activations) {
    PlanEntry e = plan_entry(a, activation_spec(defaults));
    e.lo = {-1.f};
    e.hi = {1.f};
    e.set_spec(e.spec);
    plan.entries.push_back(std::move(e));
  }
  return lower(g, plan, points);
}

}  // namespace qs
