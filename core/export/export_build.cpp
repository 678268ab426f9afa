#include "core/export/export_build.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/common/error.h"
#include "core/export/onnx_writer.h"
#include "core/graph/opset_upgrade.h"

namespace qs::exportx {

namespace {

bool narrow_grid(const QuantParams& p) {
  const DType t = storage_dtype(p);
  const int32_t smin = t == DType::Int8 ? -128 : 0, smax = t == DType::Int8 ? 127 : 255;
  return p.qmin > smin || p.qmax < smax;
}

Tensor zp_tensor(const QuantParams& p, bool vector) {
  const DType t = storage_dtype(p);
  std::vector<int32_t> z = vector ? p.zero_point : std::vector<int32_t>{p.zero_point[0]};
  const Shape s = vector ? Shape{static_cast<int64_t>(z.size())} : Shape{};
  Tensor r(t, s);
  for (size_t i = 0; i < z.size(); ++i) {
    if (t == DType::Int8)
      r.data<int8_t>()[i] = static_cast<int8_t>(z[i]);
    else
      r.data<uint8_t>()[i] = static_cast<uint8_t>(z[i]);
  }
  return r;
}

// int8 values v as uint8 v + 128 (with the zero point moved alike, (q − z)·s is unchanged).
Tensor shift_to_uint8(const Tensor& t) {
  Tensor r(DType::UInt8, t.shape());
  for (int64_t i = 0; i < t.numel(); ++i)
    r.data<uint8_t>()[i] = static_cast<uint8_t>(static_cast<int32_t>(t.data<int8_t>()[i]) + 128);
  return r;
}

}  // namespace

Builder::Builder(const Graph& g, const QuantPlan& p, const QuantPoints& pts, WeightStorage ws)
    : src(g), plan(p), points(pts), L(lower(g, p, pts)), out(g), weight_storage(ws) {
  for (const auto& in : g.inputs) used.insert(in.name);
  for (const auto& o : g.outputs) used.insert(o.name);
  for (const auto& [name, t] : g.initializers) used.insert(name);
  for (const auto& n : g.nodes) {
    used.insert(n.name);
    for (const auto& v : n.inputs) used.insert(v);
    for (const auto& v : n.outputs) used.insert(v);
  }
  if (g.opset < 13)
    throw UnsupportedError(
        "the model imports ONNX opset " + std::to_string(g.opset) +
        "; quantized export needs opset 13 or newer (per-axis DequantizeLinear, int8 MaxPool): "
        "convert the model first");
}

std::string Builder::fresh(const std::string& base) {
  std::string name = base;
  for (int k = 1; used.count(name); ++k) name = base + "_" + std::to_string(k);
  used.insert(name);
  return name;
}

Node& Builder::add_node(const std::string& op, std::vector<std::string> in, std::vector<std::string> outs,
                        const std::string& name_hint) {
  Node n;
  n.name = fresh(name_hint);
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(outs);
  out.nodes.push_back(std::move(n));
  return out.nodes.back();
}

std::string Builder::add_init(const std::string& base, Tensor t) {
  const std::string name = fresh(base);
  out.initializers[name] = std::move(t);
  return name;
}

std::pair<std::string, std::string> Builder::scale_zp(const std::string& value, const QuantParams& p) {
  // Carried values share their point's initializers.
  auto c = points.carrier.find(value);
  const std::string key = c == points.carrier.end() ? value : c->second;
  auto it = act_sz.find(key);
  if (it != act_sz.end()) return it->second;
  auto r = std::make_pair(add_init(key + "_scale", Tensor::scalar<float>(p.scale[0])),
                          add_init(key + "_zero_point", zp_tensor(p, false)));
  act_sz[key] = r;
  return r;
}

void Builder::quantize(const std::string& x, const std::string& value, const QuantParams& p,
                       const std::string& q_name) {
  const auto [s, z] = scale_zp(value, p);
  std::string in = x;
  if (narrow_grid(p)) {
    // QuantizeLinear saturates to the 8-bit range; a narrower grid is clipped first, in float, to its ends.
    const std::string lo = add_init(
        value + "_grid_min", Tensor::scalar<float>(dequantize_value(p.qmin, p.scale[0], p.zero_point[0])));
    const std::string hi = add_init(
        value + "_grid_max", Tensor::scalar<float>(dequantize_value(p.qmax, p.scale[0], p.zero_point[0])));
    in = fresh(value + "_clipped");
    add_node("Clip", {x, lo, hi}, {in}, value + "_grid_clip");
  }
  add_node("QuantizeLinear", {in, s, z}, {q_name}, value + "_QuantizeLinear");
}

void Builder::dequantize(const std::string& q, const std::string& value, const QuantParams& p,
                         const std::string& x_name) {
  const auto [s, z] = scale_zp(value, p);
  add_node("DequantizeLinear", {q, s, z}, {x_name}, value + "_DequantizeLinear");
}

const Builder::QWeight& Builder::quantized_weight(const std::string& w) {
  auto it = qweights.find(w);
  if (it != qweights.end()) return it->second;
  const PlanEntry& e = *plan.active(w);
  const Tensor& t = *src.initializer(w);
  QWeight q;
  q.axis = e.params.axis;
  q.shape = t.shape();
  const DType st = storage_dtype(e.params);
  if (st != DType::Int8 && st != DType::UInt8)
    throw UnsupportedError("weight '" + w + "': its grid does not fit 8 bits");
  Tensor values = qs::quantize(t, e.params, st);
  Tensor zp = zp_tensor(e.params, q.axis >= 0);
  if (weight_storage == WeightStorage::UInt8 && st == DType::Int8) {
    values = shift_to_uint8(values);
    zp = shift_to_uint8(zp);
  }
  q.q = add_init(w + "_quantized", std::move(values));
  Tensor scale(DType::Float32, q.axis < 0 ? Shape{} : Shape{e.params.channels()});
  for (int64_t c = 0; c < scale.numel(); ++c) scale.data<float>()[c] = e.params.scale[static_cast<size_t>(c)];
  q.scale = add_init(w + "_scale", scale);
  q.zp = add_init(w + "_zero_point", std::move(zp));
  return qweights[w] = q;
}

std::string Builder::weight_float_name(const std::string& w) {
  if (!plan.active(w)) return w;
  auto it = weight_float.find(w);
  if (it != weight_float.end()) return it->second;
  const QWeight& q = quantized_weight(w);
  out.initializers.erase(w);  // the name now belongs to the DequantizeLinear output
  Node& n = add_node("DequantizeLinear", {q.q, q.scale, q.zp}, {w}, w + "_DequantizeLinear");
  if (q.axis >= 0) n.attrs["axis"] = Attribute::of_int(q.axis);
  return weight_float[w] = w;
}

const WeightPoint* Builder::weight_point_of_layer(const std::string& layer) const {
  for (const auto& w : points.weights)
    if (w.layer == layer) return &w;
  return nullptr;
}

Builder::QBias* Builder::quantized_bias(const WeightPoint& wp) {
  auto it = qbiases.find(wp.layer);
  if (it != qbiases.end()) return &it->second;
  // The simulation's conditions (core/quant/simulate.cpp quantize_weights) and rounding, exactly.
  const PlanEntry* e = plan.active(wp.tensor);
  if (wp.bias.empty() || !e) return nullptr;
  auto c = points.carrier.find(wp.input);
  const PlanEntry* in = c == points.carrier.end() ? nullptr : plan.active(c->second);
  if (!in) return nullptr;
  const Node* node = nullptr;
  for (const auto& n : src.nodes)
    if (n.name == wp.layer) node = &n;
  if (!node || node->attr_float("beta", 1.f) != 1.f || node->attr_float("alpha", 1.f) != 1.f) return nullptr;
  const Tensor& b = *src.initializer(wp.bias);
  if (b.numel() != bias_channels(*node, e->params.channels(), b.numel())) return nullptr;
  QBias q;
  q.values = Tensor(DType::Int32, Shape{b.numel()});
  const float s_in = in->params.scale[0];
  for (int64_t k = 0; k < b.numel(); ++k) {
    const float s = s_in * e->params.scale[static_cast<size_t>(k) % e->params.scale.size()];
    double v = std::nearbyint(static_cast<double>(b.data<float>()[k]) / s);
    v = std::clamp(v, static_cast<double>(std::numeric_limits<int32_t>::min()),
                   static_cast<double>(std::numeric_limits<int32_t>::max()));
    q.values.data<int32_t>()[k] = static_cast<int32_t>(v);
    q.scale.push_back(s);
  }
  q.q = add_init(wp.bias + "_quantized", q.values);
  return &(qbiases[wp.layer] = q);
}

std::string Builder::bias_float_name(const WeightPoint& wp) {
  QBias* q = quantized_bias(wp);
  if (!q) return wp.bias;
  if (!q->float_name.empty()) return q->float_name;
  const bool uniform =
      std::all_of(q->scale.begin(), q->scale.end(), [&](float s) { return s == q->scale[0]; });
  Tensor scale(DType::Float32, uniform ? Shape{} : Shape{static_cast<int64_t>(q->scale.size())});
  for (int64_t c = 0; c < scale.numel(); ++c) scale.data<float>()[c] = q->scale[static_cast<size_t>(c)];
  const std::string s = add_init(wp.bias + "_scale", scale);
  const std::string z = add_init(wp.bias + "_zero_point", Tensor::zeros(DType::Int32, scale.shape()));
  q->float_name = fresh(wp.bias + "_dequantized");
  Node& n = add_node("DequantizeLinear", {q->q, s, z}, {q->float_name}, wp.bias + "_DequantizeLinear");
  if (!uniform) n.attrs["axis"] = Attribute::of_int(0);
  return q->float_name;
}

void Builder::finish() {
  std::set<std::string> referenced;
  for (const auto& n : out.nodes)
    for (const auto& v : n.inputs) referenced.insert(v);
  for (const auto& o : out.outputs) referenced.insert(o.name);
  for (auto it = out.initializers.begin(); it != out.initializers.end();)
    it = referenced.count(it->first) ? std::next(it) : out.initializers.erase(it);
  out.value_info.clear();
  out.topological_sort();
}

void check_exportable(const QuantPlan& plan, const QuantPoints& points) {
  for (const auto& a : points.activations) {
    const PlanEntry* e = plan.active(a.tensor);
    if (!e) continue;
    const DType t = storage_dtype(e->params);
    if (t != DType::Int8 && t != DType::UInt8)
      throw UnsupportedError(
          "plan entry '" + a.tensor + "': " + std::to_string(e->spec.bits) +
          "-bit activations cannot be exported (ONNX's QuantizeLinear takes int16 only from opset "
          "21); use 4-8 bit activations");
  }
}

}  // namespace qs::exportx

namespace qs {

const char* export_format_name(ExportFormat f) { return f == ExportFormat::QDQ ? "qdq" : "qop"; }

ExportFormat parse_export_format(const std::string& s) {
  if (s == "qdq") return ExportFormat::QDQ;
  if (s == "qop" || s == "qoperator") return ExportFormat::QOperator;
  throw Error("export format '" + s + "' is not known (qdq, qop)");
}

ExportedGraph build_export_graph(const Graph& g, const QuantPlan& plan, const QuantPoints& points,
                                 ExportFormat f, WeightStorage weights) {
  validate_plan(plan, g, points);
  exportx::check_exportable(plan, points);
  if (f == ExportFormat::QOperator && weights != WeightStorage::AsPlan)
    throw Error(
        "export: uint8 weight storage is for the QDQ form (QOperator's int8 kernels are exact already)");
  // Models of opset 7–12 are rewritten in opset-13 form first (graph/opset_upgrade.h): value names stay,
  // so the plan and points apply; values the rewrite adds after data movement carry its input's point.
  Graph upgraded = g;
  upgrade_to_opset13(upgraded);
  QuantPoints pts = points;
  if (g.opset < 13)
    for (const Node& n : upgraded.nodes)
      if (op_role(upgraded, n) == OpRole::Movement && n.has_input(0) && pts.carrier.count(n.inputs[0]))
        for (const auto& o : n.outputs)
          if (!o.empty() && !pts.carrier.count(o)) pts.carrier[o] = pts.carrier.at(n.inputs[0]);
  exportx::Builder b(upgraded, plan, pts, weights);
  return f == ExportFormat::QDQ ? exportx::build_qdq(b) : exportx::build_qop(b);
}

std::string export_bytes(const Graph& g, const QuantPlan& plan, const QuantPoints& points, ExportFormat f,
                         WeightStorage weights) {
  const ExportedGraph e = build_export_graph(g, plan, points, f, weights);
  std::string bytes = write_onnx_bytes(e.graph);
  check_onnx_bytes(bytes, std::string("the ") + export_format_name(f) + " export");
  return bytes;
}

}  // namespace qs
