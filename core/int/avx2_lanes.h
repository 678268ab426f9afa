// Internal to the AVX2 integer kernels (gemm_int_avx2.cpp, depthwise_int_avx2.cpp): the requantization of
// 8 int32 lanes with per-lane or per-row constants from a RequantTable, and the narrowing of 16 lanes to the
// output type. Functions are compiled for AVX2 with a function attribute and only called after a run-time
// check (core/int/isa.h).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "core/int/gemm_int.h"

#define QS_AVX2 __attribute__((target("avx2")))
// For the small functions and lambdas of a kernel's inner loop, which GCC would otherwise leave as calls.
#define QS_INLINE __attribute__((always_inline))

namespace qs::intgemm::detail {

struct LaneConsts {
  __m256i m0, lim, bias, offE, offO, shE, shO, subE, subO;
  __m256i m0o, rndE, rndO, sh32;  // the n >= 32 path (RequantTable::fast8)
  bool fast = false;
};

QS_AVX2 inline LaneConsts row_consts(const RequantTable& t, size_t c) {
  LaneConsts k;
  k.m0 = k.m0o = _mm256_set1_epi32(t.m0[c]);
  k.lim = _mm256_set1_epi32(t.limit[c]);
  k.bias = _mm256_set1_epi32(t.bias[c]);
  k.offE = k.offO = _mm256_set1_epi64x(t.offset[c]);
  k.shE = k.shO = _mm256_set1_epi64x(t.shift[c]);
  k.subE = k.subO = _mm256_set1_epi64x(t.sub[c]);
  k.fast = t.shift[c] >= 32;
  k.rndE = k.rndO = _mm256_set1_epi64x(t.round[c]);
  k.sh32 = _mm256_set1_epi32(t.shift32[c]);
  return k;
}

// Channels c .. c+7 (c a multiple of 8).
QS_AVX2 inline LaneConsts col_consts(const RequantTable& t, size_t c) {
  auto ld32 = [&](const std::vector<int32_t>& v) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v.data() + c));
  };
  auto ld64 = [&](const std::vector<int64_t>& v, size_t o) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v.data() + c + o));
  };
  LaneConsts k;
  k.m0 = ld32(t.m0);
  k.m0o = _mm256_srli_epi64(k.m0, 32);
  k.lim = ld32(t.limit);
  k.bias = ld32(t.bias);
  k.offE = ld64(t.offset_lanes, 0);
  k.offO = ld64(t.offset_lanes, 4);
  k.shE = ld64(t.shift_lanes, 0);
  k.shO = ld64(t.shift_lanes, 4);
  k.subE = ld64(t.sub_lanes, 0);
  k.subO = ld64(t.sub_lanes, 4);
  k.fast = t.fast8[c / 8] != 0;
  k.rndE = ld64(t.round_lanes, 0);
  k.rndO = ld64(t.round_lanes, 4);
  k.sh32 = ld32(t.shift32);
  return k;
}

// R(acc + bias) for 8 lanes, exactly requantize() of requant.h.
QS_AVX2 inline __m256i requant8(__m256i v, const LaneConsts& k) {
  if (k.fast) {
    // High dwords of the 64-bit acc·M0 + bias·M0 + 2^(n-1) (RequantTable::round): even lanes from pe
    // (shifted down), odd lanes from po.
    const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(v, k.m0), k.rndE);
    const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(v, 32), k.m0o), k.rndO);
    return _mm256_srav_epi32(_mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA), k.sh32);
  }
  v = _mm256_add_epi32(v, k.bias);
  v = _mm256_min_epi32(_mm256_max_epi32(v, _mm256_sub_epi32(_mm256_setzero_si256(), k.lim)), k.lim);
  __m256i pe = _mm256_mul_epi32(v, k.m0);
  __m256i po = _mm256_mul_epi32(_mm256_srli_epi64(v, 32), _mm256_srli_epi64(k.m0, 32));
  pe = _mm256_sub_epi64(_mm256_srlv_epi64(_mm256_add_epi64(pe, k.offE), k.shE), k.subE);
  po = _mm256_sub_epi64(_mm256_srlv_epi64(_mm256_add_epi64(po, k.offO), k.shO), k.subO);
  return _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
}

// v0, v1 (already in the output range) narrowed to the output type, in memory order: 16 elements.
template <DType OT>
QS_AVX2 inline void narrow16(__m256i v0, __m256i v1, unsigned char* out) {
  if constexpr (OT == DType::Int8 || OT == DType::UInt8) {
    const __m256i p16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(v0, v1), 0xD8);
    const __m128i lo = _mm256_castsi256_si128(p16), hi = _mm256_extracti128_si256(p16, 1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                     OT == DType::Int8 ? _mm_packs_epi16(lo, hi) : _mm_packus_epi16(lo, hi));
  } else {
    const __m256i p = OT == DType::Int16 ? _mm256_packs_epi32(v0, v1) : _mm256_packus_epi32(v0, v1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permute4x64_epi64(p, 0xD8));
  }
}

}  // namespace qs::intgemm::detail
