#include "core/int/layer_quant.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/int/int_tensor.h"

namespace qs {

bool LayerQuant::int32_safe(int64_t K) const {
  if (max_abs_x > 32767 || max_abs_w > 32767) return false;
  const double bound = static_cast<double>(K) * max_abs_x * max_abs_w + static_cast<double>(max_abs_bias);
  return bound <= static_cast<double>(std::numeric_limits<int32_t>::max());
}

void activation_clamp(const QuantParams& p, float a_lo, float a_hi, int32_t* lo, int32_t* hi) {
  const float s = p.scale[0];
  const int32_t zp = p.zero_point[0];
  // quantize_value saturates, so infinite bounds give qmin/qmax; it is monotone, so the clamp of a
  // requantized value equals quantizing the clipped real value of a grid level (see lowering.h).
  *lo = std::max(p.qmin, quantize_value(a_lo, s, zp, p.qmin, p.qmax));
  *hi = std::min(p.qmax, quantize_value(a_hi, s, zp, p.qmin, p.qmax));
}

LayerQuant prepare_layer(const Graph& g, const LoweredNode& ln, const QuantPlan& plan, const Lowering& L) {
  const Node& n = *ln.node;
  LayerQuant q;
  q.where = n.describe();
  const PlanEntry& we = *plan.active(ln.weight);
  const Tensor& w = *g.initializer(ln.weight);
  q.wshape = w.shape();
  q.in = *L.params_of(n.inputs[static_cast<size_t>(1 - ln.weight_input)]);
  q.out = *L.params_of(ln.result);
  if (n.op_type == "Conv") q.out_channels = w.dim(0);
  else if (n.op_type == "ConvTranspose") q.out_channels = w.dim(1) * n.attr_int("group", 1);
  else if (n.op_type == "Gemm") q.out_channels = n.attr_int("transB", 0) ? w.dim(0) : w.dim(1);
  else q.out_channels = ln.weight_input == 1 ? w.dim(1) : w.dim(0);  // MatMul [K, N] or [M, K]

  q.w = to_int32(quantize(w, we.params));
  const QuantParams& wp = we.params;
  const float s_in = q.in.scale[0];
  const float s_out = q.out.scale[0];
  const int64_t M = q.out_channels;
  const Tensor* b = ln.bias.empty() ? nullptr : g.initializer(ln.bias);
  q.w_zp.resize(static_cast<size_t>(M));
  q.bias.assign(static_cast<size_t>(M), 0);
  q.acc_scale.resize(static_cast<size_t>(M));
  q.mult.resize(static_cast<size_t>(M));
  for (int64_t c = 0; c < M; ++c) {
    const int64_t wc = n.op_type == "ConvTranspose" ? c % w.dim(1) : c;
    const size_t k = wp.channels() == 1 ? 0 : static_cast<size_t>(wc);
    const size_t uc = static_cast<size_t>(c);
    q.w_zp[uc] = wp.zero_point[k];
    q.acc_scale[uc] = static_cast<double>(s_in) * static_cast<double>(wp.scale[k]);
    q.mult[uc] = fixed_multiplier(q.acc_scale[uc] / static_cast<double>(s_out),
                                  q.where + " output channel " + std::to_string(c));
    if (b) {
      // Exactly the simulation's bias (core/quant/simulate.cpp): a float product for the scale, the
      // division in double, round half to even, saturated to int32.
      const float s = s_in * wp.scale[k];
      const float bv = b->data<float>()[static_cast<size_t>(b->numel() == 1 ? 0 : c)];
      double v = std::nearbyint(static_cast<double>(bv) / s);
      v = std::clamp(v, static_cast<double>(std::numeric_limits<int32_t>::min()),
                     static_cast<double>(std::numeric_limits<int32_t>::max()));
      q.bias[uc] = static_cast<int32_t>(v);
      q.max_abs_bias = std::max<int64_t>(q.max_abs_bias, std::abs(static_cast<int64_t>(q.bias[uc])));
    }
  }
  activation_clamp(q.out, ln.act_lo, ln.act_hi, &q.lo, &q.hi);
  const int32_t zx = q.in.zero_point[0];
  q.max_abs_x = std::max(std::abs(q.in.qmin - zx), std::abs(q.in.qmax - zx));
  for (size_t k = 0; k < wp.zero_point.size(); ++k)
    q.max_abs_w = std::max({q.max_abs_w, std::abs(wp.qmin - wp.zero_point[k]), std::abs(wp.qmax - wp.zero_point[k])});
  return q;
}

ConstAffine const_operand_affine(const LoweredNode& ln, const Lowering& L, const Tensor& k) {
  const Node& n = *ln.node;
  const std::string& op = n.op_type;
  const double sx = L.params_of(n.inputs[static_cast<size_t>(1 - ln.const_input)])->scale[0];
  const double sy = L.params_of(ln.result)->scale[0];
  const float* v = k.data<float>();
  std::vector<double> m, c;
  if (op == "Mul" || op == "Div") {
    for (int64_t e = 0; e < k.numel(); ++e)
      m.push_back(op == "Mul" ? static_cast<double>(v[e]) * sx / sy : sx / (static_cast<double>(v[e]) * sy));
    c = {0.0};
  } else {
    const bool negate_x = op == "Sub" && ln.const_input == 0;  // k − x
    const bool negate_k = op == "Sub" && ln.const_input == 1;  // x − k
    m = {negate_x ? -sx / sy : sx / sy};
    for (int64_t e = 0; e < k.numel(); ++e)
      c.push_back((negate_k ? -1.0 : 1.0) * static_cast<double>(v[e]) / sy);
  }
  return const_affine(m, c, n.describe());
}

}  // namespace qs
