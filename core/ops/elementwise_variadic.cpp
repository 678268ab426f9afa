// Variadic elementwise ops with numpy broadcasting over all inputs: Min, Max, Sum, Mean. The inputs are
// folded left to right (acc = op(acc, input_k)), each step a broadcast binary op.
#include <cmath>

#include "core/ops/binary_kernel.h"
#include "core/ops/elementwise_groups.h"

namespace qs::ew {

namespace {

enum class Fold { kMin, kMax, kSum, kMean };

// Min/Max propagate NaN like numpy.minimum/maximum.
template <typename T>
T fold_min(T x, T y) {
  if constexpr (kIsFloat<T>) {
    return (y < x || y != y) ? y : x;
  } else {
    return y < x ? y : x;
  }
}
template <typename T>
T fold_max(T x, T y) {
  if constexpr (kIsFloat<T>) {
    return (y > x || y != y) ? y : x;
  } else {
    return y > x ? y : x;
  }
}

template <typename T>
Tensor fold_inputs(std::span<const Tensor* const> in, Fold fold) {
  Tensor acc = required(in, 0);
  for (size_t k = 1; k < in.size(); ++k) {
    const Tensor& x = required(in, k);
    check_same_type(acc, x);
    switch (fold) {
      case Fold::kMin:
        acc = binary_broadcast<T, T, T>(acc, x, [](T a, T b) { return fold_min(a, b); });
        break;
      case Fold::kMax:
        acc = binary_broadcast<T, T, T>(acc, x, [](T a, T b) { return fold_max(a, b); });
        break;
      case Fold::kSum:
      case Fold::kMean:
        acc = binary_broadcast<T, T, T>(acc, x, [](T a, T b) { return wrap_add(a, b); });
        break;
    }
  }
  if (in.size() == 1) return acc.clone();
  if (fold == Fold::kMean) {
    if constexpr (kIsFloat<T>) {
      const T scale = T{1} / static_cast<T>(in.size());
      T* p = acc.data<T>();  // acc was allocated by the last fold step, so it is not shared
      parallel_chunks(acc.numel(), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) p[i] *= scale;
      });
    }
  }
  return acc;
}

template <typename Types>
KernelFactory variadic_factory(Fold fold) {
  return [fold](const KernelInit& init) {
    const size_t n = init.node.num_inputs();
    if (n < 1) init.invalid("expects at least one input");
    for (size_t i = 0; i < n; ++i)
      if (!init.node.has_input(i)) init.invalid("input " + std::to_string(i) + " is omitted");
    check_arity(init, n, n);
    return make_kernel([fold](std::span<const Tensor* const> in, std::span<Tensor> out) {
      const Tensor& x0 = required(in, 0);
      dispatch_dtype(x0.dtype(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (Types::template ok<T>) {
          out[0] = fold_inputs<T>(in, fold);
        } else {
          unsupported_type(x0.dtype(), "data_0", Types::names);
        }
      });
    });
  };
}

}  // namespace

void register_variadic_ops(OpRegistry& r) {
  // Opset 6 required equal shapes, opset 8 added broadcasting (a superset); 12 added integer Min/Max.
  r.add("", "Min", 6, 21, variadic_factory<NumericTypes>(Fold::kMin));
  r.add("", "Max", 6, 21, variadic_factory<NumericTypes>(Fold::kMax));
  r.add("", "Sum", 6, 21, variadic_factory<FloatTypes>(Fold::kSum));
  r.add("", "Mean", 6, 21, variadic_factory<FloatTypes>(Fold::kMean));
}

}  // namespace qs::ew
