// Internal to the integer GEMM (gemm_int_avx2.cpp, gemm_int_avx512.cpp): a column panel of B as the tiles
// read it, and the tiles with AVX-512 VNNI (gemm_int_avx512.cpp), which the AVX2 GEMM calls where
// avx512_enabled() (gemm_int.h). Each gives the integers of the AVX2 tile it stands for.
#pragma once

#include <cstdint>

#include "core/int/avx2_lanes.h"
#include "core/int/gemm_int.h"

namespace qs::intgemm::detail {

// One column panel of B: packed (k pair p's 16 column pairs at packed + 32p) or in rows (at rows[p] + off
// bytes, gemm_rows in gemm_int.h).
struct PanelB {
  const int16_t* packed = nullptr;
  const int16_t* const* rows = nullptr;
  int64_t off = 0;
  const int16_t* at(int64_t p) const {
    return packed ? packed + p * 2 * kNR
                  : reinterpret_cast<const int16_t*>(reinterpret_cast<const char*>(rows[p]) + off);
  }
};

// The raw R×16 tile (R = 1..kMR) as rows of 16 int32 at `tile`; `half`: only the panel's first 8 columns
// are real, and only they are read.
template <int R>
void acc_avx512(int64_t Kp, const int32_t* A, const PanelB& pb, bool half, int32_t* tile);

// 8-bit tiles of 6 rows that requantize in registers, Kp >= 1, y their first output row, rows ldy bytes
// apart, [lo, hi] the output range:
// - channels on columns (Gemm, channels-last 1×1), B packed, every channel on the n >= 32 path with the
//   zero point folded (Epilogue::zp = 0); k: the columns' LaneConsts, two per panel. 6×32 covers two
//   adjacent panels (the second `pstride` bytes after the first) of which the second has `cols` (1..16)
//   real columns.
void kernel_6x16_bytes_vnni(int64_t Kp, const int32_t* A, const int16_t* B, const LaneConsts* k, int32_t lo,
                            int32_t hi, unsigned char* y, int64_t ldy);
void kernel_6x32_bytes_vnni(int64_t Kp, const int32_t* A, const int16_t* B, int64_t pstride,
                            const LaneConsts* k, int32_t lo, int32_t hi, unsigned char* y, int64_t ldy,
                            int64_t cols);
// - channels on rows (Conv), each of the six on the n >= 32 path: m0, rnd, sh the RequantTable's m0, round
//   and shift32 from the tile's first channel, zp the zero point to add. 6×16: `cols` (1..16) real columns;
//   6×32: two adjacent panels (packed: `pstride` bytes apart; in rows: 64 bytes), the first whole, the
//   second with `cols` real columns.
void kernel_6x16_rows_vnni(int64_t Kp, const int32_t* A, const PanelB& pb, const int32_t* m0,
                           const int64_t* rnd, const int32_t* sh, int32_t zp, int32_t lo, int32_t hi,
                           unsigned char* y, int64_t ldy, int64_t cols);
void kernel_6x32_rows_vnni(int64_t Kp, const int32_t* A, const PanelB& pb, int64_t pstride, const int32_t* m0,
                           const int64_t* rnd, const int32_t* sh, int32_t zp, int32_t lo, int32_t hi,
                           unsigned char* y, int64_t ldy, int64_t cols);

}  // namespace qs::intgemm::detail
