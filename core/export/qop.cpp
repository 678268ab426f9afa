// QOperator form: integer operators where ONNX has them, QuantizeLinear/DequantizeLinear around standard
// float operators elsewhere. Names: an integer value V is the tensor V_quantized; where a float consumer or
// a graph output needs it, DequantizeLinear produces V itself (V_dequantized for a graph input, whose name
// is taken by the float feed).
#include <algorithm>
#include <cstring>
#include <set>

#include "core/common/error.h"
#include "core/export/export_build.h"
#include "core/int/layer_quant.h"

namespace qs::exportx {

namespace {

const std::set<std::string> kIntMovement = {"Reshape", "Flatten", "Transpose", "Squeeze",  "Unsqueeze", "Slice",
                                            "Gather",  "Identity", "Expand",   "Tile",    "DepthToSpace",
                                            "SpaceToDepth", "Split", "Resize", "MaxPool", "Pad"};

class QopBuilder {
 public:
  explicit QopBuilder(Builder& b) : b_(b) {}

  ExportedGraph build() {
    Graph& out = b_.out;
    out.nodes.clear();
    out.opset_imports[""] = out.opset;
    for (const auto& in : b_.src.inputs)
      if (b_.L.integer(in.name)) {
        const std::string qn = b_.fresh(in.name + "_quantized");
        b_.quantize(in.name, in.name, params(in.name), qn);
        qname_[in.name] = qn;
      }
    for (const LoweredNode& ln : b_.L.nodes) node(ln);
    for (const auto& o : b_.src.outputs) {
      if (!b_.L.integer(o.name)) continue;
      const std::string f = float_of(o.name);
      if (f != o.name) b_.add_node("Identity", {f}, {o.name}, o.name + "_output");
    }
    b_.finish();
    ExportedGraph r;
    r.graph = out;
    for (const LoweredNode* n : b_.L.float_islands()) r.float_islands.push_back(describe_island(*n));
    r.notes = b_.notes;
    return r;
  }

 private:
  const QuantParams& params(const std::string& v) const { return *b_.L.params_of(v); }

  bool is_input(const std::string& v) const {
    for (const auto& in : b_.src.inputs)
      if (in.name == v) return true;
    return false;
  }

  std::string float_of(const std::string& v) {
    if (v.empty() || !b_.L.integer(v)) return v;
    auto it = fname_.find(v);
    if (it != fname_.end()) return it->second;
    const std::string name = is_input(v) ? b_.fresh(v + "_dequantized") : v;
    b_.dequantize(qname_.at(v), v, params(v), name);
    return fname_[v] = name;
  }

  // The result of an integer operator written into `raw`, clamped to [lo, hi] when that is narrower than
  // the 8-bit storage (a fused ReLU6/Clip, or a narrow grid): DequantizeLinear → Clip → QuantizeLinear.
  void finish_integer(const std::string& v, const std::string& raw, int32_t lo, int32_t hi) {
    const QuantParams& p = params(v);
    const DType t = storage_dtype(p);
    const int32_t smin = t == DType::Int8 ? -128 : 0, smax = t == DType::Int8 ? 127 : 255;
    if (lo <= smin && hi >= smax) {
      qname_[v] = raw;
      return;
    }
    const std::string f = b_.fresh(v + "_unclamped_float");
    b_.dequantize(raw, v, p, f);
    const std::string mn = b_.add_init(v + "_clamp_min", Tensor::scalar<float>(dequantize_value(lo, p.scale[0], p.zero_point[0])));
    const std::string mx = b_.add_init(v + "_clamp_max", Tensor::scalar<float>(dequantize_value(hi, p.scale[0], p.zero_point[0])));
    const std::string c = b_.fresh(v + "_clamped");
    b_.add_node("Clip", {f, mn, mx}, {c}, v + "_clamp");
    const std::string qn = b_.fresh(v + "_quantized");
    const auto [s, z] = b_.scale_zp(v, p);
    b_.add_node("QuantizeLinear", {c, s, z}, {qn}, v + "_QuantizeLinear");
    qname_[v] = qn;
  }

  void node(const LoweredNode& ln) {
    const Node& n = *ln.node;
    switch (ln.kind) {
      case IntKind::Fused:
        return;
      case IntKind::Layer:
        if (n.op_type == "Conv") return qlinear_conv(ln);
        if (n.op_type == "Gemm") return gemm_as_conv(ln);
        if (n.op_type == "MatMul" && ln.weight_input == 1) return qlinear_matmul(ln);
        b_.notes.push_back(n.describe() + ": no standard integer operator; exported as DequantizeLinear → " + n.op_type +
                           " → QuantizeLinear");
        return float_node(ln);
      case IntKind::MatMulInt:
        return qlinear_matmul(ln);
      case IntKind::Movement:
        if (kIntMovement.count(n.op_type)) return int_movement(ln);
        return float_node(ln);
      case IntKind::Meta: {
        Node c = n;
        c.inputs[0] = qname_.at(n.inputs[0]);
        b_.out.nodes.push_back(c);
        return;
      }
      case IntKind::Add:
      case IntKind::Sub:
      case IntKind::Mul:
      case IntKind::ConstOperand:
      case IntKind::Concat:
      case IntKind::AveragePool:
      case IntKind::GlobalAveragePool:
      case IntKind::Activation:
        b_.notes.push_back(n.describe() + ": no standard ONNX integer operator; exported as DequantizeLinear → " +
                           n.op_type + " → QuantizeLinear");
        return float_node(ln);
      default:
        return float_node(ln);
    }
  }

  // A float node (with its fused activation): quantized inputs dequantized, quantized weights and biases
  // through DequantizeLinear, outputs that are points quantized.
  void float_node(const LoweredNode& ln) {
    Node c = *ln.node;
    const WeightPoint* wp = b_.weight_point_of_layer(c.name);
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      std::string& v = c.inputs[i];
      if (v.empty()) continue;
      if (wp && v == wp->tensor) v = b_.weight_float_name(v);
      else if (wp && i == 2 && v == wp->bias) v = b_.bias_float_name(*wp);
      else v = float_of(v);
    }
    std::vector<Node> chain = {c};
    if (ln.fused) {
      Node act = *ln.fused;
      const std::string mid = b_.fresh(c.outputs[0] + "_float");
      chain[0].outputs[0] = mid;
      act.inputs[0] = mid;
      for (size_t i = 1; i < act.inputs.size(); ++i) act.inputs[i] = float_of(act.inputs[i]);
      chain.push_back(act);
    }
    std::vector<std::pair<std::string, std::string>> requant;
    for (auto& o : chain.back().outputs) {
      if (o.empty() || !b_.L.integer(o)) continue;
      const std::string pre = b_.fresh(o + "_prequant");
      requant.emplace_back(o, pre);
      o = pre;
    }
    for (auto& x : chain) b_.out.nodes.push_back(x);
    for (const auto& [o, pre] : requant) {
      const std::string qn = b_.fresh(o + "_quantized");
      b_.quantize(pre, o, params(o), qn);
      qname_[o] = qn;
    }
  }

  void layer_clamp(const LoweredNode& ln, int32_t* lo, int32_t* hi) {
    activation_clamp(params(ln.result), ln.act_lo, ln.act_hi, lo, hi);
  }

  std::vector<std::string> x_inputs(const std::string& x) {
    const auto [s, z] = b_.scale_zp(x, params(x));
    return {qname_.at(x), s, z};
  }

  void qlinear_conv(const LoweredNode& ln) {
    const Node& n = *ln.node;
    const WeightPoint& wp = *b_.weight_point_of_layer(n.name);
    const auto& w = b_.quantized_weight(wp.tensor);
    std::vector<std::string> in = x_inputs(n.inputs[0]);
    const auto [ys, yz] = b_.scale_zp(ln.result, params(ln.result));
    in.insert(in.end(), {w.q, w.scale, w.zp, ys, yz});
    if (auto* qb = b_.quantized_bias(wp)) in.push_back(qb->q);
    const std::string raw = b_.fresh(ln.result + "_quantized");
    Node& c = b_.add_node("QLinearConv", in, {raw}, n.name + "_quant");
    c.attrs = n.attrs;
    int32_t lo = 0, hi = 0;
    layer_clamp(ln, &lo, &hi);
    finish_integer(ln.result, raw, lo, hi);
  }

  // Gemm(X [M, K], W) + B as Reshape [M, K, 1, 1] → QLinearConv (1×1) → Reshape [M, N].
  void gemm_as_conv(const LoweredNode& ln) {
    const Node& n = *ln.node;
    const WeightPoint& wp = *b_.weight_point_of_layer(n.name);
    const PlanEntry& e = *b_.plan.active(wp.tensor);
    const Tensor& wf = *b_.src.initializer(wp.tensor);
    const bool trans = n.attr_int("transB", 0) != 0;
    const int64_t N = trans ? wf.dim(0) : wf.dim(1), K = trans ? wf.dim(1) : wf.dim(0);
    const Tensor wq = qs::quantize(wf, e.params, storage_dtype(e.params));
    Tensor w4(wq.dtype(), Shape{N, K, 1, 1});
    const size_t es = dtype_size(wq.dtype());
    for (int64_t r = 0; r < N; ++r)
      for (int64_t k = 0; k < K; ++k)
        std::memcpy(static_cast<char*>(w4.raw()) + static_cast<size_t>(r * K + k) * es,
                    static_cast<const char*>(wq.raw()) + static_cast<size_t>(trans ? r * K + k : k * N + r) * es, es);
    const auto& wmeta = b_.quantized_weight(wp.tensor);  // scale / zero point (per N, or one)
    const std::string w4n = b_.add_init(wp.tensor + "_quantized_1x1", w4);
    const std::string s4 = b_.add_init(n.name + "_to_1x1", Tensor::from_vector<int64_t>({4}, {-1, K, 1, 1}));
    const std::string s2 = b_.add_init(n.name + "_from_1x1", Tensor::from_vector<int64_t>({2}, {-1, N}));
    std::vector<std::string> xin = x_inputs(n.inputs[0]);
    const std::string x4 = b_.fresh(n.inputs[0] + "_1x1");
    b_.add_node("Reshape", {xin[0], s4}, {x4}, n.name + "_reshape_in");
    const auto [ys, yz] = b_.scale_zp(ln.result, params(ln.result));
    std::vector<std::string> in = {x4, xin[1], xin[2], w4n, wmeta.scale, wmeta.zp, ys, yz};
    if (auto* qb = b_.quantized_bias(wp)) in.push_back(qb->q);
    const std::string y4 = b_.fresh(ln.result + "_1x1");
    b_.add_node("QLinearConv", in, {y4}, n.name + "_quant");
    const std::string raw = b_.fresh(ln.result + "_quantized");
    b_.add_node("Reshape", {y4, s2}, {raw}, n.name + "_reshape_out");
    int32_t lo = 0, hi = 0;
    layer_clamp(ln, &lo, &hi);
    finish_integer(ln.result, raw, lo, hi);
  }

  void qlinear_matmul(const LoweredNode& ln) {
    const Node& n = *ln.node;
    std::vector<std::string> in = x_inputs(n.inputs[0]);
    if (ln.kind == IntKind::Layer) {
      const auto& w = b_.quantized_weight(ln.weight);
      in.insert(in.end(), {w.q, w.scale, w.zp});
    } else {
      const auto bi = x_inputs(n.inputs[1]);
      in.insert(in.end(), bi.begin(), bi.end());
    }
    const auto [ys, yz] = b_.scale_zp(ln.result, params(ln.result));
    in.insert(in.end(), {ys, yz});
    const std::string raw = b_.fresh(ln.result + "_quantized");
    b_.add_node("QLinearMatMul", in, {raw}, n.name + "_quant");
    int32_t lo = 0, hi = 0;
    layer_clamp(ln, &lo, &hi);
    finish_integer(ln.result, raw, lo, hi);
  }

  // A Pad with opset 18's `axes` input rewritten as the same padding over every axis (zeros elsewhere).
  // ONNX Runtime 1.30 at optimization level 'all' fails on the axes form next to QLinearConv ("Gather
  // indices out of bounds", its NHWC layout pass); every version takes the full form. Left as it is when
  // the axes or pads are computed at run time, or x's rank is unknown.
  void pads_over_every_axis(Node& c, const std::string& x) {
    if (c.inputs.size() < 4 || c.inputs[3].empty()) return;
    const Tensor* axes = b_.src.initializer(c.inputs[3]);
    const Tensor* pads = b_.src.initializer(c.inputs[1]);
    const int64_t rank = rank_of(x, 0);
    if (!axes || !pads || rank < 1) return;
    const std::vector<int64_t> a = axes->cast(DType::Int64).to_vector<int64_t>();
    const std::vector<int64_t> p = pads->cast(DType::Int64).to_vector<int64_t>();
    if (p.size() != 2 * a.size()) return;  // invalid: the float runtime reports it
    std::vector<int64_t> full(static_cast<size_t>(2 * rank), 0);
    const int64_t n = static_cast<int64_t>(a.size());
    for (int64_t i = 0; i < n; ++i) {
      const int64_t ax =
          a[static_cast<size_t>(i)] < 0 ? a[static_cast<size_t>(i)] + rank : a[static_cast<size_t>(i)];
      if (ax < 0 || ax >= rank) return;
      full[static_cast<size_t>(ax)] = p[static_cast<size_t>(i)];
      full[static_cast<size_t>(ax + rank)] = p[static_cast<size_t>(i + n)];
    }
    c.inputs[1] = b_.add_init(c.inputs[1] + "_every_axis", Tensor::from_vector<int64_t>({2 * rank}, full));
    c.inputs.resize(3);
  }

  // v's rank from the inferred shapes, else through the ops before it that keep their first input's rank
  // (libonnx 1.12 infers nothing past a node newer than its schemas, e.g. opset 18's Split); -1: unknown.
  int64_t rank_of(const std::string& v, int depth) const {
    static const std::set<std::string> keep = {"Split",
                                               "Slice",
                                               "Pad",
                                               "Resize",
                                               "MaxPool",
                                               "AveragePool",
                                               "Conv",
                                               "ConvTranspose",
                                               "BatchNormalization",
                                               "Relu",
                                               "Clip",
                                               "LeakyRelu",
                                               "Sigmoid",
                                               "Identity",
                                               "Dropout",
                                               "QuantizeLinear",
                                               "DequantizeLinear"};
    auto vi = b_.src.value_info.find(v);
    if (vi != b_.src.value_info.end() && vi->second.shape)
      return static_cast<int64_t>(vi->second.shape->size());
    for (const auto& in : b_.src.inputs)
      if (in.name == v) return in.shape ? static_cast<int64_t>(in.shape->size()) : -1;
    if (depth > 64) return -1;
    for (const Node& n : b_.src.nodes)
      if (std::find(n.outputs.begin(), n.outputs.end(), v) != n.outputs.end())
        return n.domain.empty() && keep.count(n.op_type) && n.has_input(0) ? rank_of(n.inputs[0], depth + 1)
                                                                           : -1;
    return -1;
  }

  void int_movement(const LoweredNode& ln) {
    Node c = *ln.node;
    const std::string x = c.inputs[0];
    c.inputs[0] = qname_.at(x);
    if (c.op_type == "Pad" && c.attr_string("mode", "constant") == "constant") {
      // The constant (0 when omitted) as an int8 level of the data's grid.
      const QuantParams& p = params(x);
      const float v = c.inputs.size() > 2 && !c.inputs[2].empty()
                          ? static_cast<float>(b_.src.initializer(c.inputs[2])->value_as_double(0))
                          : 0.f;
      Tensor t(storage_dtype(p), Shape{});
      const int32_t q = quantize_value(v, p.scale[0], p.zero_point[0], p.qmin, p.qmax);
      if (t.dtype() == DType::Int8) t.data<int8_t>()[0] = static_cast<int8_t>(q);
      else t.data<uint8_t>()[0] = static_cast<uint8_t>(q);
      c.inputs.resize(std::max<size_t>(c.inputs.size(), 3));
      c.inputs[2] = b_.add_init(x + "_pad_level", t);
    }
    if (c.op_type == "Pad") pads_over_every_axis(c, x);
    for (auto& o : c.outputs) {
      if (o.empty() || !b_.L.integer(o)) continue;
      const std::string qn = b_.fresh(o + "_quantized");
      qname_[o] = qn;
      o = qn;
    }
    b_.out.nodes.push_back(c);
  }

  Builder& b_;
  std::map<std::string, std::string> qname_, fname_;
};

}  // namespace

ExportedGraph build_qop(Builder& b) { return QopBuilder(b).build(); }

}  // namespace qs::exportx
