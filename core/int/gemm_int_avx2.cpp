// AVX2 GEMM kernel: kMR×kNR tiles with VPMADDWD (int16 pairs → exact int32) over packed or in-place B,
// the requantization epilogue on the accumulators in registers (avx2_lanes.h), and narrowing stores; and the
// AVX2 form of the 8-bit Add. The operands' packing and widening are in pack_int_avx2.cpp, the depthwise
// kernels in depthwise_int_avx2.cpp. Called only after a run-time check (core/int/isa.h).
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <utility>
#include <vector>

#include "core/common/error.h"
#include "core/int/avx2_lanes.h"
#include "core/int/gemm_int.h"
#include "core/int/gemm_tiles_avx512.h"

namespace qs::intgemm::detail {

namespace {

// Whether the kMR channels from `ch` all take the n >= 32 requantization path (the VNNI row tiles').
bool rows_fast(const RequantTable& t, size_t ch) {
  const auto first = t.shift.begin() + static_cast<std::ptrdiff_t>(ch);
  return std::all_of(first, first + kMR, [](int32_t n) { return n >= 32; });
}

// The full 6×16 tile in assembly: GCC spills four of the twelve accumulators of the intrinsics version
// (12 accumulators + 2 B vectors + a broadcast + a product = all 16 registers). Writes the int32 tile. The
// two forms of B differ only in how a k pair's two vectors are found: the next 64 bytes, or the next
// pointer of the table plus the panel's offset.
#define QS_ROW(off, c0, c1)             \
  "vpbroadcastd " #off                  \
  "(%[a]), %%ymm2\n\t"                  \
  "vpmaddwd %%ymm0, %%ymm2, %%ymm3\n\t" \
  "vpaddd %%ymm3, %%" #c0 ", %%" #c0    \
  "\n\t"                                \
  "vpmaddwd %%ymm1, %%ymm2, %%ymm3\n\t" \
  "vpaddd %%ymm3, %%" #c1 ", %%" #c1 "\n\t"
// The first k pair writes the accumulators instead of adding to zeroed ones: 12 additions fewer per tile,
// which counts at the short K (16..64) of MobileNet's 1×1 convolutions.
#define QS_FIRST_ROW(off, c0, c1)   \
  "vpbroadcastd " #off              \
  "(%[a]), %%ymm2\n\t"              \
  "vpmaddwd %%ymm0, %%ymm2, %%" #c0 \
  "\n\t"                            \
  "vpmaddwd %%ymm1, %%ymm2, %%" #c1 "\n\t"
#define QS_FIRST                 \
  QS_FIRST_ROW(0, ymm4, ymm5)    \
  QS_FIRST_ROW(4, ymm6, ymm7)    \
  QS_FIRST_ROW(8, ymm8, ymm9)    \
  QS_FIRST_ROW(12, ymm10, ymm11) \
  QS_FIRST_ROW(16, ymm12, ymm13) QS_FIRST_ROW(20, ymm14, ymm15) "add $24, %[a]\n\t"
// After the first k pair: the loop over the others, if any.
#define QS_LOOP  \
  "dec %[n]\n\t" \
  "jz 2f\n\t"    \
  "1:\n\t"
#define QS_MADD         \
  QS_ROW(0, ymm4, ymm5) \
  QS_ROW(4, ymm6, ymm7) \
  QS_ROW(8, ymm8, ymm9) \
  QS_ROW(12, ymm10, ymm11) QS_ROW(16, ymm12, ymm13) QS_ROW(20, ymm14, ymm15) "add $24, %[a]\n\t"
#define QS_END   \
  "dec %[n]\n\t" \
  "jnz 1b\n\t"   \
  "2:\n\t"
#define QS_STORE                   \
  QS_END                           \
  "vmovdqu %%ymm4, (%[c])\n\t"     \
  "vmovdqu %%ymm5, 32(%[c])\n\t"   \
  "vmovdqu %%ymm6, 64(%[c])\n\t"   \
  "vmovdqu %%ymm7, 96(%[c])\n\t"   \
  "vmovdqu %%ymm8, 128(%[c])\n\t"  \
  "vmovdqu %%ymm9, 160(%[c])\n\t"  \
  "vmovdqu %%ymm10, 192(%[c])\n\t" \
  "vmovdqu %%ymm11, 224(%[c])\n\t" \
  "vmovdqu %%ymm12, 256(%[c])\n\t" \
  "vmovdqu %%ymm13, 288(%[c])\n\t" \
  "vmovdqu %%ymm14, 320(%[c])\n\t" \
  "vmovdqu %%ymm15, 352(%[c])\n\t"
#define QS_CLOBBERS                                                                                          \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", \
      "xmm13", "xmm14", "xmm15", "memory", "cc"
QS_AVX2 inline void kernel_6x16(int64_t Kp, const int32_t* A, const PanelB& pb, int32_t* tile) {
  if (Kp <= 0) {
    std::memset(tile, 0, sizeof(int32_t) * kMR * kNR);
    return;
  }
  if (pb.packed) {
    const int16_t* B = pb.packed;
    asm volatile(
        "vmovdqu (%[b]), %%ymm0\n\t"
        "vmovdqu 32(%[b]), %%ymm1\n\t" QS_FIRST "add $64, %[b]\n\t" QS_LOOP
        "vmovdqu (%[b]), %%ymm0\n\t"
        "vmovdqu 32(%[b]), %%ymm1\n\t" QS_MADD "add $64, %[b]\n\t" QS_STORE
        : [a] "+r"(A), [b] "+r"(B), [n] "+r"(Kp)
        : [c] "r"(tile)
        : QS_CLOBBERS);
  } else {
    const int16_t* const* t = pb.rows;
    const int16_t* b = nullptr;
    asm volatile(
        "mov (%[t]), %[b]\n\t"
        "vmovdqu (%[b],%[o]), %%ymm0\n\t"
        "vmovdqu 32(%[b],%[o]), %%ymm1\n\t" QS_FIRST "add $8, %[t]\n\t" QS_LOOP
        "mov (%[t]), %[b]\n\t"
        "vmovdqu (%[b],%[o]), %%ymm0\n\t"
        "vmovdqu 32(%[b],%[o]), %%ymm1\n\t" QS_MADD "add $8, %[t]\n\t" QS_STORE
        : [a] "+r"(A), [t] "+r"(t), [n] "+r"(Kp), [b] "=&r"(b)
        : [c] "r"(tile), [o] "r"(pb.off)
        : QS_CLOBBERS);
  }
}

// The constants of kernel_6x16_bytes beyond the columns' LaneConsts: the output range as 32 bytes each,
// and the dword permutation of RowStore::two.
struct BytesConsts {
  __m256i lo, hi, perm;
  QS_AVX2 explicit BytesConsts(const Epilogue& e)
      : lo(_mm256_set1_epi8(static_cast<char>(e.lo))),
        hi(_mm256_set1_epi8(static_cast<char>(e.hi))),
        perm(_mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)) {}
};

// clang-format off
// Rows i (registers I0, I1) and j = i + 1 (J0, J1) requantized (QS_ASM_REQ8, avx2_lanes.h), narrowed to
// bytes as RowStore::two does, clamped and stored at y and y + ldy; y then moves two rows on.
#define QS_PAIR(I0, I1, J0, J1, PACK, MAX, MIN)                                                          \
  QS_ASM_REQ8(I0, "ymm0", "k0")                                                                          \
  QS_ASM_REQ8(I1, "ymm1", "k1")                                                                          \
  QS_ASM_REQ8(J0, "ymm2", "k0")                                                                          \
  QS_ASM_REQ8(J1, "ymm3", "k1")                                                                          \
  "vmovdqa 64(%[bc]), %%ymm0\n\t"                                                                        \
  "vpackssdw %%" I1 ", %%" I0 ", %%" I0 "\n\t"                                                           \
  "vpackssdw %%" J1 ", %%" J0 ", %%" J0 "\n\t"                                                           \
  PACK " %%" J0 ", %%" I0 ", %%" I0 "\n\t"                                                               \
  "vpermd %%" I0 ", %%ymm0, %%" I0 "\n\t"                                                                \
  MAX " (%[bc]), %%" I0 ", %%" I0 "\n\t"                                                                 \
  MIN " 32(%[bc]), %%" I0 ", %%ymm1\n\t"                                                                 \
  "vmovdqu %%xmm1, (%[y])\n\t"                                                                           \
  "vextracti128 $1, %%ymm1, (%[y],%[ld])\n\t"                                                            \
  "lea (%[y],%[ld],2), %[y]\n\t"
#define QS_TILE_BYTES(PACK, MAX, MIN)                                                                    \
  "vmovdqu (%[b]), %%ymm0\n\t" "vmovdqu 32(%[b]), %%ymm1\n\t" QS_FIRST "add $64, %[b]\n\t" QS_LOOP       \
  "vmovdqu (%[b]), %%ymm0\n\t" "vmovdqu 32(%[b]), %%ymm1\n\t" QS_MADD "add $64, %[b]\n\t" QS_END        \
  QS_PAIR("ymm4", "ymm5", "ymm6", "ymm7", PACK, MAX, MIN)                                                \
  QS_PAIR("ymm8", "ymm9", "ymm10", "ymm11", PACK, MAX, MIN)                                              \
  QS_PAIR("ymm12", "ymm13", "ymm14", "ymm15", PACK, MAX, MIN)
// clang-format on

// A whole 6×16 tile with 8-bit output and channels on columns, the usual case of Gemm and channels-last
// 1×1 convolutions (MobileNet's, whose K of 16..144 leaves the epilogue nearly as long as the
// multiply-adds): the accumulators are requantized in their registers, where kernel_6x16 stores them for
// the intrinsics epilogue to load, and the constants go straight from memory into the instructions
// instead of through spilled registers. The arithmetic and the byte order are those of epilogue_rows'
// n >= 32 path with the zero point folded (e.zp = 0), which callers check: k[0], k[1] fast, Kp >= 1, B
// packed. y: the tile's first output row, rows ldy bytes apart.
template <DType OT>
QS_AVX2 void kernel_6x16_bytes(int64_t Kp, const int32_t* A, const int16_t* B, const LaneConsts* k,
                               const BytesConsts& bc, unsigned char* y, int64_t ldy) {
  static_assert(OT == DType::Int8 || OT == DType::UInt8);
  const LaneConsts* k1 = k + 1;
  // clang-format off
#define QS_OPERANDS                                                                                      \
  : [a] "+r"(A), [b] "+r"(B), [n] "+r"(Kp), [y] "+r"(y)                                                  \
  : [k0] "r"(k), [k1] "r"(k1), [bc] "r"(&bc), [ld] "r"(ldy), QS_ASM_REQ8_OFFSETS                         \
  : QS_CLOBBERS
  // clang-format on
  QS_ASM_BYTES(OT, QS_TILE_BYTES, QS_OPERANDS);
#undef QS_OPERANDS
}

#undef QS_PAIR
#undef QS_TILE_BYTES

// clang-format off
// One k pair of a 6×8 tile: the panel's first 8 columns (ymm0) times rows 0-5, into ymm4..ymm9.
#define QS_ROW8(off, c) "vpbroadcastd " #off "(%[a]), %%ymm2\n\t" "vpmaddwd %%ymm0, %%ymm2, %%ymm3\n\t"      \
                        "vpaddd %%ymm3, %%" #c ", %%" #c "\n\t"
#define QS_FIRST8(off, c) "vpbroadcastd " #off "(%[a]), %%ymm2\n\t" "vpmaddwd %%ymm0, %%ymm2, %%" #c "\n\t"
#define QS_K8(R)                                                                                         \
  "vmovdqu (%[b]), %%ymm0\n\t" R(0, ymm4) R(4, ymm5) R(8, ymm6) R(12, ymm7) R(16, ymm8) R(20, ymm9)      \
  "add $24, %[a]\n\t" "add $64, %[b]\n\t"
// Rows 0-5 of 8 outputs each: requantized, narrowed four rows (then two) to a vector as RowStore::two
// does for two rows of 16, clamped, stored 8 bytes a row.
#define QS_TILE8_BYTES(PACK, MAX, MIN)                                                                   \
  QS_K8(QS_FIRST8) QS_LOOP QS_K8(QS_ROW8) QS_END                                                         \
  QS_ASM_REQ8("ymm4", "ymm0", "k0") QS_ASM_REQ8("ymm5", "ymm1", "k0")                                    \
  QS_ASM_REQ8("ymm6", "ymm2", "k0") QS_ASM_REQ8("ymm7", "ymm3", "k0")                                    \
  QS_ASM_REQ8("ymm8", "ymm10", "k0") QS_ASM_REQ8("ymm9", "ymm11", "k0")                                  \
  "vmovdqa 64(%[bc]), %%ymm0\n\t"                                                                        \
  "vpackssdw %%ymm5, %%ymm4, %%ymm4\n\t"                                                                 \
  "vpackssdw %%ymm7, %%ymm6, %%ymm6\n\t"                                                                 \
  "vpackssdw %%ymm9, %%ymm8, %%ymm8\n\t"                                                                 \
  PACK " %%ymm6, %%ymm4, %%ymm4\n\t"                                                                     \
  PACK " %%ymm8, %%ymm8, %%ymm8\n\t"                                                                     \
  "vpermd %%ymm4, %%ymm0, %%ymm4\n\t"                                                                    \
  "vpermd %%ymm8, %%ymm0, %%ymm8\n\t"                                                                    \
  MAX " (%[bc]), %%ymm4, %%ymm4\n\t" MIN " 32(%[bc]), %%ymm4, %%ymm4\n\t"                                \
  MAX " (%[bc]), %%ymm8, %%ymm8\n\t" MIN " 32(%[bc]), %%ymm8, %%ymm8\n\t"                                \
  "vextracti128 $1, %%ymm4, %%xmm5\n\t"                                                                  \
  "vmovq %%xmm4, (%[y])\n\t"                                                                             \
  "vpextrq $1, %%xmm4, (%[y],%[ld])\n\t"                                                                 \
  "lea (%[y],%[ld],2), %[y]\n\t"                                                                         \
  "vmovq %%xmm5, (%[y])\n\t"                                                                             \
  "vpextrq $1, %%xmm5, (%[y],%[ld])\n\t"                                                                 \
  "lea (%[y],%[ld],2), %[y]\n\t"                                                                         \
  "vmovq %%xmm8, (%[y])\n\t"                                                                             \
  "vpextrq $1, %%xmm8, (%[y],%[ld])\n\t"
// clang-format on

// kernel_6x16_bytes for a panel whose last 8 columns are not outputs (24 or 40 channels on columns): a
// 6×8 tile, half the multiply-adds and requantizations, 8 bytes stored per row. k: the 8 columns'
// LaneConsts.
template <DType OT>
QS_AVX2 void kernel_6x8_bytes(int64_t Kp, const int32_t* A, const int16_t* B, const LaneConsts* k,
                              const BytesConsts& bc, unsigned char* y, int64_t ldy) {
  static_assert(OT == DType::Int8 || OT == DType::UInt8);
  // clang-format off
#define QS_OPERANDS                                                                                      \
  : [a] "+r"(A), [b] "+r"(B), [n] "+r"(Kp), [y] "+r"(y)                                                  \
  : [k0] "r"(k), [bc] "r"(&bc), [ld] "r"(ldy), QS_ASM_REQ8_OFFSETS                                       \
  : QS_CLOBBERS
  // clang-format on
  QS_ASM_BYTES(OT, QS_TILE8_BYTES, QS_OPERANDS);
#undef QS_OPERANDS
}
#undef QS_ROW8
#undef QS_FIRST8
#undef QS_K8
#undef QS_TILE8_BYTES
#undef QS_ROW
#undef QS_LOOP
#undef QS_END
#undef QS_FIRST_ROW
#undef QS_FIRST
#undef QS_MADD
#undef QS_STORE
#undef QS_CLOBBERS

// R(acc + bias) + zp for the 16 lanes (v0, v1) of row-mode channel c: the channel's constants broadcast
// once for both halves, inlined into the tile's epilogue (a call per half cost 14% of MobileNetV2's
// integer time, whose 1×1 convolutions have short K and so many outputs per multiply-add).
QS_AVX2 QS_INLINE inline void requant_row(__m256i& v0, __m256i& v1, const RequantTable& t, size_t c,
                                          __m256i zp) {
  if (t.shift[c] >= 32) {
    LaneConsts k;
    k.m0 = k.m0o = _mm256_set1_epi32(t.m0[c]);
    k.rndE = k.rndO = _mm256_set1_epi64x(t.round[c]);
    k.sh32 = _mm256_set1_epi32(t.shift32[c]);
    k.fast = true;
    v0 = _mm256_add_epi32(requant8(v0, k), zp);
    v1 = _mm256_add_epi32(requant8(v1, k), zp);
    return;
  }
  const LaneConsts k = row_consts(t, c);
  v0 = _mm256_add_epi32(requant8(v0, k), zp);
  v1 = _mm256_add_epi32(requant8(v1, k), zp);
}

// Clamps and stores rows of 16 values (int32 lanes, zero point added): 8-bit outputs two rows at a time,
// narrowed first with the saturating packs (which clamp to the type's range, so clamping to [lo, hi]
// after them is the same as before) and clamped as 32 bytes at once.
template <DType OT>
struct RowStore {
  static constexpr bool kByte = OT == DType::Int8 || OT == DType::UInt8;
  static constexpr size_t kEs = kByte ? 1 : 2;
  __m256i lo, hi;
  QS_AVX2 explicit RowStore(const Epilogue& e) {
    if constexpr (kByte) {
      lo = _mm256_set1_epi8(static_cast<char>(e.lo));
      hi = _mm256_set1_epi8(static_cast<char>(e.hi));
    } else {
      lo = _mm256_set1_epi16(static_cast<int16_t>(e.lo));
      hi = _mm256_set1_epi16(static_cast<int16_t>(e.hi));
    }
  }
  QS_AVX2 QS_INLINE __m256i clamp(__m256i v) const {
    if constexpr (OT == DType::Int8) return _mm256_min_epi8(_mm256_max_epi8(v, lo), hi);
    if constexpr (OT == DType::UInt8) return _mm256_min_epu8(_mm256_max_epu8(v, lo), hi);
    if constexpr (OT == DType::Int16) return _mm256_min_epi16(_mm256_max_epi16(v, lo), hi);
    return _mm256_min_epu16(_mm256_max_epu16(v, lo), hi);
  }
  QS_AVX2 static void put(void* y, int64_t cols, const void* src) {
    std::memcpy(y, src, static_cast<size_t>(cols) * kEs);
  }
  // One row: v0 = columns 0-7, v1 = 8-15.
  QS_AVX2 QS_INLINE void one(void* y, int64_t cols, __m256i v0, __m256i v1) const {
    if constexpr (kByte) {
      const __m256i p16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(v0, v1), 0xD8);
      const __m128i a = _mm256_castsi256_si128(p16), b = _mm256_extracti128_si256(p16, 1);
      const __m128i p8 = _mm256_castsi256_si128(
          clamp(_mm256_castsi128_si256(OT == DType::Int8 ? _mm_packs_epi16(a, b) : _mm_packus_epi16(a, b))));
      if (cols == 16) return _mm_storeu_si128(static_cast<__m128i*>(y), p8);
      alignas(16) unsigned char tmp[16];
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp), p8);
      put(y, cols, tmp);
    } else {
      const __m256i p = OT == DType::Int16 ? _mm256_packs_epi32(v0, v1) : _mm256_packus_epi32(v0, v1);
      const __m256i p16 = clamp(_mm256_permute4x64_epi64(p, 0xD8));
      if (cols == 16) return _mm256_storeu_si256(static_cast<__m256i*>(y), p16);
      alignas(32) unsigned char tmp[32];
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), p16);
      put(y, cols, tmp);
    }
  }
  // Two rows (8-bit outputs only).
  QS_AVX2 QS_INLINE void two(void* yi, void* yj, int64_t cols, __m256i v0i, __m256i v1i, __m256i v0j,
                             __m256i v1j) const {
    // packs_epi32 then the 16→8 pack leave, per 128-bit lane, dwords i0-3 | i8-11 | j0-3 | j8-11 (lane 0)
    // and i4-7 | i12-15 | j4-7 | j12-15 (lane 1): one dword permutation puts row i in the low half.
    const __m256i a = _mm256_packs_epi32(v0i, v1i), b = _mm256_packs_epi32(v0j, v1j);
    const __m256i p8 = OT == DType::Int8 ? _mm256_packs_epi16(a, b) : _mm256_packus_epi16(a, b);
    const __m256i r = clamp(_mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    if (cols == 16) {
      _mm_storeu_si128(static_cast<__m128i*>(yi), _mm256_castsi256_si128(r));
      _mm_storeu_si128(static_cast<__m128i*>(yj), _mm256_extracti128_si256(r, 1));
      return;
    }
    alignas(32) unsigned char tmp[32];
    _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), r);
    put(yi, cols, tmp);
    put(yj, cols, tmp + 16);
  }
};

// The epilogue of an R×16 tile (R rows, all valid; `cols` valid columns) at (r0, c0) of the call, the
// accumulators of row i being acc(i, 0) (columns 0-7) and acc(i, 1) (8-15). Rows are requantized and stored
// in the pairs RowStore::two takes, each pair only once it is needed: requantizing the whole tile first
// keeps 12 accumulators and the constants live at once, more than the 16 registers, and GCC moved them
// through the stack several times per tile (MobileNetV2's 1×1 convolutions, whose K is 16..144, spend
// nearly as long in the epilogue as in the multiply-adds).
// `colk`: the constants of the 16 columns' channels when they are on columns (loaded once per panel).
template <int R, DType OT, typename Acc>
QS_AVX2 inline void epilogue_rows(const Acc& acc, int64_t cols, int64_t r0, int64_t c0, const Epilogue& e,
                                  const LaneConsts* colk) {
  const RequantTable& t = *e.rq;
  const __m256i zp = _mm256_set1_epi32(e.zp);
  const RowStore<OT> st(e);
  char* y = static_cast<char*>(e.y) + static_cast<size_t>(r0 * e.ldy + c0) * RowStore<OT>::kEs;
  const size_t ldy = static_cast<size_t>(e.ldy) * RowStore<OT>::kEs;
  auto store = [&](auto&& rows) QS_INLINE {
    int i = 0;
    if constexpr (RowStore<OT>::kByte)
#pragma GCC unroll 3
      for (; i + 1 < R; i += 2) {
        __m256i v0i = acc(i, 0), v1i = acc(i, 1), v0j = acc(i + 1, 0), v1j = acc(i + 1, 1);
        rows(i, v0i, v1i);
        rows(i + 1, v0j, v1j);
        st.two(y + i * ldy, y + (i + 1) * ldy, cols, v0i, v1i, v0j, v1j);
      }
#pragma GCC unroll 6
    for (; i < R; ++i) {
      __m256i v0 = acc(i, 0), v1 = acc(i, 1);
      rows(i, v0, v1);
      st.one(y + i * ldy, cols, v0, v1);
    }
  };
  if (e.channel_is_row) {
    const size_t ch = static_cast<size_t>(e.channel0 + r0);
    store([&](int i, __m256i& v0, __m256i& v1) QS_INLINE { requant_row(v0, v1, t, ch + i, zp); });
  } else {
    const LaneConsts& k0 = colk[0];
    const LaneConsts& k1 = colk[1];
    if (k0.fast && k1.fast) {
      // The usual case, its path chosen once per tile: only its five constants per half are live. With
      // the zero point folded into the rounding constant (RequantTable::fold_zero_point) nothing is added.
      if (e.zp == 0) {
        store([&](int, __m256i& v0, __m256i& v1) QS_INLINE {
          v0 = requant8_path<true>(v0, k0);
          v1 = requant8_path<true>(v1, k1);
        });
        return;
      }
      store([&](int, __m256i& v0, __m256i& v1) QS_INLINE {
        v0 = _mm256_add_epi32(requant8_path<true>(v0, k0), zp);
        v1 = _mm256_add_epi32(requant8_path<true>(v1, k1), zp);
      });
      return;
    }
    store([&](int, __m256i& v0, __m256i& v1) QS_INLINE {
      v0 = _mm256_add_epi32(requant8(v0, k0), zp);
      v1 = _mm256_add_epi32(requant8(v1, k1), zp);
    });
  }
}

// The raw accumulators of an R×16 tile (Epilogue::out Int32): rows of `cols` int32 at (r0, c0).
template <int R, typename Acc>
QS_AVX2 inline void store_raw_rows(const Acc& acc, int64_t cols, int64_t r0, int64_t c0, const Epilogue& e) {
  int32_t* y = static_cast<int32_t*>(e.y) + r0 * e.ldy + c0;
#pragma GCC unroll 6
  for (int i = 0; i < R; ++i) {
    int32_t* yi = y + i * e.ldy;
    if (cols == 16) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(yi), acc(i, 0));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(yi + 8), acc(i, 1));
    } else {
      alignas(32) int32_t tmp[16];
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), acc(i, 0));
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp + 8), acc(i, 1));
      std::memcpy(yi, tmp, static_cast<size_t>(cols) * sizeof(int32_t));
    }
  }
}

template <int R, DType OT, typename Acc>
QS_AVX2 QS_INLINE inline void finish_tile(const Acc& acc, int64_t cols, int64_t r0, int64_t c0,
                                          const Epilogue& e, const LaneConsts* colk) {
  if constexpr (OT == DType::Int32)
    store_raw_rows<R>(acc, cols, r0, c0, e);
  else
    epilogue_rows<R, OT>(acc, cols, r0, c0, e, colk);
}

// The R×16 accumulators of a row block below kMR rows (the assembly kernel takes whole blocks): c[i][0]
// columns 0-7 of row i, c[i][1] columns 8-15.
template <int R>
QS_AVX2 QS_INLINE inline void tile_acc(int64_t Kp, const int32_t* A, const PanelB& pb, __m256i (&c)[R][2]) {
#pragma GCC unroll 6
  for (int i = 0; i < R; ++i) c[i][0] = c[i][1] = _mm256_setzero_si256();
  for (int64_t p = 0; p < Kp; ++p) {
    const int16_t* B = pb.at(p);
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(B));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(B + 16));
#pragma GCC unroll 6
    for (int i = 0; i < R; ++i) {
      const __m256i a = _mm256_set1_epi32(A[i]);
      c[i][0] = _mm256_add_epi32(c[i][0], _mm256_madd_epi16(a, b0));
      c[i][1] = _mm256_add_epi32(c[i][1], _mm256_madd_epi16(a, b1));
    }
    A += kMR;
  }
}

// The same for a panel's first 8 columns only (c[i][1] zero): the last panel when at most 8 of its columns
// are real (24 or 40 output channels on columns), half the multiply-adds of a full tile.
template <int R>
QS_AVX2 QS_INLINE inline void tile_acc8(int64_t Kp, const int32_t* A, const PanelB& pb, __m256i (&c)[R][2]) {
#pragma GCC unroll 6
  for (int i = 0; i < R; ++i) c[i][0] = c[i][1] = _mm256_setzero_si256();
  for (int64_t p = 0; p < Kp; ++p) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pb.at(p)));
#pragma GCC unroll 6
    for (int i = 0; i < R; ++i)
      c[i][0] = _mm256_add_epi32(c[i][0], _mm256_madd_epi16(_mm256_set1_epi32(A[i]), b0));
    A += kMR;
  }
}

template <int R, DType OT>
QS_AVX2 void tile(int64_t Kp, const int32_t* A, const PanelB& pb, int64_t cols, int64_t r0, int64_t c0,
                  const Epilogue& e, const LaneConsts* colk) {
  if constexpr (R == 6 && (OT == DType::Int8 || OT == DType::UInt8)) {
    // The usual 8-bit tile with channels on columns (n >= 32 path, zero point folded): requantized in the
    // assembly kernels' registers, 16 columns or a last panel's 8.
    if (pb.packed && Kp > 0 && !e.channel_is_row && e.zp == 0 && colk[0].fast &&
        (cols == 8 || (cols == kNR && colk[1].fast))) {
      unsigned char* y = static_cast<unsigned char*>(e.y) + r0 * e.ldy + c0;
      if (cols == 8) return kernel_6x8_bytes<OT>(Kp, A, pb.packed, colk, BytesConsts(e), y, e.ldy);
      if (avx512_enabled()) return kernel_6x16_bytes_vnni(Kp, A, pb.packed, colk, e.lo, e.hi, y, e.ldy);
      return kernel_6x16_bytes<OT>(Kp, A, pb.packed, colk, BytesConsts(e), y, e.ldy);
    }
  }
  if (avx512_enabled()) {
    if constexpr (R == 6 && (OT == DType::Int8 || OT == DType::UInt8)) {
      const RequantTable& t = *e.rq;
      const size_t ch = static_cast<size_t>(e.channel0 + r0);
      if (e.channel_is_row && Kp > 0 && rows_fast(t, ch)) {
        unsigned char* y = static_cast<unsigned char*>(e.y) + r0 * e.ldy + c0;
        return kernel_6x16_rows_vnni(Kp, A, pb, t.m0.data() + ch, t.round.data() + ch, t.shift32.data() + ch,
                                     e.zp, e.lo, e.hi, y, e.ldy, cols);
      }
    }
    alignas(64) int32_t acc[R][16];
    acc_avx512<R>(Kp, A, pb, cols <= 8, &acc[0][0]);
    finish_tile<R, OT>(
        [&](int i, int h)
            QS_INLINE { return _mm256_load_si256(reinterpret_cast<const __m256i*>(acc[i] + 8 * h)); },
        cols, r0, c0, e, colk);
    return;
  }
  if (cols <= 8) {
    __m256i c[R][2];
    tile_acc8<R>(Kp, A, pb, c);
    finish_tile<R, OT>([&](int i, int h) QS_INLINE { return c[i][h]; }, cols, r0, c0, e, colk);
    return;
  }
  if constexpr (R == 6) {
    // The assembly kernel leaves the tile in memory: the epilogue loads each row when it gets to it.
    alignas(32) int32_t acc[6][16];
    kernel_6x16(Kp, A, pb, &acc[0][0]);
    finish_tile<R, OT>(
        [&](int i, int h)
            QS_INLINE { return _mm256_load_si256(reinterpret_cast<const __m256i*>(acc[i] + 8 * h)); },
        cols, r0, c0, e, colk);
  } else {
    __m256i c[R][2];
    tile_acc<R>(Kp, A, pb, c);
    finish_tile<R, OT>([&](int i, int h) QS_INLINE { return c[i][h]; }, cols, r0, c0, e, colk);
  }
}

// B packed (`packed`) or in rows (`rows`, gemm_rows).
template <DType OT>
QS_AVX2 void gemm_t(int64_t M, int64_t N, int64_t K, const int32_t* A, const int16_t* packed,
                    const int16_t* const* rows, const Epilogue& e) {
  const int64_t Kp = k_pairs(K), panels = col_panels(N);
  const auto panel = [&](int64_t jp) {
    PanelB pb;
    if (packed)
      pb.packed = packed + jp * Kp * kNR * 2;
    else
      pb.rows = rows, pb.off = jp * kNR * 4;  // 4 bytes per column pair
    return pb;
  };
  const auto tile_at = [&](int64_t ib, int64_t jp, const PanelB& pb, const LaneConsts* colk) QS_INLINE {
    const int64_t r0 = ib * kMR, c0 = jp * kNR;
    with_rows(std::min(kMR, M - r0), [&](auto R) {
      tile<R(), OT>(Kp, A + ib * Kp * kMR, pb, std::min(kNR, N - c0), r0, c0, e, colk);
    });
  };
  // Row blocks outer (below) only while all of B stays in cache as they sweep it: a large Gemm's weight
  // (1024×1000: 2 MB packed) would be read again for every block of rows.
  const bool b_cached = panels * Kp * kNR * 2 * static_cast<int64_t>(sizeof(int16_t)) <= (int64_t{96} << 10);
  if (OT == DType::Int32 || e.channel_is_row || !b_cached) {
    // Panels outer: a panel of B is reused by every row block (the output channels, for Conv).
    int64_t jp = 0;
    if constexpr (OT == DType::Int8 || OT == DType::UInt8) {
      // With AVX-512 VNNI, Conv's tiles two panels at a time (kernel_6x32_rows_vnni) where the block has six
      // rows on the n >= 32 path; the others as below.
      if (e.channel_is_row && avx512_enabled() && Kp > 0) {
        const RequantTable& t = *e.rq;
        for (; jp + 1 < panels; jp += 2) {
          const PanelB pb = panel(jp), pb2 = panel(jp + 1);
          const int64_t cols2 = std::min(kNR, N - (jp + 1) * kNR);
          for (int64_t ib = 0; ib < row_blocks(M); ++ib) {
            const int64_t r0 = ib * kMR;
            const size_t ch = static_cast<size_t>(e.channel0 + r0);
            if (r0 + kMR <= M && rows_fast(t, ch)) {
              unsigned char* y = static_cast<unsigned char*>(e.y) + r0 * e.ldy + jp * kNR;
              kernel_6x32_rows_vnni(Kp, A + ib * Kp * kMR, pb, Kp * kNR * 2 * 2, t.m0.data() + ch,
                                    t.round.data() + ch, t.shift32.data() + ch, e.zp, e.lo, e.hi, y, e.ldy,
                                    cols2);
            } else {
              tile_at(ib, jp, pb, nullptr);
              tile_at(ib, jp + 1, pb2, nullptr);
            }
          }
        }
      }
    }
    for (; jp < panels; ++jp) {
      const PanelB pb = panel(jp);
      LaneConsts colk[2];
      const bool cols = OT != DType::Int32 && !e.channel_is_row;
      if (cols) {
        const size_t ch = static_cast<size_t>(e.channel0 + jp * kNR);
        colk[0] = col_consts(*e.rq, ch);
        colk[1] = col_consts(*e.rq, ch + 8);
      }
      for (int64_t ib = 0; ib < row_blocks(M); ++ib) tile_at(ib, jp, pb, cols ? colk : nullptr);
    }
    return;
  }
  // Channels on columns (Gemm, channels-last 1×1): row blocks outer, so that each block of rows (positions)
  // is finished across all its channels at once, whole cache lines of output, while B (the weights) stays
  // in cache; every panel's channel constants loaded once per call.
  thread_local std::vector<LaneConsts> colk;
  colk.resize(static_cast<size_t>(2 * panels));
  for (int64_t jp = 0; jp < panels; ++jp) {
    const size_t ch = static_cast<size_t>(e.channel0 + jp * kNR);
    colk[static_cast<size_t>(2 * jp)] = col_consts(*e.rq, ch);
    colk[static_cast<size_t>(2 * jp + 1)] = col_consts(*e.rq, ch + 8);
  }
  for (int64_t ib = 0; ib < row_blocks(M); ++ib) {
    int64_t jp = 0;
    if constexpr (OT == DType::Int8 || OT == DType::UInt8) {
      // With AVX-512 VNNI, whole 6-row blocks two panels at a time (kernel_6x32_bytes_vnni) where their
      // channels take the n >= 32 path with the zero point folded; the others as below.
      if (avx512_enabled() && packed && Kp > 0 && e.zp == 0 && (ib + 1) * kMR <= M)
        for (; jp + 1 < panels; jp += 2) {
          const LaneConsts* k = colk.data() + 2 * jp;
          const int64_t cols2 = std::min(kNR, N - (jp + 1) * kNR);
          if (k[0].fast && k[1].fast && k[2].fast && (cols2 <= 8 || k[3].fast)) {
            unsigned char* y = static_cast<unsigned char*>(e.y) + ib * kMR * e.ldy + jp * kNR;
            kernel_6x32_bytes_vnni(Kp, A + ib * Kp * kMR, panel(jp).packed, Kp * kNR * 2 * 2, k, e.lo, e.hi,
                                   y, e.ldy, cols2);
          } else {
            tile_at(ib, jp, panel(jp), k);
            tile_at(ib, jp + 1, panel(jp + 1), k + 2);
          }
        }
    }
    for (; jp < panels; ++jp) tile_at(ib, jp, panel(jp), colk.data() + 2 * jp);
  }
}

QS_AVX2 void gemm_any(int64_t M, int64_t N, int64_t K, const int32_t* A, const int16_t* packed,
                      const int16_t* const* rows, const Epilogue& e) {
  switch (e.out) {
    case DType::Int8:
      return gemm_t<DType::Int8>(M, N, K, A, packed, rows, e);
    case DType::UInt8:
      return gemm_t<DType::UInt8>(M, N, K, A, packed, rows, e);
    case DType::Int16:
      return gemm_t<DType::Int16>(M, N, K, A, packed, rows, e);
    case DType::UInt16:
      return gemm_t<DType::UInt16>(M, N, K, A, packed, rows, e);
    case DType::Int32:
      return gemm_t<DType::Int32>(M, N, K, A, packed, rows, e);
    default:
      throw Error("integer GEMM: output type " + dtype_name(e.out) + " is not supported");
  }
}

// requantize_rows: per row the channel's constants once, then 16 values at a time through the tile
// epilogue's RowStore; the last partial vector from a zero-padded copy.
template <DType OT, bool kFast>
QS_AVX2 void requantize_rows_t(int64_t n, const int32_t* acc, const LaneConsts& k, const Epilogue& e,
                               char* y) {
  const RowStore<OT> st(e);
  const __m256i zp = _mm256_set1_epi32(e.zp);
  auto one = [&](const int32_t* a, int64_t cols, char* out) QS_INLINE {
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 8));
    st.one(out, cols, _mm256_add_epi32(requant8_path<kFast>(v0, k), zp),
           _mm256_add_epi32(requant8_path<kFast>(v1, k), zp));
  };
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) one(acc + j, 16, y + static_cast<size_t>(j) * RowStore<OT>::kEs);
  if (j < n) {
    alignas(32) int32_t tmp[16] = {};
    std::memcpy(tmp, acc + j, static_cast<size_t>(n - j) * sizeof(int32_t));
    one(tmp, n - j, y + static_cast<size_t>(j) * RowStore<OT>::kEs);
  }
}

template <DType OT>
QS_AVX2 void requantize_rows_any(int64_t rows, int64_t n, const int32_t* acc, int64_t lda,
                                 const Epilogue& e) {
  for (int64_t i = 0; i < rows; ++i) {
    const LaneConsts k = row_consts(*e.rq, static_cast<size_t>(e.channel0 + i));
    char* y = static_cast<char*>(e.y) + static_cast<size_t>(i * e.ldy) * RowStore<OT>::kEs;
    if (k.fast)
      requantize_rows_t<OT, true>(n, acc + i * lda, k, e, y);
    else
      requantize_rows_t<OT, false>(n, acc + i * lda, k, e, y);
  }
}

}  // namespace

void gemm_avx2(int64_t M, int64_t N, int64_t K, const int32_t* A, const int16_t* B, const Epilogue& e) {
  gemm_any(M, N, K, A, B, nullptr, e);
}

void requantize_rows_avx2(int64_t rows, int64_t n, const int32_t* acc, int64_t lda, const Epilogue& e) {
  switch (e.out) {
    case DType::Int8:
      return requantize_rows_any<DType::Int8>(rows, n, acc, lda, e);
    case DType::UInt8:
      return requantize_rows_any<DType::UInt8>(rows, n, acc, lda, e);
    case DType::Int16:
      return requantize_rows_any<DType::Int16>(rows, n, acc, lda, e);
    case DType::UInt16:
      return requantize_rows_any<DType::UInt16>(rows, n, acc, lda, e);
    default:
      throw Error("integer requantization: output type " + dtype_name(e.out) + " is not supported");
  }
}

void gemm_rows_avx2(int64_t M, int64_t N, int64_t K, const int32_t* A, const int16_t* const* Bp,
                    const Epilogue& e) {
  gemm_any(M, N, K, A, nullptr, Bp, e);
}

void gemm_panel_i32_avx2(int64_t M, int64_t Kp, const int32_t* A, const int16_t* const* rows, int64_t off,
                         int32_t* C) {
  PanelB pb;
  pb.rows = rows;
  pb.off = off;
  if (avx512_enabled()) {
    for (int64_t r0 = 0; r0 < M; r0 += kMR)
      with_rows(std::min(kMR, M - r0),
                [&](auto R) { acc_avx512<R()>(Kp, A + r0 * Kp, pb, false, C + r0 * kNR); });
    return;
  }
  int64_t r0 = 0;
  for (; r0 + kMR <= M; r0 += kMR) kernel_6x16(Kp, A + r0 * Kp, pb, C + r0 * kNR);
  if (r0 == M) return;
  // The last rows without the zero rows the packed A pads them with.
  with_rows(M - r0, [&](auto R) {
    __m256i c[R()][2];
    tile_acc<R()>(Kp, A + r0 * Kp, pb, c);
    for (int i = 0; i < R(); ++i) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(C + (r0 + i) * kNR), c[i][0]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(C + (r0 + i) * kNR + 8), c[i][1]);
    }
  });
}

// Eight 8-bit values as int32 lanes.
QS_AVX2 inline __m256i widen(const void* p, bool sgn, int64_t i) {
  const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(static_cast<const char*>(p) + i));
  return sgn ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v);
}

QS_AVX2 int64_t add_8bit_avx2(int64_t n, const AddOperands& o, const AddMultipliers& m) {
  const __m256i za = _mm256_set1_epi32(o.za), zb = _mm256_set1_epi32(o.zb), zo = _mm256_set1_epi32(o.zo);
  const __m256i lo = _mm256_set1_epi32(o.lo), hi = _mm256_set1_epi32(o.hi);
  const __m256i ma = _mm256_set1_epi32(static_cast<int32_t>(m.ma)),
                mb = _mm256_set1_epi32(static_cast<int32_t>(m.mb));
  const __m256i off =
      _mm256_set1_epi64x(static_cast<int64_t>((uint64_t{1} << 62) + (uint64_t{1} << (m.shift - 1))));
  const __m256i sub = _mm256_set1_epi64x(int64_t{1} << (62 - m.shift));
  const __m128i sh = _mm_cvtsi32_si128(m.shift);
  // In 32 bits, 16 values per step: with m = h·2^16 + l, l in [−2^15, 2^15), H = da·ha + db·hb and
  // L = da·la + db·lb are each one VPMADDWD of the pairs (da, db) when h fits int16, below 2^24 in magnitude
  // for 8-bit inputs, and
  //   floor((H·2^16 + L + 2^(n−1)) / 2^n) = floor((H + 2^(n−17) + floor(L / 2^16)) / 2^(n−16))
  // (what floor(L / 2^16) drops is below 2^16 ≤ 2^n). For n > 46 the constant would not fit.
  auto split = [](int64_t v) {
    const int64_t l = ((v + 0x8000) & 0xFFFF) - 0x8000;
    return std::pair<int64_t, int64_t>{(v - l) >> 16, l};
  };
  const auto [ha, la] = split(m.ma);
  const auto [hb, lb] = split(m.mb);
  auto fits16 = [](int64_t v) { return v >= -32768 && v <= 32767; };
  int64_t i = 0;
  if (m.shift >= 17 && m.shift <= 46 && fits16(ha) && fits16(hb)) {
    auto pair16 = [](int64_t a, int64_t b) {
      return _mm256_set1_epi32(static_cast<int32_t>((static_cast<uint32_t>(static_cast<uint16_t>(b)) << 16) |
                                                    static_cast<uint16_t>(a)));
    };
    const __m256i hp = pair16(ha, hb), lp = pair16(la, lb);
    const __m256i c = _mm256_set1_epi32(int32_t{1} << (m.shift - 17));
    const __m128i sh16 = _mm_cvtsi32_si128(m.shift - 16);
    const __m256i za16 = _mm256_set1_epi16(static_cast<int16_t>(o.za)),
                  zb16 = _mm256_set1_epi16(static_cast<int16_t>(o.zb));
    const __m128i lo8 = _mm_set1_epi8(static_cast<char>(o.lo)), hi8 = _mm_set1_epi8(static_cast<char>(o.hi));
    auto w16 = [](const void* p, bool sgn, int64_t j) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const char*>(p) + j));
      return sgn ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v);
    };
    auto part = [&](__m256i pairs) {
      const __m256i h = _mm256_madd_epi16(pairs, hp), l = _mm256_madd_epi16(pairs, lp);
      const __m256i q = _mm256_add_epi32(_mm256_add_epi32(h, c), _mm256_srai_epi32(l, 16));
      return _mm256_add_epi32(_mm256_sra_epi32(q, sh16), zo);
    };
    for (; i + 16 <= n; i += 16) {
      const __m256i da = _mm256_sub_epi16(w16(o.a, o.a_signed, i), za16);
      const __m256i db = _mm256_sub_epi16(w16(o.b, o.b_signed, i), zb16);
      // Per 128-bit lane, unpacklo holds values 0-3 (8-11) and unpackhi 4-7 (12-15): packed back in order.
      const __m256i v16 =
          _mm256_packs_epi32(part(_mm256_unpacklo_epi16(da, db)), part(_mm256_unpackhi_epi16(da, db)));
      const __m128i a = _mm256_castsi256_si128(v16), b = _mm256_extracti128_si256(v16, 1);
      __m128i v8 = o.y_signed ? _mm_packs_epi16(a, b) : _mm_packus_epi16(a, b);
      v8 = o.y_signed ? _mm_min_epi8(_mm_max_epi8(v8, lo8), hi8) : _mm_min_epu8(_mm_max_epu8(v8, lo8), hi8);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<char*>(o.y) + i), v8);
    }
  }
  const int64_t body = n - n % 8;
  for (; i < body; i += 8) {
    const __m256i da = _mm256_sub_epi32(widen(o.a, o.a_signed, i), za);
    const __m256i db = _mm256_sub_epi32(widen(o.b, o.b_signed, i), zb);
    // da·ma + db·mb in 64 bits, even and odd lanes; the rounding shift as in requant8.
    __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(da, ma), _mm256_mul_epi32(db, mb));
    __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(da, 32), ma),
                                  _mm256_mul_epi32(_mm256_srli_epi64(db, 32), mb));
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

}  // namespace qs::intgemm::detail
