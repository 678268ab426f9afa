#include "core/int/int_tensor.h"

#include "core/common/error.h"
#include "core/common/parallel.h"
#include "core/common/transpose_bytes.h"

namespace qs {

bool is_int_storage(DType t) {
  return t == DType::Int8 || t == DType::UInt8 || t == DType::Int16 || t == DType::UInt16 || t == DType::Int32;
}

namespace {

template <typename F>
void dispatch_int(DType t, F&& f) {
  switch (t) {
    case DType::Int8: return f(int8_t{});
    case DType::UInt8: return f(uint8_t{});
    case DType::Int16: return f(int16_t{});
    case DType::UInt16: return f(uint16_t{});
    case DType::Int32: return f(int32_t{});
    default: throw Error("integer engine: " + dtype_name(t) + " is not an integer storage type");
  }
}

}  // namespace

std::vector<int32_t> to_int32(const Tensor& t) {
  std::vector<int32_t> v(static_cast<size_t>(t.numel()));
  dispatch_int(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(p[i]);
  });
  return v;
}

Tensor from_int32(const std::vector<int32_t>& v, DType type, const Shape& shape) {
  Tensor t(type, shape);
  if (static_cast<int64_t>(v.size()) != t.numel())
    throw Error("integer engine: " + std::to_string(v.size()) + " values for shape " + shape_str(shape));
  dispatch_int(type, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) p[i] = static_cast<T>(v[i]);
  });
  return t;
}

namespace {

// dst[j·R + i] = src[i·S + j] for i < R, j < S: one image's [R][S] as [S][R]. Bytes in 16×16 blocks in
// registers; the edges (and other element sizes) one element at a time.
template <typename T>
void transpose_image(const T* src, int64_t R, int64_t S, T* dst) {
  int64_t r0 = 0;
#if defined(__SSE2__)
  if constexpr (sizeof(T) == 1) {
    for (; r0 + 16 <= R; r0 += 16) {
      int64_t s0 = 0;
      for (; s0 + 16 <= S; s0 += 16) {
        __m128i v[16];
        for (int64_t k = 0; k < 16; ++k)
          v[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + (r0 + k) * S + s0));
        transpose16x16(v);
        for (int64_t k = 0; k < 16; ++k)
          _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + (s0 + k) * R + r0), v[k]);
      }
      for (int64_t j = s0; j < S; ++j)
        for (int64_t i = r0; i < r0 + 16; ++i) dst[j * R + i] = src[i * S + j];
    }
  }
#endif
  for (int64_t j = 0; j < S; ++j)
    for (int64_t i = r0; i < R; ++i) dst[j * R + i] = src[i * S + j];
}

// Per image, [R][S] → [S][R]: NCHW → NHWC with R = C, S = H·W, and back with R = H·W, S = C.
Tensor transpose_images(const Tensor& x, const Shape& to, int64_t R, int64_t S, const char* what) {
  Tensor y(x.dtype(), to);
  const int64_t N = x.dim(0), image = R * S;
  const auto each = [&](auto tag) {
    using T = decltype(tag);
    const T* xp = static_cast<const T*>(x.raw());
    T* yp = static_cast<T*>(y.raw());
    parallel_for(
        0, N, [&](int64_t n) { transpose_image(xp + n * image, R, S, yp + n * image); }, image);
  };
  switch (dtype_size(x.dtype())) {
    case 1:
      each(uint8_t{});
      break;
    case 2:
      each(uint16_t{});
      break;
    case 4:
      each(uint32_t{});
      break;
    default:
      throw Error(std::string(what) + ": " + x.str() + " is not an integer activation");
  }
  return y;
}

void check_4d(const Tensor& x, const char* what) {
  if (x.rank() != 4) throw Error(std::string(what) + ": " + x.str() + " is not 4-D");
}

}  // namespace

Tensor to_channels_last(const Tensor& x) {
  check_4d(x, "to channels-last");
  const Shape& s = x.shape();
  return transpose_images(x, {s[0], s[2], s[3], s[1]}, s[1], s[2] * s[3], "to channels-last");
}

Tensor from_channels_last(const Tensor& x) {
  check_4d(x, "from channels-last");
  const Shape& s = x.shape();
  return transpose_images(x, {s[0], s[3], s[1], s[2]}, s[1] * s[2], s[3], "from channels-last");
}

}  // namespace qs
