// Building blocks for one-input elementwise kernels (math functions, activations, logic, tests).
#pragma once

#include <Eigen/Core>
#include <memory>
#include <string>

#include "core/ops/elementwise_util.h"

namespace qs::ew {

// A kernel computing y = op over x in chunks: fn(const T* x, R* y, int64_t n) for every T accepted by
// `Types`, with R = bool when kBoolOut else T. The output has x's shape.
template <typename Types, bool kBoolOut, typename ChunkFn>
std::unique_ptr<Kernel> unary_chunk_kernel(ChunkFn fn) {
  return make_kernel([fn](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = required(in, 0);
    dispatch_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (Types::template ok<T>) {
        using R = std::conditional_t<kBoolOut, bool, T>;
        Tensor y(DTypeOf<R>::value, x.shape());
        const T* px = x.data<T>();
        R* py = y.data<R>();
        parallel_chunks(x.numel(), [&](int64_t b, int64_t e) { fn(px + b, py + b, e - b); });
        out[0] = std::move(y);
      } else {
        unsupported_type(x.dtype(), "X", Types::names);
      }
    });
  });
}

// A kernel computing y[i] = f(x[i]) with a generic callable f. The loop auto-vectorizes when f is
// branch-free: compute both arms of a conditional and select (GCC does not speculate a floating-point
// operation written inside one arm, because of -ftrapping-math).
template <typename Types, bool kBoolOut = false, typename F>
std::unique_ptr<Kernel> unary_map_kernel(F f) {
  return unary_chunk_kernel<Types, kBoolOut>([f](const auto* x, auto* y, int64_t n) {
    using R = std::remove_pointer_t<decltype(y)>;
    // A local copy: f's captured parameters (e.g. alpha) then cannot alias y, so they stay in registers
    // and the loop vectorizes.
    const F g = f;
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<R>(g(x[i]));
  });
}

// A kernel for floating-point types evaluating an Eigen array expression per chunk (Eigen vectorizes
// exp, log, tanh, logistic, sin, cos and erf with SIMD polynomial approximations accurate to a few ulp).
// expr(xa) receives an Eigen::Map of the chunk and returns an array expression of the same size.
template <typename Expr>
std::unique_ptr<Kernel> eigen_unary_kernel(Expr expr) {
  return unary_chunk_kernel<FloatTypes, false>([expr](const auto* x, auto* y, int64_t n) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(x)>>;
    Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> xa(x, n);
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> ya(y, n);
    ya = expr(xa);
  });
}

}  // namespace qs::ew
