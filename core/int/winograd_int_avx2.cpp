// Winograd F(2×2, 3×3) for integer 3×3 stride-1 convolutions (gemm_int.h, WinogradInput): the input
// transform straight into packed B panels and the output transform with the requantization epilogue.
// The 16 products in between are ordinary GEMMs (gemm_panel_i32_avx2). AVX2 only, called after a run-time
// check.
#include <immintrin.h>

#include "core/int/avx2_lanes.h"
#include "core/int/gemm_int.h"

namespace qs::intgemm::detail {

namespace {

QS_AVX2 inline __m256i ld(const int16_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
QS_AVX2 inline __m256i ld(const int32_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

}  // namespace

// Tile u of tile row t reads rows 2t .. 2t + 3 and pair columns 2u .. 2u + 3 of the window: the values
// d[i][k]. V = Bᵀ·d·B with
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],
// first along k (t[i] = (d·B)[i]: d0 − d2, d1 + d2, d2 − d1, d1 − d3), then along i; both int16 lanes of a
// pair (two channels) at once. |V| ≤ 4·|d|. 8 tiles per vector: columns 2u + k for u = 0..7 are the even
// (k = 0, 2) or odd (k = 1, 3) pairs of 16 consecutive ones.
QS_AVX2 void winograd_input_avx2(const WinogradInput& in, int64_t t, int64_t count, int16_t* V,
                                 int64_t stride, int64_t c0) {
  const int64_t xi_stride = in.Cp * 2 * stride;  // int16 per transformed element
  auto even = [](__m256i a, __m256i b) {
    return _mm256_permute4x64_epi64(
        _mm256_castps_si256(_mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), 0x88)), 0xD8);
  };
  auto odd = [](__m256i a, __m256i b) {
    return _mm256_permute4x64_epi64(
        _mm256_castps_si256(_mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), 0xDD)), 0xD8);
  };
  for (int64_t cp = 0; cp < in.Cp; ++cp) {
    for (int64_t j = 0; j < count; j += 8) {
      __m256i tt[4][4];
      for (int i = 0; i < 4; ++i) {
        const int16_t* row = in.win + 2 * ((cp * in.rows + 2 * t + i) * in.cols + 2 * j);
        const __m256i a = ld(row), b = ld(row + 16), c = ld(row + 4), e = ld(row + 20);
        const __m256i d0 = even(a, b), d1 = odd(a, b), d2 = even(c, e), d3 = odd(c, e);
        tt[i][0] = _mm256_sub_epi16(d0, d2);
        tt[i][1] = _mm256_add_epi16(d1, d2);
        tt[i][2] = _mm256_sub_epi16(d2, d1);
        tt[i][3] = _mm256_sub_epi16(d1, d3);
      }
      int16_t* out = V + 2 * (cp * stride + c0 + j);
      for (int k = 0; k < 4; ++k) {
        const __m256i v[4] = {_mm256_sub_epi16(tt[0][k], tt[2][k]), _mm256_add_epi16(tt[1][k], tt[2][k]),
                              _mm256_sub_epi16(tt[2][k], tt[1][k]), _mm256_sub_epi16(tt[1][k], tt[3][k])};
        for (int r = 0; r < 4; ++r)
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (4 * r + k) * xi_stride), v[r]);
      }
    }
  }
}

// Y' = Aᵀ·M·A per tile with Aᵀ = [1 1 1 0; 0 1 −1 −1]: 4·acc of the tile's 2×2 outputs in wrapping int32
// (exact: the caller checked |4·acc| < 2^31), then acc = Y' / 4, requantization as requant8, zero point,
// saturating narrowing to 8 bits, the clamp, and the outputs of 16 tiles as 32 bytes per output row.
template <bool kSigned>
QS_AVX2 void winograd_output_t(const WinogradOutput& o, const Epilogue& e) {
  const __m256i zp = _mm256_set1_epi32(e.zp);
  const __m256i lo = _mm256_set1_epi8(static_cast<char>(e.lo)),
                hi = _mm256_set1_epi8(static_cast<char>(e.hi));
  const int64_t xi_stride = o.rows * kNR;
  for (int64_t m = 0; m < o.rows; ++m) {
    const LaneConsts k = row_consts(*e.rq, static_cast<size_t>(e.channel0 + m));
    __m256i row16[2][2];  // [output row i][half]: 8 tiles' two outputs as int16, in column order
    for (int64_t h = 0; h < 2; ++h) {
      const int32_t* p = o.prod + m * kNR + 8 * h;
      __m256i s0[4], s1[4];
      for (int c = 0; c < 4; ++c) {
        const __m256i m0 = ld(p + c * xi_stride), m1 = ld(p + (4 + c) * xi_stride),
                      m2 = ld(p + (8 + c) * xi_stride), m3 = ld(p + (12 + c) * xi_stride);
        s0[c] = _mm256_add_epi32(_mm256_add_epi32(m0, m1), m2);
        s1[c] = _mm256_sub_epi32(_mm256_sub_epi32(m1, m2), m3);
      }
      __m256i y[2][2];
      y[0][0] = _mm256_add_epi32(_mm256_add_epi32(s0[0], s0[1]), s0[2]);
      y[0][1] = _mm256_sub_epi32(_mm256_sub_epi32(s0[1], s0[2]), s0[3]);
      y[1][0] = _mm256_add_epi32(_mm256_add_epi32(s1[0], s1[1]), s1[2]);
      y[1][1] = _mm256_sub_epi32(_mm256_sub_epi32(s1[1], s1[2]), s1[3]);
      for (int i = 0; i < 2; ++i) {
        const __m256i a = _mm256_add_epi32(requant8(_mm256_srai_epi32(y[i][0], 2), k), zp);
        const __m256i b = _mm256_add_epi32(requant8(_mm256_srai_epi32(y[i][1], 2), k), zp);
        // Per 128-bit lane, unpacklo/hi give (a0 b0 a1 b1) and (a2 b2 a3 b3): packed, tiles in order.
        row16[i][h] = _mm256_packs_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
      }
    }
    for (int i = 0; i < 2; ++i) {
      // Lanes: tiles 0-3 | 8-11 and 4-7 | 12-15 after the pack; one qword permutation orders them.
      __m256i v = kSigned ? _mm256_packs_epi16(row16[i][0], row16[i][1])
                          : _mm256_packus_epi16(row16[i][0], row16[i][1]);
      v = _mm256_permute4x64_epi64(v, 0xD8);
      v = kSigned ? _mm256_min_epi8(_mm256_max_epi8(v, lo), hi) : _mm256_min_epu8(_mm256_max_epu8(v, lo), hi);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>((i == 0 ? o.y0 : o.y1) + m * o.ld), v);
    }
  }
}

QS_AVX2 void winograd_output_avx2(const WinogradOutput& o, const Epilogue& e) {
  if (e.out == DType::Int8)
    winograd_output_t<true>(o, e);
  else
    winograd_output_t<false>(o, e);
}

}  // namespace qs::intgemm::detail
