// Activation functions: Relu, LeakyRelu, Elu, Selu, Celu, Sigmoid, Tanh, HardSigmoid, HardSwish, Softplus,
// Mish, Softsign, ThresholdedRelu, Shrink.
#include <algorithm>
#include <cmath>

#include "core/ops/elementwise_groups.h"
#include "core/ops/unary_kernel.h"

namespace qs::ew {

namespace {

template <typename MakeKernel>
void add_op(OpRegistry& r, const char* op, int since, int until, MakeKernel make) {
  r.add("", op, since, until, [make](const KernelInit& init) {
    check_arity(init, 1, 1);
    return make(init);
  });
}

// Softplus log(1 + e^x) without overflow for large x.
template <typename T>
T softplus(T x) {
  return x > T{0} ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

}  // namespace

void register_activation_ops(OpRegistry& r) {
  // Relu: opset 14 added the signed integer types; accepting them from opset 6 is harmless.
  // max(x, 0) written so that NaN propagates (x < 0 is false for NaN).
  add_op(r, "Relu", 6, 21, [](const KernelInit&) {
    return unary_map_kernel<SignedTypes>([](auto x) { return x < decltype(x){0} ? decltype(x){0} : x; });
  });
  add_op(r, "LeakyRelu", 6, 21, [](const KernelInit& init) {
    const float alpha = init.node.attr_float("alpha", 0.01f);
    return unary_map_kernel<FloatTypes>([alpha](auto x) {
      using T = decltype(x);
      return blend(x < T{0}, static_cast<T>(alpha) * x, x);
    });
  });
  add_op(r, "Elu", 6, 21, [](const KernelInit& init) {
    const float alpha = init.node.attr_float("alpha", 1.0f);
    return eigen_unary_kernel([alpha](const auto& x) {
      using T = typename std::decay_t<decltype(x)>::Scalar;
      return (x < T{0}).select(static_cast<T>(alpha) * x.expm1(), x);
    });
  });
  add_op(r, "Selu", 6, 21, [](const KernelInit& init) {
    const float alpha = init.node.attr_float("alpha", 1.67326319217681884765625f);
    const float gamma = init.node.attr_float("gamma", 1.05070102214813232421875f);
    return eigen_unary_kernel([alpha, gamma](const auto& x) {
      using T = typename std::decay_t<decltype(x)>::Scalar;
      const T a = static_cast<T>(alpha), g = static_cast<T>(gamma);
      return (x <= T{0}).select(g * a * x.expm1(), g * x);
    });
  });
  add_op(r, "Celu", 12, 21, [](const KernelInit& init) {
    const float alpha = init.node.attr_float("alpha", 1.0f);
    if (alpha == 0.0f) init.invalid("attribute 'alpha' must be non-zero (Celu divides by it)");
    return eigen_unary_kernel([alpha](const auto& x) {
      using T = typename std::decay_t<decltype(x)>::Scalar;
      const T a = static_cast<T>(alpha);
      // max(0, x) + min(0, alpha * (exp(x / alpha) - 1))
      return x.max(T{0}) + (a * (x / a).expm1()).min(T{0});
    });
  });
  add_op(r, "Sigmoid", 6, 21,
         [](const KernelInit&) { return eigen_unary_kernel([](const auto& x) { return x.logistic(); }); });
  add_op(r, "Tanh", 6, 21,
         [](const KernelInit&) { return eigen_unary_kernel([](const auto& x) { return x.tanh(); }); });
  add_op(r, "HardSigmoid", 6, 21, [](const KernelInit& init) {
    const float alpha = init.node.attr_float("alpha", 0.2f);
    const float beta = init.node.attr_float("beta", 0.5f);
    return unary_map_kernel<FloatTypes>([alpha, beta](auto x) {
      using T = decltype(x);
      return std::max(T{0}, std::min(T{1}, static_cast<T>(alpha) * x + static_cast<T>(beta)));
    });
  });
  // HardSwish: x * HardSigmoid(x) with alpha = 1/6, beta = 0.5 (fixed by the spec).
  add_op(r, "HardSwish", 14, 21, [](const KernelInit&) {
    return unary_map_kernel<FloatTypes>([](auto x) {
      using T = decltype(x);
      return x * std::max(T{0}, std::min(T{1}, x * static_cast<T>(1.0 / 6.0) + T{0.5}));
    });
  });
  add_op(r, "Softplus", 1, 21,
         [](const KernelInit&) { return unary_map_kernel<FloatTypes>([](auto x) { return softplus(x); }); });
  // Mish (opset 18): x·tanh(softplus(x)), YOLOv4's activation.
  add_op(r, "Mish", 18, 21, [](const KernelInit&) {
    return unary_map_kernel<FloatTypes>([](auto x) { return x * std::tanh(softplus(x)); });
  });
  add_op(r, "Softsign", 1, 21, [](const KernelInit&) {
    return unary_map_kernel<FloatTypes>([](auto x) { return x / (decltype(x){1} + std::abs(x)); });
  });
  add_op(r, "ThresholdedRelu", 10, 21, [](const KernelInit& init) {
    const float alpha = init.node.attr_float("alpha", 1.0f);
    return unary_map_kernel<FloatTypes>([alpha](auto x) {
      using T = decltype(x);
      return x > static_cast<T>(alpha) ? x : T{0};
    });
  });
  // Shrink accepts every numeric type; the comparison and shift are done in double so that integer inputs
  // follow the same formula, then converted back.
  add_op(r, "Shrink", 9, 21, [](const KernelInit& init) {
    const double bias = init.node.attr_float("bias", 0.0f);
    const double lambd = init.node.attr_float("lambd", 0.5f);
    return unary_map_kernel<NumericTypes>([bias, lambd](auto x) {
      using T = decltype(x);
      const double v = static_cast<double>(x);
      return static_cast<T>(v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0));
    });
  });
}

}  // namespace qs::ew
