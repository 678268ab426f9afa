// Helpers shared by the elementwise op kernels: type classes for compile-time dispatch, arity checks and
// chunked parallel loops over flat element ranges.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>
#include <type_traits>

#include "core/common/parallel.h"
#include "core/ops/kernel.h"

namespace qs::ew {

template <typename T>
inline constexpr bool kIsBool = std::is_same_v<T, bool>;
template <typename T>
inline constexpr bool kIsFloat = std::is_floating_point_v<T>;
template <typename T>
inline constexpr bool kIsInt = std::is_integral_v<T> && !kIsBool<T>;
template <typename T>
inline constexpr bool kIsSignedInt = kIsInt<T>&& std::is_signed_v<T>;
template <typename T>
inline constexpr bool kIsUnsignedInt = kIsInt<T>&& std::is_unsigned_v<T>;

// Type classes: `ok<T>` says whether an op accepts element type T; `names` is for error messages.
struct FloatTypes {
  template <typename T>
  static constexpr bool ok = kIsFloat<T>;
  static constexpr const char* names = "float32, float64";
};
struct SignedTypes {  // floats and signed integers
  template <typename T>
  static constexpr bool ok = kIsFloat<T> || kIsSignedInt<T>;
  static constexpr const char* names = "float32, float64, int8, int16, int32, int64";
};
struct NumericTypes {  // every type except bool
  template <typename T>
  static constexpr bool ok = !kIsBool<T>;
  static constexpr const char* names = "float32, float64 and the integer types";
};
struct UnsignedTypes {
  template <typename T>
  static constexpr bool ok = kIsUnsignedInt<T>;
  static constexpr const char* names = "uint8, uint16, uint32, uint64";
};
struct BoolTypes {
  template <typename T>
  static constexpr bool ok = kIsBool<T>;
  static constexpr const char* names = "bool";
};
struct AnyTypes {
  template <typename T>
  static constexpr bool ok = true;
  static constexpr const char* names = "any";
};

// c ? a : b without a branch. Both a and b are already computed; for floating types the choice is made
// with bit masks, because GCC otherwise sinks a floating-point operation that feeds only one arm into
// that arm and then cannot vectorize the loop (it does not speculate FP operations under the default
// -ftrapping-math).
template <typename T>
inline T blend(bool c, T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    const U m = U{0} - static_cast<U>(c);
    return std::bit_cast<T>((std::bit_cast<U>(a) & m) | (std::bit_cast<U>(b) & ~m));
  } else {
    return c ? a : b;
  }
}

// Throws UnsupportedError for an input whose element type the op does not accept. Called from run().
[[noreturn]] void unsupported_type(DType t, const char* input, const char* allowed);

// Checks the number of inputs given (min..max, trailing omitted ones not counted) and outputs; throws
// Error naming the node.
void check_arity(const KernelInit& init, size_t min_inputs, size_t max_inputs, size_t num_outputs = 1);

// Checks that input `i` is present at run time (required inputs cannot be omitted).
const Tensor& required(std::span<const Tensor* const> in, size_t i);

// Elements per parallel work item: large enough that the per-item overhead is negligible, small enough
// to balance a few threads on mid-sized tensors.
inline constexpr int64_t kChunk = 16384;

// Calls f(begin, end) over [0, n) in chunks of kChunk, in parallel for large n.
template <typename F>
void parallel_chunks(int64_t n, F&& f) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  parallel_for(
      0, chunks, [&](int64_t c) { f(c * kChunk, std::min(n, (c + 1) * kChunk)); }, kChunk);
}

}  // namespace qs::ew
