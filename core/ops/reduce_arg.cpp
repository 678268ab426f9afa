// ArgMax, ArgMin: int64 index of the extreme value along `axis` (keepdims, select_last_index from opset
// 12). Ties go to the first index, or the last with select_last_index = 1. A NaN counts as the extreme
// value and the first NaN wins (as numpy.argmax).
#include <algorithm>
#include <cmath>

#include "core/common/parallel.h"
#include "core/ops/elementwise_util.h"
#include "core/ops/reduce_arg.h"

namespace qs::red {

namespace {

// Whether v replaces the current best b.
template <typename T, bool kMax, bool kLast>
inline bool better(T v, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(b)) return false;
    if (std::isnan(v)) return true;
  }
  if constexpr (kMax) {
    return kLast ? v >= b : v > b;
  } else {
    return kLast ? v <= b : v < b;
  }
}

template <typename T, bool kMax, bool kLast>
void arg_reduce(const T* x, int64_t* y, int64_t outer, int64_t red, int64_t inner) {
  constexpr int64_t kBlock = 512;
  const int64_t nblk = (inner + kBlock - 1) / kBlock;
  parallel_for(
      0, outer * nblk,
      [&](int64_t item) {
        const int64_t o = item / nblk, i0 = (item % nblk) * kBlock, len = std::min(kBlock, inner - i0);
        const T* base = x + o * red * inner + i0;
        int64_t* out = y + o * inner + i0;
        if (inner == 1) {
          T best = base[0];
          int64_t bi = 0;
          for (int64_t k = 1; k < red; ++k)
            if (better<T, kMax, kLast>(base[k], best)) best = base[k], bi = k;
          out[0] = bi;
          return;
        }
        T best[kBlock];
        for (int64_t i = 0; i < len; ++i) best[i] = base[i], out[i] = 0;
        for (int64_t k = 1; k < red; ++k) {
          const T* row = base + k * inner;
          for (int64_t i = 0; i < len; ++i)
            if (better<T, kMax, kLast>(row[i], best[i])) best[i] = row[i], out[i] = k;
        }
      },
      red * std::min(kBlock, inner));
}

KernelFactory arg_factory(bool is_max) {
  return [is_max](const KernelInit& init) -> std::unique_ptr<Kernel> {
    ew::check_arity(init, 1, 1);
    const int64_t axis = init.node.attr_int("axis", 0);
    const bool keepdims = init.node.attr_int("keepdims", 1) != 0;
    const int64_t last = init.node.attr_int("select_last_index", 0);
    if (last != 0 && last != 1) init.invalid("attribute 'select_last_index' must be 0 or 1");
    if (last == 1 && init.opset < 12) init.invalid("attribute 'select_last_index' requires opset 12");
    return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
      const Tensor& x = ew::required(in, 0);
      if (x.rank() == 0) throw Error("input must have rank >= 1");
      const int64_t a = normalize_axis(axis, x.rank(), "attribute 'axis'");
      const Shape& s = x.shape();
      int64_t outer = 1, inner = 1;
      for (int64_t i = 0; i < a; ++i) outer *= s[static_cast<size_t>(i)];
      for (int64_t i = a + 1; i < x.rank(); ++i) inner *= s[static_cast<size_t>(i)];
      const int64_t red = s[static_cast<size_t>(a)];
      if (red == 0)
        throw Error("cannot take the index of an extreme value along empty axis " + std::to_string(a));
      Shape os = s;
      if (keepdims)
        os[static_cast<size_t>(a)] = 1;
      else
        os.erase(os.begin() + a);
      Tensor y(DType::Int64, os);
      dispatch_dtype(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (ew::kIsBool<T>) {
          ew::unsupported_type(x.dtype(), "data", ew::NumericTypes::names);
        } else {
          const T* px = x.data<T>();
          int64_t* py = y.data<int64_t>();
          if (is_max)
            last ? arg_reduce<T, true, true>(px, py, outer, red, inner)
                 : arg_reduce<T, true, false>(px, py, outer, red, inner);
          else
            last ? arg_reduce<T, false, true>(px, py, outer, red, inner)
                 : arg_reduce<T, false, false>(px, py, outer, red, inner);
        }
      });
      out[0] = std::move(y);
    });
  };
}

}  // namespace

void register_arg_ops(OpRegistry& r) {
  // Opset 1-10 allowed only non-negative axis (a subset); 12 added select_last_index; 13 bfloat16.
  r.add("", "ArgMax", 1, 21, arg_factory(true));
  r.add("", "ArgMin", 1, 21, arg_factory(false));
}

}  // namespace qs::red
