// PackedConv's depthwise paths (gemm_int.h): per channel over phase planes, or 16 channels interleaved for
// narrow planes.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/common/parallel.h"
#include "core/int/conv_parts.h"
#include "core/int/int_tensor.h"
#include "core/int/layer_kernels.h"
#include "core/ops/gemm_eigen.h"

namespace qs {

using namespace intgemm;
using namespace conv_parts;

// PackedConv::interleaves chooses the kernel by output width. Measured at b64/b8 on one thread (AVX2,
// Zen 3): interleaved is 1.2× at 7×7, 1.27× at 14×14 and 28×28 stride 1, 1.15× at 28→14 stride 2; about
// even at 32–56 wide; the per-plane kernel is 1.25× at 64 and 112 wide (a plane's rows are long vectors,
// and the interleaved copy of a large plane leaves the cache). With more taps per output (5×5), the copy
// weighs less: interleaved is 1.5× at 40 wide, even at 64.

// Planes up to interleaves()' width: 16 channels of an image per work item,
// channel-interleaved (gemm_int.h, DepthwiseChannels).
void PackedConv::run_depthwise_channels(const ConvGeometry& g, const Tensor& x, Tensor& y) const {
  const Geo2 geo(g);
  const int64_t N = g.batch, C = g.in_channels, P = geo.OH * geo.OW, IS = geo.IH * geo.IW;
  const int64_t Hp = (geo.OH - 1) * geo.sh + (geo.KH - 1) * geo.dh + 1,
                Wp = (geo.OW - 1) * geo.sw + (geo.KW - 1) * geo.dw + 1;
  const int64_t blocks = ceil_div(C, 16);
  parallel_for(
      0, N * blocks,
      [&](int64_t item) {
        const int64_t n = item / blocks, c0 = item % blocks * 16;
        DepthwiseChannels d;
        d.x = static_cast<const char*>(x.raw()) + (n * C + c0) * IS;
        d.x_signed = x.dtype() == DType::Int8;
        d.channels = std::min<int64_t>(16, C - c0);
        d.H = geo.IH, d.W = geo.IW, d.OH = geo.OH, d.OW = geo.OW, d.KH = geo.KH, d.KW = geo.KW;
        d.sh = geo.sh, d.sw = geo.sw, d.dh = geo.dh, d.dw = geo.dw, d.ph = geo.ph, d.pw = geo.pw;
        d.zx = q_.in.zero_point[0];
        d.wlanes = dw_lanes_.data() + c0 * k_pairs(K_);
        if (item + 1 < N * blocks) {
          const int64_t n1 = (item + 1) / blocks, c1 = (item + 1) % blocks * 16;
          prefetch_bytes(static_cast<const char*>(x.raw()) + (n1 * C + c1) * IS,
                         std::min<int64_t>(16, C - c1) * IS);
        }
        d.in = thread_scratch_as<int16_t>(ScratchSlot::kColumns, static_cast<size_t>(Hp * Wp * 16));
        d.out = thread_scratch_as<unsigned char>(ScratchSlot::kOutput, static_cast<size_t>(P * 16));
        intgemm::detail::depthwise_channels_avx2(
            d, epilogue(q_, rq_lanes_, true, c0, static_cast<char*>(y.raw()) + (n * C + c0) * P, P));
      },
      16 * P * K_, kMinParallelMacs);
}

void PackedConv::run_depthwise_nhwc(const ConvGeometry& g, const Tensor& x, Tensor& y) const {
  const Geo2 geo(g);
  const int64_t N = g.batch, C = g.in_channels;
  const int64_t Wp = (geo.OW - 1) * geo.sw + (geo.KW - 1) * geo.dw + 1;
  // Bands of output rows whose interleaved input (Hp·Wp·16 int16) stays about L1-sized: small planes are
  // one band, large ones several, which also gives batch 1 work items for every thread.
  const int64_t rows_in = std::max<int64_t>(1, (int64_t{32} << 10) / (Wp * 32));
  const int64_t band = std::clamp<int64_t>(
      rows_in > (geo.KH - 1) * geo.dh ? (rows_in - (geo.KH - 1) * geo.dh - 1) / geo.sh + 1 : 1, 1, geo.OH);
  const int64_t bands = ceil_div(geo.OH, band), blocks = ceil_div(C, 16);
  const unsigned char* xp = static_cast<const unsigned char*>(x.raw());
  unsigned char* yp = static_cast<unsigned char*>(y.raw());
  parallel_for(
      0, N * blocks * bands,
      [&](int64_t item) {
        const int64_t n = item / (blocks * bands), c0 = item / bands % blocks * 16, b = item % bands;
        const int64_t oh0 = b * band, oh1 = std::min(geo.OH, oh0 + band);
        const int64_t r0 = oh0 * geo.sh - geo.ph;  // the band's first padded row, as an input row
        DepthwiseChannels d;
        d.x = xp + ((n * geo.IH + std::max<int64_t>(r0, 0)) * geo.IW * C + c0);
        d.x_signed = x.dtype() == DType::Int8;
        d.channels = std::min<int64_t>(16, C - c0);
        d.H = geo.IH - std::max<int64_t>(r0, 0), d.W = geo.IW, d.OH = oh1 - oh0, d.OW = geo.OW;
        d.KH = geo.KH, d.KW = geo.KW, d.sh = geo.sh, d.sw = geo.sw, d.dh = geo.dh, d.dw = geo.dw;
        d.ph = std::max<int64_t>(-r0, 0), d.pw = geo.pw;
        d.zx = q_.in.zero_point[0];
        d.wlanes = dw_lanes_.data() + c0 * k_pairs(K_);
        d.x_pos = C, d.y_pos = C;
        const int64_t Hp = (d.OH - 1) * geo.sh + (geo.KH - 1) * geo.dh + 1;
        d.in = thread_scratch_as<int16_t>(ScratchSlot::kColumns, static_cast<size_t>(Hp * Wp * 16));
        intgemm::detail::depthwise_channels_avx2(
            d, epilogue(q_, rq_lanes_, true, c0, yp + ((n * geo.OH + oh0) * geo.OW * C + c0), 0));
      },
      16 * band * geo.OW * K_, kMinParallelMacs);
}

void PackedConv::run_depthwise(IntIsa isa, const ConvGeometry& g, const Tensor& x, Tensor& y) const {
  const Geo2 geo(g);
  const int64_t N = g.batch, C = g.in_channels, P = geo.OH * geo.OW, IS = geo.IH * geo.IW;
  const int64_t sh = geo.sh, sw = geo.sw;
  // Phase planes: phase (a, b) holds the padded input at (i·sh + a, j·sw + b), RP rows of RS columns, one
  // after the other. Output (oh, ow) reads tap (kh, kw) at off[tap] + oh·RS + ow: every tap of an output
  // row is a contiguous run, so the kernel computes 16 outputs of a row per step (or 8 of two rows, for
  // rows of at most 8) straight into y. The buffer has kTail zeros after the planes for the whole-vector
  // reads of the last row.
  const int64_t PH = (geo.OH - 1) * sh + (geo.KH - 1) * geo.dh + 1,
                PWt = (geo.OW - 1) * sw + (geo.KW - 1) * geo.dw + 1;
  const int64_t RP = ceil_div(PH, sh), RS = ceil_div(PWt, sw);
  constexpr int64_t kTail = 32;
  const int64_t planes = sh * sw * RP * RS;
  std::vector<int64_t> off(static_cast<size_t>(K_));
  for (int64_t kh = 0; kh < geo.KH; ++kh)
    for (int64_t kw = 0; kw < geo.KW; ++kw) {
      const int64_t a = kh * geo.dh % sh, b = kw * geo.dw % sw;
      off[static_cast<size_t>(kh * geo.KW + kw)] =
          ((a * sw + b) * RP + kh * geo.dh / sh) * RS + kw * geo.dw / sw;
    }
  // The rows of the phase planes that hold input data, the same for every channel: phase column j holds
  // input column j·sw + b − pw, data for j in [lo, hi); everything else is zero padding, written once per
  // work item (the copies never write there but zeros).
  std::vector<RowCopy> copies;
  int64_t reach = 0;  // how far past a plane's start the whole-vector reads of its rows go
  for (int64_t a = 0; a < sh; ++a)
    for (int64_t b = 0; b < sw; ++b) {
      const auto [lo, hi] = phase_data_columns(geo, b, RS);
      if (hi == lo) continue;
      for (int64_t i = 0; i < RP; ++i) {
        const int64_t r = i * sh + a - geo.ph;
        if (r < 0 || r >= geo.IH) continue;
        copies.push_back({((a * sw + b) * RP + i) * RS + lo, r * geo.IW + lo * sw + b - geo.pw, hi - lo});
        reach = std::max(reach, copies.back().src + widen_span(hi - lo, sw));
      }
    }
  // In increasing dst order: the zeros a row may write past its end land on padding or on rows written
  // after it (and on the kTail zeros).
  std::sort(copies.begin(), copies.end(), [](const RowCopy& l, const RowCopy& r) { return l.dst < r.dst; });
  const DType out_t = storage_dtype(q_.out);
  const size_t es = elem(out_t);
  const int32_t zx = q_.in.zero_point[0];
  const bool bytes = es == 1 && (x.dtype() == DType::Int8 || x.dtype() == DType::UInt8);
  if (isa == IntIsa::Avx2 && bytes && interleaves(geo.OW, K_)) return run_depthwise_channels(g, x, y);
  // Channels per work item: enough items for every thread, few enough to zero the padding rarely.
  const int64_t total = N * C;
  const int64_t per = std::clamp<int64_t>(total / (4 * num_threads()), 1, 16);
  dispatch_act(x.dtype(), q_.where, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    char* yp = static_cast<char*>(y.raw());
    // Planes whose rows' whole-vector reads stay inside x read it directly; the last ones go through a
    // copy with spare room (x ends there).
    const int64_t safe_planes = reach <= IS ? total : std::max<int64_t>(0, total - ceil_div(reach - IS, IS));
    parallel_for(
        0, ceil_div(total, per),
        [&](int64_t chunk) {
          int16_t* buf =
              thread_scratch_as<int16_t>(ScratchSlot::kColumns, static_cast<size_t>(planes + kTail));
          std::fill(buf, buf + planes + kTail, int16_t{0});
          const int64_t end = std::min(total, (chunk + 1) * per);
          for (int64_t item = chunk * per; item < end; ++item) {
            const int64_t c = item % C;
            const T* plane = xp + item * IS;
            if (item >= safe_planes) {
              T* copy = thread_scratch_as<T>(ScratchSlot::kRow, static_cast<size_t>(std::max(reach, IS)));
              std::fill(copy, copy + std::max(reach, IS), T{0});
              std::memcpy(copy, plane, static_cast<size_t>(IS) * sizeof(T));
              plane = copy;
            }
            widen_rows(isa, plane, copies.data(), copies.size(), sw, zx, buf);
            DepthwisePlane p;
            p.buf = buf;
            p.off = off.data();
            p.wpairs = dw_[static_cast<size_t>(c)].data();
            p.taps = K_;
            p.OH = geo.OH;
            p.OW = geo.OW;
            p.RS = RS;
            depthwise(isa, p, epilogue(q_, rq_, true, c, yp + static_cast<size_t>(item * P) * es, geo.OW));
          }
        },
        per * P * K_, kMinParallelMacs);
  });
}

}  // namespace qs
