// The integer GEMM's tiles with AVX-512 VNNI (gemm_int.h, avx512_enabled): the operands of the AVX2 tiles
// of gemm_int_avx2.cpp (int16 pairs, 16-column panels of B), accumulated with VPDPWSSD — the exact int16
// pair product-sum of VPMADDWD + VPADDD in one instruction, on 512-bit registers — and, for 8-bit outputs,
// requantized in those registers. Called only after the run-time check.
#include <immintrin.h>

#include "core/int/gemm_tiles_avx512.h"

#define QS_AVX512 __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni")))
#define QS_CLOBBERS16                                                                                        \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", \
      "xmm13", "xmm14", "xmm15", "memory", "cc"
#define QS_CLOBBERS_HIGH                                                                             \
  "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", \
      "xmm27", "xmm28", "xmm29", "xmm30", "k1", "k2"

namespace qs::intgemm::detail {

namespace {

// The R×16 tile (R ≤ kMR) with AVX-512 VNNI (avx512_enabled): row i in one 512-bit register, one VPDPWSSD
// per k pair (the int16 pair products summed into int32 as VPMADDWD and VPADDD do, without saturation),
// written to `tile` (rows of 16 int32). Even and odd k pairs go to two sets of accumulators, so that six
// rows keep the multiply-add unit busy over its latency; their int32 sum is the exact one (wrapping
// addition is associative, and the total fits). `half`: only the panel's first 8 columns are real, and
// only they are read.
template <int R>
QS_AVX512 void acc_avx512_any(int64_t Kp, const int32_t* A, const PanelB& pb, bool half, int32_t* tile) {
  __m512i c0[R], c1[R];
#pragma GCC unroll 6
  for (int i = 0; i < R; ++i) c0[i] = c1[i] = _mm512_setzero_si512();
  const __mmask16 m = half ? 0x00FF : 0xFFFF;
  int64_t p = 0;
  for (; p + 2 <= Kp; p += 2) {
    const __m512i b0 = _mm512_maskz_loadu_epi32(m, pb.at(p));
    const __m512i b1 = _mm512_maskz_loadu_epi32(m, pb.at(p + 1));
#pragma GCC unroll 6
    for (int i = 0; i < R; ++i) {
      c0[i] = _mm512_dpwssd_epi32(c0[i], _mm512_set1_epi32(A[i]), b0);
      c1[i] = _mm512_dpwssd_epi32(c1[i], _mm512_set1_epi32(A[kMR + i]), b1);
    }
    A += 2 * kMR;
  }
  if (p < Kp) {
    const __m512i b0 = _mm512_maskz_loadu_epi32(m, pb.at(p));
#pragma GCC unroll 6
    for (int i = 0; i < R; ++i) c0[i] = _mm512_dpwssd_epi32(c0[i], _mm512_set1_epi32(A[i]), b0);
  }
#pragma GCC unroll 6
  for (int i = 0; i < R; ++i) _mm512_storeu_si512(tile + 16 * i, _mm512_add_epi32(c0[i], c1[i]));
}

}  // namespace

#define QS_DP6(B, OFF, C0, C1, C2, C3, C4, C5)          \
  "vpdpwssd " #OFF "+0(%[a])%{1to16%}, %%" B ", %%" C0  \
  "\n\t"                                                \
  "vpdpwssd " #OFF "+4(%[a])%{1to16%}, %%" B ", %%" C1  \
  "\n\t"                                                \
  "vpdpwssd " #OFF "+8(%[a])%{1to16%}, %%" B ", %%" C2  \
  "\n\t"                                                \
  "vpdpwssd " #OFF "+12(%[a])%{1to16%}, %%" B ", %%" C3 \
  "\n\t"                                                \
  "vpdpwssd " #OFF "+16(%[a])%{1to16%}, %%" B ", %%" C4 \
  "\n\t"                                                \
  "vpdpwssd " #OFF "+20(%[a])%{1to16%}, %%" B ", %%" C5 "\n\t"
// clang-format off
// kernel_6x16_bytes with AVX-512 VNNI (avx512_enabled): the multiply-adds of acc_avx512<6> into zmm16-27
// (B in zmm28, zmm29), each row's two sums into zmm4-9, and the epilogue on whole 16-lane rows: the
// columns' constants joined from their two LaneConsts into zmm10-14, requant8_path<true> per row (odd
// lanes merged under mask k1), the clamp to [lo, hi] in int32 and a truncating VPMOVDB store — the values
// of the AVX2 epilogue's saturating packs and byte clamps, whose range holds [lo, hi].
#define QS_DPZ_EVEN(B) QS_DP6(B, 0, "zmm16", "zmm17", "zmm18", "zmm19", "zmm20", "zmm21")
#define QS_DPZ_ODD(B) QS_DP6(B, 24, "zmm22", "zmm23", "zmm24", "zmm25", "zmm26", "zmm27")
// Column constant F of channels 0-7 (LaneConsts operand KA) and 8-15 (KB) as one 512-bit register Z.
#define QS_JOIN(F, Z, KA, KB) "vmovdqu %c[" F "](%[" KA "]), %%ymm" #Z "\n\t"                                \
  "vinserti64x4 $1, %c[" F "](%[" KB "]), %%zmm" #Z ", %%zmm" #Z "\n\t"
#define QS_JOIN_ALL(KA, KB)                                                                              \
  QS_JOIN("m0", 10, KA, KB) QS_JOIN("m0o", 11, KA, KB) QS_JOIN("rndE", 12, KA, KB)                       \
  QS_JOIN("rndO", 13, KA, KB) QS_JOIN("sh32", 14, KA, KB)                                             \
// Row R requantized with the joined constants, clamped, and stored as bytes at y under MASK ("" or
// "%{%%k2%}"); y moves a row on.
#define QS_ROW_BYTES(R, MASK)                                                                                \
  "vpsrlq $32, %%" R ", %%zmm17\n\t"                                                                      \
  "vpmuldq %%zmm10, %%" R ", %%" R "\n\t"                                                                 \
  "vpmuldq %%zmm11, %%zmm17, %%zmm17\n\t"                                                                 \
  "vpaddq %%zmm12, %%" R ", %%" R "\n\t"                                                                  \
  "vpaddq %%zmm13, %%zmm17, %%zmm17\n\t"                                                                  \
  "vpsrlq $32, %%" R ", %%" R "\n\t"                                                                      \
  "vmovdqa32 %%zmm17, %%" R "%{%%k1%}\n\t"                                                                \
  "vpsravd %%zmm14, %%" R ", %%" R "\n\t"                                                                 \
  "vpmaxsd %%zmm15, %%" R ", %%" R "\n\t"                                                                 \
  "vpminsd %%zmm16, %%" R ", %%" R "\n\t"                                                                 \
  "vpmovdb %%" R ", (%[y])" MASK "\n\t"                                                                    \
  "add %[ld], %[y]\n\t"
// The six rows' multiply-adds into zmm16-27 and their sums into zmm4-9. LOAD2: B of two k pairs into
// zmm28, zmm29 and on to the next two; LOAD1: B of one k pair into zmm28.
#define QS_VNNI6(LOAD2, LOAD1)                                                                           \
  "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"                                                                 \
  "vmovdqa64 %%zmm16, %%zmm17\n\t" "vmovdqa64 %%zmm16, %%zmm18\n\t" "vmovdqa64 %%zmm16, %%zmm19\n\t"      \
  "vmovdqa64 %%zmm16, %%zmm20\n\t" "vmovdqa64 %%zmm16, %%zmm21\n\t" "vmovdqa64 %%zmm16, %%zmm22\n\t"      \
  "vmovdqa64 %%zmm16, %%zmm23\n\t" "vmovdqa64 %%zmm16, %%zmm24\n\t" "vmovdqa64 %%zmm16, %%zmm25\n\t"      \
  "vmovdqa64 %%zmm16, %%zmm26\n\t" "vmovdqa64 %%zmm16, %%zmm27\n\t"                                      \
  "test %[n], %[n]\n\t" "jz 2f\n\t"                                                                      \
  "1:\n\t"                                                                                               \
  LOAD2 QS_DPZ_EVEN("zmm28") QS_DPZ_ODD("zmm29")                                                         \
  "add $48, %[a]\n\t" "dec %[n]\n\t" "jnz 1b\n\t"                                                        \
  "2:\n\t"                                                                                               \
  "test %[odd], %[odd]\n\t" "jz 3f\n\t"                                                                  \
  LOAD1 QS_DPZ_EVEN("zmm28")                                                                             \
  "3:\n\t"                                                                                               \
  "vpaddd %%zmm22, %%zmm16, %%zmm4\n\t" "vpaddd %%zmm23, %%zmm17, %%zmm5\n\t"                             \
  "vpaddd %%zmm24, %%zmm18, %%zmm6\n\t" "vpaddd %%zmm25, %%zmm19, %%zmm7\n\t"                             \
  "vpaddd %%zmm26, %%zmm20, %%zmm8\n\t" "vpaddd %%zmm27, %%zmm21, %%zmm9\n\t"
#define QS_LOAD2_PACKED "vmovdqu32 (%[b]), %%zmm28\n\t" "vmovdqu32 64(%[b]), %%zmm29\n\t" "add $128, %[b]\n\t"
#define QS_LOAD1_PACKED "vmovdqu32 (%[b]), %%zmm28\n\t"
#define QS_LOAD2_ROWS "mov (%[t]), %[b]\n\t" "vmovdqu32 (%[b],%[o]), %%zmm28\n\t"                             \
  "mov 8(%[t]), %[b]\n\t" "vmovdqu32 (%[b],%[o]), %%zmm29\n\t" "add $16, %[t]\n\t"
#define QS_LOAD1_ROWS "mov (%[t]), %[b]\n\t" "vmovdqu32 (%[b],%[o]), %%zmm28\n\t"
#define QS_TILE_BYTES_VNNI                                                                               \
  QS_VNNI6(QS_LOAD2_PACKED, QS_LOAD1_PACKED)                                                             \
  QS_JOIN_ALL("k0", "k1")      \
  "vpbroadcastd %k[lo], %%zmm15\n\t" "vpbroadcastd %k[hi], %%zmm16\n\t"                                   \
  "mov $0xAAAA, %k[m]\n\t" "kmovw %k[m], %%k1\n\t"                                                       \
  QS_ROW_BYTES("zmm4", "") QS_ROW_BYTES("zmm5", "") QS_ROW_BYTES("zmm6", "")                                         \
  QS_ROW_BYTES("zmm7", "") QS_ROW_BYTES("zmm8", "") QS_ROW_BYTES("zmm9", "")
// clang-format on

// y: the tile's first output row, rows ldy bytes apart; lo, hi: the output range (Epilogue).
QS_AVX512 void kernel_6x16_bytes_vnni(int64_t Kp, const int32_t* A, const int16_t* B, const LaneConsts* k,
                                      int32_t lo, int32_t hi, unsigned char* y, int64_t ldy) {
  const LaneConsts* k1 = k + 1;
  int64_t pairs = Kp / 2;  // k pairs two at a time, then an odd last one
  const int64_t odd = Kp % 2;
  int64_t m = 0;
  asm volatile(QS_TILE_BYTES_VNNI
               : [a] "+r"(A), [b] "+r"(B), [n] "+r"(pairs), [y] "+r"(y), [m] "=&r"(m)
               : [k0] "r"(k), [k1] "r"(k1), [ld] "r"(ldy), [odd] "r"(odd), [lo] "r"(lo), [hi] "r"(hi),
                 QS_ASM_REQ8_OFFSETS
               : QS_CLOBBERS16, QS_CLOBBERS_HIGH);
}
// clang-format off
// Row i of a tile whose rows are channels (Conv), requantized as requant_row's n >= 32 path with the
// channel's constants broadcast from the table (m0, round, shift32 at byte 4i, 8i, 4i), the zero point
// (zmm15) added, clamped to [lo, hi] (zmm16, zmm17) in int32 and stored as bytes under the columns' mask
// k2 (a last panel's columns only).
#define QS_ROW_CH(R, I4, I8)                                                                             \
  "vpbroadcastd " #I4 "(%[m0]), %%zmm10\n\t"                                                              \
  "vpsrlq $32, %%" R ", %%zmm18\n\t"                                                                      \
  "vpmuldq %%zmm10, %%" R ", %%" R "\n\t"                                                                 \
  "vpmuldq %%zmm10, %%zmm18, %%zmm18\n\t"                                                                 \
  "vpaddq " #I8 "(%[rnd])%{1to8%}, %%" R ", %%" R "\n\t"                                                  \
  "vpaddq " #I8 "(%[rnd])%{1to8%}, %%zmm18, %%zmm18\n\t"                                                  \
  "vpsrlq $32, %%" R ", %%" R "\n\t"                                                                      \
  "vmovdqa32 %%zmm18, %%" R "%{%%k1%}\n\t"                                                                \
  "vpsravd " #I4 "(%[sh])%{1to16%}, %%" R ", %%" R "\n\t"                                                 \
  "vpaddd %%zmm15, %%" R ", %%" R "\n\t"                                                                  \
  "vpmaxsd %%zmm16, %%" R ", %%" R "\n\t"                                                                 \
  "vpminsd %%zmm17, %%" R ", %%" R "\n\t"                                                                 \
  "vpmovdb %%" R ", (%[y])%{%%k2%}\n\t"                                                                   \
  "add %[ld], %[y]\n\t"
#define QS_ROWS_EPILOGUE                                                                                 \
  "vpbroadcastd %[zp], %%zmm15\n\t" "vpbroadcastd %[lo], %%zmm16\n\t" "vpbroadcastd %[hi], %%zmm17\n\t"      \
  "kmovw %[odds], %%k1\n\t" "kmovw %[cm], %%k2\n\t"                                                      \
  QS_ROW_CH("zmm4", 0, 0) QS_ROW_CH("zmm5", 4, 8) QS_ROW_CH("zmm6", 8, 16)                               \
  QS_ROW_CH("zmm7", 12, 24) QS_ROW_CH("zmm8", 16, 32) QS_ROW_CH("zmm9", 20, 40)
// clang-format on

// A whole 6-row tile with 8-bit output and channels on rows (Conv's usual tile), with AVX-512 VNNI: the
// multiply-adds of acc_avx512<6> and the epilogue in registers, every row on the n >= 32 path (callers
// check). The arithmetic is requant_row's and RowStore's: clamping the int32 result to [lo, hi] and
// truncating equals their saturating packs and byte clamps. t: the table's entries from the tile's first
// channel; y: its first output row, rows ldy bytes apart; `cols`: the panel's real columns (1..16).
QS_AVX512 void kernel_6x16_rows_vnni(int64_t Kp, const int32_t* A, const PanelB& pb, const int32_t* m0,
                                     const int64_t* rnd, const int32_t* sh, int32_t zp, int32_t lo,
                                     int32_t hi, unsigned char* y, int64_t ldy, int64_t cols) {
  int64_t pairs = Kp / 2;  // k pairs two at a time, then an odd last one
  const int64_t odd = Kp % 2;
  const uint16_t cm = static_cast<uint16_t>((1u << cols) - 1), odds = 0xAAAA;
  // clang-format off
#define QS_ROWS_INPUTS                                                                                   \
  [m0] "r"(m0), [rnd] "r"(rnd), [sh] "r"(sh), [ld] "r"(ldy), [odd] "r"(odd), [zp] "m"(zp), [lo] "m"(lo), \
  [hi] "m"(hi), [cm] "m"(cm), [odds] "m"(odds)
#define QS_ROWS_CLOBBERS                                                                                 \
  QS_CLOBBERS16, QS_CLOBBERS_HIGH
  // clang-format on
  if (pb.packed) {
    const int16_t* B = pb.packed;
    asm volatile(QS_VNNI6(QS_LOAD2_PACKED, QS_LOAD1_PACKED) QS_ROWS_EPILOGUE
                 : [a] "+r"(A), [b] "+r"(B), [n] "+r"(pairs), [y] "+r"(y)
                 : QS_ROWS_INPUTS
                 : QS_ROWS_CLOBBERS);
  } else {
    const int16_t* const* t = pb.rows;
    const int16_t* b = nullptr;
    asm volatile(QS_VNNI6(QS_LOAD2_ROWS, QS_LOAD1_ROWS) QS_ROWS_EPILOGUE
                 : [a] "+r"(A), [t] "+r"(t), [n] "+r"(pairs), [b] "=&r"(b), [y] "+r"(y)
                 : QS_ROWS_INPUTS, [o] "r"(pb.off)
                 : QS_ROWS_CLOBBERS);
  }
#undef QS_ROWS_INPUTS
#undef QS_ROWS_CLOBBERS
}

// clang-format off
// Two adjacent panels at once (6×32): per k pair, each panel's B in one register (zmm28, zmm29) and each
// row's A word broadcast once for both, twelve multiply-adds for eight loads where the 6×16 tile does six
// for seven. Row i's accumulators: zmm(16 + i) for the first panel, zmm(22 + i) for the second.
#define QS_VNNI6X32(LOAD)                                                                                \
  "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"                                                                 \
  "vmovdqa64 %%zmm16, %%zmm17\n\t" "vmovdqa64 %%zmm16, %%zmm18\n\t" "vmovdqa64 %%zmm16, %%zmm19\n\t"      \
  "vmovdqa64 %%zmm16, %%zmm20\n\t" "vmovdqa64 %%zmm16, %%zmm21\n\t" "vmovdqa64 %%zmm16, %%zmm22\n\t"      \
  "vmovdqa64 %%zmm16, %%zmm23\n\t" "vmovdqa64 %%zmm16, %%zmm24\n\t" "vmovdqa64 %%zmm16, %%zmm25\n\t"      \
  "vmovdqa64 %%zmm16, %%zmm26\n\t" "vmovdqa64 %%zmm16, %%zmm27\n\t"                                      \
  "1:\n\t"                                                                                               \
  LOAD                                                                                                   \
  "vpbroadcastd 0(%[a]), %%zmm30\n\t"                                                                     \
  "vpdpwssd %%zmm28, %%zmm30, %%zmm16\n\t" "vpdpwssd %%zmm29, %%zmm30, %%zmm22\n\t"                        \
  "vpbroadcastd 4(%[a]), %%zmm30\n\t"                                                                     \
  "vpdpwssd %%zmm28, %%zmm30, %%zmm17\n\t" "vpdpwssd %%zmm29, %%zmm30, %%zmm23\n\t"                        \
  "vpbroadcastd 8(%[a]), %%zmm30\n\t"                                                                     \
  "vpdpwssd %%zmm28, %%zmm30, %%zmm18\n\t" "vpdpwssd %%zmm29, %%zmm30, %%zmm24\n\t"                        \
  "vpbroadcastd 12(%[a]), %%zmm30\n\t"                                                                    \
  "vpdpwssd %%zmm28, %%zmm30, %%zmm19\n\t" "vpdpwssd %%zmm29, %%zmm30, %%zmm25\n\t"                        \
  "vpbroadcastd 16(%[a]), %%zmm30\n\t"                                                                    \
  "vpdpwssd %%zmm28, %%zmm30, %%zmm20\n\t" "vpdpwssd %%zmm29, %%zmm30, %%zmm26\n\t"                        \
  "vpbroadcastd 20(%[a]), %%zmm30\n\t"                                                                    \
  "vpdpwssd %%zmm28, %%zmm30, %%zmm21\n\t" "vpdpwssd %%zmm29, %%zmm30, %%zmm27\n\t"                        \
  "add $24, %[a]\n\t" "dec %[n]\n\t" "jnz 1b\n\t"                                                         \
  "vmovdqa64 %%zmm16, %%zmm4\n\t" "vmovdqa64 %%zmm17, %%zmm5\n\t" "vmovdqa64 %%zmm18, %%zmm6\n\t"          \
  "vmovdqa64 %%zmm19, %%zmm7\n\t" "vmovdqa64 %%zmm20, %%zmm8\n\t" "vmovdqa64 %%zmm21, %%zmm9\n\t"
#define QS_LOAD_PACKED2 "vmovdqu32 (%[b]), %%zmm28\n\t" "vmovdqu32 (%[b],%[ps]), %%zmm29\n\t"              \
  "add $64, %[b]\n\t"
#define QS_LOAD_ROWS2 "mov (%[t]), %[b]\n\t" "vmovdqu32 (%[b],%[o]), %%zmm28\n\t"                             \
  "vmovdqu32 64(%[b],%[o]), %%zmm29\n\t" "add $8, %[t]\n\t"
// The first panel's rows (zmm4-9, copied there) through QS_ROWS_EPILOGUE with all its columns, then the
// second's (zmm22-27 moved to zmm4-9) under k2, y back at the tile's first row and 16 columns on.
#define QS_ROWS_EPILOGUE_32                                                                              \
  "vpbroadcastd %[zp], %%zmm15\n\t" "vpbroadcastd %[lo], %%zmm16\n\t" "vpbroadcastd %[hi], %%zmm17\n\t"      \
  "kmovw %[odds], %%k1\n\t" "kxnorw %%k2, %%k2, %%k2\n\t"                                                \
  QS_ROW_CH("zmm4", 0, 0) QS_ROW_CH("zmm5", 4, 8) QS_ROW_CH("zmm6", 8, 16)                               \
  QS_ROW_CH("zmm7", 12, 24) QS_ROW_CH("zmm8", 16, 32) QS_ROW_CH("zmm9", 20, 40)                          \
  "vmovdqa64 %%zmm22, %%zmm4\n\t" "vmovdqa64 %%zmm23, %%zmm5\n\t" "vmovdqa64 %%zmm24, %%zmm6\n\t"          \
  "vmovdqa64 %%zmm25, %%zmm7\n\t" "vmovdqa64 %%zmm26, %%zmm8\n\t" "vmovdqa64 %%zmm27, %%zmm9\n\t"          \
  "kmovw %[cm], %%k2\n\t" "mov %[y0], %[y]\n\t"                                                           \
  QS_ROW_CH("zmm4", 0, 0) QS_ROW_CH("zmm5", 4, 8) QS_ROW_CH("zmm6", 8, 16)                               \
  QS_ROW_CH("zmm7", 12, 24) QS_ROW_CH("zmm8", 16, 32) QS_ROW_CH("zmm9", 20, 40)
// clang-format on

// kernel_6x16_rows_vnni over two adjacent panels: the first whole (16 columns), the second's first `cols`
// (1..16). B packed (the second panel `pstride` bytes after the first) or in rows (the second 64 bytes
// after the first). y: the first panel's output; Kp >= 1.
QS_AVX512 void kernel_6x32_rows_vnni(int64_t Kp, const int32_t* A, const PanelB& pb, int64_t pstride,
                                     const int32_t* m0, const int64_t* rnd, const int32_t* sh, int32_t zp,
                                     int32_t lo, int32_t hi, unsigned char* y, int64_t ldy, int64_t cols) {
  int64_t n = Kp;
  const uint16_t cm = static_cast<uint16_t>((1u << cols) - 1), odds = 0xAAAA;
  unsigned char* y0 = y + 16;
  // clang-format off
#define QS_ROWS_INPUTS                                                                                   \
  [m0] "r"(m0), [rnd] "r"(rnd), [sh] "r"(sh), [ld] "r"(ldy), [zp] "m"(zp), [lo] "m"(lo), [hi] "m"(hi),  \
  [cm] "m"(cm), [odds] "m"(odds), [y0] "m"(y0)
#define QS_ROWS_CLOBBERS                                                                                 \
  QS_CLOBBERS16, QS_CLOBBERS_HIGH
  // clang-format on
  if (pb.packed) {
    const int16_t* B = pb.packed;
    asm volatile(QS_VNNI6X32(QS_LOAD_PACKED2) QS_ROWS_EPILOGUE_32
                 : [a] "+r"(A), [b] "+r"(B), [n] "+r"(n), [y] "+r"(y)
                 : QS_ROWS_INPUTS, [ps] "r"(pstride)
                 : QS_ROWS_CLOBBERS);
  } else {
    const int16_t* const* t = pb.rows;
    const int16_t* b = nullptr;
    asm volatile(QS_VNNI6X32(QS_LOAD_ROWS2) QS_ROWS_EPILOGUE_32
                 : [a] "+r"(A), [t] "+r"(t), [n] "+r"(n), [b] "=&r"(b), [y] "+r"(y)
                 : QS_ROWS_INPUTS, [o] "r"(pb.off)
                 : QS_ROWS_CLOBBERS);
  }
#undef QS_ROWS_INPUTS
#undef QS_ROWS_CLOBBERS
}

// clang-format off
// The 6×32 form of kernel_6x16_bytes_vnni: two adjacent panels of channels on columns, each panel's
// constants joined from its two LaneConsts (kc0, kc1; kc2, kc3); the second panel's rows stored under
// the mask of its real columns.
#define QS_COLS_EPILOGUE_32                                                                              \
  QS_JOIN_ALL("kc0", "kc1")                                                                              \
  "vpbroadcastd %[lo], %%zmm15\n\t" "vpbroadcastd %[hi], %%zmm16\n\t" "kmovw %[odds], %%k1\n\t"              \
  QS_ROW_BYTES("zmm4", "") QS_ROW_BYTES("zmm5", "") QS_ROW_BYTES("zmm6", "")                                         \
  QS_ROW_BYTES("zmm7", "") QS_ROW_BYTES("zmm8", "") QS_ROW_BYTES("zmm9", "")                                         \
  "vmovdqa64 %%zmm22, %%zmm4\n\t" "vmovdqa64 %%zmm23, %%zmm5\n\t" "vmovdqa64 %%zmm24, %%zmm6\n\t"          \
  "vmovdqa64 %%zmm25, %%zmm7\n\t" "vmovdqa64 %%zmm26, %%zmm8\n\t" "vmovdqa64 %%zmm27, %%zmm9\n\t"          \
  QS_JOIN_ALL("kc2", "kc3")                                                                              \
  "kmovw %[cm], %%k2\n\t" "mov %[y0], %[y]\n\t"                                                           \
  QS_ROW_BYTES("zmm4", "%{%%k2%}") QS_ROW_BYTES("zmm5", "%{%%k2%}") QS_ROW_BYTES("zmm6", "%{%%k2%}")                    \
  QS_ROW_BYTES("zmm7", "%{%%k2%}") QS_ROW_BYTES("zmm8", "%{%%k2%}") QS_ROW_BYTES("zmm9", "%{%%k2%}")
// clang-format on

// k: the four LaneConsts of the two panels (all on the fast path, the fourth's where the second panel has
// more than 8 columns); cols: the second panel's real columns (1..16); B packed, the second panel
// `pstride` bytes after the first; y: the first panel's output; Kp >= 1; zero point folded (Epilogue).
QS_AVX512 void kernel_6x32_bytes_vnni(int64_t Kp, const int32_t* A, const int16_t* B, int64_t pstride,
                                      const LaneConsts* k, int32_t lo, int32_t hi, unsigned char* y,
                                      int64_t ldy, int64_t cols) {
  int64_t n = Kp;
  const uint16_t cm = static_cast<uint16_t>((1u << cols) - 1), odds = 0xAAAA;
  unsigned char* y0 = y + 16;
  const LaneConsts *k1 = k + 1, *k2 = k + 2, *k3 = k + 3;
  asm volatile(QS_VNNI6X32(QS_LOAD_PACKED2) QS_COLS_EPILOGUE_32
               : [a] "+r"(A), [b] "+r"(B), [n] "+r"(n), [y] "+r"(y)
               : [kc0] "r"(k), [kc1] "r"(k1), [kc2] "r"(k2), [kc3] "r"(k3), [ld] "r"(ldy), [ps] "r"(pstride),
                 [lo] "m"(lo), [hi] "m"(hi), [cm] "m"(cm), [odds] "m"(odds), [y0] "m"(y0), QS_ASM_REQ8_OFFSETS
               : QS_CLOBBERS16, QS_CLOBBERS_HIGH);
}
#undef QS_JOIN_ALL
#undef QS_COLS_EPILOGUE_32
// acc_avx512's whole 6-row tiles in assembly (GCC 12 copies each accumulator of the intrinsics form
// through another register on every multiply-add): QS_VNNI6, then the rows stored.
QS_AVX512 void acc_6_asm(int64_t Kp, const int32_t* A, const PanelB& pb, int32_t* tile) {
  int64_t pairs = Kp / 2;  // k pairs two at a time, then an odd last one
  const int64_t odd = Kp % 2;
  // clang-format off
#define QS_STORE6                                                                                        \
  "vmovdqu32 %%zmm4, (%[c])\n\t" "vmovdqu32 %%zmm5, 64(%[c])\n\t" "vmovdqu32 %%zmm6, 128(%[c])\n\t"        \
  "vmovdqu32 %%zmm7, 192(%[c])\n\t" "vmovdqu32 %%zmm8, 256(%[c])\n\t" "vmovdqu32 %%zmm9, 320(%[c])\n\t"
  // clang-format on
  if (pb.packed) {
    const int16_t* B = pb.packed;
    asm volatile(QS_VNNI6(QS_LOAD2_PACKED, QS_LOAD1_PACKED) QS_STORE6
                 : [a] "+r"(A), [b] "+r"(B), [n] "+r"(pairs)
                 : [c] "r"(tile), [odd] "r"(odd)
                 : QS_CLOBBERS16, QS_CLOBBERS_HIGH);
  } else {
    const int16_t* const* t = pb.rows;
    const int16_t* b = nullptr;
    asm volatile(QS_VNNI6(QS_LOAD2_ROWS, QS_LOAD1_ROWS) QS_STORE6
                 : [a] "+r"(A), [t] "+r"(t), [n] "+r"(pairs), [b] "=&r"(b)
                 : [c] "r"(tile), [o] "r"(pb.off), [odd] "r"(odd)
                 : QS_CLOBBERS16, QS_CLOBBERS_HIGH);
  }
#undef QS_STORE6
}

template <int R>
QS_AVX512 void acc_avx512(int64_t Kp, const int32_t* A, const PanelB& pb, bool half, int32_t* tile) {
  if (R == kMR && !half && Kp > 0) return acc_6_asm(Kp, A, pb, tile);
  acc_avx512_any<R>(Kp, A, pb, half, tile);
}
template void acc_avx512<1>(int64_t, const int32_t*, const PanelB&, bool, int32_t*);
template void acc_avx512<2>(int64_t, const int32_t*, const PanelB&, bool, int32_t*);
template void acc_avx512<3>(int64_t, const int32_t*, const PanelB&, bool, int32_t*);
template void acc_avx512<4>(int64_t, const int32_t*, const PanelB&, bool, int32_t*);
template void acc_avx512<5>(int64_t, const int32_t*, const PanelB&, bool, int32_t*);
template void acc_avx512<6>(int64_t, const int32_t*, const PanelB&, bool, int32_t*);

#undef QS_VNNI6X32
#undef QS_LOAD_PACKED2
#undef QS_LOAD_ROWS2
#undef QS_ROWS_EPILOGUE_32
#undef QS_ROW_CH
#undef QS_ROWS_EPILOGUE
#undef QS_VNNI6
#undef QS_LOAD2_PACKED
#undef QS_LOAD1_PACKED
#undef QS_LOAD2_ROWS
#undef QS_LOAD1_ROWS
#undef QS_DPZ_EVEN
#undef QS_DPZ_ODD
#undef QS_JOIN
#undef QS_ROW_BYTES
#undef QS_TILE_BYTES_VNNI

#undef QS_DP6
#undef QS_AVX512
#undef QS_CLOBBERS16
#undef QS_CLOBBERS_HIGH

}  // namespace qs::intgemm::detail
