// 2-D MaxPool of 8-bit planes with AVX2. Per output row: the vertical maximum of the window's input rows
// over the whole row width (32 bytes per step) into a row buffer padded with the type's lowest value, then
// the horizontal maximum over the window's columns, 16 outputs per step (stride 1: plain loads; stride 2:
// the even bytes of 32). Max needs no arithmetic, so the result is max_pool<T>'s exactly; padding never
// wins because it is the lowest value and every window holds an input element (check_pool_windows).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "core/common/parallel.h"
#include "core/int/pool_int.h"

#define QS_AVX2 __attribute__((target("avx2")))

namespace qs::detail {

namespace {

template <bool kSigned>
QS_AVX2 inline __m256i vmax(__m256i a, __m256i b) {
  return kSigned ? _mm256_max_epi8(a, b) : _mm256_max_epu8(a, b);
}
template <bool kSigned>
QS_AVX2 inline __m128i vmax(__m128i a, __m128i b) {
  return kSigned ? _mm_max_epi8(a, b) : _mm_max_epu8(a, b);
}

// dst[i] = max over the rows src[0..count) of src[r][i], for i < n: every vector of dst is computed from
// the rows alone and stored once (reading dst back right after narrower stores would stall on store
// forwarding). Tails are whole vectors ending at n, overlapping the previous one with the same values.
template <bool kSigned>
QS_AVX2 inline void rows_max(unsigned char* dst, const unsigned char* const* src, int64_t count, int64_t n) {
  using T = std::conditional_t<kSigned, int8_t, uint8_t>;
  auto v32 = [&](int64_t i) {
    __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[0] + i));
    for (int64_t r = 1; r < count; ++r)
      m = vmax<kSigned>(m, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[r] + i)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), m);
  };
  auto v16 = [&](int64_t i) {
    __m128i m = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[0] + i));
    for (int64_t r = 1; r < count; ++r)
      m = vmax<kSigned>(m, _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[r] + i)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), m);
  };
  auto v8 = [&](int64_t i) {
    __m128i m = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src[0] + i));
    for (int64_t r = 1; r < count; ++r)
      m = vmax<kSigned>(m, _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src[r] + i)));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + i), m);
  };
  if (n >= 32) {
    for (int64_t i = 0; i + 32 <= n; i += 32) v32(i);
    if (n % 32) v32(n - 32);
  } else if (n >= 16) {
    v16(0);
    v16(n - 16);
  } else if (n >= 8) {
    v8(0);
    v8(n - 8);
  } else {
    for (int64_t i = 0; i < n; ++i) {
      T m = std::numeric_limits<T>::lowest();
      for (int64_t r = 0; r < count; ++r) {
        T v;
        std::memcpy(&v, src[r] + i, 1);
        m = std::max(m, v);
      }
      std::memcpy(dst + i, &m, 1);
    }
  }
}

template <bool kSigned>
QS_AVX2 void max_pool_planes(const unsigned char* x, unsigned char* y, const PoolPlan& p, int64_t first,
                             int64_t last) {
  using T = std::conditional_t<kSigned, int8_t, uint8_t>;
  const unsigned char low = static_cast<unsigned char>(std::numeric_limits<T>::lowest());
  constexpr int64_t kMaxRows = 16;
  const int64_t H = p.in[0], W = p.in[1], OH = p.out[0], OW = p.out[1];
  const int64_t KH = p.kernel[0], KW = p.kernel[1], sh = p.strides[0], sw = p.strides[1];
  const int64_t dh = p.dilations[0], dw = p.dilations[1], ph = p.pad_begin[0], pw = p.pad_begin[1];
  // Row buffers, one per output row: pw lows, the W columns, then lows past the farthest column any
  // 16-output step reads. All vertical maxima of a plane are written before the horizontal pass reads
  // them: a wide load right after the narrower stores of its row would stall on store forwarding.
  const int64_t span = ((OW + 15) / 16 * 16 - 1) * sw + (KW - 1) * dw + 32;
  const int64_t RB = (std::max(pw + W, span) + 32 + 31) / 32 * 32;
  thread_local std::vector<unsigned char> rows;
  rows.assign(static_cast<size_t>(RB * OH), low);
  alignas(32) unsigned char out[16];
  const __m256i even = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8,
                                        10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  // The window's row pointers, zeroed once here: zeroing them per output row (a rep stos of 128 bytes) cost
  // a third of LeNet's pooling time.
  const unsigned char* src[kMaxRows] = {};
  const unsigned char* y_end = y + last * OH * OW;
  for (int64_t plane = first; plane < last; ++plane) {
    const unsigned char* xp = x + plane * H * W;
    unsigned char* yp = y + plane * OH * OW;
    for (int64_t oh = 0; oh < OH; ++oh) {
      unsigned char* r = rows.data() + oh * RB + pw;
      int64_t count = 0;
      for (int64_t kh = 0; kh < KH; ++kh) {
        const int64_t ih = oh * sh - ph + kh * dh;
        if (ih < 0 || ih >= H) continue;
        src[count++] = xp + ih * W;
        if (count == kMaxRows) {  // taller windows: fold what is there into one row, and go on from it
          rows_max<kSigned>(r, src, count, W);
          src[0] = r;
          count = 1;
        }
      }
      rows_max<kSigned>(r, src, count, W);
    }
    for (int64_t oh = 0; oh < OH; ++oh) {
      const unsigned char* r = rows.data() + oh * RB;
      unsigned char* yr = yp + oh * OW;
      for (int64_t ow = 0; ow < OW; ow += 16) {
        const unsigned char* base = r + ow * sw;
        __m128i m;
        if (sw == 1) {
          m = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base));
          for (int64_t kw = 1; kw < KW; ++kw)
            m = vmax<kSigned>(m, _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + kw * dw)));
        } else if (sw == 2) {
          auto evens = [&](const unsigned char* s) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s));
            return _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_shuffle_epi8(v, even), 0xD8));
          };
          m = evens(base);
          for (int64_t kw = 1; kw < KW; ++kw) m = vmax<kSigned>(m, evens(base + kw * dw));
        } else {
          for (int64_t j = 0; j < 16; ++j) {
            T best = std::numeric_limits<T>::lowest();
            for (int64_t kw = 0; kw < KW; ++kw) {
              T v;
              std::memcpy(&v, base + j * sw + kw * dw, 1);
              best = std::max(best, v);
            }
            std::memcpy(out + j, &best, 1);
          }
          m = _mm_load_si128(reinterpret_cast<const __m128i*>(out));
        }
        // A whole vector where it stays inside this call's planes: what it writes past the row's end is
        // rewritten by the rows after it (a short memcpy per row was a tenth of LeNet's pooling time).
        const int64_t n = std::min<int64_t>(16, OW - ow);
        if (n == 16 || yr + ow + 16 <= y_end) {
          _mm_storeu_si128(reinterpret_cast<__m128i*>(yr + ow), m);
        } else {
          _mm_store_si128(reinterpret_cast<__m128i*>(out), m);
          std::memcpy(yr + ow, out, static_cast<size_t>(n));
        }
      }
    }
  }
}

// 2×2 windows of stride 2 lying inside the input (LeNet's and VGG's pooling), `rows` output rows of OW
// from input rows 2·oh and 2·oh + 1 at x + 2·oh·pitch: per step, the maximum of two input rows' 32 bytes,
// then of its even and odd bytes: 16 outputs, no row buffer. Reads stay below `x_end` (the last bytes go
// through a copy); output rows are consecutive, and whole-vector writes stay below `y_end`.
template <bool kSigned>
QS_AVX2 void max_pool_2x2_rows(const unsigned char* x, int64_t pitch, const unsigned char* x_end,
                               unsigned char* y, int64_t rows, int64_t OW, const unsigned char* y_end) {
  // Per 128-bit lane: the even bytes to the low 8, the odd ones to the high 8.
  const __m256i split = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8,
                                         10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  alignas(32) unsigned char buf[2][32];
  alignas(16) unsigned char out[16];
  for (int64_t oh = 0; oh < rows; ++oh) {
    const unsigned char* r0 = x + 2 * oh * pitch;
    unsigned char* yr = y + oh * OW;
    for (int64_t ow = 0; ow < OW; ow += 16) {
      const unsigned char* a = r0 + 2 * ow;
      const unsigned char* b = a + pitch;
      if (b + 32 > x_end) {  // the input's last bytes: a zero-padded copy (the extra lanes are dropped)
        const size_t n = static_cast<size_t>(std::min<int64_t>(32, 2 * (OW - ow)));
        std::memset(buf, 0, sizeof buf);
        std::memcpy(buf[0], a, n);
        std::memcpy(buf[1], b, n);
        a = buf[0];
        b = buf[1];
      }
      const __m256i v = vmax<kSigned>(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)),
                                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)));
      const __m256i q = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(v, split), 0xD8);
      const __m128i m = vmax<kSigned>(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
      const int64_t n = std::min<int64_t>(16, OW - ow);
      if (n == 16 || yr + ow + 16 <= y_end) {  // past the row: rewritten by the rows after it
        _mm_storeu_si128(reinterpret_cast<__m128i*>(yr + ow), m);
      } else {
        _mm_store_si128(reinterpret_cast<__m128i*>(out), m);
        std::memcpy(yr + ow, out, static_cast<size_t>(n));
      }
    }
  }
}

template <bool kSigned>
QS_AVX2 void max_pool_2x2(const unsigned char* x, const unsigned char* x_end, unsigned char* y,
                          const PoolPlan& p, int64_t first, int64_t last) {
  const int64_t H = p.in[0], W = p.in[1], OH = p.out[0], OW = p.out[1];
  const unsigned char* y_end = y + last * OH * OW;
  for (int64_t plane = first; plane < last; ++plane)
    max_pool_2x2_rows<kSigned>(x + plane * H * W, W, x_end, y + plane * OH * OW, OH, OW, y_end);
}

}  // namespace

void max_pool_8bit_avx2(const void* x, void* y, bool sgn, const PoolPlan& p) {
  const int64_t work = p.out[0] * p.out[1] * p.kernel[0] * p.kernel[1];
  constexpr int64_t kPer = 8;  // planes per work item: the row buffer is set up once per item
  const bool two_by_two = p.kernel[0] == 2 && p.kernel[1] == 2 && p.strides[0] == 2 && p.strides[1] == 2 &&
                          p.dilations[0] == 1 && p.dilations[1] == 1 && p.pad_begin[0] == 0 &&
                          p.pad_begin[1] == 0 && 2 * p.out[0] <= p.in[0] && 2 * p.out[1] <= p.in[1];
  parallel_for(
      0, (p.planes + kPer - 1) / kPer,
      [&](int64_t item) {
        const int64_t first = item * kPer, last = std::min(p.planes, first + kPer);
        const auto* xs = static_cast<const unsigned char*>(x);
        auto* ys = static_cast<unsigned char*>(y);
        if (two_by_two) {
          const unsigned char* x_end = xs + p.planes * p.in[0] * p.in[1];
          if (sgn)
            max_pool_2x2<true>(xs, x_end, ys, p, first, last);
          else
            max_pool_2x2<false>(xs, x_end, ys, p, first, last);
          return;
        }
        if (sgn)
          max_pool_planes<true>(xs, ys, p, first, last);
        else
          max_pool_planes<false>(xs, ys, p, first, last);
      },
      // Vector steps, not taps: 16 outputs per step. A loop over LeNet's pooling (30 µs on one thread) took
      // longer on two, the second thread's wake-up costing more than its half of the work.
      kPer * work / 16);
}

void max_pool_2x2_rows_8bit_avx2(const void* x, int64_t pitch, const void* x_end, void* y, int64_t rows,
                                 int64_t OW, const void* y_end, bool sgn) {
  const auto* xs = static_cast<const unsigned char*>(x);
  const auto* xe = static_cast<const unsigned char*>(x_end);
  auto* ys = static_cast<unsigned char*>(y);
  const auto* ye = static_cast<const unsigned char*>(y_end);
  if (sgn)
    max_pool_2x2_rows<true>(xs, pitch, xe, ys, rows, OW, ye);
  else
    max_pool_2x2_rows<false>(xs, pitch, xe, ys, rows, OW, ye);
}

QS_AVX2 void sum_positions_8bit_avx2(const void* x, bool sgn, int64_t positions, int64_t C, int32_t* sums) {
  const auto* xs = static_cast<const unsigned char*>(x);
  std::fill(sums, sums + C, 0);
  // 16 channels at a time in int16 lanes for up to 128 positions (|x| <= 255, so a sum stays below 2^15),
  // then widened into the int32 sums.
  constexpr int64_t kRun = 128;
  int64_t c = 0;
  for (; c + 16 <= C; c += 16)
    for (int64_t q0 = 0; q0 < positions; q0 += kRun) {
      __m256i acc = _mm256_setzero_si256();
      for (int64_t q = q0; q < std::min(positions, q0 + kRun); ++q) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(xs + q * C + c));
        acc = _mm256_add_epi16(acc, sgn ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v));
      }
      __m256i* s = reinterpret_cast<__m256i*>(sums + c);
      _mm256_storeu_si256(
          s, _mm256_add_epi32(_mm256_loadu_si256(s), _mm256_cvtepi16_epi32(_mm256_castsi256_si128(acc))));
      _mm256_storeu_si256(s + 1, _mm256_add_epi32(_mm256_loadu_si256(s + 1),
                                                  _mm256_cvtepi16_epi32(_mm256_extracti128_si256(acc, 1))));
    }
  for (; c < C; ++c)
    for (int64_t q = 0; q < positions; ++q)
      sums[c] += sgn ? static_cast<int32_t>(static_cast<int8_t>(xs[q * C + c])) : xs[q * C + c];
}

}  // namespace qs::detail
