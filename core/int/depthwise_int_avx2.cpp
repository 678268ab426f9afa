// AVX2 depthwise kernels (gemm_int.h): per channel over phase planes (DepthwisePlane), 16 output positions
// of a row per step or 8 of two rows; and 16 channels interleaved for narrow planes (DepthwiseChannels).
// Tap pairs go through VPMADDWD as in the GEMM, requantization as its epilogue (avx2_lanes.h).
#include <algorithm>
#include <cstring>

#include "core/common/error.h"
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

// 16 outputs at base: Σ over tap pairs, the pair weights already broadcast (w), or broadcast here (wp).
// Both loads interleave within 128-bit lanes, so al holds the positions 0-3 | 8-11 of the load order and ah
// 4-7 | 12-15: v0 gets positions 0-7 (the first row of TwoRows), v1 8-15.
template <typename Load, int kTaps, bool kHeld>
QS_AVX2 inline void dw_block(const Load& ld, const int16_t* base, const int64_t* off, int64_t taps,
                             const __m256i* w, const int32_t* wp, const LaneConsts& k, __m256i zp, __m256i lo,
                             __m256i hi, __m256i& v0, __m256i& v1) {
  __m256i al = _mm256_setzero_si256(), ah = _mm256_setzero_si256();
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
  v0 = _mm256_add_epi32(requant8(_mm256_permute2x128_si256(al, ah, 0x20), k), zp);
  v1 = _mm256_add_epi32(requant8(_mm256_permute2x128_si256(al, ah, 0x31), k), zp);
  v0 = _mm256_min_epi32(_mm256_max_epi32(v0, lo), hi);
  v1 = _mm256_min_epi32(_mm256_max_epi32(v1, lo), hi);
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

template <DType OT, int kTaps, bool kHeld>
QS_AVX2 void depthwise_t(const DepthwisePlane& p, const Epilogue& e) {
  const LaneConsts k = row_consts(*e.rq, static_cast<size_t>(e.channel0));
  const __m256i zp = _mm256_set1_epi32(e.zp), lo = _mm256_set1_epi32(e.lo), hi = _mm256_set1_epi32(e.hi);
  constexpr size_t es = OT == DType::Int8 || OT == DType::UInt8 ? 1 : 2;
  const int64_t pairs = (p.taps + 1) / 2;
  __m256i w[kMaxHeldPairs];
  if constexpr (kHeld)
    for (int64_t t = 0; t < pairs; ++t) w[t] = _mm256_set1_epi32(p.wpairs[t]);
  // The offsets of a fixed tap count in locals, so the blocks need not reload them through p.
  int64_t fixed[kTaps > 0 ? kTaps : 1];
  const int64_t* off = p.off;
  if constexpr (kTaps > 0) {
    for (int t = 0; t < kTaps; ++t) fixed[t] = p.off[t];
    off = fixed;
  }
  unsigned char* y = static_cast<unsigned char*>(e.y);
  // Rows are contiguous in y: a row's last partial store may spill into the next row, written after it.
  const bool contiguous = e.ldy == p.OW;
  alignas(32) unsigned char tmp[32];
  __m256i v0, v1;
  if (p.OW <= 8 && p.OH > 1) {
    // Two output rows per block, 8 positions each (at the widths of late MobileNet stages, 7, a block per
    // row would leave 9 of 16 lanes idle).
    const TwoRows ld{p.RS};
    for (int64_t oh = 0; oh < p.OH; oh += 2) {
      const int64_t rows = std::min<int64_t>(2, p.OH - oh);
      dw_block<TwoRows, kTaps, kHeld>(ld, p.buf + oh * p.RS, off, p.taps, w, p.wpairs, k, zp, lo, hi, v0, v1);
      narrow16<OT>(v0, v1, tmp);
      for (int64_t r = 0; r < rows; ++r)
        put(y + static_cast<size_t>((oh + r) * e.ldy) * es, tmp + r * 8 * es, static_cast<size_t>(p.OW) * es,
            8 * es, contiguous && oh + r + 1 < p.OH);
    }
    return;
  }
  const Row ld;
  int64_t oh0 = 0;
  if (p.OW <= 16) {
    // One block per row (MobileNet's 14×14 stages): two rows per step, so that the requantization chain
    // of one overlaps the multiply-adds of the other.
    __m256i u0, u1;
    for (; oh0 + 1 < p.OH; oh0 += 2) {
      dw_block<Row, kTaps, kHeld>(ld, p.buf + oh0 * p.RS, off, p.taps, w, p.wpairs, k, zp, lo, hi, v0, v1);
      dw_block<Row, kTaps, kHeld>(ld, p.buf + (oh0 + 1) * p.RS, off, p.taps, w, p.wpairs, k, zp, lo, hi, u0,
                                  u1);
      for (int r = 0; r < 2; ++r) {
        unsigned char* dst = y + static_cast<size_t>((oh0 + r) * e.ldy) * es;
        const __m256i a = r ? u0 : v0, b = r ? u1 : v1;
        if (p.OW == 16) {
          narrow16<OT>(a, b, dst);
        } else {
          narrow16<OT>(a, b, tmp);
          put(dst, tmp, static_cast<size_t>(p.OW) * es, 16 * es, contiguous && oh0 + r + 1 < p.OH);
        }
      }
    }
  }
  for (int64_t oh = oh0; oh < p.OH; ++oh)
    for (int64_t ow = 0; ow < p.OW; ow += 16) {
      dw_block<Row, kTaps, kHeld>(ld, p.buf + oh * p.RS + ow, off, p.taps, w, p.wpairs, k, zp, lo, hi, v0,
                                  v1);
      unsigned char* dst = y + static_cast<size_t>(oh * e.ldy + ow) * es;
      const int64_t cols = std::min<int64_t>(16, p.OW - ow);
      if (cols == 16) {
        narrow16<OT>(v0, v1, dst);
      } else {
        narrow16<OT>(v0, v1, tmp);
        put(dst, tmp, static_cast<size_t>(cols) * es, 16 * es, contiguous && oh + 1 < p.OH);
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

// In-place transpose of a 16×16 byte matrix held as 16 rows.
QS_AVX2 inline void transpose16x16(__m128i r[16]) {
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

// V output positions (step int16 apart in `in`) of the 16 interleaved channels: Σ over tap pairs of the
// pairs' weights (channels 0-3, 8-11 in wl; 4-7, 12-15 in wh, the order VPUNPCK gives), requantized with
// the channel constants k0 (channels 0-7) and k1 (8-15), narrowed to 8 bits, 16 bytes per position at out.
template <int V, DType OT>
QS_AVX2 inline void channel_positions(const int16_t* in, int64_t step, const int64_t* off, int64_t pairs,
                                      int64_t taps, const __m256i* wl, const __m256i* wh,
                                      const LaneConsts& k0, const LaneConsts& k1, __m256i zp, __m256i lo,
                                      __m256i hi, unsigned char* out) {
  __m256i al[V], ah[V];
  for (int v = 0; v < V; ++v) al[v] = ah[v] = _mm256_setzero_si256();
  for (int64_t t = 0; t < pairs; ++t) {
    const int64_t o0 = off[2 * t], o1 = 2 * t + 1 < taps ? off[2 * t + 1] : o0;
    for (int v = 0; v < V; ++v) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + v * step + o0));
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + v * step + o1));
      al[v] = _mm256_add_epi32(al[v], _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), wl[t]));
      ah[v] = _mm256_add_epi32(ah[v], _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), wh[t]));
    }
  }
  for (int v = 0; v < V; ++v) {
    __m256i v0 = _mm256_add_epi32(requant8(_mm256_permute2x128_si256(al[v], ah[v], 0x20), k0), zp);
    __m256i v1 = _mm256_add_epi32(requant8(_mm256_permute2x128_si256(al[v], ah[v], 0x31), k1), zp);
    v0 = _mm256_min_epi32(_mm256_max_epi32(v0, lo), hi);
    v1 = _mm256_min_epi32(_mm256_max_epi32(v1, lo), hi);
    narrow16<OT>(v0, v1, out + v * 16);
  }
}

template <DType OT>
QS_AVX2 void depthwise_channels_t(const DepthwiseChannels& d, const Epilogue& e) {
  const int64_t HW = d.H * d.W, P = d.OH * d.OW, taps = d.KH * d.KW, pairs = (taps + 1) / 2;
  const int64_t Hp = (d.OH - 1) * d.sh + (d.KH - 1) * d.dh + 1,
                Wp = (d.OW - 1) * d.sw + (d.KW - 1) * d.dw + 1;
  // 1. The input as [row][column][16 channels] of x − zp in int16, zero padding around it.
  std::fill(d.in, d.in + Hp * Wp * 16, int16_t{0});
  const unsigned char* x = static_cast<const unsigned char*>(d.x);
  const __m256i zx = _mm256_set1_epi16(static_cast<int16_t>(d.zx));
  // Positions are visited in order: (ih, iw) of position p advance with it (no division per position).
  int64_t ih = d.ph, iw = d.pw;
  auto put_next = [&](__m128i bytes) {
    if (ih < Hp && iw < Wp) {  // else input the outputs never reach (a stride's last rows or columns)
      const __m256i w =
          _mm256_sub_epi16(d.x_signed ? _mm256_cvtepi8_epi16(bytes) : _mm256_cvtepu8_epi16(bytes), zx);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d.in + (ih * Wp + iw) * 16), w);
    }
    if (++iw == d.W + d.pw) iw = d.pw, ++ih;
  };
  int64_t p0 = 0;
  for (; p0 + 16 <= HW; p0 += 16) {
    __m128i r[16];
    for (int64_t c = 0; c < 16; ++c)
      r[c] = c < d.channels ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + c * HW + p0))
                            : _mm_setzero_si128();
    transpose16x16(r);
    for (int64_t j = 0; j < 16; ++j) put_next(r[j]);
  }
  for (; p0 < HW; ++p0) {
    alignas(16) unsigned char col[16] = {};
    for (int64_t c = 0; c < d.channels; ++c) col[c] = x[c * HW + p0];
    put_next(_mm_load_si128(reinterpret_cast<const __m128i*>(col)));
  }
  // 2. Weights in the lane order of the pair products, the channel constants, tap offsets.
  __m256i wl[kMaxHeldPairs], wh[kMaxHeldPairs];
  for (int64_t t = 0; t < pairs; ++t) {
    alignas(32) int32_t w[16] = {};
    for (int64_t c = 0; c < d.channels; ++c) w[c] = d.wpairs[c][t];
    wl[t] = _mm256_setr_epi32(w[0], w[1], w[2], w[3], w[8], w[9], w[10], w[11]);
    wh[t] = _mm256_setr_epi32(w[4], w[5], w[6], w[7], w[12], w[13], w[14], w[15]);
  }
  const LaneConsts k0 = col_consts(*e.rq, static_cast<size_t>(e.channel0)),
                   k1 = col_consts(*e.rq, static_cast<size_t>(e.channel0 + 8));
  const __m256i zp = _mm256_set1_epi32(e.zp), lo = _mm256_set1_epi32(e.lo), hi = _mm256_set1_epi32(e.hi);
  int64_t off[2 * kMaxHeldPairs];
  for (int64_t kh = 0; kh < d.KH; ++kh)
    for (int64_t kw = 0; kw < d.KW; ++kw) off[kh * d.KW + kw] = (kh * d.dh * Wp + kw * d.dw) * 16;
  // 3. Outputs [position][16 channels], 8 bits each.
  const int64_t step = d.sw * 16;
  for (int64_t oh = 0; oh < d.OH; ++oh) {
    const int16_t* row = d.in + oh * d.sh * Wp * 16;
    unsigned char* orow = d.out + oh * d.OW * 16;
    int64_t ow = 0;
    for (; ow + 2 <= d.OW; ow += 2)
      channel_positions<2, OT>(row + ow * step, step, off, pairs, taps, wl, wh, k0, k1, zp, lo, hi,
                               orow + ow * 16);
    if (ow < d.OW)
      channel_positions<1, OT>(row + ow * step, step, off, pairs, taps, wl, wh, k0, k1, zp, lo, hi,
                               orow + ow * 16);
  }
  // 4. Back to planes: y + c·P.
  unsigned char* y = static_cast<unsigned char*>(e.y);
  int64_t q0 = 0;
  for (; q0 + 16 <= P; q0 += 16) {
    __m128i r[16];
    for (int64_t j = 0; j < 16; ++j)
      r[j] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d.out + (q0 + j) * 16));
    transpose16x16(r);
    for (int64_t c = 0; c < d.channels; ++c)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + c * P + q0), r[c]);
  }
  for (; q0 < P; ++q0)
    for (int64_t c = 0; c < d.channels; ++c) y[c * P + q0] = d.out[q0 * 16 + c];
}

}  // namespace

QS_AVX2 void depthwise_channels_avx2(const DepthwiseChannels& d, const Epilogue& e) {
  if (e.out == DType::Int8) return depthwise_channels_t<DType::Int8>(d, e);
  if (e.out == DType::UInt8) return depthwise_channels_t<DType::UInt8>(d, e);
  throw Error("integer depthwise (channel-interleaved): output type " + dtype_name(e.out) + " is not 8-bit");
}

}  // namespace qs::intgemm::detail
