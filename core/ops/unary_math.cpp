// Unary math ops: Sqrt, Exp, Log, Reciprocal, Floor, Ceil, Round, Neg, Abs, Sign, Erf, the trigonometric
// and hyperbolic functions, Not, IsNaN, IsInf.
#include <cmath>
#include <type_traits>
#include <unsupported/Eigen/SpecialFunctions>

#include "core/ops/elementwise_groups.h"
#include "core/ops/unary_kernel.h"

namespace qs::ew {

namespace {

// Registers an op whose factory takes no attributes.
template <typename MakeKernel>
void add_simple(OpRegistry& r, const char* op, int since, int until, MakeKernel make) {
  r.add("", op, since, until, [make](const KernelInit& init) {
    check_arity(init, 1, 1);
    return make();
  });
}

// Integer negation without signed-overflow UB: wraps like two's complement (-INT_MIN == INT_MIN).
template <typename T>
T wrap_neg(T x) {
  if constexpr (kIsInt<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(U{0} - static_cast<U>(x)));
  } else {
    return -x;
  }
}

template <typename T>
T abs_of(T x) {
  if constexpr (kIsUnsignedInt<T>) {
    return x;
  } else if constexpr (kIsInt<T>) {
    return x < 0 ? wrap_neg(x) : x;
  } else {
    return std::abs(x);
  }
}

// -1, 0 or 1; NaN stays NaN (as numpy.sign).
template <typename T>
T sign_of(T x) {
  if constexpr (kIsUnsignedInt<T>) {
    return x > 0 ? T{1} : T{0};
  } else {
    return x > 0 ? T{1} : (x < 0 ? T{-1} : x);
  }
}

std::unique_ptr<Kernel> make_isinf(const KernelInit& init) {
  check_arity(init, 1, 1);
  const bool neg = init.node.attr_int("detect_negative", 1) != 0;
  const bool pos = init.node.attr_int("detect_positive", 1) != 0;
  return unary_map_kernel<FloatTypes, true>(
      [neg, pos](auto x) { return std::isinf(x) && ((x > 0 && pos) || (x < 0 && neg)); });
}

}  // namespace

void register_unary_math_ops(OpRegistry& r) {
  // Opset 6 removed `consumed_inputs`; the float ops are unchanged since (13 only added bfloat16).
  add_simple(r, "Sqrt", 6, 21, [] { return eigen_unary_kernel([](const auto& x) { return x.sqrt(); }); });
  add_simple(r, "Exp", 6, 21, [] { return eigen_unary_kernel([](const auto& x) { return x.exp(); }); });
  add_simple(r, "Log", 6, 21, [] { return eigen_unary_kernel([](const auto& x) { return x.log(); }); });
  add_simple(r, "Reciprocal", 6, 21,
             [] { return eigen_unary_kernel([](const auto& x) { return x.inverse(); }); });
  add_simple(r, "Floor", 6, 21,
             [] { return unary_map_kernel<FloatTypes>([](auto x) { return std::floor(x); }); });
  add_simple(r, "Ceil", 6, 21,
             [] { return unary_map_kernel<FloatTypes>([](auto x) { return std::ceil(x); }); });
  // Round: halves to even, which is nearbyint in the default rounding mode.
  add_simple(r, "Round", 11, 21,
             [] { return unary_map_kernel<FloatTypes>([](auto x) { return std::nearbyint(x); }); });
  add_simple(r, "Neg", 6, 21,
             [] { return unary_map_kernel<SignedTypes>([](auto x) { return wrap_neg(x); }); });
  add_simple(r, "Abs", 6, 21,
             [] { return unary_map_kernel<NumericTypes>([](auto x) { return abs_of(x); }); });
  add_simple(r, "Sign", 9, 21,
             [] { return unary_map_kernel<NumericTypes>([](auto x) { return sign_of(x); }); });
  // Erf accepts integer types too (opset 9+); they are computed in double and truncated back.
  add_simple(r, "Erf", 9, 21, [] {
    return unary_chunk_kernel<NumericTypes, false>([](const auto* x, auto* y, int64_t n) {
      using T = std::remove_cv_t<std::remove_pointer_t<decltype(x)>>;
      if constexpr (kIsFloat<T>) {
        Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> xa(x, n);
        Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> ya(y, n);
        ya = xa.erf();
      } else {
        for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(std::erf(static_cast<double>(x[i])));
      }
    });
  });
  add_simple(r, "Sin", 7, 21, [] { return eigen_unary_kernel([](const auto& x) { return x.sin(); }); });
  add_simple(r, "Cos", 7, 21, [] { return eigen_unary_kernel([](const auto& x) { return x.cos(); }); });
  add_simple(r, "Tan", 7, 21,
             [] { return unary_map_kernel<FloatTypes>([](auto x) { return std::tan(x); }); });
  add_simple(r, "Asin", 7, 21,
             [] { return unary_map_kernel<FloatTypes>([](auto x) { return std::asin(x); }); });
  add_simple(r, "Acos", 7, 21,
             [] { return unary_map_kernel<FloatTypes>([](auto x) { return std::acos(x); }); });
  add_simple(r, "Atan", 7, 21,
             [] { return unary_map_kernel<FloatTypes>([](auto x) { return std::atan(x); }); });
  add_simple(r, "Sinh", 9, 21,
             [] { return unary_map_kernel<FloatTypes>([](auto x) { return std::sinh(x); }); });
  add_simple(r, "Cosh", 9, 21,
             [] { return unary_map_kernel<FloatTypes>([](auto x) { return std::cosh(x); }); });
  add_simple(r, "Asinh", 9, 21,
             [] { return unary_map_kernel<FloatTypes>([](auto x) { return std::asinh(x); }); });
  add_simple(r, "Acosh", 9, 21,
             [] { return unary_map_kernel<FloatTypes>([](auto x) { return std::acosh(x); }); });
  add_simple(r, "Atanh", 9, 21,
             [] { return unary_map_kernel<FloatTypes>([](auto x) { return std::atanh(x); }); });
  add_simple(r, "Not", 1, 21, [] { return unary_map_kernel<BoolTypes>([](bool x) { return !x; }); });
  add_simple(r, "IsNaN", 9, 21,
             [] { return unary_map_kernel<FloatTypes, true>([](auto x) { return std::isnan(x); }); });
  r.add("", "IsInf", 10, 21, make_isinf);
}

}  // namespace qs::ew
