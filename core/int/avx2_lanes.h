// Internal to the AVX2 integer kernels (gemm_int_avx2.cpp, depthwise_int_avx2.cpp): the requantization of
// 8 int32 lanes with per-lane or per-row constants from a RequantTable, and the narrowing of 16 lanes to the
// output type. Functions are compiled for AVX2 with a function attribute and only called after a run-time
// check (core/int/isa.h).
#pragma once

#include <immintrin.h>

#include <cstddef>
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

// R(acc + bias) for 8 lanes, exactly requantize() of requant.h: the path for shifts n >= 32 (kFast,
// RequantTable::fast8) or the general one. Kernels that know the path for a whole call take it as a template
// argument, which keeps the other path's constants out of their registers.
template <bool kFast>
QS_AVX2 QS_INLINE inline __m256i requant8_path(__m256i v, const LaneConsts& k) {
  if constexpr (kFast) {
    // High dwords of the 64-bit acc·M0 + bias·M0 + 2^(n-1) (RequantTable::round): even lanes from pe
    // (shifted down), odd lanes from po.
    const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(v, k.m0), k.rndE);
    const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(v, 32), k.m0o), k.rndO);
    return _mm256_srav_epi32(_mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA), k.sh32);
  } else {
    v = _mm256_add_epi32(v, k.bias);
    v = _mm256_min_epi32(_mm256_max_epi32(v, _mm256_sub_epi32(_mm256_setzero_si256(), k.lim)), k.lim);
    __m256i pe = _mm256_mul_epi32(v, k.m0);
    __m256i po = _mm256_mul_epi32(_mm256_srli_epi64(v, 32), _mm256_srli_epi64(k.m0, 32));
    pe = _mm256_sub_epi64(_mm256_srlv_epi64(_mm256_add_epi64(pe, k.offE), k.shE), k.subE);
    po = _mm256_sub_epi64(_mm256_srlv_epi64(_mm256_add_epi64(po, k.offO), k.shO), k.subO);
    return _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
  }
}

// requant8_path<true> in inline assembly, for kernels written in it: accumulator register V requantized
// in place, T a free register, K the name of an operand holding the LaneConsts' address. The asm statement
// lists QS_ASM_REQ8_OFFSETS among its inputs.
// clang-format off
#define QS_ASM_REQ8(V, T, K)                                                                            \
  "vpsrlq $32, %%" V ", %%" T "\n\t"                                                                   \
  "vpmuldq %c[m0](%[" K "]), %%" V ", %%" V "\n\t"                                                     \
  "vpmuldq %c[m0o](%[" K "]), %%" T ", %%" T "\n\t"                                                    \
  "vpaddq %c[rndE](%[" K "]), %%" V ", %%" V "\n\t"                                                    \
  "vpaddq %c[rndO](%[" K "]), %%" T ", %%" T "\n\t"                                                    \
  "vpsrlq $32, %%" V ", %%" V "\n\t"                                                                   \
  "vpblendd $0xaa, %%" T ", %%" V ", %%" V "\n\t"                                                      \
  "vpsravd %c[sh32](%[" K "]), %%" V ", %%" V "\n\t"
#define QS_ASM_REQ8_OFFSETS                                                                             \
  [m0] "i"(offsetof(::qs::intgemm::detail::LaneConsts, m0)),                                            \
  [m0o] "i"(offsetof(::qs::intgemm::detail::LaneConsts, m0o)),                                          \
  [rndE] "i"(offsetof(::qs::intgemm::detail::LaneConsts, rndE)),                                        \
  [rndO] "i"(offsetof(::qs::intgemm::detail::LaneConsts, rndO)),                                        \
  [sh32] "i"(offsetof(::qs::intgemm::detail::LaneConsts, sh32))
// An asm statement of an 8-bit-output kernel for output type OT: BODY(PACK, MAX, MIN) with the saturating
// pack and clamp instructions of int8 or uint8, followed by the operand list OPERANDS.
#define QS_ASM_BYTES(OT, BODY, OPERANDS)                                                                 \
  if constexpr (OT == DType::Int8)                                                                       \
    asm volatile(BODY("vpacksswb", "vpmaxsb", "vpminsb") OPERANDS);                                      \
  else                                                                                                   \
    asm volatile(BODY("vpackuswb", "vpmaxub", "vpminub") OPERANDS)
// clang-format on

QS_AVX2 inline __m256i requant8(__m256i v, const LaneConsts& k) {
  return k.fast ? requant8_path<true>(v, k) : requant8_path<false>(v, k);
}

// Requantized accumulators as 16 int16 lanes in output order, zero point added, for 8-bit outputs. lo holds
// outputs 0-3 | 8-11 and hi 4-7 | 12-15 (the order VPUNPCKL/HWD then VPMADDWD leave), which VPACKSSDW's
// per-lane interleave puts back in order, so no permutation is needed. Saturating to int16 before adding
// the zero point (saturating too) changes nothing after the clamp to the 8-bit range: a value that
// saturated is beyond that range either way.
template <bool kFast>
QS_AVX2 QS_INLINE inline __m256i requant16(__m256i lo, __m256i hi, const LaneConsts& klo,
                                           const LaneConsts& khi, __m256i zp16) {
  return _mm256_adds_epi16(_mm256_packs_epi32(requant8_path<kFast>(lo, klo), requant8_path<kFast>(hi, khi)),
                           zp16);
}

// int16 lanes in output order (requant16) to 8-bit outputs: saturating packs to the type, then the clamp to
// [lo, hi], which lies inside the type's range (so clamping after the saturation equals clamping before).
template <DType OT>
struct Bytes8 {
  static_assert(OT == DType::Int8 || OT == DType::UInt8);
  __m256i lo, hi;
  QS_AVX2 explicit Bytes8(const Epilogue& e)
      : lo(_mm256_set1_epi8(static_cast<char>(e.lo))), hi(_mm256_set1_epi8(static_cast<char>(e.hi))) {}
  QS_AVX2 QS_INLINE __m256i clamp(__m256i v) const {
    if constexpr (OT == DType::Int8) return _mm256_min_epi8(_mm256_max_epi8(v, lo), hi);
    return _mm256_min_epu8(_mm256_max_epu8(v, lo), hi);
  }
  // a's 16 outputs, then b's.
  QS_AVX2 QS_INLINE __m256i two(__m256i a, __m256i b) const {
    const __m256i p = OT == DType::Int8 ? _mm256_packs_epi16(a, b) : _mm256_packus_epi16(a, b);
    return clamp(_mm256_permute4x64_epi64(p, 0xD8));
  }
  QS_AVX2 QS_INLINE __m128i one(__m256i a) const {
    const __m128i l = _mm256_castsi256_si128(a), h = _mm256_extracti128_si256(a, 1);
    const __m128i p = OT == DType::Int8 ? _mm_packs_epi16(l, h) : _mm_packus_epi16(l, h);
    return _mm256_castsi256_si128(clamp(_mm256_castsi128_si256(p)));
  }
};

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
