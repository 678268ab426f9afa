// AVX2 forms of the integer GEMM's operand helpers (gemm_int.h): 8-bit activations widened to the int16
// operands (x − zp), packed into A's row blocks or B's column panels, interleaved in channel pairs, or
// copied into the depthwise kernel's phase-plane rows. Called only after a run-time check (core/int/isa.h).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "core/int/avx2_lanes.h"
#include "core/int/gemm_int.h"

namespace qs::intgemm::detail {

namespace {

template <bool kSigned, int kStride>
QS_AVX2 void interleave_t(const char* a8, const char* b8, int64_t n, int32_t zp, int16_t* dst,
                          int64_t readable) {
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
  const __m256i even = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8,
                                        10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  auto widen16 = [&](const char* p) {
    __m128i v;
    if constexpr (kStride == 1) {
      v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    } else {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      v = _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_shuffle_epi8(w, even), 0xD8));
    }
    return _mm256_sub_epi16(kSigned ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v), z);
  };
  auto put = [&](const char* a, const char* b, int16_t* d) {
    const __m256i va = widen16(a);
    const __m256i vb = b ? widen16(b) : _mm256_setzero_si256();
    const __m256i lo = _mm256_unpacklo_epi16(va, vb), hi = _mm256_unpackhi_epi16(va, vb);
    // lo = pairs 0-3 | 8-11, hi = 4-7 | 12-15.
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d), _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
  };
  // A vector at j reads bytes [j·stride, (j + 16)·stride) of each row: whole vectors while that stays
  // readable (writing whole vectors of pairs past n), the rest through zero-padded copies.
  const int64_t limit = std::max((n - 1) * kStride + 1, readable);
  int64_t j = 0;
  for (; j < n && (j + 16) * kStride <= limit; j += 16)
    put(a8 + j * kStride, b8 ? b8 + j * kStride : nullptr, dst + 2 * j);
  if (j < n) {
    alignas(32) char ta[32] = {}, tb[32] = {};
    const size_t bytes = static_cast<size_t>((n - 1 - j) * kStride + 1);
    std::memcpy(ta, a8 + j * kStride, bytes);
    if (b8) std::memcpy(tb, b8 + j * kStride, bytes);
    alignas(32) int16_t out[32];
    put(ta, b8 ? tb : nullptr, out);
    std::memcpy(dst + 2 * j, out, static_cast<size_t>(2 * (n - j)) * sizeof(int16_t));
  }
}

}  // namespace

// Two 8-bit rows interleaved into int16 pairs minus zp (gemm_int.h, interleave_rows8); strides other than 1
// and 2 value by value.
QS_AVX2 void interleave_rows8_avx2(const void* r0, const void* r1, bool sgn, int64_t n, int64_t stride,
                                   int32_t zp, int16_t* dst, int64_t readable) {
  const auto* a8 = static_cast<const char*>(r0);
  const auto* b8 = static_cast<const char*>(r1);
  if (stride == 1)
    return sgn ? interleave_t<true, 1>(a8, b8, n, zp, dst, readable)
               : interleave_t<false, 1>(a8, b8, n, zp, dst, readable);
  if (stride == 2)
    return sgn ? interleave_t<true, 2>(a8, b8, n, zp, dst, readable)
               : interleave_t<false, 2>(a8, b8, n, zp, dst, readable);
  auto at = [&](const char* r, int64_t i) {
    return sgn ? static_cast<int32_t>(static_cast<int8_t>(r[i]))
               : static_cast<int32_t>(static_cast<uint8_t>(r[i]));
  };
  for (int64_t j = 0; j < n; ++j) {
    dst[2 * j] = static_cast<int16_t>(at(a8, j * stride) - zp);
    dst[2 * j + 1] = static_cast<int16_t>(b8 ? at(b8, j * stride) - zp : 0);
  }
}

QS_AVX2 void pack_b_pair_avx2(int64_t N, int64_t K, int64_t pair, const int16_t* row0, const int16_t* row1,
                              int16_t* dst) {
  const int64_t Kp = k_pairs(K), full = N / kNR;
  const __m256i zero = _mm256_setzero_si256();
  for (int64_t jp = 0; jp < full; ++jp) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row0 + jp * kNR));
    const __m256i b = row1 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row1 + jp * kNR)) : zero;
    // unpack works within 128-bit halves: lo = pairs 0-3 | 8-11, hi = pairs 4-7 | 12-15.
    const __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);
    __m256i* d = reinterpret_cast<__m256i*>(dst + (jp * Kp + pair) * kNR * 2);
    _mm256_storeu_si256(d, _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(d + 1, _mm256_permute2x128_si256(lo, hi, 0x31));
  }
  if (full * kNR < N) {
    int16_t* d = dst + (full * Kp + pair) * kNR * 2;
    const int64_t c0 = full * kNR, cols = N - c0;
    for (int64_t j = 0; j < kNR; ++j) {
      d[2 * j] = j < cols ? row0[c0 + j] : int16_t{0};
      d[2 * j + 1] = j < cols && row1 ? row1[c0 + j] : int16_t{0};
    }
  }
}

// 16 bytes at p widened to int16 minus zp.
QS_AVX2 inline __m256i widen16(const void* p, bool sgn, __m256i zp) {
  const __m128i v = _mm_loadu_si128(static_cast<const __m128i*>(p));
  return _mm256_sub_epi16(sgn ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v), zp);
}

// -1 then 0 in int16 lanes: loaded from ramp16 + 16 − r, the mask of the first r < 16 lanes of a vector.
alignas(32) const int16_t ramp16[32] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                        0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0};

QS_AVX2 int64_t pack_b_pair_act8_avx2(int64_t N, int64_t K, int64_t pair, const void* row0, const void* row1,
                                      bool sgn, int32_t zp, int16_t* dst) {
  const int64_t Kp = k_pairs(K), full = N / kNR;
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp)), zero = _mm256_setzero_si256();
  const char* r0 = static_cast<const char*>(row0);
  const char* r1 = static_cast<const char*>(row1);
  auto put = [&](int64_t jp, __m256i a, __m256i b) QS_INLINE {
    const __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);
    __m256i* d = reinterpret_cast<__m256i*>(dst + (jp * Kp + pair) * kNR * 2);
    _mm256_storeu_si256(d, _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(d + 1, _mm256_permute2x128_si256(lo, hi, 0x31));
  };
  for (int64_t jp = 0; jp < full; ++jp)
    put(jp, widen16(r0 + jp * kNR, sgn, z), r1 ? widen16(r1 + jp * kNR, sgn, z) : zero);
  // The last partial panel (the 196 or 245 columns of MobileNetV2's 14×14 and batched 7×7 layers) from the
  // 16 bytes ending at the row's end, shifted down past the columns already packed, its padding columns
  // zeroed as the portable packer writes them: the portable loop over them cost a third of the packing.
  const int64_t cols = N - full * kNR;
  if (cols == 0 || full == 0) return full * kNR;
  alignas(16) static const int8_t down[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                              -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
  const __m128i shuffle = _mm_loadu_si128(reinterpret_cast<const __m128i*>(down + kNR - cols));
  const __m256i keep = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ramp16 + kNR - cols));
  auto last = [&](const char* r) QS_INLINE {
    const __m128i v =
        _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r + N - kNR)), shuffle);
    return _mm256_and_si256(_mm256_sub_epi16(sgn ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v), z),
                            keep);
  };
  put(full, last(r0), r1 ? last(r1) : zero);
  return N;
}

QS_AVX2 int64_t pack_a_act8_avx2(int64_t M, int64_t K, const void* x, int64_t ld, bool sgn, int32_t zp,
                                 int32_t* dst) {
  // Per row block, 8 k pairs (16 bytes) of its 6 rows at a time: each row widened to 8 pair words, the
  // 8×8 word matrix (rows 6 and 7 zero) transposed, and pair p's 6 words stored at their place.
  const int64_t Kp = k_pairs(K), blocks = M / kMR;
  // Whole chunks of 8 pairs, and a last one of 4 pairs (8 bytes, the upper half zero) when 8 bytes remain.
  const int64_t chunks = K / 16, half = K % 16 >= 8 ? 1 : 0;
  if (chunks + half == 0) return 0;
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp)), zero = _mm256_setzero_si256();
  const char* xb = static_cast<const char*>(x);
  for (int64_t ib = 0; ib < blocks; ++ib) {
    int32_t* d = dst + ib * Kp * kMR;
    for (int64_t c = 0; c < chunks + half; ++c) {
      __m256i v[8];
      if (c < chunks) {
#pragma GCC unroll 6
        for (int r = 0; r < 6; ++r) v[r] = widen16(xb + (ib * kMR + r) * ld + c * 16, sgn, z);
      } else {
        for (int r = 0; r < 6; ++r) {
          const __m128i b8 =
              _mm_loadl_epi64(reinterpret_cast<const __m128i*>(xb + (ib * kMR + r) * ld + c * 16));
          const __m256i w = _mm256_sub_epi16(sgn ? _mm256_cvtepi8_epi16(b8) : _mm256_cvtepu8_epi16(b8), z);
          v[r] = _mm256_permute2x128_si256(w, w, 0x80);  // pairs 0-3, then zeros (never stored)
        }
      }
      v[6] = v[7] = zero;
      __m256i a[8], b[8];
      for (int i = 0; i < 4; ++i) {
        a[2 * i] = _mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
        a[2 * i + 1] = _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
      }
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) {
          b[4 * i + j] = _mm256_unpacklo_epi64(a[4 * i + j], a[4 * i + 2 + j]);
          b[4 * i + 2 + j] = _mm256_unpackhi_epi64(a[4 * i + j], a[4 * i + 2 + j]);
        }
      // b[0]: pair 0 of rows 0-3 | pair 4 of rows 0-3; b[4] the same for rows 4-7; b[2] pair 1, b[1] pair 2,
      // b[3] pair 3 (unpacklo/hi of epi32 then epi64 within each 128-bit lane).
      static constexpr int kPair[4] = {0, 2, 1, 3};
      for (int q = 0; q < 4; ++q) {
        const __m256i lo = b[kPair[q]], hi = b[4 + kPair[q]];
        int32_t* p0 = d + (c * 8 + q) * kMR;
        _mm_storeu_si128(reinterpret_cast<__m128i*>(p0), _mm256_castsi256_si128(lo));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(p0 + 4), _mm256_castsi256_si128(hi));
        if (c == chunks) continue;  // the 4-pair chunk
        int32_t* p4 = d + (c * 8 + q + 4) * kMR;
        _mm_storeu_si128(reinterpret_cast<__m128i*>(p4), _mm256_extracti128_si256(lo, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(p4 + 4), _mm256_extracti128_si256(hi, 1));
      }
    }
  }
  return chunks * 8 + half * 4;
}

QS_AVX2 int64_t widen_row8_avx2(const void* src, bool sgn, int64_t n, int64_t stride, int32_t zp,
                                int16_t* dst) {
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
  const char* s = static_cast<const char*>(src);
  int64_t j = 0;
  if (stride == 1) {
    for (; j + 16 <= n; j += 16)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j), widen16(s + j, sgn, z));
    if (j < n && n >= 16) {  // the rest as one vector overlapping the last
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + n - 16), widen16(s + n - 16, sgn, z));
      j = n;
    }
    return j;
  }
  // Stride 2: 32 bytes, the even ones gathered into the low 16 (bytes up to s[2j + 31], so j + 17 <= n).
  const __m256i even = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8,
                                        10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  for (; j + 17 <= n; j += 16) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 2 * j));
    const __m128i e = _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_shuffle_epi8(v, even), 0xD8));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j),
                        _mm256_sub_epi16(sgn ? _mm256_cvtepi8_epi16(e) : _mm256_cvtepu8_epi16(e), z));
  }
  return j;
}

QS_AVX2 int64_t gather_row2_avx2(const int16_t* src, int64_t n, int16_t* dst) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * j));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * j + 16));
    // The even elements sign-extended in 32-bit lanes, packed back (exact: they are int16) and reordered.
    const __m256i e0 = _mm256_srai_epi32(_mm256_slli_epi32(v0, 16), 16);
    const __m256i e1 = _mm256_srai_epi32(_mm256_slli_epi32(v1, 16), 16);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j),
                        _mm256_permute4x64_epi64(_mm256_packs_epi32(e0, e1), 0xD8));
  }
  return j;
}

namespace {

QS_AVX2 inline void widen_blocks8(const void* src, bool sgn, int64_t n, int64_t stride, int32_t zp,
                                  int16_t* dst) {
  // A last partial vector of r < 16 values writes zeros to lanes r..15 (ramp16).
  const __m256i even = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8,
                                        10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
  const char* s = static_cast<const char*>(src);
  for (int64_t j = 0; j < n; j += 16) {
    __m128i b;
    if (stride == 1) {
      b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + j));
    } else {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 2 * j));
      b = _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_shuffle_epi8(v, even), 0xD8));
    }
    __m256i w = _mm256_sub_epi16(sgn ? _mm256_cvtepi8_epi16(b) : _mm256_cvtepu8_epi16(b), z);
    if (n - j < 16)
      w = _mm256_and_si256(w, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ramp16 + 16 - (n - j))));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j), w);
  }
}

}  // namespace

QS_AVX2 void widen_row_blocks8_avx2(const void* src, bool sgn, int64_t n, int64_t stride, int32_t zp,
                                    int16_t* dst) {
  widen_blocks8(src, sgn, n, stride, zp, dst);
}

// In this file, with the row widening inlined: the depthwise phase planes of a 14×14 output are some 60
// rows of 14 values, where a call per row cost more than the row.
QS_AVX2 void widen_rows8_avx2(const void* src, bool sgn, const RowCopy* copies, size_t count, int64_t stride,
                              int32_t zp, int16_t* dst) {
  for (size_t i = 0; i < count; ++i) {
    const RowCopy& c = copies[i];
    widen_blocks8(static_cast<const char*>(src) + c.src, sgn, c.n, stride, zp, dst + c.dst);
  }
}

}  // namespace qs::intgemm::detail
