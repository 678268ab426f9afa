// A 16×16 byte transpose in SSE2 registers (baseline on x86-64), shared by the strided copy engine
// (core/ops/movement_strided.cpp: Transpose of 1-byte tensors) and the integer depthwise kernels.
#pragma once

#if defined(__SSE2__)
#include <emmintrin.h>

namespace qs {

// In-place transpose of a 16×16 byte matrix held as 16 rows.
inline void transpose16x16(__m128i r[16]) {
  __m128i a[16], b[16];
  for (int i = 0; i < 8; ++i) {
    a[2 * i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);
    a[2 * i + 1] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j) {
      b[4 * i + j] = _mm_unpacklo_epi16(a[4 * i + j], a[4 * i + 2 + j]);
      b[4 * i + 2 + j] = _mm_unpackhi_epi16(a[4 * i + j], a[4 * i + 2 + j]);
    }
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      a[8 * i + j] = _mm_unpacklo_epi32(b[8 * i + j], b[8 * i + 4 + j]);
      a[8 * i + 4 + j] = _mm_unpackhi_epi32(b[8 * i + j], b[8 * i + 4 + j]);
    }
  for (int j = 0; j < 8; ++j) {
    b[j] = _mm_unpacklo_epi64(a[j], a[8 + j]);
    b[8 + j] = _mm_unpackhi_epi64(a[j], a[8 + j]);
  }
  // b[k] now holds column order k' = bit-reversal-like permutation of k: undo it.
  static constexpr int kOrder[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
  for (int k = 0; k < 16; ++k) r[kOrder[k]] = b[k];
}

}  // namespace qs
#endif
