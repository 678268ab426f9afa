// The optimized integer GEMM under Conv, Gemm and MatMul: C = A·B with int16 operands and int32
// accumulators, followed by the requantization epilogue (bias, fixed-point multiplier, zero point,
// clamp, narrowing store).
//
// Why int16 operands and not AVX2's u8×s8 VPMADDUBSW: that instruction adds two u8·s8 products into a
// saturating int16, and 255·127·2 = 64770 does not fit, so it silently saturates on ordinary int8 data
// (ONNX Runtime and FBGEMM work around this with 7-bit "reduce_range" weights). Here both operands are
// widened to int16 once, when packed (x − x_zp and w − w_zp, at most 255 in magnitude for 8-bit grids),
// and VPMADDWD multiplies int16 pairs into exact int32 sums, so no intermediate can overflow; the caller
// guarantees the int32 accumulator cannot either (LayerQuant::int32_safe).
//
// Packed layouts (K is padded to even with zeros, rows/columns to whole blocks with zeros):
//   A: row blocks of kMR rows; within a block, for each k pair p, kMR int32 words, word i holding
//      a[r][2p] in its low 16 bits and a[r][2p+1] in its high 16 bits.
//   B: column panels of kNR columns; within a panel, for each k pair p, kNR pairs of int16
//      (b[2p][j], b[2p+1][j]).
// A kMR×kNR tile then needs, per k pair, 2 loads of B, kMR broadcasts of A and 2·kMR VPMADDWD.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/int/isa.h"
#include "core/int/requant.h"
#include "core/tensor/dtype.h"

namespace qs::intgemm {

inline constexpr int64_t kMR = 6;
inline constexpr int64_t kNR = 16;

inline int64_t k_pairs(int64_t K) { return (K + 1) / 2; }
inline int64_t row_blocks(int64_t M) { return (M + kMR - 1) / kMR; }
inline int64_t col_panels(int64_t N) { return (N + kNR - 1) / kNR; }
// Sizes of packed operands: int32 words for A, int16 values for B.
inline int64_t packed_a_size(int64_t M, int64_t K) { return row_blocks(M) * kMR * k_pairs(K); }
inline int64_t packed_b_size(int64_t N, int64_t K) { return col_panels(N) * kNR * 2 * k_pairs(K); }

// A from a row-major int32 matrix (values must fit int16): rows [0, M) of src with row stride ld.
void pack_a(int64_t M, int64_t K, const int32_t* src, int64_t ld, int32_t* dst);
// A from activations of type T (int8, uint8, int16, uint16): a = x − zp.
template <typename T>
void pack_a_act(int64_t M, int64_t K, const T* x, int64_t ld, int32_t zp, int32_t* dst);
// The same, 8-bit rows through AVX2 where `isa` is Avx2 (a channels-last 1×1 convolution's positions).
template <typename T>
void pack_a_act(IntIsa isa, int64_t M, int64_t K, const T* x, int64_t ld, int32_t zp, int32_t* dst);
// B from a K×N matrix given column-wise: b[k][j] = src[j*ld + k] (e.g. a Gemm weight [N, K]).
void pack_b_cols(int64_t N, int64_t K, const int32_t* src, int64_t ld, int32_t* scratch, int16_t* dst);
// B from a row-major K×N int32 matrix (values must fit int16).
void pack_b_rows(int64_t N, int64_t K, const int32_t* src, int64_t ld, int16_t* dst);
// One k pair of B from two int16 rows of N values (row1 may be nullptr: zeros), into the panels at dst.
void pack_b_pair(int64_t N, int64_t K, int64_t pair, const int16_t* row0, const int16_t* row1, int16_t* dst);
// The same with the AVX2 interleave when `isa` is Avx2.
void pack_b_pair(IntIsa isa, int64_t N, int64_t K, int64_t pair, const int16_t* row0, const int16_t* row1,
                 int16_t* dst);
// One k pair of B straight from two activation rows of type T (int8, uint8, int16, uint16): b = x − zp,
// row1 nullptr for zeros (the padding row of an odd K; not − zp). A 1×1 convolution's B without im2col.
template <typename T>
void pack_b_pair_act(IntIsa isa, int64_t N, int64_t K, int64_t pair, const T* row0, const T* row1, int32_t zp,
                     int16_t* dst);
// dst[j] = src[j·stride] − zp for j in [0, n): activations widened to the int16 operands of the kernels.
template <typename T>
void widen_row(IntIsa isa, const T* src, int64_t n, int64_t stride, int32_t zp, int16_t* dst);
// widen_row in whole vectors of 16 (stride 1 or 2, 8-bit T, AVX2): dst[j] = src[j·stride] − zp for j < n and
// zeros in dst[n .. 16·⌈n/16⌉); reads src[0 .. widen_span(n, stride)) (the caller makes sure that is
// readable). Other types, strides or ISAs: exactly widen_row. The depthwise kernel's phase-plane rows.
// dst[j] = src[j·stride] for j in [0, n); with AVX2 and stride 2 it may read src[2n − 1] (one past the last
// element used).
void gather_row(IntIsa isa, const int16_t* src, int64_t n, int64_t stride, int16_t* dst);
inline int64_t widen_span(int64_t n, int64_t stride) { return 16 * ((n + 15) / 16) * stride; }
template <typename T>
void widen_row_blocks(IntIsa isa, const T* src, int64_t n, int64_t stride, int32_t zp, int16_t* dst);
// widen_row_blocks for a list of rows of one source: dst + c.dst ← src + c.src, c.n values, for each copy c
// in order (one call per plane instead of one per row: at 7×7 the calls cost more than the rows).
struct RowCopy {
  int64_t dst, src, n;
};
template <typename T>
void widen_rows(IntIsa isa, const T* src, const RowCopy* copies, size_t count, int64_t stride, int32_t zp,
                int16_t* dst);

// Per-channel requantization constants laid out for 8-lane vectors (see gemm_int.cpp).
// Channels are padded to a multiple of 16. The *_lanes arrays hold the 64-bit constants of each group of
// 8 channels in the order the AVX2 epilogue consumes them: the even channels (0, 2, 4, 6), then the odd.
struct RequantTable {
  int64_t channels = 0;
  std::vector<int32_t> m0, limit, shift, bias;  // per channel
  std::vector<int64_t> offset, sub;             // 2^62 + 2^(n-1) and 2^(62-n), per channel
  std::vector<int64_t> offset_lanes, sub_lanes, shift_lanes;
  // The shorter AVX2 path for shifts n >= 32 (multipliers below 1/2, the usual case): the high 32 bits of
  // a·M0 + 2^(n-1) are floor(·/2^32) exactly, and an arithmetic shift by n − 32 finishes the floor. No
  // clamp to `limit` is needed there: int32 accumulators give |a·M0| < 2^62, and a result past the limit
  // is past every output range as the clamped one is (R is monotonic). The bias goes into the rounding
  // constant, (acc + bias)·M0 + 2^(n-1) = acc·M0 + (bias·M0 + 2^(n-1)), which saves a vector add per 8
  // outputs (every term and the sum are below 2^63).
  std::vector<int64_t> round;        // bias·M0 + 2^(n-1) for n >= 32, per channel
  std::vector<int64_t> round_lanes;  // `round`, lane order as offset_lanes
  std::vector<int32_t> shift32;      // n − 32 (0 for n < 32), per channel
  std::vector<uint8_t> fast8;        // per group of 8 channels: every (real) channel has n >= 32
  explicit RequantTable(const std::vector<FixedMultiplier>& m = {}, const std::vector<int32_t>& bias = {});
  // The output zero point folded into `round` as zp·2^n, so that the shift leaves R(acc + bias) + zp and the
  // epilogue adds nothing (Epilogue::zp is then the rest, zp − folded_zp = 0): only when every channel takes
  // the n >= 32 path and |zp|·2^n < 2^60, which keeps acc·M0 + round below 2^63. Returns whether it did.
  // Only the AVX2 n >= 32 path reads `round`; callers keep an unfolded table for the others.
  bool fold_zero_point(int32_t zp);
  int32_t folded_zp = 0;
};

struct Epilogue {
  const RequantTable* rq = nullptr;
  bool channel_is_row = true;  // the output channel is the row of C (Conv) or its column (Gemm)
  int64_t channel0 = 0;        // channel of row 0 (or column 0) of this call; a multiple of 8 per column
  int32_t zp = 0, lo = 0, hi = 0;
  // Int8, UInt8, Int16 or UInt16; or Int32: the raw accumulators, no requantization (rq, zp, lo and hi
  // unused), for callers that sum them further before the epilogue (ConvTranspose's col2im).
  DType out = DType::Int8;
  void* y = nullptr;        // element (0, 0) of this call's output
  int64_t ldy = 0;          // row stride of y in elements
};

// C[M×N] = A·B (packed, K columns/rows), then the epilogue writes y. `isa` is Portable or Avx2.
void gemm(IntIsa isa, int64_t M, int64_t N, int64_t K, const int32_t* A, const int16_t* B, const Epilogue& e);

// The epilogue alone, on accumulators summed outside the GEMM (ConvTranspose's col2im): row i of y (at e.y +
// i·e.ldy elements) is the epilogue of acc[i·lda + j], j < n, with channel e.channel0 + i (e.channel_is_row
// must be set; e.out not Int32).
void requantize_rows(IntIsa isa, int64_t rows, int64_t n, const int32_t* acc, int64_t lda, const Epilogue& e);

// The same with B in rows instead of packed panels: k pair p's pairs (b[2p][j], b[2p+1][j]) are Bp[p][2j],
// Bp[p][2j+1] for every column j (the layout of a packed panel, continued along the row), so a B whose
// k pairs are runs of one interleaved buffer (a convolution's window with channels interleaved in pairs)
// needs no packing. Reads columns up to round_up(N, kNR) of every row (the caller keeps them readable).
// AVX2 only.
void gemm_rows(int64_t M, int64_t N, int64_t K, const int32_t* A, const int16_t* const* Bp,
               const Epilogue& e);
// dst[2j] = r0[j·stride] − zp, dst[2j+1] = r1[j·stride] − zp for j < n (r1 nullptr: 0), 8-bit rows (signed
// when `sgn`): two channels' rows as the pairs gemm_rows reads. Reads at most max((n−1)·stride + 1,
// readable) bytes of each row, and where it reads past the row it also writes whole vectors of pairs past
// dst[2n] (up to dst[2·round_up(n, 16)]). AVX2 only.
void interleave_rows8(const void* r0, const void* r1, bool sgn, int64_t n, int64_t stride, int32_t zp,
                      int16_t* dst, int64_t readable);

// Direct depthwise convolution of one channel (no im2col): output (oh, ow) is
//   Σ_t w[t] · buf[off[t] + oh·RS + ow]
// over the taps t, with buf the channel's zero-point-subtracted, zero-padded input as int16 phase planes
// (one per stride phase, so every tap reads a contiguous run) and every row readable 16 values past OW.
// The result goes through the epilogue with channel e.channel0 into y (OH × OW, row stride e.ldy); when
// e.ldy == OW, a row's store may write past its end into the next row (always written after it), never
// past the last row.
struct DepthwisePlane {
  const int16_t* buf = nullptr;
  const int64_t* off = nullptr;     // per tap
  const int32_t* wpairs = nullptr;  // taps in pairs, as A words: w[2p] low 16 bits, w[2p+1] high
  int64_t taps = 0, OH = 0, OW = 0, RS = 0;
};
void depthwise(IntIsa isa, const DepthwisePlane& p, const Epilogue& e);

// Depthwise convolution of up to 16 channels of one image at once, channel-interleaved (one position of
// the 16 channels per vector, as NCHWc layouts do): every lane is used whatever the plane size, where a
// 7×7 plane leaves most lanes of DepthwisePlane's rows idle and pays per-plane setup for 49 outputs.
// 8-bit input (channel c's plane at x + c·H·W) and 8-bit output (e.y: channel e.channel0's plane, the next
// ones OH·OW apart); taps at most 2·kMaxChannelPairs. Scratch: `in` Hp·Wp·16 int16 and `out` OH·OW·16
// bytes, Hp = (OH−1)·sh + (KH−1)·dh + 1, Wp likewise. AVX2 only (the caller checks): the result equals
// depthwise() on the same data. Rows of the output can be done apart: x at the first input row a band of
// output rows reads, H the rows from there, ph the padding rows above it (see PackedConv).
inline constexpr int64_t kMaxChannelPairs = 32;
inline constexpr int kChannelLanes[16] = {0, 1, 2, 3, 8,  9,  10, 11,
                                          4, 5, 6, 7, 12, 13, 14, 15};  // lane → channel
struct DepthwiseChannels {
  const void* x = nullptr;
  bool x_signed = true;
  int64_t channels = 0;  // 1..16
  int64_t H = 0, W = 0, OH = 0, OW = 0, KH = 0, KW = 0, sh = 1, sw = 1, dh = 1, dw = 1, ph = 0, pw = 0;
  int32_t zx = 0;
  // Per tap pair t, the pair words (as DepthwisePlane::wpairs) of the 16 channels at wlanes + 16·t in lane
  // order: channels 0-3, 8-11, 4-7, 12-15 (the order VPUNPCKL/HWD leave them in), 0 for missing channels.
  // e.rq holds the requantization constants in the same order (channel e.channel0 + j in lane j).
  const int32_t* wlanes = nullptr;
  int16_t* in = nullptr;
  unsigned char* out = nullptr;
  // Channels-last (NHWC) data instead of planes when x_pos > 0: input position p's channels at x + p·x_pos
  // bytes (this block's first channel), output position q's at e.y + q·y_pos; `out` is then unused. The
  // same arithmetic without the transposes into and out of the interleaved order.
  int64_t x_pos = 0, y_pos = 0;
};

// Winograd F(2×2, 3×3) (Lavin & Gray 2016) for 3×3 stride-1 convolutions: each 2×2 block of outputs from
// the 4×4 input tile d under it, Y = Aᵀ·[U ⊙ V]·A with V = Bᵀ·d·B and U = G·g·Gᵀ, summed over input
// channels as 16 GEMMs (one per element ξ of the 4×4 transformed tile) with K = input channels: 16 instead
// of 36 multiply-adds per tile and channel. G has halves, so the weights are transformed with 2G, giving
// U' = 4U in integers and Y' = 4·acc; Y' is formed in int32 arithmetic that may wrap in between (the
// transformed products and their sums), which leaves it exact whenever |4·acc| < 2^31 (checked per layer,
// conv_winograd.cpp). |V| ≤ 4·max|x − zp| and |U'| ≤ 9·max|w − w_zp| must fit int16 (VPMADDWD operands).
inline constexpr int kWinoElems = 16;
// U'_ξ for ξ = 4·r + s of the 3×3 kernel g (row-major): u[ξ] = Σ_ab (2G)[r][a]·g[a][b]·(2G)[s][b].
void winograd_weight(const int32_t* g, int32_t* u);
// The input of a run of tile rows of one image: per channel pair, `rows` rows of `cols` int16 pairs (the
// two channels' x − zp, padding 0) starting at input row 2·t0 − pad and column −pad, tile row t (from t0)
// at rows 2t .. 2t + 3; readable 16 pairs past the last row.
struct WinogradInput {
  const int16_t* win = nullptr;
  int64_t Cp = 0;  // channel pairs (k pairs of each product GEMM)
  int64_t rows = 0, cols = 0;
};
// The 16 products of one panel of 16 tiles, int32 rows of kNR: element ξ, row m at prod + (ξ·rows + m)·kNR.
// The outputs of row m go to y0 + m·ld (the tiles' top output row) and y1 + m·ld (bottom), 2 bytes per tile.
struct WinogradOutput {
  const int32_t* prod = nullptr;
  int64_t rows = 0;
  unsigned char* y0 = nullptr;
  unsigned char* y1 = nullptr;
  int64_t ld = 0;
};

// Add/Sub of two equally shaped 8-bit tensors: y = clamp(zo + add_requantize(a − za, b − zb, m), lo, hi)
// (requant.h), a/b/y int8 or uint8 as the flags say. |m.ma|, |m.mb| < 2^31.
struct AddOperands {
  const void* a = nullptr;
  const void* b = nullptr;
  void* y = nullptr;
  bool a_signed = true, b_signed = true, y_signed = true;
  int32_t za = 0, zb = 0, zo = 0, lo = 0, hi = 0;
};
void add_8bit(IntIsa isa, int64_t n, const AddOperands& o, const AddMultipliers& m);

// The epilogue for one value (what every path computes): clamp(zp + R(acc + bias[c]), lo, hi).
int32_t epilogue_value(int32_t acc, int64_t channel, const Epilogue& e);

// Whether the AVX2 GEMM tiles accumulate with AVX-512 VNNI: one VPDPWSSD per tile row and k pair on a
// 512-bit register (16 columns) where AVX2 needs a VPMADDWD and a VPADDD on each of two 256-bit halves —
// the same exact int32 sums. On by default where the CPU has it (cpu_has_avx512_vnni), unless the
// environment sets QS_INT_AVX512=0. set_avx512 is for tests and benchmarks comparing the two; turning it on
// where the CPU lacks it does nothing.
bool avx512_enabled();
void set_avx512(bool on);

namespace detail {
// f(std::integral_constant<int, R>{}) for a row block of `rows` rows (1..kMR): the tile kernels are
// templates on their row count.
template <typename F>
void with_rows(int64_t rows, F&& f) {
  switch (rows) {
    case 1:
      return f(std::integral_constant<int, 1>{});
    case 2:
      return f(std::integral_constant<int, 2>{});
    case 3:
      return f(std::integral_constant<int, 3>{});
    case 4:
      return f(std::integral_constant<int, 4>{});
    case 5:
      return f(std::integral_constant<int, 5>{});
    default:
      return f(std::integral_constant<int, 6>{});
  }
}
static_assert(kMR == 6, "with_rows dispatches row blocks of up to 6 rows");

// The AVX2 implementation (gemm_int_avx2.cpp); only called when the CPU has AVX2.
void gemm_avx2(int64_t M, int64_t N, int64_t K, const int32_t* A, const int16_t* B, const Epilogue& e);
void requantize_rows_avx2(int64_t rows, int64_t n, const int32_t* acc, int64_t lda, const Epilogue& e);
void pack_b_pair_avx2(int64_t N, int64_t K, int64_t pair, const int16_t* row0, const int16_t* row1,
                      int16_t* dst);
// 8-bit rows (signed when `sgn`): every panel when N >= kNR, else none; returns the columns done.
int64_t pack_b_pair_act8_avx2(int64_t N, int64_t K, int64_t pair, const void* row0, const void* row1,
                              bool sgn, int32_t zp, int16_t* dst);
// 8-bit source, stride 1 or 2: returns how many leading elements it did (never reading past
// src[(n−1)·stride]).
int64_t widen_row8_avx2(const void* src, bool sgn, int64_t n, int64_t stride, int32_t zp, int16_t* dst);
int64_t gather_row2_avx2(const int16_t* src, int64_t n, int16_t* dst);
// A's pairs [0, returned) of its whole row blocks (M / kMR of them) from 8-bit rows: 8 pairs per 16 bytes
// of each row, then 4 per 8 bytes, never reading past a row's K bytes; the caller packs the rest.
int64_t pack_a_act8_avx2(int64_t M, int64_t K, const void* x, int64_t ld, bool sgn, int32_t zp, int32_t* dst);
void widen_row_blocks8_avx2(const void* src, bool sgn, int64_t n, int64_t stride, int32_t zp, int16_t* dst);
void depthwise_avx2(const DepthwisePlane& p, const Epilogue& e);
void depthwise_channels_avx2(const DepthwiseChannels& d, const Epilogue& e);
void gemm_rows_avx2(int64_t M, int64_t N, int64_t K, const int32_t* A, const int16_t* const* Bp,
                    const Epilogue& e);
void interleave_rows8_avx2(const void* r0, const void* r1, bool sgn, int64_t n, int64_t stride, int32_t zp,
                           int16_t* dst, int64_t readable);
void widen_rows8_avx2(const void* src, bool sgn, const RowCopy* copies, size_t count, int64_t stride,
                      int32_t zp, int16_t* dst);
// C = A·B for one 16-column panel of B given in rows (k pair p at rows[p] + off bytes, as gemm_rows reads
// it), M rows of A, as int32 rows of kNR (row r at C + kNR·r): the raw products of the Winograd path.
void gemm_panel_i32_avx2(int64_t M, int64_t Kp, const int32_t* A, const int16_t* const* rows, int64_t off,
                         int32_t* C);
// V of the first `count` tiles of tile row t into columns c0 .. c0 + count − 1 of the rows of V (element
// ξ, channel pair cp: the row at V + (ξ·Cp + cp)·2·stride, `stride` pairs): whole vectors of 8 tiles, so up
// to 7 columns past c0 + count are written too (the caller gives later tiles those columns afterwards, or
// room).
void winograd_input_avx2(const WinogradInput& in, int64_t t, int64_t count, int16_t* V, int64_t stride,
                         int64_t c0);
// The output transform and epilogue (channel of row m: e.channel0 + m; 8-bit e.out; e.y unused).
void winograd_output_avx2(const WinogradOutput& o, const Epilogue& e);
// Elements [0, n − n % 8); returns how many it did.
int64_t add_8bit_avx2(int64_t n, const AddOperands& o, const AddMultipliers& m);
}  // namespace detail

}  // namespace qs::intgemm
