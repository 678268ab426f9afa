// PackedConvTranspose: integer ConvTranspose on the packed GEMM (gemm_int.h) instead of the reference
// scatter loops.
//
// Per image, group and block of output channels: C = Wᵀ·X, with A = the weights as rows (m, kh, kw) over the
// group's Cg input channels (packed once) and B = the input planes [Cg, H·W] packed straight from x as the
// 1×1 Conv does, the GEMM storing C's raw int32 accumulators (Epilogue::out Int32); then col2im adds row
// (m, kh, kw) of C into output channel m's accumulators at the tap's offset, and requantize_rows applies the
// bias, the fixed-point multiplier, the zero point and the fused Relu/Clip clamp, as every packed layer does.
//
// Exact: an entry of C is a sum of Cg products, and an output's col2im sum adds at most one entry per tap,
// so every partial sum is a partial sum of at most Cg·kh·kw products, which int32 holds when
// LayerQuant::int32_safe(Cg·kh·kw) (the caller checks; otherwise the reference path runs).
//
// Why this and not the phase decomposition (a stride-s ConvTranspose as s×s stride-1 convolutions, one per
// output phase, each run by PackedConv): both do the same multiply-adds, but the phases need a weight
// layout, padding and output extent of their own per (phase, stride, dilation, pad, output_padding) — some
// phases have no tap at all and hold only the bias — and each phase's output lands every s-th element, so
// it is scattered anyway. Here one GEMM per block covers every geometry, and col2im is cheap next to it
// (Mg·kh·kw·H·W additions against Cg times as many multiply-adds).
//
// The accumulators are kept per output phase (a, b) = (oh mod sh, ow mod sw), where tap (kh, kw) puts input
// (i, j) at position (i + qh, j + qw) of phase plane (a, b) (qh, qw, a, b fixed by the tap): each plane has
// margins of the taps' spread of q around the input grid, and C's columns are the input grid on the same
// row pitch (a zero column per margin column, when the margins are not empty and there are several rows),
// so a tap adds one contiguous run of C (a whole block of input rows) at one offset of its plane, with no
// clipping and no wrap into the next row: long vector adds. Positions in the margins that are outside the
// output are never read; one pass per channel interleaves the phases into the output planes.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/common/error.h"
#include "core/common/parallel.h"
#include "core/int/conv_parts.h"
#include "core/int/int_tensor.h"
#include "core/int/layer_kernels.h"
#include "core/ops/gemm_eigen.h"

namespace qs {

using namespace conv_parts;
using namespace intgemm;

namespace {

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Tap k of one axis: input position i goes to output i·s − p + k·d = (i + q)·s + phase.
struct TapAxis {
  int64_t phase = 0, q = 0;
};

TapAxis tap_axis(int64_t k, int64_t s, int64_t p, int64_t d) {
  const int64_t t = k * d - p;
  TapAxis a;
  a.q = floor_div(t, s);
  a.phase = t - a.q * s;
  return a;
}

// One axis of the geometry: the taps, and the phase planes' extent along it: positions [qmin, n + qmax) of
// every phase, stored from index 0 (position − qmin).
struct Axis {
  std::vector<TapAxis> taps;
  int64_t qmin = 0, extent = 0;
  Axis(int64_t K, int64_t n, int64_t s, int64_t p, int64_t d) {
    int64_t qmax = 0;
    for (int64_t k = 0; k < K; ++k) {
      taps.push_back(tap_axis(k, s, p, d));
      qmin = k == 0 ? taps.back().q : std::min(qmin, taps.back().q);
      qmax = k == 0 ? taps.back().q : std::max(qmax, taps.back().q);
    }
    extent = n + qmax - qmin;
  }
};

void add_run(int32_t* __restrict d, const int32_t* __restrict s, int64_t n) {
  for (int64_t j = 0; j < n; ++j) d[j] += s[j];
}

// Output plane `out` (OH × OW) of one channel from its phase planes (phase (a, b) at ph + (a·sw + b)·plane,
// rows of pitch `pitch`): out[oh][ow] = phase (oh mod s, ow mod s) at (oh / sh − rows.qmin, ow / sw −
// cols.qmin), 0 where that is outside the stored extent (outputs no input reaches).
void interleave_phases(const int32_t* ph, int64_t plane, int64_t pitch, const Axis& rows, const Axis& cols,
                       int64_t OH, int64_t OW, int64_t sh, int64_t sw, int32_t* out) {
  for (int64_t oh = 0; oh < OH; ++oh, out += OW) {
    const int64_t R = oh / sh - rows.qmin;
    if (R < 0 || R >= rows.extent) {
      std::fill(out, out + OW, 0);
      continue;
    }
    const int32_t* r0 = ph + (oh % sh) * sw * plane + R * pitch;
    // Columns j (ow = j·sw + b) in [lo, hi) are stored at j − qmin.
    const int64_t lo = std::max<int64_t>(0, cols.qmin),
                  hi = std::min(ceil_div(OW, sw), cols.qmin + cols.extent);
    if (lo > 0 || hi * sw < OW) std::fill(out, out + OW, 0);
    if (hi <= lo) continue;
    // Column j of phase b at r0[b·plane + j − qmin] (j >= lo >= qmin).
    const int64_t o = -cols.qmin;
    if (sw == 1) {
      std::memcpy(out + lo, r0 + lo + o, static_cast<size_t>(hi - lo) * sizeof(int32_t));
    } else if (sw == 2) {
      const int32_t* r1 = r0 + plane;
      const int64_t pairs = std::min(hi, OW / 2);  // columns j whose ow = 2j + 1 is inside
      for (int64_t j = lo; j < pairs; ++j) {
        out[2 * j] = r0[j + o];
        out[2 * j + 1] = r1[j + o];
      }
      if (pairs < hi && pairs >= lo) out[2 * pairs] = r0[pairs + o];  // odd OW: phase 0 only
    } else {
      for (int64_t b = 0; b < sw; ++b) {
        const int32_t* rb = r0 + b * plane;
        for (int64_t j = lo, ow = lo * sw + b; j < hi && ow < OW; ++j, ow += sw) out[ow] = rb[j + o];
      }
    }
  }
}

}  // namespace

PackedConvTranspose::PackedConvTranspose(const LayerQuant& q, int64_t group)
    : q_(q), group_(group), rq_(q.mult, q.bias) {
  const Shape& ws = q.wshape;
  if (ws.size() < 3 || group < 1 || ws[0] % group != 0 || ws[1] * group != q.out_channels)
    throw Error(q.where + ": weight " + shape_str(ws) + " does not fit group " + std::to_string(group));
  Cg_ = ws[0] / group;
  Mg_ = ws[1];
  KS_ = numel(Shape(ws.begin() + 2, ws.end()));
  const int64_t rows = Mg_ * KS_;
  std::vector<int32_t> r(static_cast<size_t>(rows * Cg_));
  for (int64_t gi = 0; gi < group; ++gi) {
    for (int64_t c = 0; c < Cg_; ++c)
      for (int64_t m = 0; m < Mg_; ++m) {
        const int64_t ic = gi * Cg_ + c, oc = gi * Mg_ + m;
        for (int64_t t = 0; t < KS_; ++t)
          r[static_cast<size_t>((m * KS_ + t) * Cg_ + c)] =
              q.w[static_cast<size_t>((ic * Mg_ + m) * KS_ + t)] - q.w_zp[static_cast<size_t>(oc)];
      }
    std::vector<int32_t> a(static_cast<size_t>(packed_a_size(rows, Cg_)));
    pack_a(rows, Cg_, r.data(), Cg_, a.data());
    a_.push_back(std::move(a));
  }
}

void PackedConvTranspose::run(IntIsa isa, const ConvGeometry& g, const Tensor& x, Tensor& y) const {
  const Geo2 geo(g);
  const int64_t N = g.batch, C = g.in_channels, M = g.out_channels, G = group_;
  if (C != G * Cg_ || M != G * Mg_ || g.kernel_size() != KS_ || !supports(g))
    throw Error(q_.where + ": input " + x.str() + " does not fit the packed weights");
  const int64_t IH = geo.IH, IW = geo.IW, IS = IH * IW, OS = geo.OH * geo.OW;
  const int64_t sh = geo.sh, sw = geo.sw, phases = sh * sw;
  const Axis ah(geo.KH, IH, sh, geo.ph, geo.dh), aw(geo.KW, IW, sw, geo.pw, geo.dw);
  const int64_t pitch = aw.extent, plane = ah.extent * pitch;
  // C's row pitch: the planes' when a run of several input rows would otherwise wrap (gaps of zero columns,
  // B then widened row by row), else the input's (B packed straight from x).
  const bool gaps = pitch != IW && IH > 1;
  const int64_t cp = gaps ? pitch : IW;
  // Stride 1 with no margin before the output and the planes as wide as it: the plane is the output.
  const bool direct = phases == 1 && ah.qmin == 0 && aw.qmin == 0 && pitch == geo.OW && ah.extent >= geo.OH;

  // Blocks of mc output channels, the work items with the images and groups: accumulators within ~256 KB,
  // at least two items per thread when there are threads and the images and groups give fewer, and mc·KS rows
  // a multiple of kMR (so a block's rows of A start a packed row block) except in the last block of a group.
  const int64_t step = kMR / std::gcd(KS_, kMR);
  int64_t mc = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, phases * plane + (direct ? 0 : OS)));
  const int64_t want = 2 * num_threads();
  if (num_threads() > 1 && N * G < want) mc = std::min(mc, ceil_div(Mg_, ceil_div(want, N * G)));
  mc = mc >= Mg_ ? Mg_ : std::min(Mg_, std::max(step, mc / step * step));
  const int64_t chunks = ceil_div(Mg_, mc);
  // Input rows per GEMM: B's block within ~160 KB (L2, as PackedConv's) and C's within ~512 KB. C is written
  // once and read once by col2im, so it need not stay in L2; larger blocks pack B fewer times per image and
  // waste fewer columns in the last panel (a 16×16 → 32×32, 128 → 64 channel 4×4 layer ran 10-20% faster
  // than with C's block at 128 KB on Zen).
  const int64_t Kp = k_pairs(Cg_);
  const int64_t nc =
      std::min(131072 / std::max<int64_t>(1, mc * KS_), 163840 / (std::max<int64_t>(1, Kp) * 4));
  const int64_t rows_per_block =
      std::clamp<int64_t>(nc / std::max<int64_t>(cp, 1), 1, std::max<int64_t>(IH, 1));
  const size_t es = elem(storage_dtype(q_.out));
  const int32_t zx = q_.in.zero_point[0];
  dispatch_act(x.dtype(), q_.where, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    char* yp = static_cast<char*>(y.raw());
    parallel_for(
        0, N * G * chunks,
        [&](int64_t item) {
          const int64_t n = item / (G * chunks), gi = item / chunks % G, m0 = item % chunks * mc;
          const int64_t mn = std::min(mc, Mg_ - m0), rows = mn * KS_;
          const T* xg = xp + (n * C + gi * Cg_) * IS;
          const size_t acc_size = static_cast<size_t>(mn * phases * plane);
          int32_t* acc = thread_scratch_as<int32_t>(ScratchSlot::kOutput, acc_size);
          std::fill(acc, acc + acc_size, 0);
          const int32_t* A = a_[static_cast<size_t>(gi)].data() + m0 * KS_ / kMR * Kp * kMR;
          for (int64_t i0 = 0; i0 < IH && IW > 0; i0 += rows_per_block) {
            const int64_t i1 = std::min(IH, i0 + rows_per_block), cols = (i1 - i0 - 1) * cp + IW;
            int16_t* B = thread_scratch_as<int16_t>(ScratchSlot::kColumns,
                                                    static_cast<size_t>(packed_b_size(cols, Cg_)));
            for (int64_t p = 0; p < Kp; ++p) {
              const T* x0 = xg + 2 * p * IS + i0 * IW;
              const T* x1 = 2 * p + 1 < Cg_ ? x0 + IS : nullptr;
              if (!gaps) {
                pack_b_pair_act<T>(isa, cols, Cg_, p, x0, x1, zx, B);
                continue;
              }
              // Input rows widened at the planes' pitch, zeros between them.
              thread_local std::vector<int16_t> wide;
              wide.assign(static_cast<size_t>(2 * cols), 0);
              for (int64_t h = 0; h < 2; ++h) {
                const T* xs = h == 0 ? x0 : x1;
                if (!xs) continue;
                for (int64_t i = 0; i < i1 - i0; ++i)
                  widen_row(isa, xs + i * IW, IW, 1, zx, wide.data() + h * cols + i * cp);
              }
              pack_b_pair(isa, cols, Cg_, p, wide.data(), x1 ? wide.data() + cols : nullptr, B);
            }
            int32_t* cb = thread_scratch_as<int32_t>(ScratchSlot::kRow, static_cast<size_t>(rows * cols));
            Epilogue e;
            e.out = DType::Int32;
            e.y = cb;
            e.ldy = cols;
            gemm(isa, rows, cols, Cg_, A, B, e);
            // col2im: row (m, kh, kw) of C, input (i, j) at column (i − i0)·cp + j, goes to position
            // (i + qh, j + qw) of its phase plane, stored at (i + qh − qmin_h, j + qw − qmin_w).
            for (int64_t r = 0; r < rows; ++r) {
              const TapAxis& th = ah.taps[static_cast<size_t>(r % KS_ / geo.KW)];
              const TapAxis& tw = aw.taps[static_cast<size_t>(r % KS_ % geo.KW)];
              int32_t* pl = acc + ((r / KS_) * phases + th.phase * sw + tw.phase) * plane;
              add_run(pl + (i0 + th.q - ah.qmin) * pitch + (tw.q - aw.qmin), cb + r * cols, cols);
            }
          }
          const int64_t oc0 = gi * Mg_ + m0;
          char* yc = yp + static_cast<size_t>((n * M + oc0) * OS) * es;
          const Epilogue e = epilogue(q_, rq_, true, oc0, yc, OS);
          if (direct) return requantize_rows(isa, mn, OS, acc, plane, e);
          int32_t* flat = thread_scratch_as<int32_t>(ScratchSlot::kOffsets, static_cast<size_t>(mn * OS));
          for (int64_t m = 0; m < mn; ++m)
            interleave_phases(acc + m * phases * plane, plane, pitch, ah, aw, geo.OH, geo.OW, sh, sw,
                              flat + m * OS);
          requantize_rows(isa, mn, OS, flat, OS, e);
        },
        mc * KS_ * std::max<int64_t>(1, Cg_ * IS), kMinParallelMacs);
  });
}

}  // namespace qs
