// Arithmetic with numpy broadcasting: Add, Sub, Mul, Div, Mod, Pow, BitShift.
//
// Integer semantics (as ONNX Runtime): Add/Sub/Mul wrap modulo 2^bits; Div truncates toward zero (C
// division); Mod follows the divisor's sign unless fmod=1 (then the dividend's, like C fmod). Division or
// modulo by zero and 0 raised to a negative integer power have no defined result: they raise Error.
#include <atomic>
#include <cmath>

#include "core/ops/binary_kernel.h"
#include "core/ops/elementwise_convert.h"
#include "core/ops/elementwise_groups.h"

namespace qs::ew {

namespace {

template <typename T>
T int_div(T a, T b, std::atomic<bool>& by_zero) {
  if (b == T{0}) {
    by_zero.store(true, std::memory_order_relaxed);
    return T{0};
  }
  if constexpr (kIsSignedInt<T>) {
    if (b == T{-1}) return wrap_sub(T{0}, a);  // INT_MIN / -1 overflows in C++
  }
  return static_cast<T>(a / b);
}

template <typename T>
T int_mod(T a, T b, bool fmod, std::atomic<bool>& by_zero) {
  if (b == T{0}) {
    by_zero.store(true, std::memory_order_relaxed);
    return T{0};
  }
  if constexpr (kIsSignedInt<T>) {
    if (b == T{-1}) return T{0};  // INT_MIN % -1 overflows in C++
    T r = static_cast<T>(a % b);
    if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
    return r;
  } else {
    return static_cast<T>(a % b);
  }
}

// Integer power by squaring with wrap-around; negative exponents give 0 unless |base| == 1.
template <typename T, typename E>
T int_pow(T base, E e, std::atomic<bool>& bad) {
  if constexpr (kIsSignedInt<E>) {
    if (e < 0) {
      if (base == T{1}) return T{1};
      if constexpr (kIsSignedInt<T>) {
        if (base == T{-1}) return (e % 2 == 0) ? T{1} : T{-1};
      }
      if (base == T{0}) bad.store(true, std::memory_order_relaxed);
      return T{0};
    }
  }
  T result{1};
  auto u = static_cast<uint64_t>(e);
  while (u) {
    if (u & 1u) result = wrap_mul(result, base);
    base = wrap_mul(base, base);
    u >>= 1;
  }
  return result;
}

std::unique_ptr<Kernel> make_div(const KernelInit& init) {
  check_arity(init, 2, 2);
  return make_kernel([](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& a = required(in, 0);
    const Tensor& b = required(in, 1);
    check_same_type(a, b);
    dispatch_dtype(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsFloat<T>) {
        out[0] = binary_broadcast<T, T, T>(a, b, [](T x, T y) { return x / y; });
      } else if constexpr (kIsInt<T>) {
        std::atomic<bool> by_zero{false};
        out[0] = binary_broadcast<T, T, T>(a, b, [&](T x, T y) { return int_div(x, y, by_zero); });
        if (by_zero.load()) throw Error("integer division by zero");
      } else {
        unsupported_type(a.dtype(), "A", NumericTypes::names);
      }
    });
  });
}

std::unique_ptr<Kernel> make_mod(const KernelInit& init) {
  check_arity(init, 2, 2);
  const int64_t fmod = init.node.attr_int("fmod", 0);
  if (fmod != 0 && fmod != 1) init.invalid("attribute 'fmod' must be 0 or 1, got " + std::to_string(fmod));
  return make_kernel([fmod](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& a = required(in, 0);
    const Tensor& b = required(in, 1);
    check_same_type(a, b);
    dispatch_dtype(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsFloat<T>) {
        if (fmod == 0) throw Error("attribute 'fmod' must be 1 for floating-point inputs (ONNX spec)");
        out[0] = binary_broadcast<T, T, T>(a, b, [](T x, T y) { return std::fmod(x, y); });
      } else if constexpr (kIsInt<T>) {
        std::atomic<bool> by_zero{false};
        out[0] = binary_broadcast<T, T, T>(a, b, [&](T x, T y) { return int_mod(x, y, fmod == 1, by_zero); });
        if (by_zero.load()) throw Error("integer modulo by zero");
      } else {
        unsupported_type(a.dtype(), "A", NumericTypes::names);
      }
    });
  });
}

// Pow: the base X and the output share type T (float32/float64/int32/int64; other integer types accepted);
// the exponent Y may be any numeric type (opset 12+).
std::unique_ptr<Kernel> make_pow(const KernelInit& init) {
  check_arity(init, 2, 2);
  return make_kernel([](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& a = required(in, 0);
    const Tensor& b = required(in, 1);
    dispatch_dtype(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsBool<T>) {
        unsupported_type(a.dtype(), "X", NumericTypes::names);
      } else {
        dispatch_dtype(b.dtype(), [&](auto etag) {
          using E = decltype(etag);
          if constexpr (kIsBool<E>) {
            unsupported_type(b.dtype(), "Y", NumericTypes::names);
          } else if constexpr (kIsFloat<T>) {
            // x*x is exact-rounded and much faster than pow for the common squared case.
            if (b.numel() == 1 && static_cast<double>(b.data<E>()[0]) == 2.0)
              out[0] = binary_broadcast<T, E, T>(a, b, [](T x, E) { return x * x; });
            else
              out[0] =
                  binary_broadcast<T, E, T>(a, b, [](T x, E y) { return std::pow(x, static_cast<T>(y)); });
          } else if constexpr (kIsFloat<E>) {
            out[0] = binary_broadcast<T, E, T>(a, b, [](T x, E y) {
              return convert<T>(std::pow(static_cast<double>(x), static_cast<double>(y)));
            });
          } else {
            std::atomic<bool> bad{false};
            out[0] = binary_broadcast<T, E, T>(a, b, [&](T x, E y) { return int_pow(x, y, bad); });
            if (bad.load()) throw Error("integer 0 raised to a negative power");
          }
        });
      }
    });
  });
}

std::unique_ptr<Kernel> make_bitshift(const KernelInit& init) {
  check_arity(init, 2, 2);
  const std::string dir = init.node.attr_string("direction", "");
  if (dir != "LEFT" && dir != "RIGHT")
    init.invalid("attribute 'direction' must be \"LEFT\" or \"RIGHT\", got \"" + dir + "\"");
  const bool left = dir == "LEFT";
  return same_type_binary_kernel<UnsignedTypes, false>([left](auto tag) {
    using T = decltype(tag);
    // Shifting by the bit width or more is undefined in C++; the bits are all shifted out, giving 0.
    return [left](T x, T s) -> T {
      if (static_cast<uint64_t>(s) >= sizeof(T) * 8) return T{0};
      return left ? static_cast<T>(x << s) : static_cast<T>(x >> s);
    };
  });
}

}  // namespace

void register_arith_ops(OpRegistry& r) {
  // Opset 7 introduced numpy broadcasting (earlier versions had the `broadcast`/`axis` attributes).
  auto simple = [&r](const char* op, auto op_for) {
    r.add("", op, 7, 21, [op_for](const KernelInit& init) {
      check_arity(init, 2, 2);
      return same_type_binary_kernel<NumericTypes, false>(op_for);
    });
  };
  simple("Add", [](auto tag) { return [](decltype(tag) x, decltype(tag) y) { return wrap_add(x, y); }; });
  simple("Sub", [](auto tag) { return [](decltype(tag) x, decltype(tag) y) { return wrap_sub(x, y); }; });
  simple("Mul", [](auto tag) { return [](decltype(tag) x, decltype(tag) y) { return wrap_mul(x, y); }; });
  r.add("", "Div", 7, 21, make_div);
  r.add("", "Mod", 10, 21, make_mod);
  r.add("", "Pow", 7, 21, make_pow);
  r.add("", "BitShift", 11, 21, make_bitshift);
}

}  // namespace qs::ew
