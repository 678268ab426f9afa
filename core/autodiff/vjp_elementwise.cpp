// VJPs of elementwise ops: activations, unary math, Clip, PRelu, and the broadcasting binary ops
// Add/Sub/Mul/Div/Pow and variadic Sum/Mean. Unary derivatives are written from the forward input x
// and/or output y, whichever is exact and cheap. At kinks the gradient of the side the forward kernel
// takes at the kink point is used: Relu passes for x > 0, Clip for min <= x <= max, LeakyRelu/PRelu use
// the slope for x < 0.
#include <cmath>
#include <limits>
#include <numbers>

#include "core/autodiff/vjp.h"
#include "core/common/parallel.h"
#include "core/ops/broadcast.h"

namespace qs {

namespace {

// gx[i] = f(x[i], y[i], g[i]) over all elements, in parallel chunks.
template <typename F>
std::unique_ptr<Vjp> unary_vjp(const KernelInit& init, F f) {
  const std::string where = init.where();
  return make_vjp([f, where](const VjpArgs& a, std::span<Tensor> gi) {
    if (!a.need[0]) return;
    const Tensor& x = in_f32(a, 0, where);
    const float* xp = x.data<float>();
    const float* yp = a.outputs[0].data<float>();
    const float* gp = a.grad_outputs[0].data<float>();
    Tensor gx(DType::Float32, x.shape());
    float* op = gx.data<float>();
    const int64_t n = x.numel();
    constexpr int64_t kChunk = 16384;
    parallel_for(
        0, (n + kChunk - 1) / kChunk,
        [&](int64_t c) {
          const int64_t e = std::min(n, (c + 1) * kChunk);
          for (int64_t i = c * kChunk; i < e; ++i) op[i] = f(xp[i], yp[i], gp[i]);
        },
        kChunk);
    gi[0] = std::move(gx);
  });
}

template <typename F>
void add_unary(VjpRegistry& r, const char* op, int since, F f) {
  r.add(op, since, 21, [f](const KernelInit& init) { return unary_vjp(init, f); });
}

float hard_sigmoid_grad(float x, float alpha, float beta) {
  const float v = alpha * x + beta;
  return v > 0.f && v < 1.f ? alpha : 0.f;
}

// Clip: the bounds as the forward kernel reads them (attributes before opset 11, inputs after).
std::unique_ptr<Vjp> make_clip_vjp(const KernelInit& init) {
  const bool attrs = init.opset < 11;
  const float amin = init.node.attr_float("min", std::numeric_limits<float>::lowest());
  const float amax = init.node.attr_float("max", std::numeric_limits<float>::max());
  const std::string where = init.where();
  return make_vjp([=](const VjpArgs& a, std::span<Tensor> gi) {
    const Tensor& x = in_f32(a, 0, where);
    float lo = amin, hi = amax;
    if (!attrs) {
      lo = a.inputs.size() > 1 && a.inputs[1] ? in_f32(a, 1, where).data<float>()[0]
                                              : std::numeric_limits<float>::lowest();
      hi = a.inputs.size() > 2 && a.inputs[2] ? in_f32(a, 2, where).data<float>()[0]
                                              : std::numeric_limits<float>::max();
    }
    const float* xp = x.data<float>();
    const float* gp = a.grad_outputs[0].data<float>();
    const int64_t n = x.numel();
    // min > max makes every element max: the gradient goes to max only.
    const bool inverted = lo > hi;
    if (a.need[0]) {
      Tensor gx(DType::Float32, x.shape());
      float* op = gx.data<float>();
      for (int64_t i = 0; i < n; ++i) op[i] = !inverted && xp[i] >= lo && xp[i] <= hi ? gp[i] : 0.f;
      gi[0] = std::move(gx);
    }
    for (size_t k = 1; k <= 2; ++k) {
      if (a.need.size() <= k || !a.need[k]) continue;
      double s = 0;
      for (int64_t i = 0; i < n; ++i) {
        const bool hit = k == 1 ? (!inverted && xp[i] < lo) : (inverted || xp[i] > hi);
        if (hit) s += gp[i];
      }
      gi[k] = Tensor::from_vector<float>(a.inputs[k]->shape(), {static_cast<float>(s)});
    }
  });
}

std::unique_ptr<Vjp> make_prelu_vjp(const KernelInit& init) {
  const std::string where = init.where();
  return make_vjp([where](const VjpArgs& a, std::span<Tensor> gi) {
    const Tensor& x = in_f32(a, 0, where);
    const Tensor& slope = in_f32(a, 1, where);
    const Shape& xs = x.shape();
    const float* xp = x.data<float>();
    const float* sp = slope.data<float>();
    const float* gp = a.grad_outputs[0].data<float>();
    Tensor gx = a.need[0] ? Tensor(DType::Float32, xs) : Tensor();
    std::vector<double> gs(a.need[1] ? static_cast<size_t>(slope.numel()) : 0, 0.0);
    float* gxp = gx.defined() ? gx.data<float>() : nullptr;
    for_each_broadcast<1>(xs, {broadcast_strides(slope.shape(), xs)}, [&](int64_t i, int64_t s) {
      const bool neg = xp[i] < 0.f;
      if (gxp) gxp[i] = neg ? sp[s] * gp[i] : gp[i];
      if (!gs.empty() && neg) gs[static_cast<size_t>(s)] += static_cast<double>(gp[i]) * xp[i];
    });
    if (gxp) gi[0] = std::move(gx);
    if (a.need[1]) {
      Tensor t(DType::Float32, slope.shape());
      for (size_t i = 0; i < gs.size(); ++i) t.data<float>()[i] = static_cast<float>(gs[i]);
      gi[1] = std::move(t);
    }
  });
}

enum class Bin { Add, Sub, Mul, Div, Pow };

// Binary ops with numpy broadcasting: the local partial derivatives are evaluated per output element, then
// summed back to each operand's shape (in double).
std::unique_ptr<Vjp> make_binary_vjp(const KernelInit& init, Bin op) {
  const std::string where = init.where();
  return make_vjp([where, op](const VjpArgs& a, std::span<Tensor> gi) {
    const Tensor& A = in_f32(a, 0, where);
    const Tensor& B = in_f32(a, 1, where);
    if (op == Bin::Add || op == Bin::Sub) {  // no local factor: only the broadcast sums
      if (a.need[0]) gi[0] = sum_to_shape(a.grad_outputs[0], A.shape());
      if (a.need[1]) {
        Tensor s = sum_to_shape(a.grad_outputs[0], B.shape());
        if (op == Bin::Sub) {
          Tensor n(DType::Float32, s.shape());
          for (int64_t i = 0; i < s.numel(); ++i) n.data<float>()[i] = -s.data<float>()[i];
          s = std::move(n);
        }
        gi[1] = std::move(s);
      }
      return;
    }
    const Tensor& Y = a.outputs[0];
    const Shape& ys = Y.shape();
    const float* ap = A.data<float>();
    const float* bp = B.data<float>();
    const float* yp = Y.data<float>();
    const float* gp = a.grad_outputs[0].data<float>();
    std::vector<double> ga(a.need[0] ? static_cast<size_t>(A.numel()) : 0, 0.0);
    std::vector<double> gb(a.need[1] ? static_cast<size_t>(B.numel()) : 0, 0.0);
    const bool wa = a.need[0], wb = a.need[1];
    for_each_broadcast<2>(ys, {broadcast_strides(A.shape(), ys), broadcast_strides(B.shape(), ys)},
                          [&](int64_t i, int64_t ia, int64_t ib) {
                            const double g = gp[i], x = ap[ia], z = bp[ib];
                            double da = 0, db = 0;
                            switch (op) {
                              case Bin::Add:
                                da = 1, db = 1;
                                break;
                              case Bin::Sub:
                                da = 1, db = -1;
                                break;
                              case Bin::Mul:
                                da = z, db = x;
                                break;
                              case Bin::Div:
                                da = 1 / z, db = -x / (z * z);
                                break;
                              case Bin::Pow:
                                // d(x^z)/dx = z x^(z-1); d/dz = x^z log x (0 where x <= 0: undefined or a
                                // constant-exponent branch in practice).
                                da = z == 0 ? 0 : z * std::pow(x, z - 1);
                                db = x > 0 ? static_cast<double>(yp[i]) * std::log(x) : 0;
                                break;
                            }
                            if (wa) ga[static_cast<size_t>(ia)] += g * da;
                            if (wb) gb[static_cast<size_t>(ib)] += g * db;
                          });
    auto store = [](const std::vector<double>& v, const Shape& s) {
      Tensor t(DType::Float32, s);
      float* p = t.data<float>();
      for (size_t i = 0; i < v.size(); ++i) p[i] = static_cast<float>(v[i]);
      return t;
    };
    if (wa) gi[0] = store(ga, A.shape());
    if (wb) gi[1] = store(gb, B.shape());
  });
}

// Sum and Mean of any number of inputs: each input receives the output gradient (scaled by 1/n for Mean)
// summed over its broadcast axes.
std::unique_ptr<Vjp> make_variadic_vjp(const KernelInit& init, bool mean) {
  const std::string where = init.where();
  return make_vjp([where, mean](const VjpArgs& a, std::span<Tensor> gi) {
    const Tensor& g = a.grad_outputs[0];
    const float scale = mean ? 1.f / static_cast<float>(a.inputs.size()) : 1.f;
    for (size_t k = 0; k < a.inputs.size(); ++k) {
      if (!a.need[k]) continue;
      Tensor s = sum_to_shape(g, in_f32(a, k, where).shape());
      if (scale != 1.f) {
        Tensor c(DType::Float32, s.shape());
        for (int64_t i = 0; i < s.numel(); ++i) c.data<float>()[i] = s.data<float>()[i] * scale;
        s = std::move(c);
      }
      gi[k] = std::move(s);
    }
  });
}

// Identity-like ops whose output is the input (Identity, Dropout in inference, Cast float32 → float32).
std::unique_ptr<Vjp> make_pass_vjp(const KernelInit& init) {
  if (init.node.op_type == "Cast" && init.node.attr_int("to", 0) != static_cast<int64_t>(DType::Float32))
    init.unsupported("gradient through a Cast to a type other than float32");
  return make_vjp([](const VjpArgs& a, std::span<Tensor> gi) {
    if (a.need[0]) gi[0] = a.grad_outputs[0].reshaped(a.inputs[0]->shape());
  });
}

}  // namespace

void register_elementwise_vjps(VjpRegistry& r) {
  add_unary(r, "Relu", 6, [](float x, float, float g) { return x > 0.f ? g : 0.f; });
  r.add("LeakyRelu", 6, 21, [](const KernelInit& init) {
    const float alpha = init.node.attr_float("alpha", 0.01f);
    return unary_vjp(init, [alpha](float x, float, float g) { return x < 0.f ? alpha * g : g; });
  });
  r.add("Elu", 6, 21, [](const KernelInit& init) {
    const float alpha = init.node.attr_float("alpha", 1.0f);
    return unary_vjp(init, [alpha](float x, float y, float g) { return x < 0.f ? g * (y + alpha) : g; });
  });
  add_unary(r, "Sigmoid", 6, [](float, float y, float g) { return g * y * (1.f - y); });
  add_unary(r, "Tanh", 6, [](float, float y, float g) { return g * (1.f - y * y); });
  r.add("HardSigmoid", 6, 21, [](const KernelInit& init) {
    const float alpha = init.node.attr_float("alpha", 0.2f);
    const float beta = init.node.attr_float("beta", 0.5f);
    return unary_vjp(init, [=](float x, float, float g) { return g * hard_sigmoid_grad(x, alpha, beta); });
  });
  // HardSwish = x·clamp(x/6 + 1/2, 0, 1): derivative 0 below -3, 1 above 3, x/3 + 1/2 between.
  add_unary(r, "HardSwish", 14,
            [](float x, float, float g) { return x < -3.f ? 0.f : (x > 3.f ? g : g * (x / 3.f + 0.5f)); });
  add_unary(r, "Softplus", 1, [](float x, float, float g) { return g / (1.f + std::exp(-x)); });
  // Mish = x·tanh(softplus(x)): derivative tanh(sp) + x·(1 − tanh²(sp))·sigmoid(x), in double.
  add_unary(r, "Mish", 18, [](float x, float, float g) {
    const double v = x, sp = v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
    const double t = std::tanh(sp), s = 1.0 / (1.0 + std::exp(-v));
    return static_cast<float>(g * (t + v * (1.0 - t * t) * s));
  });
  add_unary(r, "Erf", 9, [](float x, float, float g) {
    return static_cast<float>(g * 2.0 / std::sqrt(std::numbers::pi) * std::exp(-static_cast<double>(x) * x));
  });
  add_unary(r, "Sqrt", 6, [](float, float y, float g) { return g / (2.f * y); });
  add_unary(r, "Exp", 6, [](float, float y, float g) { return g * y; });
  add_unary(r, "Log", 6, [](float x, float, float g) { return g / x; });
  add_unary(r, "Reciprocal", 6, [](float, float y, float g) { return -g * y * y; });
  add_unary(r, "Neg", 6, [](float, float, float g) { return -g; });
  add_unary(r, "Abs", 6, [](float x, float, float g) { return x > 0.f ? g : (x < 0.f ? -g : 0.f); });
  r.add("Clip", 6, 21, make_clip_vjp);
  r.add("PRelu", 7, 21, make_prelu_vjp);
  r.add("Add", 7, 21, [](const KernelInit& i) { return make_binary_vjp(i, Bin::Add); });
  r.add("Sub", 7, 21, [](const KernelInit& i) { return make_binary_vjp(i, Bin::Sub); });
  r.add("Mul", 7, 21, [](const KernelInit& i) { return make_binary_vjp(i, Bin::Mul); });
  r.add("Div", 7, 21, [](const KernelInit& i) { return make_binary_vjp(i, Bin::Div); });
  r.add("Pow", 7, 21, [](const KernelInit& i) { return make_binary_vjp(i, Bin::Pow); });
  r.add("Sum", 6, 21, [](const KernelInit& i) { return make_variadic_vjp(i, false); });
  r.add("Mean", 6, 21, [](const KernelInit& i) { return make_variadic_vjp(i, true); });
  r.add("Identity", 1, 21, make_pass_vjp);
  r.add("Dropout", 7, 21, make_pass_vjp);
  r.add("Cast", 6, 21, make_pass_vjp);
}

}  // namespace qs
