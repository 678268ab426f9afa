// PackedConv's Winograd F(2×2, 3×3) path (gemm_int.h): the transformed weights and the driver of the AVX2
// transforms (winograd_int_avx2.cpp) and product GEMMs.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/common/parallel.h"
#include "core/int/conv_parts.h"
#include "core/int/layer_kernels.h"
#include "core/ops/gemm_eigen.h"

namespace qs {

using namespace intgemm;

namespace conv_parts {

namespace {

// Input and output channels per group from which 3×3 stride-1 convolutions take the Winograd path: at 28×28
// it breaks even with the direct path at 8 channels (its transforms cost more than the multiplies it saves
// below that) and is 1.2× at 12, 1.4–1.6× from 16 (b64, one thread).
constexpr int64_t kWinoMinChannels = 8;

}  // namespace

// Exactness: Y' = 4·acc must stay below 2^31 for every channel (so the wrapping sums in between cancel),
// and the transformed operands must fit int16.
std::vector<std::vector<int32_t>> winograd_weights(const LayerQuant& q, int64_t group) {
  if (q.wshape.size() != 4 || q.wshape[2] != 3 || q.wshape[3] != 3) return {};
  const int64_t M = q.out_channels, Mg = M / group, Cg = q.wshape[1], K = Cg * 9;
  if (Cg < kWinoMinChannels || Mg < kWinoMinChannels) return {};
  if (4 * static_cast<int64_t>(q.max_abs_x) > 32767) return {};
  for (int64_t c = 0; c < M; ++c) {
    int64_t s = 0;
    for (int64_t k = 0; k < K; ++k)
      s += std::abs(q.w[static_cast<size_t>(c * K + k)] - q.w_zp[static_cast<size_t>(c)]);
    if (4 * s * q.max_abs_x >= (int64_t{1} << 31)) return {};
  }
  std::vector<std::vector<int32_t>> out;
  std::vector<int32_t> r(static_cast<size_t>(kWinoElems * Mg * Cg));  // [ξ][m][c]
  int32_t g[9], u[kWinoElems];
  for (int64_t gi = 0; gi < group; ++gi) {
    for (int64_t m = 0; m < Mg; ++m)
      for (int64_t c = 0; c < Cg; ++c) {
        const int64_t oc = gi * Mg + m;
        for (int t = 0; t < 9; ++t)
          g[t] = q.w[static_cast<size_t>((oc * Cg + c) * 9 + t)] - q.w_zp[static_cast<size_t>(oc)];
        winograd_weight(g, u);
        for (int xi = 0; xi < kWinoElems; ++xi) {
          if (std::abs(u[xi]) > 32767) return {};
          r[static_cast<size_t>((xi * Mg + m) * Cg + c)] = u[xi];
        }
      }
    for (int xi = 0; xi < kWinoElems; ++xi) {
      std::vector<int32_t> a(static_cast<size_t>(packed_a_size(Mg, Cg)));
      pack_a(Mg, Cg, r.data() + static_cast<size_t>(xi * Mg * Cg), Cg, a.data());
      out.push_back(std::move(a));
    }
  }
  return out;
}

}  // namespace conv_parts

using namespace conv_parts;

namespace {

std::vector<const int16_t*>& thread_local_rows() {
  thread_local std::vector<const int16_t*> r;
  return r;
}

}  // namespace

// Winograd F(2×2, 3×3) (gemm_int.h). A work item takes a run of tile rows of the batch (of one group),
// several images when they are small: per image its input rows as a window of channel pairs (WinogradInput),
// the input transform writing the tiles of each row to the next columns of V (no column is spent on an
// image's edge), then per panel of 16 tiles the 16 product GEMMs and the output transform with the
// epilogue into the top and bottom output rows of the tiles, copied out at the end.
void PackedConv::run_winograd(const ConvGeometry& g, const Tensor& x, Tensor& y) const {
  const Geo2 geo(g);
  const int64_t N = g.batch, C = g.in_channels, M = g.out_channels, G = group_, Cg = C / G, Cp = (Cg + 1) / 2;
  const int64_t P = geo.OH * geo.OW, IS = geo.IH * geo.IW;
  const int64_t TH = ceil_div(geo.OH, 2), TW = ceil_div(geo.OW, 2), WC = 2 * TW + 2;
  const int32_t zx = q_.in.zero_point[0];
  const bool sgn = x.dtype() == DType::Int8;
  // About 256 tiles per item (V: 16·Cg·512 bytes), fewer when that gives each thread fewer than 8 items
  // (a thread that loses its core for a while then leaves little of the layer behind it), but a whole
  // panel's worth (kNR tiles) where the layer has them: an item of fewer fills its GEMM's panels with
  // columns computed for nothing (one tile row of a 7×7 output is 4 tiles, a quarter of a panel). One
  // thread needs no split.
  const int64_t rows_total = N * TH;
  int64_t per = std::max<int64_t>(1, 256 / TW);
  const int64_t want = num_threads() > 1 ? 8 * num_threads() : 1;
  if (G * ceil_div(rows_total, per) < want)
    per = std::max({int64_t{1}, ceil_div(rows_total * G, want), std::min(rows_total, ceil_div(kNR, TW))});
  const int64_t blocks = ceil_div(rows_total, per);
  const auto* xp = static_cast<const char*>(x.raw());
  const char* x_end = xp + x.numel();
  auto* yp = static_cast<unsigned char*>(y.raw());
  parallel_for(
      0, G * blocks,
      [&](int64_t item) {
        const int64_t gi = item % G, r0 = item / G * per, r1 = std::min(rows_total, r0 + per);
        const int64_t T = (r1 - r0) * TW, stride = round_up(T, kNR) + 8, ld = 2 * round_up(T, kNR);
        auto* V = thread_scratch_as<int16_t>(ScratchSlot::kGemmPackB,
                                             static_cast<size_t>(kWinoElems * Cp * 2 * stride));
        int64_t c0 = 0;
        for (int64_t n = r0 / TH; n * TH < r1; ++n) {
          const int64_t t0 = std::max(r0, n * TH) - n * TH, t1 = std::min(r1, (n + 1) * TH) - n * TH;
          const int64_t WR = 2 * (t1 - t0) + 2, ir0 = 2 * t0 - geo.ph;
          const int64_t span = 2 * (Cp * WR * WC + 16);
          int16_t* win = thread_scratch_as<int16_t>(ScratchSlot::kColumns, static_cast<size_t>(span));
          const char* xg = xp + (n * C + gi * Cg) * IS;
          // Window column c is input column c − pw: data in [l, h).
          const int64_t l = std::clamp<int64_t>(geo.pw, 0, WC),
                        h = std::clamp<int64_t>(geo.IW + geo.pw, l, WC);
          for (int64_t cp = 0; cp < Cp; ++cp) {
            const bool two = 2 * cp + 1 < Cg;
            for (int64_t r = 0; r < WR; ++r) {
              int16_t* d = win + 2 * (cp * WR + r) * WC;
              const int64_t ir = ir0 + r;
              if (ir < 0 || ir >= geo.IH || h == l) {
                std::fill(d, d + 2 * WC, int16_t{0});
                continue;
              }
              std::fill(d, d + 2 * l, int16_t{0});
              const char* row0 = xg + (2 * cp * geo.IH + ir) * geo.IW + (l - geo.pw);
              const char* row1 = two ? row0 + IS : nullptr;
              // Whole-vector writes past h land on this row's padding (zeroed next), on the rows after
              // it or on the tail zeroed last.
              interleave_rows8(row0, row1, sgn, h - l, 1, zx, d + 2 * l, x_end - (two ? row1 : row0));
              std::fill(d + 2 * h, d + 2 * WC, int16_t{0});
            }
          }
          std::fill(win + 2 * Cp * WR * WC, win + span, int16_t{0});
          const WinogradInput in{win, Cp, WR, WC};
          for (int64_t t = 0; t < t1 - t0; ++t, c0 += TW)
            intgemm::detail::winograd_input_avx2(in, t, TW, V, stride, c0);
        }
        // Row tables of V for the product GEMMs: element ξ's k pair cp.
        std::vector<const int16_t*>& rows = thread_local_rows();
        rows.resize(static_cast<size_t>(kWinoElems * Cp));
        for (int64_t r = 0; r < kWinoElems * Cp; ++r) rows[static_cast<size_t>(r)] = V + 2 * r * stride;
        auto* prod =
            thread_scratch_as<int32_t>(ScratchSlot::kGemmPackA, static_cast<size_t>(kWinoElems * Mg_ * kNR));
        auto* tmp =
            thread_scratch_as<unsigned char>(ScratchSlot::kOutput, static_cast<size_t>(2 * Mg_ * ld + 16));
        const Epilogue e = epilogue(q_, rq_, true, gi * Mg_, nullptr, 0);
        WinogradOutput o;
        o.prod = prod;
        o.rows = Mg_;
        o.ld = ld;
        for (int64_t j = 0; j < T; j += kNR) {
          for (int64_t xi = 0; xi < kWinoElems; ++xi)
            intgemm::detail::gemm_panel_i32_avx2(Mg_, Cp,
                                                 wino_[static_cast<size_t>(gi * kWinoElems + xi)].data(),
                                                 rows.data() + xi * Cp, 4 * j, prod + xi * Mg_ * kNR);
          o.y0 = tmp + 2 * j;
          o.y1 = tmp + Mg_ * ld + 2 * j;
          intgemm::detail::winograd_output_avx2(o, e);
        }
        // Per image and channel the item's output rows are one block: rows in order, in 16-byte pieces
        // where the piece stays inside the block (what it writes past its row, the next row rewrites).
        c0 = 0;
        for (int64_t n = r0 / TH; n * TH < r1; ++n) {
          const int64_t t0 = std::max(r0, n * TH) - n * TH, t1 = std::min(r1, (n + 1) * TH) - n * TH;
          // (Locals: stores through unsigned char* could alias the geometry, which would be reloaded.)
          const int64_t OW = geo.OW, o0 = 2 * t0, o1 = std::min(2 * t1, geo.OH), block = (o1 - o0) * OW;
          const int64_t whole = round_up(OW, 16);
          for (int64_t m = 0; m < Mg_; ++m) {
            unsigned char* yb = yp + (n * M + gi * Mg_ + m) * P + o0 * OW;
            for (int64_t o = o0; o < o1; ++o) {
              unsigned char* d = yb + (o - o0) * OW;
              const unsigned char* src = tmp + ((o & 1) * Mg_ + m) * ld + 2 * (c0 + (o / 2 - t0) * TW);
              if ((o - o0) * OW + whole <= block)
                for (int64_t b = 0; b < OW; b += 16) std::memcpy(d + b, src + b, 16);
              else
                std::memcpy(d, src, static_cast<size_t>(OW));
            }
          }
          c0 += (t1 - t0) * TW;
        }
      },
      Mg_ * kWinoElems * Cp * per * TW, kMinParallelMacs);
}

}  // namespace qs
