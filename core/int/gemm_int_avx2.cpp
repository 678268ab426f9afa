// AVX2 GEMM kernel: kMR×kNR tiles with VPMADDWD (int16 pairs → exact int32), the requantization epilogue
// on the accumulators in registers (64-bit products with VPMULDQ, the rounding shift as a logical
// VPSRLVQ on an offset value, see RequantTable), and narrowing stores. Compiled for AVX2 with a function
// attribute, called only after a run-time check (core/int/isa.h), so the library runs on any x86-64.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "core/common/error.h"
#include "core/int/gemm_int.h"

#define QS_AVX2 __attribute__((target("avx2")))

namespace qs::intgemm::detail {

namespace {

struct LaneConsts {
  __m256i m0, lim, bias, offE, offO, shE, shO, subE, subO;
};

QS_AVX2 inline LaneConsts row_consts(const RequantTable& t, size_t c) {
  LaneConsts k;
  k.m0 = _mm256_set1_epi32(t.m0[c]);
  k.lim = _mm256_set1_epi32(t.limit[c]);
  k.bias = _mm256_set1_epi32(t.bias[c]);
  k.offE = k.offO = _mm256_set1_epi64x(t.offset[c]);
  k.shE = k.shO = _mm256_set1_epi64x(t.shift[c]);
  k.subE = k.subO = _mm256_set1_epi64x(t.sub[c]);
  return k;
}

// Channels c .. c+7 (c a multiple of 8).
QS_AVX2 inline LaneConsts col_consts(const RequantTable& t, size_t c) {
  auto ld32 = [&](const std::vector<int32_t>& v) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v.data() + c)); };
  auto ld64 = [&](const std::vector<int64_t>& v, size_t o) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v.data() + c + o));
  };
  LaneConsts k;
  k.m0 = ld32(t.m0);
  k.lim = ld32(t.limit);
  k.bias = ld32(t.bias);
  k.offE = ld64(t.offset_lanes, 0);
  k.offO = ld64(t.offset_lanes, 4);
  k.shE = ld64(t.shift_lanes, 0);
  k.shO = ld64(t.shift_lanes, 4);
  k.subE = ld64(t.sub_lanes, 0);
  k.subO = ld64(t.sub_lanes, 4);
  return k;
}

// R(acc + bias) for 8 lanes, exactly requantize() of requant.h.
QS_AVX2 inline __m256i requant8(__m256i v, const LaneConsts& k) {
  v = _mm256_add_epi32(v, k.bias);
  v = _mm256_min_epi32(_mm256_max_epi32(v, _mm256_sub_epi32(_mm256_setzero_si256(), k.lim)), k.lim);
  __m256i pe = _mm256_mul_epi32(v, k.m0);
  __m256i po = _mm256_mul_epi32(_mm256_srli_epi64(v, 32), _mm256_srli_epi64(k.m0, 32));
  pe = _mm256_sub_epi64(_mm256_srlv_epi64(_mm256_add_epi64(pe, k.offE), k.shE), k.subE);
  po = _mm256_sub_epi64(_mm256_srlv_epi64(_mm256_add_epi64(po, k.offO), k.shO), k.subO);
  return _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
}

// Narrows 16 int32 values (already in the output range) and stores `cols` of them at y.
QS_AVX2 inline void store16(DType t, void* y, int64_t cols, __m256i v0, __m256i v1) {
  alignas(32) unsigned char tmp[64];
  size_t es = 1;
  switch (t) {
    case DType::Int8:
    case DType::UInt8: {
      const __m256i p16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(v0, v1), 0xD8);
      const __m128i lo = _mm256_castsi256_si128(p16), hi = _mm256_extracti128_si256(p16, 1);
      const __m128i p8 = t == DType::Int8 ? _mm_packs_epi16(lo, hi) : _mm_packus_epi16(lo, hi);
      if (cols == 16) {
        _mm_storeu_si128(static_cast<__m128i*>(y), p8);
        return;
      }
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp), p8);
      break;
    }
    case DType::Int16:
    case DType::UInt16: {
      const __m256i p = t == DType::Int16 ? _mm256_packs_epi32(v0, v1) : _mm256_packus_epi32(v0, v1);
      const __m256i p16 = _mm256_permute4x64_epi64(p, 0xD8);
      es = 2;
      if (cols == 16) {
        _mm256_storeu_si256(static_cast<__m256i*>(y), p16);
        return;
      }
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), p16);
      break;
    }
    default:
      throw Error("integer GEMM: output type " + dtype_name(t) + " is not supported");
  }
  std::memcpy(y, tmp, static_cast<size_t>(cols) * es);
}

// The full 6×16 tile in assembly: GCC spills four of the twelve accumulators of the intrinsics version
// (12 accumulators + 2 B vectors + a broadcast + a product = all 16 registers). Writes the int32 tile.
QS_AVX2 inline void kernel_6x16(int64_t Kp, const int32_t* A, const int16_t* B, int32_t* tile) {
#define QS_ROW(off, c0, c1)                       \
  "vpbroadcastd " #off "(%[a]), %%ymm2\n\t"       \
  "vpmaddwd %%ymm0, %%ymm2, %%ymm3\n\t"          \
  "vpaddd %%ymm3, %%" #c0 ", %%" #c0 "\n\t"      \
  "vpmaddwd %%ymm1, %%ymm2, %%ymm3\n\t"          \
  "vpaddd %%ymm3, %%" #c1 ", %%" #c1 "\n\t"
  asm volatile(
      "vpxor %%ymm4, %%ymm4, %%ymm4\n\t"
      "vpxor %%ymm5, %%ymm5, %%ymm5\n\t"
      "vpxor %%ymm6, %%ymm6, %%ymm6\n\t"
      "vpxor %%ymm7, %%ymm7, %%ymm7\n\t"
      "vpxor %%ymm8, %%ymm8, %%ymm8\n\t"
      "vpxor %%ymm9, %%ymm9, %%ymm9\n\t"
      "vpxor %%ymm10, %%ymm10, %%ymm10\n\t"
      "vpxor %%ymm11, %%ymm11, %%ymm11\n\t"
      "vpxor %%ymm12, %%ymm12, %%ymm12\n\t"
      "vpxor %%ymm13, %%ymm13, %%ymm13\n\t"
      "vpxor %%ymm14, %%ymm14, %%ymm14\n\t"
      "vpxor %%ymm15, %%ymm15, %%ymm15\n\t"
      "test %[n], %[n]\n\t"
      "jle 2f\n\t"
      "1:\n\t"
      "vmovdqu (%[b]), %%ymm0\n\t"
      "vmovdqu 32(%[b]), %%ymm1\n\t"
      QS_ROW(0, ymm4, ymm5) QS_ROW(4, ymm6, ymm7) QS_ROW(8, ymm8, ymm9) QS_ROW(12, ymm10, ymm11)
      QS_ROW(16, ymm12, ymm13) QS_ROW(20, ymm14, ymm15)
      "add $64, %[b]\n\t"
      "add $24, %[a]\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "2:\n\t"
      "vmovdqu %%ymm4, (%[c])\n\t"
      "vmovdqu %%ymm5, 32(%[c])\n\t"
      "vmovdqu %%ymm6, 64(%[c])\n\t"
      "vmovdqu %%ymm7, 96(%[c])\n\t"
      "vmovdqu %%ymm8, 128(%[c])\n\t"
      "vmovdqu %%ymm9, 160(%[c])\n\t"
      "vmovdqu %%ymm10, 192(%[c])\n\t"
      "vmovdqu %%ymm11, 224(%[c])\n\t"
      "vmovdqu %%ymm12, 256(%[c])\n\t"
      "vmovdqu %%ymm13, 288(%[c])\n\t"
      "vmovdqu %%ymm14, 320(%[c])\n\t"
      "vmovdqu %%ymm15, 352(%[c])\n\t"
      : [a] "+r"(A), [b] "+r"(B), [n] "+r"(Kp)
      : [c] "r"(tile)
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
        "xmm13", "xmm14", "xmm15", "memory", "cc");
#undef QS_ROW
}

template <int R>
QS_AVX2 void tile(int64_t Kp, const int32_t* A, const int16_t* B, int64_t rows, int64_t cols, int64_t r0,
                  int64_t c0, const Epilogue& e) {
  __m256i c[R][2];
  if constexpr (R == 6) {
    alignas(32) int32_t acc[6][16];
    kernel_6x16(Kp, A, B, &acc[0][0]);
    for (int i = 0; i < 6; ++i) {
      c[i][0] = _mm256_load_si256(reinterpret_cast<const __m256i*>(acc[i]));
      c[i][1] = _mm256_load_si256(reinterpret_cast<const __m256i*>(acc[i] + 8));
    }
  } else {
#pragma GCC unroll 6
    for (int i = 0; i < R; ++i) c[i][0] = c[i][1] = _mm256_setzero_si256();
    for (int64_t p = 0; p < Kp; ++p) {
      const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(B));
      const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(B + 16));
      B += 2 * kNR;
#pragma GCC unroll 6
      for (int i = 0; i < R; ++i) {
        const __m256i a = _mm256_set1_epi32(A[i]);
        c[i][0] = _mm256_add_epi32(c[i][0], _mm256_madd_epi16(a, b0));
        c[i][1] = _mm256_add_epi32(c[i][1], _mm256_madd_epi16(a, b1));
      }
      A += kMR;
    }
  }
  const RequantTable& t = *e.rq;
  const __m256i zp = _mm256_set1_epi32(e.zp), lo = _mm256_set1_epi32(e.lo), hi = _mm256_set1_epi32(e.hi);
  LaneConsts k0, k1;
  if (!e.channel_is_row) {
    const size_t ch = static_cast<size_t>(e.channel0 + c0);
    k0 = col_consts(t, ch);
    k1 = col_consts(t, ch + 8);
  }
  const size_t es = e.out == DType::Int8 || e.out == DType::UInt8 ? 1 : 2;
#pragma GCC unroll 6
  for (int i = 0; i < R; ++i) {
    if (i >= rows) break;
    if (e.channel_is_row) k0 = k1 = row_consts(t, static_cast<size_t>(e.channel0 + r0 + i));
    __m256i v0 = _mm256_add_epi32(requant8(c[i][0], k0), zp);
    __m256i v1 = _mm256_add_epi32(requant8(c[i][1], k1), zp);
    v0 = _mm256_min_epi32(_mm256_max_epi32(v0, lo), hi);
    v1 = _mm256_min_epi32(_mm256_max_epi32(v1, lo), hi);
    void* y = static_cast<char*>(e.y) + static_cast<size_t>(((r0 + i) * e.ldy + c0)) * es;
    store16(e.out, y, cols, v0, v1);
  }
}

}  // namespace

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

QS_AVX2 void depthwise_avx2(const DepthwisePlane& p, const Epilogue& e) {
  const LaneConsts k = row_consts(*e.rq, static_cast<size_t>(e.channel0));
  const __m256i zp = _mm256_set1_epi32(e.zp), lo = _mm256_set1_epi32(e.lo), hi = _mm256_set1_epi32(e.hi);
  const size_t es = e.out == DType::Int8 || e.out == DType::UInt8 ? 1 : 2;
  const int64_t pairs = (p.taps + 1) / 2;
  for (int64_t oh = 0; oh < p.OH; ++oh)
    for (int64_t ow = 0; ow < p.OW; ow += 16) {
      __m256i al = _mm256_setzero_si256(), ah = _mm256_setzero_si256();
      const int16_t* base = p.buf + oh * p.RS + ow;
      for (int64_t t = 0; t < pairs; ++t) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + p.off[2 * t]));
        // An odd last tap pairs with a zero weight (its data is read from the same place).
        const int64_t o1 = 2 * t + 1 < p.taps ? p.off[2 * t + 1] : p.off[2 * t];
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + o1));
        const __m256i w = _mm256_set1_epi32(p.wpairs[t]);
        al = _mm256_add_epi32(al, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), w));
        ah = _mm256_add_epi32(ah, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), w));
      }
      // al holds positions 0-3 | 8-11, ah 4-7 | 12-15.
      __m256i v0 = _mm256_add_epi32(requant8(_mm256_permute2x128_si256(al, ah, 0x20), k), zp);
      __m256i v1 = _mm256_add_epi32(requant8(_mm256_permute2x128_si256(al, ah, 0x31), k), zp);
      v0 = _mm256_min_epi32(_mm256_max_epi32(v0, lo), hi);
      v1 = _mm256_min_epi32(_mm256_max_epi32(v1, lo), hi);
      store16(e.out, static_cast<char*>(e.y) + static_cast<size_t>(oh * e.ldy + ow) * es, std::min<int64_t>(16, p.OW - ow), v0, v1);
    }
}

// Eight 8-bit values as int32 lanes.
QS_AVX2 inline __m256i widen(const void* p, bool sgn, int64_t i) {
  const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(static_cast<const char*>(p) + i));
  return sgn ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v);
}

QS_AVX2 int64_t add_8bit_avx2(int64_t n, const AddOperands& o, const AddMultipliers& m) {
  const __m256i za = _mm256_set1_epi32(o.za), zb = _mm256_set1_epi32(o.zb), zo = _mm256_set1_epi32(o.zo);
  const __m256i lo = _mm256_set1_epi32(o.lo), hi = _mm256_set1_epi32(o.hi);
  const __m256i ma = _mm256_set1_epi32(static_cast<int32_t>(m.ma)), mb = _mm256_set1_epi32(static_cast<int32_t>(m.mb));
  const __m256i off = _mm256_set1_epi64x(static_cast<int64_t>((uint64_t{1} << 62) + (uint64_t{1} << (m.shift - 1))));
  const __m256i sub = _mm256_set1_epi64x(int64_t{1} << (62 - m.shift));
  const __m128i sh = _mm_cvtsi32_si128(m.shift);
  const int64_t body = n - n % 8;
  for (int64_t i = 0; i < body; i += 8) {
    const __m256i da = _mm256_sub_epi32(widen(o.a, o.a_signed, i), za);
    const __m256i db = _mm256_sub_epi32(widen(o.b, o.b_signed, i), zb);
    // da·ma + db·mb in 64 bits, even and odd lanes; the rounding shift as in requant8.
    __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(da, ma), _mm256_mul_epi32(db, mb));
    __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(da, 32), ma), _mm256_mul_epi32(_mm256_srli_epi64(db, 32), mb));
    pe = _mm256_sub_epi64(_mm256_srl_epi64(_mm256_add_epi64(pe, off), sh), sub);
    po = _mm256_sub_epi64(_mm256_srl_epi64(_mm256_add_epi64(po, off), sh), sub);
    __m256i v = _mm256_add_epi32(_mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA), zo);
    v = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
    const __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    const __m128i p8 = o.y_signed ? _mm_packs_epi16(p16, p16) : _mm_packus_epi16(p16, p16);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(static_cast<char*>(o.y) + i), p8);
  }
  return body;
}

void gemm_avx2(int64_t M, int64_t N, int64_t K, const int32_t* A, const int16_t* B, const Epilogue& e) {
  const int64_t Kp = k_pairs(K);
  for (int64_t jp = 0; jp < col_panels(N); ++jp) {
    const int16_t* Bp = B + jp * Kp * kNR * 2;
    const int64_t c0 = jp * kNR, cols = std::min(kNR, N - c0);
    for (int64_t ib = 0; ib < row_blocks(M); ++ib) {
      const int32_t* Ab = A + ib * Kp * kMR;
      const int64_t r0 = ib * kMR, rows = std::min(kMR, M - r0);
      switch (rows) {
        case 1: tile<1>(Kp, Ab, Bp, rows, cols, r0, c0, e); break;
        case 2: tile<2>(Kp, Ab, Bp, rows, cols, r0, c0, e); break;
        case 3: tile<3>(Kp, Ab, Bp, rows, cols, r0, c0, e); break;
        case 4: tile<4>(Kp, Ab, Bp, rows, cols, r0, c0, e); break;
        case 5: tile<5>(Kp, Ab, Bp, rows, cols, r0, c0, e); break;
        default: tile<6>(Kp, Ab, Bp, rows, cols, r0, c0, e); break;
      }
    }
  }
}

}  // namespace qs::intgemm::detail
