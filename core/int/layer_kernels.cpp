#include "core/int/layer_kernels.h"

#include <algorithm>
#include <cstring>

#include "core/common/error.h"
#include "core/common/parallel.h"
#include "core/int/conv_parts.h"
#include "core/int/int_tensor.h"
#include "core/int/pool_int.h"
#include "core/ops/gemm_eigen.h"

namespace qs {

using namespace conv_parts;

namespace {

using namespace intgemm;

// Columns per block so that a packed block (k_pairs · cols int32 words) stays within ~160 KB (L2-resident:
// the GEMM reads each 16-column panel once, from L2, and keeps it in L1 over all row blocks), and enough
// blocks for every thread when there are few images. Larger blocks mean fewer window rows widened twice.
// One thread takes an image whole (splitting it only cut its grid into more, emptier panels: ResNet's 7×7
// layers at batch 1 computed 6 panels for 4).
int64_t column_block(int64_t K, int64_t P, int64_t outer_items) {
  int64_t nc = std::max<int64_t>(kNR, (163840 / (k_pairs(K) * 4)) / kNR * kNR);
  const int64_t want = num_threads() > 1 ? 2 * num_threads() : 1;
  if (outer_items < want)
    nc = std::min(nc, std::max(kNR, round_up(ceil_div(P, ceil_div(want, outer_items)), kNR)));
  return std::min(nc, round_up(P, kNR));
}

// The input rows a block of output positions reads, for `channels` planes, as int16 x − zp with the
// padding written as 0: im2col rows then become contiguous copies (no bounds checks), for any padding.
struct Window {
  int64_t r0 = 0, rows = 0;  // input rows [r0, r0 + rows) (r0 may be negative: padding)
  int64_t c0 = 0, cols = 0;  // input columns [c0, c0 + cols), c0 = −pad_begin
  std::vector<int16_t>* buf = nullptr;
  const int16_t* at(int64_t c, int64_t r, int64_t col) const {
    return buf->data() + (c * rows + (r - r0)) * cols + (col - c0);
  }
};

template <typename T>
void fill_window(IntIsa isa, const T* planes, const T* x_end, int64_t channels, int32_t zp, const Geo2& g,
                 int64_t p0, int64_t nc, Window& w) {
  const int64_t oh0 = p0 / g.OW, oh1 = (p0 + nc - 1) / g.OW;
  w.r0 = oh0 * g.sh - g.ph;
  w.rows = (oh1 - oh0) * g.sh + (g.KH - 1) * g.dh + 1;
  w.c0 = -g.pw;
  w.cols = (g.OW - 1) * g.sw + (g.KW - 1) * g.dw + 1;
  w.buf->resize(
      static_cast<size_t>(channels * w.rows * w.cols + 16));  // + the zeros a last row may write past
  int16_t* d = w.buf->data();
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t r = w.r0; r < w.r0 + w.rows; ++r) {
      if (r < 0 || r >= g.IH) {
        std::fill(d, d + w.cols, int16_t{0});
      } else {
        const T* src = planes + (c * g.IH + r) * g.IW;
        // Columns j with 0 <= c0 + j < IW hold data; the others are padding.
        const int64_t a = std::clamp<int64_t>(-w.c0, 0, w.cols),
                      b = std::clamp<int64_t>(g.IW - w.c0, a, w.cols);
        // Rows in order: what widen_row_blocks writes past the data (zeros) is rewritten after it.
        for (int64_t j = 0; j < a; ++j) d[j] = 0;
        const T* s = src + w.c0 + a;
        if (b > a && s + widen_span(b - a, 1) <= x_end)
          widen_row_blocks(isa, s, b - a, 1, zp, d + a);
        else
          widen_row(isa, s, b - a, 1, zp, d + a);
        for (int64_t j = b; j < w.cols; ++j) d[j] = 0;
      }
      d += w.cols;
    }
}

// im2col row of tap (kh, kw) of channel c over output positions [p0, p0 + nc), from the window.
void window_row(IntIsa isa, const Window& w, const Geo2& g, int64_t c, int64_t kh, int64_t kw, int64_t p0,
                int64_t nc, int16_t* dst) {
  int64_t j = 0, p = p0;
  while (j < nc) {
    const int64_t oh = p / g.OW, ow0 = p % g.OW;
    const int64_t seg = std::min(g.OW - ow0, nc - j);
    const int16_t* src = w.at(c, oh * g.sh + kh * g.dh - g.ph, ow0 * g.sw + kw * g.dw - g.pw);
    if (g.sw == 1) {
      std::memcpy(dst + j, src, static_cast<size_t>(seg) * sizeof(int16_t));
    } else {
      gather_row(isa, src, seg, g.sw, dst + j);
    }
    j += seg;
    p += seg;
  }
}

// Copies `rows` rows of rb bytes from src (row stride ss) to consecutive rows of dst. Rows are copied in
// order in 16-byte pieces where the last piece stays inside the destination block (what it writes past its
// row is rewritten by the rows after it), the others exactly: the bytes after the block may belong to
// another thread's work.
void copy_rows(char* dst, const char* src, size_t ss, int64_t rows, size_t rb) {
  const size_t block = static_cast<size_t>(rows) * rb, span = (rb + 15) / 16 * 16;
  for (int64_t r = 0; r < rows; ++r) {
    char* d = dst + static_cast<size_t>(r) * rb;
    const char* s = src + static_cast<size_t>(r) * ss;
    if (static_cast<size_t>(r) * rb + span <= block) {
      for (size_t o = 0; o < rb; o += 16) std::memcpy(d + o, s + o, 16);
    } else {
      std::memcpy(d, s, rb);
    }
  }
}

// Output rows [0, rows) of a 2×2 stride-2 max pooling of grid rows at src (row stride `pitch` elements)
// into consecutive rows of OW values at dst: the portable form of detail::max_pool_2x2_rows_8bit_avx2.
template <typename T>
void max_pool_2x2_rows(const T* src, int64_t pitch, T* dst, int64_t rows, int64_t OW) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* a = src + 2 * r * pitch;
    const T* b = a + pitch;
    for (int64_t j = 0; j < OW; ++j)
      dst[r * OW + j] = std::max(std::max(a[2 * j], a[2 * j + 1]), std::max(b[2 * j], b[2 * j + 1]));
  }
}

// Output rows per block of a grid convolution: what fits nc_max columns of `pitch`, an even count (≥ 2)
// when its result is max-pooled 2×2 as it is copied out, so that no window straddles two blocks.
int64_t grid_rows_per_block(int64_t nc_max, int64_t pitch, bool pool) {
  return pool ? std::max<int64_t>(2, nc_max / pitch / 2 * 2) : std::max<int64_t>(1, nc_max / pitch);
}

}  // namespace

PackedConv::PackedConv(const LayerQuant& q, int64_t group) : q_(q), group_(group), rq_(q.mult, q.bias) {
  const int64_t M = q.out_channels;
  Mg_ = M / group;
  K_ = static_cast<int64_t>(q.w.size()) / M;
  std::vector<int32_t> rows(static_cast<size_t>(Mg_ * K_));
  for (int64_t gi = 0; gi < group; ++gi) {
    for (int64_t m = 0; m < Mg_; ++m)
      for (int64_t k = 0; k < K_; ++k) {
        const int64_t c = gi * Mg_ + m;
        rows[static_cast<size_t>(m * K_ + k)] =
            q.w[static_cast<size_t>(c * K_ + k)] - q.w_zp[static_cast<size_t>(c)];
      }
    std::vector<int32_t> a(static_cast<size_t>(packed_a_size(Mg_, K_)));
    pack_a(Mg_, K_, rows.data(), K_, a.data());
    a_.push_back(std::move(a));
  }
  cols_taps_ = q.wshape.size() == 4 && q.wshape[1] == 1 && q.wshape[2] >= 2 && q.wshape[3] % 2 == 1 &&
               q.wshape[3] >= 3 && Mg_ > 1;
  if (q.wshape.size() == 4 && q.wshape[1] == 1 && q.wshape[3] >= 2 && Mg_ > 1 && !cols_taps_) {
    const int64_t KH = q.wshape[2], KW = q.wshape[3], KWp = (KW + 1) / 2;
    k_cols_ = 2 * KH * KWp;
    std::vector<int32_t> r(static_cast<size_t>(Mg_ * k_cols_));
    for (int64_t gi = 0; gi < group; ++gi) {
      for (int64_t m = 0; m < Mg_; ++m) {
        const int64_t oc = gi * Mg_ + m;
        for (int64_t kh = 0; kh < KH; ++kh)
          for (int64_t kw = 0; kw < 2 * KWp; ++kw)
            r[static_cast<size_t>(m * k_cols_ + kh * 2 * KWp + kw)] =
                kw < KW ? q.w[static_cast<size_t>(oc * K_ + kh * KW + kw)] - q.w_zp[static_cast<size_t>(oc)]
                        : 0;
      }
      std::vector<int32_t> a(static_cast<size_t>(packed_a_size(Mg_, k_cols_)));
      pack_a(Mg_, k_cols_, r.data(), k_cols_, a.data());
      a_cols_.push_back(std::move(a));
    }
  }
  if (q.wshape.size() == 4 && q.wshape[1] >= 2) {
    const int64_t Cg = q.wshape[1], KS = q.wshape[2] * q.wshape[3], Cp = (Cg + 1) / 2;
    k_rows_ = 2 * Cp * KS;
    std::vector<int32_t> r(static_cast<size_t>(Mg_ * k_rows_));
    for (int64_t gi = 0; gi < group; ++gi) {
      for (int64_t m = 0; m < Mg_; ++m) {
        const int64_t oc = gi * Mg_ + m;
        for (int64_t cp = 0; cp < Cp; ++cp)
          for (int64_t t = 0; t < KS; ++t)
            for (int64_t h = 0; h < 2; ++h) {
              const int64_t c = 2 * cp + h;
              r[static_cast<size_t>(m * k_rows_ + 2 * (cp * KS + t) + h)] =
                  c < Cg ? q.w[static_cast<size_t>(oc * K_ + c * KS + t)] - q.w_zp[static_cast<size_t>(oc)]
                         : 0;
            }
      }
      std::vector<int32_t> a(static_cast<size_t>(packed_a_size(Mg_, k_rows_)));
      pack_a(Mg_, k_rows_, r.data(), k_rows_, a.data());
      a_rows_.push_back(std::move(a));
    }
  }
  wino_ = winograd_weights(q, group);
  depthwise_ = Mg_ == 1 && q.wshape.size() == 4 && q.wshape[1] == 1;
  if (depthwise_)
    for (int64_t c = 0; c < M; ++c) {
      std::vector<int32_t> pairs(static_cast<size_t>(k_pairs(K_)));
      for (int64_t t = 0; t < k_pairs(K_); ++t) {
        const int32_t lo = q.w[static_cast<size_t>(c * K_ + 2 * t)] - q.w_zp[static_cast<size_t>(c)];
        const int32_t hi = 2 * t + 1 < K_
                               ? q.w[static_cast<size_t>(c * K_ + 2 * t + 1)] - q.w_zp[static_cast<size_t>(c)]
                               : 0;
        pairs[static_cast<size_t>(t)] = static_cast<int32_t>(
            (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16) | static_cast<uint16_t>(lo));
      }
      dw_.push_back(std::move(pairs));
    }
  if (depthwise_ && K_ <= 2 * kMaxChannelPairs) {
    const int64_t blocks = (M + 15) / 16, pairs = k_pairs(K_);
    dw_lanes_.assign(static_cast<size_t>(blocks * pairs * 16), 0);
    // Missing channels: multiplier 0 with a shift of 32, so that they keep their block on the fast path.
    FixedMultiplier none;
    none.shift = 32;
    std::vector<FixedMultiplier> mult(static_cast<size_t>(blocks * 16), none);
    std::vector<int32_t> bias(static_cast<size_t>(blocks * 16), 0);
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t j = 0; j < 16; ++j) {
        const int64_t c = b * 16 + kChannelLanes[j];
        if (c >= M) continue;
        mult[static_cast<size_t>(b * 16 + j)] = q.mult[static_cast<size_t>(c)];
        bias[static_cast<size_t>(b * 16 + j)] = q.bias[static_cast<size_t>(c)];
        for (int64_t t = 0; t < pairs; ++t)
          dw_lanes_[static_cast<size_t>((b * pairs + t) * 16 + j)] =
              dw_[static_cast<size_t>(c)][static_cast<size_t>(t)];
      }
    rq_lanes_ = RequantTable(mult, bias);
  }
}

// The GEMM of group gi over output rows [oh0, oh1) whose columns are the output grid widened to `pitch`
// (nq = (oh1 − oh0 − 1)·pitch + OW of them; B packed, or in rows when `packed` is null), into a temporary,
// then its first OW columns of each grid row copied into the group's output planes at yg (P elements
// each). With `pool` (oh0 even), the 2×2 stride-2 max pooling of those rows is written instead: output
// rows [oh0/2, oh1/2) of OW/2 values, into planes of P = (OH/2)·(OW/2).
void PackedConv::gemm_grid_rows(IntIsa isa, const int32_t* A, int64_t K, const int16_t* packed,
                                const int16_t* const* rows, int64_t gi, int64_t nq, int64_t pitch,
                                int64_t oh0, int64_t oh1, int64_t OW, int64_t P, char* yg, bool pool) const {
  const DType out_t = storage_dtype(q_.out);
  const size_t es = elem(out_t);
  // + whole-vector reads of the pooling past the last grid row's OW columns
  const size_t tmp_bytes = static_cast<size_t>(Mg_ * nq + 32) * es;
  char* tmp = static_cast<char*>(thread_scratch(ScratchSlot::kOutput, tmp_bytes));
  const Epilogue e = epilogue(q_, rq_, true, gi * Mg_, tmp, nq);
  if (packed)
    gemm(isa, Mg_, nq, K, A, packed, e);
  else
    gemm_rows(Mg_, nq, K, A, rows, e);
  if (!pool) {
    for (int64_t m = 0; m < Mg_; ++m)
      copy_rows(yg + static_cast<size_t>(m * P + oh0 * OW) * es, tmp + static_cast<size_t>(m * nq) * es,
                static_cast<size_t>(pitch) * es, oh1 - oh0, static_cast<size_t>(OW) * es);
    return;
  }
  const int64_t PW = OW / 2, prows = (oh1 - oh0) / 2;
  for (int64_t m = 0; m < Mg_; ++m) {
    char* dst = yg + static_cast<size_t>(m * P + oh0 / 2 * PW) * es;
    const char* src = tmp + static_cast<size_t>(m * nq) * es;
    if (isa == IntIsa::Avx2 && (out_t == DType::Int8 || out_t == DType::UInt8)) {
      qs::detail::max_pool_2x2_rows_8bit_avx2(src, pitch, tmp + tmp_bytes, dst, prows, PW, dst + prows * PW,
                                              out_t == DType::Int8);
      continue;
    }
    dispatch_act(out_t, q_.where, [&](auto tag) {
      using T = decltype(tag);
      max_pool_2x2_rows(reinterpret_cast<const T*>(src), pitch, reinterpret_cast<T*>(dst), prows, PW);
    });
  }
}

// B in rows (gemm_rows): per block of output rows, the input window as phase planes (phase (a, b) holds
// the padded window at (i·sh + a, j·sw + b), RP rows of RS columns) with the group's channels interleaved in
// pairs, zero padding around. Columns are the output grid widened to RS (q = oh·RS + ow; the columns
// ow >= OW are computed and dropped), so k pair (cp, kh, kw) of column q is the pair at
//   win + 2·(((cp·sh + a)·sw + b)·RP + kh·dh / sh)·RS + kw·dw / sw + q),  a = kh·dh mod sh, b = kw·dw mod sw,
// one run of the window: nothing is packed, and the strided case needs no gather.
void PackedConv::run_rows(const ConvGeometry& g, const Tensor& x, Tensor& y, bool pool) const {
  const Geo2 geo(g);
  const int64_t N = g.batch, C = g.in_channels, M = g.out_channels, G = group_, Cg = C / G;
  const int64_t P = pool ? (geo.OH / 2) * (geo.OW / 2) : geo.OH * geo.OW, IS = geo.IH * geo.IW;
  const int64_t sh = geo.sh, sw = geo.sw;
  const size_t es = elem(storage_dtype(q_.out));
  const int32_t zx = q_.in.zero_point[0];
  const bool sgn = x.dtype() == DType::Int8;
  const int64_t Cp = (Cg + 1) / 2, Kp = k_pairs(k_rows_);
  const int64_t RS = ceil_div((geo.OW - 1) * sw + (geo.KW - 1) * geo.dw + 1, sw);
  const int64_t nc_max = column_block(k_rows_, geo.OH * RS, N * G);
  const int64_t rows_per_block = grid_rows_per_block(nc_max, RS, pool);
  const int64_t blocks = ceil_div(geo.OH, rows_per_block);
  const auto* xp = static_cast<const char*>(x.raw());
  const char* x_end = xp + x.numel();
  char* yp = static_cast<char*>(y.raw());
  parallel_for(
      0, N * G * blocks,
      [&](int64_t item) {
        const int64_t n = item / (G * blocks), gi = item / blocks % G, blk = item % blocks;
        const char* xg = xp + (n * C + gi * Cg) * IS;
        char* yg = yp + static_cast<size_t>((n * M + gi * Mg_) * P) * es;
        const int64_t oh0 = blk * rows_per_block, oh1 = std::min(geo.OH, oh0 + rows_per_block);
        const int64_t nq = (oh1 - oh0 - 1) * RS + geo.OW;
        const int64_t r0 = oh0 * sh - geo.ph;  // input row of window row 0
        const int64_t RP = ceil_div((oh1 - oh0 - 1) * sh + (geo.KH - 1) * geo.dh + 1, sh);
        const int64_t plane = RP * RS, pair_planes = sh * sw * plane;
        // Every read ends within the last pair's planes plus whole panels past the last column.
        const int64_t span = 2 * (Cp * pair_planes + round_up(nq, kNR) + RS + kNR);
        int16_t* win = thread_scratch_as<int16_t>(ScratchSlot::kColumns, static_cast<size_t>(span));
        for (int64_t cp = 0; cp < Cp; ++cp) {
          const bool two = 2 * cp + 1 < Cg;
          for (int64_t a = 0; a < sh; ++a)
            for (int64_t b = 0; b < sw; ++b) {
              const auto [l, h] = phase_data_columns(geo, b, RS);
              for (int64_t i = 0; i < RP; ++i) {
                int16_t* d = win + 2 * (cp * pair_planes + (a * sw + b) * plane + i * RS);
                const int64_t ir = r0 + i * sh + a;
                if (ir < 0 || ir >= geo.IH || h == l) {
                  std::fill(d, d + 2 * RS, int16_t{0});
                  continue;
                }
                std::fill(d, d + 2 * l, int16_t{0});
                const char* row0 = xg + (2 * cp * geo.IH + ir) * geo.IW + (l * sw + b - geo.pw);
                const char* row1 = two ? row0 + IS : nullptr;
                // Whole-vector writes past h land on this row's padding (zeroed next) or on rows and
                // planes written after this one, or on the tail zeroed last.
                interleave_rows8(row0, row1, sgn, h - l, sw, zx, d + 2 * l, x_end - (two ? row1 : row0));
                std::fill(d + 2 * h, d + 2 * RS, int16_t{0});
              }
            }
        }
        std::fill(win + 2 * Cp * pair_planes, win + span, int16_t{0});
        thread_local std::vector<const int16_t*> bp;
        bp.resize(static_cast<size_t>(Kp));
        for (int64_t cp = 0, p = 0; cp < Cp; ++cp)
          for (int64_t kh = 0; kh < geo.KH; ++kh)
            for (int64_t kw = 0; kw < geo.KW; ++kw) {
              const int64_t a = kh * geo.dh % sh, b = kw * geo.dw % sw;
              bp[static_cast<size_t>(p++)] = win + 2 * (cp * pair_planes + (a * sw + b) * plane +
                                                        kh * geo.dh / sh * RS + kw * geo.dw / sw);
            }
        gemm_grid_rows(IntIsa::Avx2, a_rows_[static_cast<size_t>(gi)].data(), k_rows_, nullptr, bp.data(), gi,
                       nq, RS, oh0, oh1, geo.OW, P, yg, pool);
      },
      Mg_ * k_rows_ * std::min(nc_max, geo.OH * RS), kMinParallelMacs);
}

void PackedConv::run_cols(const ConvGeometry& g, const Tensor& x, Tensor& y, bool pool) const {
  const Geo2 geo(g);
  const int64_t N = g.batch, C = g.in_channels, M = g.out_channels, G = group_;
  const int64_t P = pool ? (geo.OH / 2) * (geo.OW / 2) : geo.OH * geo.OW, IS = geo.IH * geo.IW;
  const int64_t KWp = (geo.KW + 1) / 2;
  const size_t es = elem(storage_dtype(q_.out));
  const int32_t zx = q_.in.zero_point[0];
  const bool sgn = x.dtype() == DType::Int8;
  const int64_t Kc = cols_taps_ ? K_ : k_cols_, Kp = k_pairs(Kc);
  const int64_t PW = geo.OW + geo.KW - 1;  // window columns (unit stride and dilation)
  const int64_t nc_max = column_block(Kc, geo.OH * PW, N * G);
  const int64_t rows_per_block = grid_rows_per_block(nc_max, PW, pool);
  const int64_t blocks = ceil_div(geo.OH, rows_per_block);
  // A padded input row as 8-bit levels: the zero point (0 after subtracting it) around the data, spare
  // room after it for whole-vector reads. Pair j of a window row is (level j, level j + 1); of the second
  // window (cols_taps_), (level j + KW − 1 of a row, level j of the next). Two rows' levels are kept.
  const int64_t row_bytes = 2 * KWp + PW + 64;
  const auto* xp = static_cast<const char*>(x.raw());
  char* yp = static_cast<char*>(y.raw());
  parallel_for(
      0, N * G * blocks,
      [&](int64_t item) {
        const int64_t n = item / (G * blocks), gi = item / blocks % G, blk = item % blocks;
        const char* xg = xp + (n * C + gi) * IS;
        char* yg = yp + static_cast<size_t>((n * M + gi * Mg_) * P) * es;
        const int64_t oh0 = blk * rows_per_block, oh1 = std::min(geo.OH, oh0 + rows_per_block);
        const int64_t nq = (oh1 - oh0 - 1) * PW + geo.OW;
        const int64_t wrows = oh1 - oh0 + geo.KH - 1, r0 = oh0 - geo.ph;
        // GEMM reads of a window (whole panels from each tap's offset) end less than kNR pairs past its
        // last row: the last tap's offset, at most (KH − 1)·PW + 2·KWp − 2 (KW − 1 for the second window,
        // one row less), plus round_up(nq, kNR) < (oh1 − oh0)·PW − (PW − OW) + kNR. Each window is followed
        // by that much, zeroed (also room for interleave_rows8's whole-vector writes past a row).
        const int64_t tail = kNR + 2 * KWp, second = wrows * PW + tail;
        const int64_t span = 2 * (cols_taps_ ? second + (wrows - 1) * PW + tail : second);
        int16_t* win = thread_scratch_as<int16_t>(ScratchSlot::kColumns, static_cast<size_t>(span));
        char* levels = thread_scratch_as<char>(ScratchSlot::kRow, static_cast<size_t>(2 * row_bytes));
        for (int64_t r = 0; r < wrows; ++r) {
          int16_t* d = win + 2 * r * PW;
          char* level = levels + (r % 2) * row_bytes;
          const int64_t ir = r0 + r;
          std::memset(level, zx, static_cast<size_t>(row_bytes));
          if (ir >= 0 && ir < geo.IH) {
            // Window column j is input column j − pw.
            const int64_t a = std::clamp<int64_t>(geo.pw, 0, PW + 1),
                          b = std::clamp<int64_t>(geo.IW + geo.pw, a, PW + 1);
            if (b > a) std::memcpy(level + a, xg + ir * geo.IW + (a - geo.pw), static_cast<size_t>(b - a));
          }
          // Whole-vector writes past PW land on the next rows (written after) or the tail zeroed below.
          interleave_rows8(level, level + 1, sgn, PW, 1, zx, d, row_bytes - 1);
          if (cols_taps_ && r > 0)
            interleave_rows8(levels + ((r - 1) % 2) * row_bytes + geo.KW - 1, level, sgn, PW, 1, zx,
                             win + 2 * (second + (r - 1) * PW), row_bytes - geo.KW);
        }
        std::fill(win + 2 * wrows * PW, win + 2 * second, int16_t{0});
        if (cols_taps_) std::fill(win + 2 * (second + (wrows - 1) * PW), win + span, int16_t{0});
        thread_local std::vector<const int16_t*> bp;
        bp.resize(static_cast<size_t>(Kp));
        if (cols_taps_) {
          // Taps t and t + 1 in row-major order: on one row, a pair of the first window; across rows (t
          // ends a row), the second window's pair of those two rows. An odd last tap pairs with a zero
          // weight (A's padding).
          for (int64_t p = 0; p < Kp; ++p) {
            const int64_t kh = 2 * p / geo.KW, kw = 2 * p % geo.KW;
            bp[static_cast<size_t>(p)] =
                kw + 1 < geo.KW || 2 * p + 1 >= K_ ? win + 2 * (kh * PW + kw) : win + 2 * (second + kh * PW);
          }
        } else {
          for (int64_t kh = 0, p = 0; kh < geo.KH; ++kh)
            for (int64_t kp = 0; kp < KWp; ++kp) bp[static_cast<size_t>(p++)] = win + 2 * (kh * PW + 2 * kp);
        }
        const int32_t* A = (cols_taps_ ? a_ : a_cols_)[static_cast<size_t>(gi)].data();
        gemm_grid_rows(IntIsa::Avx2, A, Kc, nullptr, bp.data(), gi, nq, PW, oh0, oh1, geo.OW, P, yg, pool);
      },
      Mg_ * Kc * std::min(nc_max, geo.OH * PW), kMinParallelMacs);
}

void PackedConv::run(IntIsa isa, const ConvGeometry& g, const Tensor& x, Tensor& y) const {
  run_impl(isa, g, x, y, false);
}

bool PackedConv::run_max_pooled(IntIsa isa, const ConvGeometry& g, const Tensor& x, Tensor& y) const {
  if (g.spatial_rank() != 2 || g.y_shape[2] < 2 || g.y_shape[3] < 2 || y.numel() == 0)
    throw Error(q_.where + ": no 2×2 max pooling of an output of shape " + shape_str(g.y_shape));
  return run_impl(isa, g, x, y, true);
}

bool PackedConv::run_impl(IntIsa isa, const ConvGeometry& g, const Tensor& x, Tensor& y, bool pool) const {
  const Geo2 geo(g);
  const int64_t N = g.batch, C = g.in_channels, M = g.out_channels, G = group_, Cg = C / G;
  const int64_t P = geo.OH * geo.OW, IS = geo.IH * geo.IW, KS = geo.KH * geo.KW;
  if (Cg * KS != K_) throw Error(q_.where + ": input " + x.str() + " does not fit the packed weights");
  const DType out_t = storage_dtype(q_.out);
  const size_t es = elem(out_t);
  const int32_t zx = q_.in.zero_point[0];
  const bool unit_stride = geo.sh == 1 && geo.sw == 1;
  const bool bytes_in = x.dtype() == DType::Int8 || x.dtype() == DType::UInt8;
  // The paths that write their output otherwise than through gemm_grid_rows do not pool.
  if (depthwise_ && Cg == 1 && g.spatial_rank() == 2) {
    if (pool) return false;
    run_depthwise(isa, g, x, y);
    return true;
  }
  if (KS == 1 && unit_stride && geo.ph == 0 && geo.pw == 0 && geo.OH == geo.IH && geo.OW == geo.IW) {
    if (pool) return false;
    run_pointwise(isa, g, x, y);
    return true;
  }
  if (isa == IntIsa::Avx2 && !wino_.empty() && g.spatial_rank() == 2 && unit_stride && geo.dh == 1 &&
      geo.dw == 1 && bytes_in && (out_t == DType::Int8 || out_t == DType::UInt8)) {
    if (pool) return false;
    run_winograd(g, x, y);
    return true;
  }
  if (isa == IntIsa::Avx2 && !a_rows_.empty() && g.spatial_rank() == 2 && bytes_in) {
    run_rows(g, x, y, pool);
    return true;
  }
  if (isa == IntIsa::Avx2 && (!a_cols_.empty() || cols_taps_) && g.spatial_rank() == 2 && unit_stride &&
      geo.dh == 1 && geo.dw == 1 && bytes_in) {
    run_cols(g, x, y, pool);
    return true;
  }
  if (pool && !unit_stride) return false;
  // Unit stride: columns are positions of the output grid widened to the window's width PW (the columns
  // between OW and PW are computed and dropped), so every im2col row is one contiguous run of the window
  // and B is packed straight from it. Otherwise: columns are output positions, rows gathered per segment.
  const int64_t PW = (geo.OW - 1) + (geo.KW - 1) * geo.dw + 1;
  const int64_t grid = unit_stride ? geo.OH * PW : P;
  const int64_t nc_max = column_block(K_, grid, N * G);
  const int64_t rows_per_block = unit_stride ? grid_rows_per_block(nc_max, PW, pool) : 0;
  const int64_t Py = pool ? (geo.OH / 2) * (geo.OW / 2) : P;  // elements per output plane
  const int64_t blocks = unit_stride ? ceil_div(geo.OH, rows_per_block) : ceil_div(P, nc_max);
  dispatch_act(x.dtype(), q_.where, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    const T* x_end = xp + x.numel();
    char* yp = static_cast<char*>(y.raw());
    parallel_for(
        0, N * G * blocks,
        [&](int64_t item) {
          const int64_t n = item / (G * blocks), gi = item / blocks % G, blk = item % blocks;
          const T* xg = xp + (n * C + gi * Cg) * IS;
          char* yg = yp + static_cast<size_t>((n * M + gi * Mg_) * Py) * es;
          thread_local std::vector<int16_t> window_buf;
          Window w;
          w.buf = &window_buf;
          if (unit_stride) {
            const int64_t oh0 = blk * rows_per_block, oh1 = std::min(geo.OH, oh0 + rows_per_block);
            const int64_t nq = (oh1 - oh0 - 1) * PW + geo.OW;
            fill_window(isa, xg, x_end, Cg, zx, geo, oh0 * geo.OW, (oh1 - oh0) * geo.OW, w);
            int16_t* B =
                thread_scratch_as<int16_t>(ScratchSlot::kColumns, static_cast<size_t>(packed_b_size(nq, K_)));
            // Row k = (c, kh, kw) of B starts at koff[k] in the window.
            thread_local std::vector<int64_t> koff;
            koff.resize(static_cast<size_t>(K_));
            for (int64_t c = 0, k = 0; c < Cg; ++c)
              for (int64_t kh = 0; kh < geo.KH; ++kh)
                for (int64_t kw = 0; kw < geo.KW; ++kw)
                  koff[static_cast<size_t>(k++)] = (c * w.rows + kh * geo.dh) * w.cols + kw * geo.dw;
            const int16_t* wb = window_buf.data();
            for (int64_t p = 0; p < k_pairs(K_); ++p)
              pack_b_pair(isa, nq, K_, p, wb + koff[static_cast<size_t>(2 * p)],
                          2 * p + 1 < K_ ? wb + koff[static_cast<size_t>(2 * p + 1)] : nullptr, B);
            gemm_grid_rows(isa, a_[static_cast<size_t>(gi)].data(), K_, B, nullptr, gi, nq, PW, oh0, oh1,
                           geo.OW, Py, yg, pool);
            return;
          }
          const int64_t p0 = blk * nc_max, nc = std::min(nc_max, P - p0);
          int16_t* B =
              thread_scratch_as<int16_t>(ScratchSlot::kColumns, static_cast<size_t>(packed_b_size(nc, K_)));
          int16_t* rows =
              thread_scratch_as<int16_t>(ScratchSlot::kRow, static_cast<size_t>(2 * round_up(nc, kNR)));
          fill_window(isa, xg, x_end, Cg, zx, geo, p0, nc, w);
          for (int64_t p = 0; p < k_pairs(K_); ++p) {
            for (int64_t h = 0; h < 2; ++h) {
              const int64_t k = 2 * p + h;
              if (k >= K_) break;
              const int64_t c = k / KS, kk = k % KS;
              window_row(isa, w, geo, c, kk / geo.KW, kk % geo.KW, p0, nc, rows + h * nc);
            }
            pack_b_pair(isa, nc, K_, p, rows, 2 * p + 1 < K_ ? rows + nc : nullptr, B);
          }
          gemm(isa, Mg_, nc, K_, a_[static_cast<size_t>(gi)].data(), B,
               epilogue(q_, rq_, true, gi * Mg_, yg + static_cast<size_t>(p0) * es, P));
        },
        Mg_ * K_ * std::min(nc_max, grid), kMinParallelMacs);
  });
  return true;
}

void PackedConv::run_pointwise(IntIsa isa, const ConvGeometry& g, const Tensor& x, Tensor& y) const {
  // 1×1, stride 1, no padding: B's rows are the input planes themselves, packed straight from them, and
  // the GEMM writes the output planes in place.
  const int64_t N = g.batch, C = g.in_channels, M = g.out_channels, G = group_, Cg = C / G;
  const int64_t P = numel(Shape(g.y_shape.begin() + 2, g.y_shape.end()));
  const DType out_t = storage_dtype(q_.out);
  const size_t es = elem(out_t);
  const int32_t zx = q_.in.zero_point[0];
  // Small grids (7×7: 49 columns in 64) waste a quarter of the GEMM's columns: several images then share
  // one GEMM, their columns side by side, and the result is scattered to each image's planes.
  if (G == 1 && P % kNR != 0 && P < 256 && N > 1) {
    const int64_t ni = std::min({N, std::max<int64_t>(1, 256 / P), ceil_div(N, 2 * num_threads())});
    if (ni > 1) return run_pointwise_images(isa, g, x, y, ni);
  }
  const int64_t nc_max = column_block(K_, P, N * G);
  const int64_t blocks = ceil_div(P, nc_max);
  dispatch_act(x.dtype(), q_.where, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    char* yp = static_cast<char*>(y.raw());
    parallel_for(
        0, N * G * blocks,
        [&](int64_t item) {
          const int64_t n = item / (G * blocks), gi = item / blocks % G, blk = item % blocks;
          const int64_t p0 = blk * nc_max, nc = std::min(nc_max, P - p0);
          const T* xg = xp + (n * C + gi * Cg) * P + p0;
          char* yg = yp + static_cast<size_t>((n * M + gi * Mg_) * P + p0) * es;
          int16_t* B =
              thread_scratch_as<int16_t>(ScratchSlot::kColumns, static_cast<size_t>(packed_b_size(nc, K_)));
          for (int64_t p = 0; p < k_pairs(K_); ++p)
            pack_b_pair_act<T>(isa, nc, K_, p, xg + 2 * p * P,
                               2 * p + 1 < K_ ? xg + (2 * p + 1) * P : nullptr, zx, B);
          gemm(isa, Mg_, nc, K_, a_[static_cast<size_t>(gi)].data(), B,
               epilogue(q_, rq_, true, gi * Mg_, yg, P));
        },
        Mg_ * K_ * std::min(nc_max, P), kMinParallelMacs);
  });
}

void PackedConv::run_pointwise_images(IntIsa isa, const ConvGeometry& g, const Tensor& x, Tensor& y,
                                      int64_t ni) const {
  const int64_t N = g.batch, C = g.in_channels, M = g.out_channels;
  const int64_t P = numel(Shape(g.y_shape.begin() + 2, g.y_shape.end()));
  const DType out_t = storage_dtype(q_.out);
  const size_t es = elem(out_t);
  const int32_t zx = q_.in.zero_point[0];
  dispatch_act(x.dtype(), q_.where, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    char* yp = static_cast<char*>(y.raw());
    parallel_for(
        0, ceil_div(N, ni),
        [&](int64_t item) {
          const int64_t n0 = item * ni, nn = std::min(ni, N - n0), cols = nn * P;
          // Channel rows 2p and 2p+1 of the nn images, concatenated.
          T* rows = thread_scratch_as<T>(ScratchSlot::kRow, static_cast<size_t>(2 * cols));
          int16_t* B =
              thread_scratch_as<int16_t>(ScratchSlot::kColumns, static_cast<size_t>(packed_b_size(cols, K_)));
          for (int64_t p = 0; p < k_pairs(K_); ++p) {
            const bool two = 2 * p + 1 < K_;
            for (int64_t i = 0; i < nn; ++i) {
              const T* xi = xp + ((n0 + i) * C + 2 * p) * P;
              std::memcpy(rows + i * P, xi, static_cast<size_t>(P) * sizeof(T));
              if (two) std::memcpy(rows + cols + i * P, xi + P, static_cast<size_t>(P) * sizeof(T));
            }
            pack_b_pair_act<T>(isa, cols, K_, p, rows, two ? rows + cols : nullptr, zx, B);
          }
          char* tmp = static_cast<char*>(
              thread_scratch(ScratchSlot::kOutput, static_cast<size_t>(M * cols + 16) * es));
          gemm(isa, M, cols, K_, a_[0].data(), B, epilogue(q_, rq_, true, 0, tmp, cols));
          for (int64_t i = 0; i < nn; ++i)
            copy_rows(yp + static_cast<size_t>((n0 + i) * M * P) * es, tmp + static_cast<size_t>(i * P) * es,
                      static_cast<size_t>(cols) * es, M, static_cast<size_t>(P) * es);
        },
        M * K_ * ni * P, kMinParallelMacs);
  });
}

PackedFc::PackedFc(const LayerQuant& q, bool trans_w) : q_(q), rq_(q.mult, q.bias) {
  N_ = q.out_channels;
  K_ = static_cast<int64_t>(q.w.size()) / N_;
  std::vector<int32_t> kn(static_cast<size_t>(K_ * N_));
  for (int64_t k = 0; k < K_; ++k)
    for (int64_t n = 0; n < N_; ++n) {
      const int32_t w = q.w[static_cast<size_t>(trans_w ? n * K_ + k : k * N_ + n)];
      kn[static_cast<size_t>(k * N_ + n)] = w - q.w_zp[static_cast<size_t>(n)];
    }
  b_.resize(static_cast<size_t>(packed_b_size(N_, K_)));
  pack_b_rows(N_, K_, kn.data(), N_, b_.data());
  rq_zp_ = rq_;
  rq_zp_.fold_zero_point(q.out.zero_point[0]);
}

void PackedFc::run(IntIsa isa, int64_t rows, const Tensor& x, Tensor& y) const {
  // Items: row chunks × column chunks (whole panels), so batch 1 still splits over the channels. Row chunks
  // of 8 blocks, up to 32 when K is short (the positions of a channels-last 1×1 convolution with K = 16..96,
  // whose tiles are too short for a small chunk's setup to vanish), smaller when that gives every thread two
  // of them: each item packs its rows of A, so splitting the columns of a few large row chunks instead would
  // pack the same rows several times.
  const int64_t Kp = k_pairs(K_);
  const int64_t max_blocks = std::clamp<int64_t>(1024 / std::max<int64_t>(Kp, 1), 8, 32);
  const int64_t rchunk = std::min(
      round_up(rows, kMR), std::min(max_blocks * kMR, round_up(ceil_div(rows, 2 * num_threads()), kMR)));
  const int64_t rchunks = ceil_div(rows, rchunk);
  const int64_t panels = col_panels(N_);
  const int64_t pchunk =
      rchunks >= 2 * num_threads() ? panels : std::max<int64_t>(1, ceil_div(panels, 2 * num_threads()));
  const int64_t pchunks = ceil_div(panels, pchunk);
  const DType out_t = storage_dtype(q_.out);
  const int32_t zx = q_.in.zero_point[0];
  dispatch_act(x.dtype(), q_.where, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    char* yp = static_cast<char*>(y.raw());
    parallel_for(
        0, rchunks * pchunks,
        [&](int64_t item) {
          const int64_t r0 = item / pchunks * rchunk, nr = std::min(rchunk, rows - r0);
          const int64_t c0 = item % pchunks * pchunk * kNR, ncol = std::min(pchunk * kNR, N_ - c0);
          int32_t* A =
              thread_scratch_as<int32_t>(ScratchSlot::kColumns, static_cast<size_t>(packed_a_size(nr, K_)));
          pack_a_act<T>(isa, nr, K_, xp + r0 * K_, K_, zx, A);
          const Epilogue e = epilogue(q_, isa == IntIsa::Avx2 ? rq_zp_ : rq_, false, c0,
                                      yp + static_cast<size_t>(r0 * N_ + c0) * elem(out_t), N_);
          gemm(isa, nr, ncol, K_, A, b_.data() + (c0 / kNR) * Kp * kNR * 2, e);
        },
        rchunk * pchunk * kNR * K_, kMinParallelMacs);
  });
}

PackedMatMulLeft::PackedMatMulLeft(const LayerQuant& q) : q_(q), rq_(q.mult, q.bias) {
  M_ = q.out_channels;
  K_ = static_cast<int64_t>(q.w.size()) / M_;
  std::vector<int32_t> rows(q.w.size());
  for (int64_t m = 0; m < M_; ++m)
    for (int64_t k = 0; k < K_; ++k)
      rows[static_cast<size_t>(m * K_ + k)] =
          q.w[static_cast<size_t>(m * K_ + k)] - q.w_zp[static_cast<size_t>(m)];
  a_.resize(static_cast<size_t>(packed_a_size(M_, K_)));
  pack_a(M_, K_, rows.data(), K_, a_.data());
}

void PackedMatMulLeft::run(IntIsa isa, int64_t batch, int64_t N, const Tensor& x, Tensor& y) const {
  const int64_t nc_max = column_block(K_, N, batch);
  const int64_t blocks = ceil_div(N, nc_max);
  const DType out_t = storage_dtype(q_.out);
  const int32_t zx = q_.in.zero_point[0];
  dispatch_act(x.dtype(), q_.where, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    char* yp = static_cast<char*>(y.raw());
    parallel_for(
        0, batch * blocks,
        [&](int64_t item) {
          const int64_t b = item / blocks, c0 = item % blocks * nc_max, nc = std::min(nc_max, N - c0);
          int16_t* B =
              thread_scratch_as<int16_t>(ScratchSlot::kColumns, static_cast<size_t>(packed_b_size(nc, K_)));
          int16_t* rows =
              thread_scratch_as<int16_t>(ScratchSlot::kRow, static_cast<size_t>(2 * round_up(nc, kNR)));
          const T* xb = xp + b * K_ * N + c0;
          for (int64_t p = 0; p < k_pairs(K_); ++p) {
            for (int64_t h = 0; h < 2 && 2 * p + h < K_; ++h)
              for (int64_t j = 0; j < nc; ++j)
                rows[h * nc + j] = static_cast<int16_t>(static_cast<int32_t>(xb[(2 * p + h) * N + j]) - zx);
            pack_b_pair(isa, nc, K_, p, rows, 2 * p + 1 < K_ ? rows + nc : nullptr, B);
          }
          const Epilogue e =
              epilogue(q_, rq_, true, 0, yp + static_cast<size_t>(b * M_ * N + c0) * elem(out_t), N);
          gemm(isa, M_, nc, K_, a_.data(), B, e);
        },
        M_ * K_ * nc_max, kMinParallelMacs);
  });
}

}  // namespace qs
