// Building blocks for two-input elementwise kernels with numpy broadcasting.
#pragma once

#include <memory>
#include <type_traits>

#include "core/ops/elementwise_broadcast.h"
#include "core/ops/elementwise_util.h"

namespace qs::ew {

// Throws Error when the two inputs of a same-type op differ in element type.
void check_same_type(const Tensor& a, const Tensor& b);

// Integer add/sub/mul that wrap modulo 2^bits like two's complement hardware (no signed-overflow UB):
// computed in an unsigned type at least as wide as int, so small types do not promote to signed int.
template <typename T>
using WrapU = std::make_unsigned_t<decltype(T{} + T{})>;
template <typename T>
T wrap_add(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WrapU<T>>(static_cast<WrapU<T>>(a) + static_cast<WrapU<T>>(b)));
  } else {
    return a + b;
  }
}
template <typename T>
T wrap_sub(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WrapU<T>>(static_cast<WrapU<T>>(a) - static_cast<WrapU<T>>(b)));
  } else {
    return a - b;
  }
}
template <typename T>
T wrap_mul(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WrapU<T>>(static_cast<WrapU<T>>(a) * static_cast<WrapU<T>>(b)));
  } else {
    return a * b;
  }
}

// A kernel for ops whose two inputs share element type T (accepted by `Types`) and whose output is T, or
// bool when kBoolOut. op_for(T{}) returns the scalar op for T; it is built once per run.
template <typename Types, bool kBoolOut, typename OpFor>
std::unique_ptr<Kernel> same_type_binary_kernel(OpFor op_for) {
  return make_kernel([op_for](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& a = required(in, 0);
    const Tensor& b = required(in, 1);
    check_same_type(a, b);
    dispatch_dtype(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (Types::template ok<T>) {
        using R = std::conditional_t<kBoolOut, bool, T>;
        out[0] = binary_broadcast<T, T, R>(a, b, op_for(tag));
      } else {
        unsupported_type(a.dtype(), "A", Types::names);
      }
    });
  });
}

}  // namespace qs::ew
