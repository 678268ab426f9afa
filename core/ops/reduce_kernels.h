// Reduction kernels over the [outer, red, inner] view of ReduceLayout.
//
// A reducer R describes one op over element type T with an accumulator type A:
//   A init(); A map(T x); A combine(A, A); T finish(A acc, int64_t count).
// Floating types accumulate in T (as ONNX Runtime); integer types in a 64-bit integer that wraps.
// inner == 1 (reducing trailing axes) walks each row with 8 independent accumulators, which vectorizes and
// keeps float sums more accurate than one running sum; inner > 1 accumulates whole rows of `inner`
// elements at a time, which also vectorizes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/common/parallel.h"
#include "core/ops/binary_kernel.h"
#include "core/ops/elementwise_convert.h"

namespace qs::red {

template <typename T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, T,
                               std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

template <typename T>
struct SumR {
  using A = Acc<T>;
  A init() const { return A{0}; }
  A map(T x) const { return static_cast<A>(x); }
  A combine(A a, A b) const { return ew::wrap_add(a, b); }
  T finish(A a, int64_t) const { return static_cast<T>(a); }
};
template <typename T>
struct MeanR : SumR<T> {
  T finish(typename SumR<T>::A a, int64_t n) const {
    if constexpr (std::is_floating_point_v<T>) {
      return a / static_cast<T>(n);
    } else {
      return n == 0 ? T{0} : static_cast<T>(a / static_cast<typename SumR<T>::A>(n));
    }
  }
};
template <typename T>
struct SumSquareR : SumR<T> {
  typename SumR<T>::A map(T x) const {
    const auto v = static_cast<typename SumR<T>::A>(x);
    return ew::wrap_mul(v, v);
  }
};
template <typename T>
struct L1R : SumR<T> {
  typename SumR<T>::A map(T x) const {
    const auto v = static_cast<typename SumR<T>::A>(x);
    if constexpr (std::is_unsigned_v<T>) {
      return v;
    } else {
      return v < 0 ? ew::wrap_sub(decltype(v){0}, v) : v;
    }
  }
};
template <typename T>
struct L2R : SumSquareR<T> {
  T finish(typename SumR<T>::A a, int64_t) const {
    if constexpr (std::is_floating_point_v<T>) {
      return std::sqrt(a);
    } else {
      return ew::convert<T>(std::sqrt(static_cast<double>(a)));
    }
  }
};
template <typename T>
struct LogSumR : SumR<T> {
  T finish(typename SumR<T>::A a, int64_t) const {
    if constexpr (std::is_floating_point_v<T>) {
      return std::log(a);
    } else {
      return ew::convert<T>(std::log(static_cast<double>(a)));
    }
  }
};
template <typename T>
struct ProdR : SumR<T> {
  typename SumR<T>::A init() const { return 1; }
  typename SumR<T>::A combine(typename SumR<T>::A a, typename SumR<T>::A b) const {
    return ew::wrap_mul(a, b);
  }
};
template <typename T>
bool is_nan(T x) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(x);
  } else {
    return false;
  }
}

// Max/Min propagate NaN (as numpy); an empty reduction gives -inf/+inf (lowest/max for integers).
template <typename T>
struct MaxR {
  using A = T;
  A init() const {
    return std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                : std::numeric_limits<T>::lowest();
  }
  A map(T x) const { return x; }
  A combine(A a, A b) const { return (b > a || is_nan(b)) ? b : a; }
  T finish(A a, int64_t) const { return a; }
};
template <typename T>
struct MinR {
  using A = T;
  A init() const {
    return std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity()
                                                : std::numeric_limits<T>::max();
  }
  A map(T x) const { return x; }
  A combine(A a, A b) const { return (b < a || is_nan(b)) ? b : a; }
  T finish(A a, int64_t) const { return a; }
};

// Reduces n contiguous elements with 8 interleaved accumulators.
template <typename T, typename R>
typename R::A reduce_row(const T* x, int64_t n, const R& r) {
  using A = typename R::A;
  constexpr int64_t kLanes = 8;
  A acc = r.init();
  int64_t i = 0;
  if (n >= kLanes) {
    A lanes[kLanes];
    for (int64_t j = 0; j < kLanes; ++j) lanes[j] = r.init();
    for (; i + kLanes <= n; i += kLanes)
      for (int64_t j = 0; j < kLanes; ++j) lanes[j] = r.combine(lanes[j], r.map(x[i + j]));
    for (int64_t j = 0; j < kLanes; ++j) acc = r.combine(acc, lanes[j]);
  }
  for (; i < n; ++i) acc = r.combine(acc, r.map(x[i]));
  return acc;
}

// y[o, i] = finish(reduce over k of x[o, k, i]).
template <typename T, typename R>
void reduce(const T* x, T* y, int64_t outer, int64_t red, int64_t inner, const R& r) {
  using A = typename R::A;
  if (inner == 1) {
    parallel_for(
        0, outer, [&](int64_t o) { y[o] = r.finish(reduce_row(x + o * red, red, r), red); },
        std::max<int64_t>(red, 1));
    return;
  }
  constexpr int64_t kBlock = 512;  // inner elements per work item; the accumulators live on the stack
  const int64_t nblk = (inner + kBlock - 1) / kBlock;
  parallel_for(
      0, outer * nblk,
      [&](int64_t item) {
        const int64_t o = item / nblk, i0 = (item % nblk) * kBlock, len = std::min(kBlock, inner - i0);
        A acc[kBlock];
        for (int64_t i = 0; i < len; ++i) acc[i] = r.init();
        const T* base = x + o * red * inner + i0;
        for (int64_t k = 0; k < red; ++k) {
          const T* row = base + k * inner;
          for (int64_t i = 0; i < len; ++i) acc[i] = r.combine(acc[i], r.map(row[i]));
        }
        T* out = y + o * inner + i0;
        for (int64_t i = 0; i < len; ++i) out[i] = r.finish(acc[i], red);
      },
      std::max<int64_t>(red, 1) * kBlock);
}

// log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m the maximum, so it neither overflows nor
// underflows; an infinite or NaN maximum is the result itself. Integers are computed in double.
template <typename T>
void reduce_log_sum_exp(const T* x, T* y, int64_t outer, int64_t red, int64_t inner) {
  using C = std::conditional_t<std::is_floating_point_v<T>, T, double>;
  const MaxR<C> mx;
  auto finish = [](C m, C s) -> T {
    if (!std::isfinite(m)) return ew::convert<T>(m);
    return ew::convert<T>(m + std::log(s));
  };
  parallel_for(
      0, outer,
      [&](int64_t o) {
        const T* base = x + o * red * inner;
        for (int64_t i = 0; i < inner; ++i) {
          C m = mx.init();
          for (int64_t k = 0; k < red; ++k) m = mx.combine(m, static_cast<C>(base[k * inner + i]));
          C s = 0;
          if (std::isfinite(m))
            for (int64_t k = 0; k < red; ++k) s += std::exp(static_cast<C>(base[k * inner + i]) - m);
          y[o * inner + i] = finish(m, s);
        }
      },
      std::max<int64_t>(red * inner, 1) * 8);
}

}  // namespace qs::red
