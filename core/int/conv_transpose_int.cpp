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
// The accumulators are kept per output phase (a, b) = (oh mod sh, ow mod sw): a tap then adds a contiguous
// run of C to a contiguous run of its phase plane (vector adds, where the output rows would take every s-th
// element), and one pass per channel interleaves the phases back before requantizing.
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

// Where tap k of one axis puts input position i: output i·s − p + k·d = (i + q)·s + phase, so position
// i + q of the phase's plane; the inputs [lo, hi) land inside the output.
struct TapAxis {
  int64_t phase = 0, q = 0, lo = 0, hi = 0;
};

TapAxis tap_axis(int64_t k, int64_t in, int64_t out, int64_t s, int64_t p, int64_t d) {
  const int64_t t = k * d - p;
  TapAxis a;
  a.q = floor_div(t, s);
  a.phase = t - a.q * s;
  const int64_t n = out > a.phase ? ceil_div(out - a.phase, s) : 0;  // outputs of this phase
  a.lo = std::clamp<int64_t>(-a.q, 0, in);
  a.hi = std::clamp<int64_t>(n - a.q, a.lo, in);
  return a;
}

void add_run(int32_t* __restrict d, const int32_t* __restrict s, int64_t n) {
  for (int64_t j = 0; j < n; ++j) d[j] += s[j];
}

// Output channel planes from phase planes: out[oh][ow] = phase (oh mod sh, ow mod sw) at (oh / sh, ow / sw);
// phase (a, b)'s plane at ph + (a·sw + b)·plane, rows of PW.
void interleave_phases(const int32_t* ph, int64_t plane, int64_t PW, int64_t OH, int64_t OW, int64_t sh,
                       int64_t sw, int32_t* out) {
  for (int64_t oh = 0; oh < OH; ++oh, out += OW) {
    const int32_t* r0 = ph + (oh % sh) * sw * plane + (oh / sh) * PW;
    if (sw == 1) {
      std::memcpy(out, r0, static_cast<size_t>(OW) * sizeof(int32_t));
    } else if (sw == 2) {
      const int32_t* r1 = r0 + plane;
      for (int64_t j = 0; j < OW / 2; ++j) {
        out[2 * j] = r0[j];
        out[2 * j + 1] = r1[j];
      }
      if (OW % 2) out[OW - 1] = r0[OW / 2];
    } else {
      for (int64_t b = 0; b < sw; ++b) {
        const int32_t* rb = r0 + b * plane;
        for (int64_t j = 0, ow = b; ow < OW; ++j, ow += sw) out[ow] = rb[j];
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
  const int64_t IS = geo.IH * geo.IW, OS = geo.OH * geo.OW, sh = geo.sh, sw = geo.sw, phases = sh * sw;
  const int64_t PH = ceil_div(geo.OH, sh), PW = ceil_div(geo.OW, sw), plane = PH * PW;
  std::vector<TapAxis> th, tw;
  for (int64_t k = 0; k < geo.KH; ++k) th.push_back(tap_axis(k, geo.IH, geo.OH, sh, geo.ph, geo.dh));
  for (int64_t k = 0; k < geo.KW; ++k) tw.push_back(tap_axis(k, geo.IW, geo.OW, sw, geo.pw, geo.dw));

  // Blocks of mc output channels, the work items with the images and groups: accumulators within ~256 KB,
  // at least two items per thread when the images and groups give fewer, and mc·KS rows a multiple of kMR
  // (so a block's rows of A start a packed row block) except in the last block of a group.
  const int64_t step = kMR / std::gcd(KS_, kMR);
  int64_t mc = std::max<int64_t>(1, 65536 / (phases * plane));
  const int64_t want = 2 * num_threads();
  if (N * G < want) mc = std::min(mc, ceil_div(Mg_, ceil_div(want, N * G)));
  mc = mc >= Mg_ ? Mg_ : std::min(Mg_, std::max(step, mc / step * step));
  const int64_t chunks = ceil_div(Mg_, mc);
  // Input positions per GEMM: C's block within ~128 KB and B's within ~160 KB (L2).
  int64_t nc = std::max(kNR, 32768 / (mc * KS_) / kNR * kNR);
  nc = std::min(nc, std::max(kNR, 163840 / (k_pairs(Cg_) * 4) / kNR * kNR));
  nc = std::min(nc, round_up(std::max<int64_t>(IS, 1), kNR));
  const int64_t Kp = k_pairs(Cg_);
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
          for (int64_t p0 = 0; p0 < IS; p0 += nc) {
            const int64_t cols = std::min(nc, IS - p0);
            int16_t* B = thread_scratch_as<int16_t>(ScratchSlot::kColumns,
                                                    static_cast<size_t>(packed_b_size(cols, Cg_)));
            for (int64_t p = 0; p < Kp; ++p)
              pack_b_pair_act<T>(isa, cols, Cg_, p, xg + 2 * p * IS + p0,
                                 2 * p + 1 < Cg_ ? xg + (2 * p + 1) * IS + p0 : nullptr, zx, B);
            int32_t* cb = thread_scratch_as<int32_t>(ScratchSlot::kRow, static_cast<size_t>(rows * cols));
            Epilogue e;
            e.out = DType::Int32;
            e.y = cb;
            e.ldy = cols;
            gemm(isa, rows, cols, Cg_, A, B, e);
            // col2im: row (m, kh, kw) of C, input position p at column p − p0.
            const int64_t r_first = p0 / geo.IW, r_end = (p0 + cols - 1) / geo.IW + 1;
            for (int64_t r = 0; r < rows; ++r) {
              const TapAxis& ah = th[static_cast<size_t>(r % KS_ / geo.KW)];
              const TapAxis& aw = tw[static_cast<size_t>(r % KS_ % geo.KW)];
              int32_t* pl = acc + ((r / KS_) * phases + ah.phase * sw + aw.phase) * plane;
              const int32_t* cr = cb + r * cols;
              for (int64_t ih = std::max(ah.lo, r_first); ih < std::min(ah.hi, r_end); ++ih) {
                const int64_t a = std::max(aw.lo, p0 - ih * geo.IW);
                const int64_t b = std::min(aw.hi, p0 + cols - ih * geo.IW);
                if (a < b) add_run(pl + (ih + ah.q) * PW + aw.q + a, cr + (ih * geo.IW + a - p0), b - a);
              }
            }
          }
          const int64_t oc0 = gi * Mg_ + m0;
          char* yc = yp + static_cast<size_t>((n * M + oc0) * OS) * es;
          if (phases == 1) {
            requantize_rows(isa, mn, OS, acc, plane, epilogue(q_, rq_, true, oc0, yc, OS));
            return;
          }
          int32_t* flat = thread_scratch_as<int32_t>(ScratchSlot::kOffsets, static_cast<size_t>(OS));
          for (int64_t m = 0; m < mn; ++m) {
            interleave_phases(acc + m * phases * plane, plane, PW, geo.OH, geo.OW, sh, sw, flat);
            requantize_rows(isa, 1, OS, flat, OS,
                            epilogue(q_, rq_, true, oc0 + m, yc + static_cast<size_t>(m * OS) * es, OS));
          }
        },
        mc * KS_ * std::max<int64_t>(1, Cg_ * IS));
  });
}

}  // namespace qs
