// AVX2 depthwise kernels (gemm_int.h): per channel over phase planes (DepthwisePlane), 16 output positions
// of a row per step or 8 of two rows; and 16 channels interleaved for narrow planes (DepthwiseChannels).
// Tap pairs go through VPMADDWD as in the GEMM, requantization as its epilogue (avx2_lanes.h).
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "core/common/error.h"
#include "core/common/transpose_bytes.h"
#include "core/int/avx2_lanes.h"
#include "core/int/gemm_int.h"

namespace qs::intgemm::detail {

namespace {

constexpr int64_t kMaxHeldPairs = 32;  // tap pairs kept broadcast in a local array (8×8 kernels)

// Loads of 16 int16 values at base + o: one output row's 16 consecutive positions (Row), or 8 positions
// of each of two rows RS apart (TwoRows: the lower 128-bit lane holds the first row, the upper the second).
struct Row {
  QS_AVX2 __m256i operator()(const int16_t* base, int64_t o) const {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + o));
  }
};
struct TwoRows {
  int64_t RS;
  QS_AVX2 __m256i operator()(const int16_t* base, int64_t o) const {
    return _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(base + RS + o),
                               reinterpret_cast<const __m128i*>(base + o));
  }
};

// The accumulators of 16 outputs at base: Σ over tap pairs, the pair weights already broadcast (w), or
// broadcast here (wp). Both loads interleave within 128-bit lanes, so al holds the positions 0-3 | 8-11 of
// the load order and ah 4-7 | 12-15.
template <typename Load, int kTaps, bool kHeld>
QS_AVX2 QS_INLINE inline void dw_acc(const Load& ld, const int16_t* base, const int64_t* off, int64_t taps,
                                     const __m256i* w, const int32_t* wp, __m256i& al, __m256i& ah) {
  al = _mm256_setzero_si256(), ah = _mm256_setzero_si256();
  const int64_t n = kTaps > 0 ? kTaps : taps;
  const int64_t pairs = (n + 1) / 2;
#pragma GCC unroll 5
  for (int64_t t = 0; t < pairs; ++t) {
    const __m256i a = ld(base, off[2 * t]);
    // An odd last tap pairs with a zero weight (its data is read from the same place).
    const __m256i b = 2 * t + 1 < n ? ld(base, off[2 * t + 1]) : a;
    const __m256i wt = kHeld ? w[t] : _mm256_set1_epi32(wp[t]);
    al = _mm256_add_epi32(al, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), wt));
    ah = _mm256_add_epi32(ah, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), wt));
  }
}

// Stores n of the `whole` bytes at src to dst. `spill`: writing all `whole` bytes is allowed (they land on
// output that is written again later), which saves the variable-length copy.
QS_AVX2 inline void put(unsigned char* dst, const unsigned char* src, size_t n, size_t whole, bool spill) {
  if (n == whole || spill) {
    if (whole == 32)
      std::memcpy(dst, src, 32);
    else if (whole == 16)
      std::memcpy(dst, src, 16);
    else
      std::memcpy(dst, src, 8);
  } else {
    std::memcpy(dst, src, n);
  }
}

// The pair weights broadcast once per plane (kHeld), the tap offsets of a fixed tap count in locals.
template <int kTaps, bool kHeld>
struct PlaneTaps {
  __m256i w[kHeld ? kMaxHeldPairs : 1];
  int64_t fixed[kTaps > 0 ? kTaps : 1];
  const int64_t* off;
  QS_AVX2 explicit PlaneTaps(const DepthwisePlane& p) : off(p.off) {
    if constexpr (kHeld)
      for (int64_t t = 0; t < (p.taps + 1) / 2; ++t) w[t] = _mm256_set1_epi32(p.wpairs[t]);
    if constexpr (kTaps > 0) {
      for (int t = 0; t < kTaps; ++t) fixed[t] = p.off[t];
      off = fixed;
    }
  }
};

// 8-bit outputs: the accumulators go through requant16 (no lane permutation, the zero point added to 16
// lanes at once) and two blocks are narrowed and clamped together.
template <DType OT, int kTaps, bool kHeld, bool kFast>
QS_AVX2 void depthwise_bytes(const DepthwisePlane& p, const Epilogue& e, const LaneConsts& k) {
  const __m256i zp16 = _mm256_set1_epi16(static_cast<int16_t>(e.zp));
  const Bytes8<OT> b8(e);
  const PlaneTaps<kTaps, kHeld> pt(p);
  const auto block = [&](const auto& ld, const int16_t* base) QS_INLINE {
    __m256i al, ah;
    dw_acc<std::decay_t<decltype(ld)>, kTaps, kHeld>(ld, base, pt.off, p.taps, pt.w, p.wpairs, al, ah);
    return requant16<kFast>(al, ah, k, k, zp16);
  };
  unsigned char* y = static_cast<unsigned char*>(e.y);
  const size_t ldy = static_cast<size_t>(e.ldy), OW = static_cast<size_t>(p.OW);
  // When rows are contiguous in y, a partial store may write whole vectors: past its row's end lie rows
  // written after it, as long as the vector ends inside the plane.
  const auto spill = [&](int64_t oh, int64_t ow, int64_t whole)
                         QS_INLINE { return e.ldy == p.OW && oh * p.OW + ow + whole <= p.OH * p.OW; };
  alignas(32) unsigned char tmp[32];
  if (p.OW <= 8 && p.OH > 1) {
    // Two output rows per block, 8 positions each (at the widths of late MobileNet stages, 7, a block per
    // row would leave 9 of 16 lanes idle); two blocks, four rows, per store.
    const TwoRows ld{p.RS};
    for (int64_t oh = 0; oh < p.OH; oh += 4) {
      const int64_t rows = std::min<int64_t>(4, p.OH - oh);
      const __m256i a = block(ld, p.buf + oh * p.RS);
      const __m256i b = rows > 2 ? block(ld, p.buf + (oh + 2) * p.RS) : a;
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), b8.two(a, b));
      for (int64_t r = 0; r < rows; ++r)
        put(y + static_cast<size_t>(oh + r) * ldy, tmp + r * 8, OW, 8, spill(oh + r, 0, 8));
    }
    return;
  }
  const Row ld;
  for (int64_t oh = 0; oh < p.OH; ++oh) {
    const int16_t* row = p.buf + oh * p.RS;
    unsigned char* dst = y + static_cast<size_t>(oh) * ldy;
    if (p.OW <= 16 && oh + 1 < p.OH) {
      // One block per row (MobileNet's 14×14 stages): two rows per step and per store.
      const __m256i v = b8.two(block(ld, row), block(ld, row + p.RS));
      if (p.OW == 16) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm256_castsi256_si128(v));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + ldy), _mm256_extracti128_si256(v, 1));
      } else {
        _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), v);
        put(dst, tmp, OW, 16, spill(oh, 0, 16));
        put(dst + ldy, tmp + 16, OW, 16, spill(oh + 1, 0, 16));
      }
      ++oh;
      continue;
    }
    for (int64_t ow = 0; ow < p.OW; ow += 32) {
      const int64_t cols = std::min<int64_t>(32, p.OW - ow);
      if (cols > 16) {
        const __m256i v = b8.two(block(ld, row + ow), block(ld, row + ow + 16));
        if (cols == 32) {
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + ow), v);
        } else {
          _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), v);
          put(dst + ow, tmp, static_cast<size_t>(cols), 32, spill(oh, ow, 32));
        }
      } else {
        const __m128i v = b8.one(block(ld, row + ow));
        if (cols == 16) {
          _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + ow), v);
        } else {
          _mm_store_si128(reinterpret_cast<__m128i*>(tmp), v);
          put(dst + ow, tmp, static_cast<size_t>(cols), 16, spill(oh, ow, 16));
        }
      }
    }
  }
}

// 16-bit outputs: requantized as 8 lanes in output order each, zero point and clamp in int32.
template <DType OT, int kTaps, bool kHeld>
QS_AVX2 void depthwise_t(const DepthwisePlane& p, const Epilogue& e) {
  const LaneConsts k = row_consts(*e.rq, static_cast<size_t>(e.channel0));
  if constexpr (OT == DType::Int8 || OT == DType::UInt8) {
    if (k.fast) return depthwise_bytes<OT, kTaps, kHeld, true>(p, e, k);
    return depthwise_bytes<OT, kTaps, kHeld, false>(p, e, k);
  } else {
    const __m256i zp = _mm256_set1_epi32(e.zp), lo = _mm256_set1_epi32(e.lo), hi = _mm256_set1_epi32(e.hi);
    const PlaneTaps<kTaps, kHeld> pt(p);
    unsigned char* y = static_cast<unsigned char*>(e.y);
    alignas(32) unsigned char tmp[32];
    const Row ld;
    for (int64_t oh = 0; oh < p.OH; ++oh)
      for (int64_t ow = 0; ow < p.OW; ow += 16) {
        __m256i al, ah;
        dw_acc<Row, kTaps, kHeld>(ld, p.buf + oh * p.RS + ow, pt.off, p.taps, pt.w, p.wpairs, al, ah);
        __m256i v0 = _mm256_add_epi32(requant8(_mm256_permute2x128_si256(al, ah, 0x20), k), zp);
        __m256i v1 = _mm256_add_epi32(requant8(_mm256_permute2x128_si256(al, ah, 0x31), k), zp);
        v0 = _mm256_min_epi32(_mm256_max_epi32(v0, lo), hi);
        v1 = _mm256_min_epi32(_mm256_max_epi32(v1, lo), hi);
        unsigned char* dst = y + static_cast<size_t>(oh * e.ldy + ow) * 2;
        const int64_t cols = std::min<int64_t>(16, p.OW - ow);
        if (cols == 16) {
          narrow16<OT>(v0, v1, dst);
        } else {
          narrow16<OT>(v0, v1, tmp);
          // Whole vectors only where they end inside the plane (contiguous rows, written in order).
          put(dst, tmp, static_cast<size_t>(cols) * 2, 32,
              e.ldy == p.OW && oh * p.OW + ow + 16 <= p.OH * p.OW);
        }
      }
  }
}

template <DType OT>
QS_AVX2 void depthwise_taps(const DepthwisePlane& p, const Epilogue& e) {
  if (p.taps == 9) return depthwise_t<OT, 9, true>(p, e);
  if ((p.taps + 1) / 2 <= kMaxHeldPairs) return depthwise_t<OT, 0, true>(p, e);
  depthwise_t<OT, 0, false>(p, e);  // kernels over 8×8: weights broadcast per block
}

}  // namespace

QS_AVX2 void depthwise_avx2(const DepthwisePlane& p, const Epilogue& e) {
  switch (e.out) {
    case DType::Int8:
      return depthwise_taps<DType::Int8>(p, e);
    case DType::UInt8:
      return depthwise_taps<DType::UInt8>(p, e);
    case DType::Int16:
      return depthwise_taps<DType::Int16>(p, e);
    case DType::UInt16:
      return depthwise_taps<DType::UInt16>(p, e);
    default:
      throw Error("integer depthwise: output type " + dtype_name(e.out) + " is not supported");
  }
}

namespace {

// The accumulators of V positions of the 16 interleaved channels (position v's input at in[v]): Σ over tap
// pairs of the pairs' weights (channels 0-3, 8-11 in wl; 4-7, 12-15 in wh, the order VPUNPCK gives), so al
// holds channels 0-3 | 8-11 and ah 4-7 | 12-15.
template <int kTaps, int V>
QS_AVX2 QS_INLINE inline void channel_acc(const int16_t* const (&in)[V], const int64_t* off, int64_t taps,
                                          const __m256i* wl, const __m256i* wh, __m256i (&al)[V],
                                          __m256i (&ah)[V]) {
  const int64_t n = kTaps > 0 ? kTaps : taps, pairs = (n + 1) / 2;
  // The first pair's products are the accumulators, not added to zeroed ones (a single tap pairs with
  // itself, as an odd last tap does below).
  {
    const int64_t o0 = off[0], o1 = n > 1 ? off[1] : o0;
    for (int v = 0; v < V; ++v) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in[v] + o0));
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in[v] + o1));
      al[v] = _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), wl[0]);
      ah[v] = _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), wh[0]);
    }
  }
#pragma GCC unroll 1
  for (int64_t t = 1; t < pairs; ++t) {
    const int64_t o0 = off[2 * t], o1 = 2 * t + 1 < n ? off[2 * t + 1] : o0;
    for (int v = 0; v < V; ++v) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in[v] + o0));
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in[v] + o1));
      al[v] = _mm256_add_epi32(al[v], _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), wl[t]));
      ah[v] = _mm256_add_epi32(ah[v], _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), wh[t]));
    }
  }
}

// Two positions (inputs at p0, p1) of a 3×3 kernel with adjacent taps along rows (dilation 1 along w;
// rows rs bytes apart), n >= 32 requantization (kl, kh fast), 8-bit outputs to o0 and o1: channel_acc,
// requant16 and Bytes8::two in one assembly block. GCC's code for them kept the tap loop's offsets and
// accumulators moving through memory and spare registers (a fifth of its instructions); here every tap
// is a constant displacement from the position's pointer and the row step, weights and constants are
// memory operands, and nothing spills. bc: zp16 (the zero point as 16 int16), lo, hi (the output range
// as 32 bytes).
struct PairConsts {
  __m256i zp16, lo, hi;
};
// clang-format off
// Products V of weights M added to accumulator ACC (V is free after): VPMADDWD then VPADDD, or with AVX-512
// VNNI (kVnni) one VPDPWSSD on 256-bit registers, the same exact sums (the assembler takes it whatever the
// function's target, and it runs only where avx512_enabled()).
#define QS_MA(M, V, ACC) "vpmaddwd " M ", %%" V ", %%" V "\n\t" "vpaddd %%" V ", %%" ACC ", %%" ACC "\n\t"
#define QS_MA_V(M, V, ACC) "vpdpwssd " M ", %%" V ", %%" ACC "\n\t"
// Tap pair (A0, A1) of one position added with MA to accumulators AL, AH, the pair's weights at byte W of
// wl and wh; X, L free registers. _FIRST: the first pair, written; _LAST: the ninth tap, paired with itself
// (its partner's weight 0).
#define QS_TAPS(MA, A0, A1, W, AL, AH, X, L)                                                             \
  "vmovdqu " A0 ", %%" X "\n\t"                                                                          \
  "vpunpcklwd " A1 ", %%" X ", %%" L "\n\t"                                                              \
  "vpunpckhwd " A1 ", %%" X ", %%" X "\n\t"                                                              \
  MA(W "(%[wl])", L, AL) MA(W "(%[wh])", X, AH)
#define QS_TAPS_FIRST(A0, A1, AL, AH, X)                                                                 \
  "vmovdqu " A0 ", %%" X "\n\t"                                                                          \
  "vpunpcklwd " A1 ", %%" X ", %%" AL "\n\t"                                                             \
  "vpunpckhwd " A1 ", %%" X ", %%" AH "\n\t"                                                             \
  "vpmaddwd (%[wl]), %%" AL ", %%" AL "\n\t"                                                             \
  "vpmaddwd (%[wh]), %%" AH ", %%" AH "\n\t"
#define QS_TAP_LAST(MA, A0, AL, AH, X, L)                                                                \
  "vmovdqu " A0 ", %%" X "\n\t"                                                                          \
  "vpunpcklwd %%" X ", %%" X ", %%" L "\n\t"                                                             \
  "vpunpckhwd %%" X ", %%" X ", %%" X "\n\t"                                                             \
  MA("128(%[wl])", L, AL) MA("128(%[wh])", X, AH)
// The nine taps of position P: (kh, kw) at kw·32 bytes from P + kh·rs.
#define QS_POS_WITH(MA, P, AL, AH, X, L)                                                              \
  QS_TAPS_FIRST("(%[" P "])", "32(%[" P "])", AL, AH, X)                                                 \
  QS_TAPS(MA, "64(%[" P "])", "(%[" P "],%[rs])", "32", AL, AH, X, L)                                  \
  QS_TAPS(MA, "32(%[" P "],%[rs])", "64(%[" P "],%[rs])", "64", AL, AH, X, L)                          \
  QS_TAPS(MA, "(%[" P "],%[rs],2)", "32(%[" P "],%[rs],2)", "96", AL, AH, X, L)                        \
  QS_TAP_LAST(MA, "64(%[" P "],%[rs],2)", AL, AH, X, L)
#define QS_POS(P, AL, AH, X, L) QS_POS_WITH(QS_MA, P, AL, AH, X, L)
#define QS_POS_V(P, AL, AH, X, L) QS_POS_WITH(QS_MA_V, P, AL, AH, X, L)
// clang-format on
template <DType OT, bool kVnni>
QS_AVX2 QS_INLINE inline void dw_pair_3x3(const int16_t* p0, const int16_t* p1, int64_t rs, const __m256i* wl,
                                          const __m256i* wh, const LaneConsts& kl, const LaneConsts& kh,
                                          const PairConsts& pc, unsigned char* o0, unsigned char* o1) {
  static_assert(OT == DType::Int8 || OT == DType::UInt8);
  // clang-format off
#define QS_PAIR_BODY_WITH(POS, PACK, MAX, MIN)                                                           \
  POS("p0", "ymm0", "ymm1", "ymm4", "ymm5")                                                              \
  POS("p1", "ymm2", "ymm3", "ymm6", "ymm7")                                                              \
  QS_ASM_REQ8("ymm0", "ymm4", "kl") QS_ASM_REQ8("ymm1", "ymm5", "kh")                                    \
  QS_ASM_REQ8("ymm2", "ymm6", "kl") QS_ASM_REQ8("ymm3", "ymm7", "kh")                                    \
  "vpackssdw %%ymm1, %%ymm0, %%ymm0\n\t"                                                                 \
  "vpackssdw %%ymm3, %%ymm2, %%ymm2\n\t"                                                                 \
  "vpaddsw (%[pc]), %%ymm0, %%ymm0\n\t"                                                                  \
  "vpaddsw (%[pc]), %%ymm2, %%ymm2\n\t"                                                                  \
  PACK " %%ymm2, %%ymm0, %%ymm0\n\t"                                                                     \
  "vpermq $0xd8, %%ymm0, %%ymm0\n\t"                                                                     \
  MAX " 32(%[pc]), %%ymm0, %%ymm0\n\t"                                                                   \
  MIN " 64(%[pc]), %%ymm0, %%ymm0\n\t"                                                                   \
  "vmovdqu %%xmm0, (%[o0])\n\t"                                                                          \
  "vextracti128 $1, %%ymm0, (%[o1])\n\t"
#define QS_PAIR_BODY(PACK, MAX, MIN) QS_PAIR_BODY_WITH(QS_POS, PACK, MAX, MIN)
#define QS_PAIR_BODY_V(PACK, MAX, MIN) QS_PAIR_BODY_WITH(QS_POS_V, PACK, MAX, MIN)
#define QS_PAIR_OPERANDS                                                                                 \
  : : [p0] "r"(p0), [p1] "r"(p1), [rs] "r"(rs), [wl] "r"(wl), [wh] "r"(wh), [kl] "r"(&kl), [kh] "r"(&kh), \
      [pc] "r"(&pc), [o0] "r"(o0), [o1] "r"(o1), QS_ASM_REQ8_OFFSETS                                     \
  : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "memory"
  // clang-format on
  if constexpr (kVnni)
    QS_ASM_BYTES(OT, QS_PAIR_BODY_V, QS_PAIR_OPERANDS);
  else
    QS_ASM_BYTES(OT, QS_PAIR_BODY, QS_PAIR_OPERANDS);
#undef QS_PAIR_BODY_WITH
#undef QS_PAIR_BODY
#undef QS_PAIR_BODY_V
#undef QS_PAIR_OPERANDS
}
#undef QS_TAPS
#undef QS_MA
#undef QS_MA_V
#undef QS_TAPS_FIRST
#undef QS_TAP_LAST
#undef QS_POS_WITH
#undef QS_POS
#undef QS_POS_V

// Step 3 of depthwise_channels_t: outputs [position][16 channels], 8 bits each, at d.out. Positions go in
// pairs in row-major order across row ends (a 7-wide row leaves no single position behind), and a pair's
// 32 bytes are narrowed, clamped and stored at once. kl, kh: the constants of al's and ah's channels.
template <DType OT, int kTaps, bool kFast, bool kLast>
QS_AVX2 void channel_outputs(const DepthwiseChannels& d, int64_t Wp, const int64_t* off, const __m256i* wl,
                             const __m256i* wh, const LaneConsts& kl, const LaneConsts& kh,
                             const Epilogue& e) {
  const __m256i zp16 = _mm256_set1_epi16(static_cast<int16_t>(e.zp));
  const Bytes8<OT> b8(e);
  // Locals, not d's fields: the byte stores below may alias anything, and the fields would be reloaded.
  const int64_t P = d.OH * d.OW, taps = d.KH * d.KW, OW = d.OW, row_step = d.sh * Wp * 16,
                col_step = d.sw * 16;
  unsigned char* const out = kLast ? static_cast<unsigned char*>(e.y) : d.out;
  const int64_t step = kLast ? d.y_pos : 16;
  // Channels-last with fewer than 16 channels left: each position's first `part` bytes only (the rest
  // belong to the next position).
  const size_t part = kLast && d.channels < 16 ? static_cast<size_t>(d.channels) : 0;
  alignas(32) unsigned char tmp[32];
  const int16_t* row = d.in;
  int64_t fixed[kTaps > 0 ? kTaps : 1];
  if constexpr (kTaps > 0) {
    for (int t = 0; t < kTaps; ++t) fixed[t] = off[t];
    off = fixed;
  }
  int64_t ow = 0;
  auto next = [&]() QS_INLINE {
    const int16_t* at = row + ow * col_step;
    if (++ow == OW) ow = 0, row += row_step;
    return at;
  };
  int64_t q = 0;
  if constexpr (kTaps == 9 && kFast && (OT == DType::Int8 || OT == DType::UInt8)) {
    if (d.KW == 3 && d.dw == 1 && part == 0) {
      PairConsts pc;
      pc.zp16 = zp16;
      pc.lo = b8.lo;
      pc.hi = b8.hi;
      const int64_t rs = d.dh * Wp * 16 * static_cast<int64_t>(sizeof(int16_t));
      if (avx512_enabled()) {
        for (; q + 2 <= P; q += 2) {
          const int16_t* p0 = next();
          const int16_t* p1 = next();
          dw_pair_3x3<OT, true>(p0, p1, rs, wl, wh, kl, kh, pc, out + q * step, out + (q + 1) * step);
        }
      } else {
        for (; q + 2 <= P; q += 2) {
          const int16_t* p0 = next();
          const int16_t* p1 = next();
          dw_pair_3x3<OT, false>(p0, p1, rs, wl, wh, kl, kh, pc, out + q * step, out + (q + 1) * step);
        }
      }
    }
  }
  for (; q + 2 <= P; q += 2) {
    const int16_t* in[2] = {next(), next()};
    __m256i al[2], ah[2];
    channel_acc<kTaps, 2>(in, off, taps, wl, wh, al, ah);
    const __m256i v =
        b8.two(requant16<kFast>(al[0], ah[0], kl, kh, zp16), requant16<kFast>(al[1], ah[1], kl, kh, zp16));
    if constexpr (kLast) {
      if (part == 0) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + q * step), _mm256_castsi256_si128(v));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + (q + 1) * step), _mm256_extracti128_si256(v, 1));
      } else {
        _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), v);
        std::memcpy(out + q * step, tmp, part);
        std::memcpy(out + (q + 1) * step, tmp + 16, part);
      }
    } else {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + q * 16), v);
    }
  }
  if (q < P) {
    const int16_t* in[1] = {next()};
    __m256i al[1], ah[1];
    channel_acc<kTaps, 1>(in, off, taps, wl, wh, al, ah);
    const __m128i v = b8.one(requant16<kFast>(al[0], ah[0], kl, kh, zp16));
    if (part == 0) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + q * step), v);
    } else {
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp), v);
      std::memcpy(out + q * step, tmp, part);
    }
  }
}

template <DType OT, bool kSigned>
QS_AVX2 void depthwise_channels_t(const DepthwiseChannels& d, const Epilogue& e) {
  const int64_t HW = d.H * d.W, P = d.OH * d.OW, taps = d.KH * d.KW, pairs = (taps + 1) / 2;
  const int64_t Hp = (d.OH - 1) * d.sh + (d.KH - 1) * d.dh + 1,
                Wp = (d.OW - 1) * d.sw + (d.KW - 1) * d.dw + 1;
  // 1. The input as [row][column][16 channels] of x − zp in int16, zero padding around it: the padding is
  // zeroed here (rows above and below the data, columns left and right of it), the rest is written below.
  const int64_t r_lo = std::min(d.ph, Hp), r_hi = std::max(r_lo, std::min(Hp, d.ph + d.H));
  const int64_t c_lo = std::min(d.pw, Wp), c_hi = std::max(c_lo, std::min(Wp, d.pw + d.W));
  // Zeroes n positions from `from` with one vector store each: the columns left and right of each row are
  // a position or two, where a memset call per run cost more than the stores (2% of MobileNetV2's time).
  const auto zero = [&](int64_t from, int64_t n) QS_INLINE {
    for (int16_t* p = d.in + from * 16; p < d.in + (from + n) * 16; p += 16)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm256_setzero_si256());
  };
  zero(0, r_lo * Wp);
  for (int64_t r = r_lo; r < r_hi; ++r) {
    zero(r * Wp, c_lo);
    zero(r * Wp + c_hi, Wp - c_hi);
  }
  zero(r_hi * Wp, (Hp - r_hi) * Wp);
  const unsigned char* x = static_cast<const unsigned char*>(d.x);
  const __m256i zx = _mm256_set1_epi16(static_cast<int16_t>(d.zx));
  const int64_t W = d.W, Wlim = std::min(W, Wp - d.pw);
  const int64_t channels = d.channels;
  if (d.x_pos > 0) {
    // Channels-last: each position's channels are contiguous already; 16 bytes per position, or a copy of
    // the `channels` there are (the rest of a 16-byte load would be the next position's, or past x).
    for (int64_t r = 0; r < std::min(d.H, Hp - d.ph); ++r) {
      const unsigned char* src = x + r * W * d.x_pos;
      int16_t* to = d.in + ((d.ph + r) * Wp + d.pw) * 16;
      for (int64_t c = 0; c < Wlim; ++c) {
        __m128i bytes;
        if (channels == 16) {
          bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + c * d.x_pos));
        } else {
          alignas(16) unsigned char col[16] = {};
          std::memcpy(col, src + c * d.x_pos, static_cast<size_t>(channels));
          bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(col));
        }
        _mm256_storeu_si256(
            reinterpret_cast<__m256i*>(to + c * 16),
            _mm256_sub_epi16(kSigned ? _mm256_cvtepi8_epi16(bytes) : _mm256_cvtepu8_epi16(bytes), zx));
      }
    }
  } else {
    // Positions are visited in order, dst walking the padded grid with them (no multiplication per position).
    // Input past Hp rows or Wp columns is never reached by an output (a stride's last rows or columns).
    const int64_t row_step = Wp * 16;
    int64_t iw = 0, rows_left = Hp - d.ph;
    int16_t* dst = d.in + (d.ph * Wp + d.pw) * 16;
    auto put_next = [&](__m128i bytes) QS_INLINE {
      if (rows_left > 0 && iw < Wlim)
        _mm256_storeu_si256(
            reinterpret_cast<__m256i*>(dst + iw * 16),
            _mm256_sub_epi16(kSigned ? _mm256_cvtepi8_epi16(bytes) : _mm256_cvtepu8_epi16(bytes), zx));
      if (++iw == W) iw = 0, dst += row_step, --rows_left;
    };
    auto in_block = [&](int64_t at, int64_t skip) {
      __m128i r[16];
      if (channels == 16)  // the usual case, without a compare per channel
        for (int64_t c = 0; c < 16; ++c)
          r[c] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + c * HW + at));
      else
        for (int64_t c = 0; c < 16; ++c)
          r[c] = c < channels ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + c * HW + at))
                              : _mm_setzero_si128();
      transpose16x16(r);
      for (int64_t j = skip; j < 16; ++j) put_next(r[j]);
    };
    int64_t p0 = 0;
    for (; p0 + 16 <= HW; p0 += 16) in_block(p0, 0);
    if (p0 < HW && HW >= 16) {
      in_block(HW - 16, p0 - (HW - 16));  // the last 16 positions, overlapping the previous block
    } else {
      for (; p0 < HW; ++p0) {
        alignas(16) unsigned char col[16] = {};
        for (int64_t c = 0; c < channels; ++c) col[c] = x[c * HW + p0];
        put_next(_mm_load_si128(reinterpret_cast<const __m128i*>(col)));
      }
    }
  }
  // 2. Weights and channel constants, both in the lane order of the pair products (DepthwiseChannels),
  // tap offsets.
  __m256i wl[kMaxHeldPairs], wh[kMaxHeldPairs];
  for (int64_t t = 0; t < pairs; ++t) {
    wl[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(d.wlanes + 16 * t));
    wh[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(d.wlanes + 16 * t + 8));
  }
  const size_t c0 = static_cast<size_t>(e.channel0);
  const LaneConsts kl = col_consts(*e.rq, c0), kh = col_consts(*e.rq, c0 + 8);
  int64_t off[2 * kMaxHeldPairs];
  for (int64_t kh_ = 0; kh_ < d.KH; ++kh_)
    for (int64_t kw = 0; kw < d.KW; ++kw) off[kh_ * d.KW + kw] = (kh_ * d.dh * Wp + kw * d.dw) * 16;
  // 3. Outputs [position][16 channels]: into d.out, or straight to y when channels-last.
  const bool fast = kl.fast && kh.fast;
  const auto outputs = [&](auto last) {
    constexpr bool kLast = decltype(last)::value;
    if (taps == 9)
      fast ? channel_outputs<OT, 9, true, kLast>(d, Wp, off, wl, wh, kl, kh, e)
           : channel_outputs<OT, 9, false, kLast>(d, Wp, off, wl, wh, kl, kh, e);
    else
      fast ? channel_outputs<OT, 0, true, kLast>(d, Wp, off, wl, wh, kl, kh, e)
           : channel_outputs<OT, 0, false, kLast>(d, Wp, off, wl, wh, kl, kh, e);
  };
  if (d.x_pos > 0) return outputs(std::true_type{});
  outputs(std::false_type{});
  // 4. Back to planes: y + c·P, 16 positions at a time (the last 16 overlapping the previous block, which
  // rewrites the same values).
  unsigned char* y = static_cast<unsigned char*>(e.y);
  auto out_block = [&](int64_t q0) {
    __m128i r[16];
    for (int64_t j = 0; j < 16; ++j)
      r[j] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d.out + (q0 + j) * 16));
    transpose16x16(r);
    if (channels == 16)
      for (int64_t c = 0; c < 16; ++c) _mm_storeu_si128(reinterpret_cast<__m128i*>(y + c * P + q0), r[c]);
    else
      for (int64_t c = 0; c < channels; ++c)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + c * P + q0), r[c]);
  };
  int64_t q0 = 0;
  for (; q0 + 16 <= P; q0 += 16) out_block(q0);
  if (q0 < P && P >= 16) {
    out_block(P - 16);
  } else {
    for (; q0 < P; ++q0)
      for (int64_t c = 0; c < channels; ++c) y[c * P + q0] = d.out[q0 * 16 + c];
  }
}

}  // namespace

QS_AVX2 void depthwise_channels_avx2(const DepthwiseChannels& d, const Epilogue& e) {
  if (e.out == DType::Int8)
    return d.x_signed ? depthwise_channels_t<DType::Int8, true>(d, e)
                      : depthwise_channels_t<DType::Int8, false>(d, e);
  if (e.out == DType::UInt8)
    return d.x_signed ? depthwise_channels_t<DType::UInt8, true>(d, e)
                      : depthwise_channels_t<DType::UInt8, false>(d, e);
  throw Error("integer depthwise (channel-interleaved): output type " + dtype_name(e.out) + " is not 8-bit");
}

}  // namespace qs::intgemm::detail
