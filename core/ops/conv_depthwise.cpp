#include "core/ops/conv_depthwise.h"

#include <Eigen/Core>
#include <algorithm>

#include "core/ops/conv_panels.h"
#include "core/ops/conv_phase.h"
#include "core/ops/gemm_eigen.h"

namespace qs {

namespace {

using Packet = Eigen::internal::packet_traits<float>::type;
constexpr int64_t kPacket = Eigen::internal::packet_traits<float>::size;

// P packets of consecutive flat outputs, accumulated in registers over every tap: tap t reads
// in + off[t]. P independent accumulators hide the multiply-add latency. Eigen's packet primitives keep
// this portable across SSE/AVX/NEON.
template <int P>
inline void block(const float* in, const int64_t* off, int64_t taps, const float* w, float bias, float* out) {
  Packet acc[P];
  for (int p = 0; p < P; ++p) acc[p] = Eigen::internal::pset1<Packet>(bias);
  for (int64_t t = 0; t < taps; ++t) {
    const Packet wv = Eigen::internal::pset1<Packet>(w[t]);
    const float* s = in + off[t];
    for (int p = 0; p < P; ++p)
      acc[p] = Eigen::internal::pmadd(wv, Eigen::internal::ploadu<Packet>(s + p * kPacket), acc[p]);
  }
  for (int p = 0; p < P; ++p) Eigen::internal::pstoreu(out + p * kPacket, acc[p]);
}

// V output positions (step floats apart in `in`) of kPacket interleaved channels: acc = bias, then for
// each tap (kh, kw) in order acc += w[tap] * in[kh*row_step + kw*col_step]. V independent accumulators
// hide the multiply-add latency.
template <int V>
inline void positions(const float* in, int64_t step, const float* wt, int64_t KH, int64_t KW,
                      int64_t row_step, int64_t col_step, float* out) {
  Packet acc[V];
  const Packet b = Eigen::internal::ploadu<Packet>(wt + KH * KW * kPacket);
  for (int v = 0; v < V; ++v) acc[v] = b;
  for (int64_t kh = 0; kh < KH; ++kh)
    for (int64_t kw = 0; kw < KW; ++kw) {
      const Packet wv = Eigen::internal::ploadu<Packet>(wt + (kh * KW + kw) * kPacket);
      const float* s = in + kh * row_step + kw * col_step;
      for (int v = 0; v < V; ++v)
        acc[v] = Eigen::internal::pmadd(wv, Eigen::internal::ploadu<Packet>(s + v * step), acc[v]);
    }
  for (int v = 0; v < V; ++v) Eigen::internal::pstoreu(out + v * kPacket, acc[v]);
}

// A block of kPacket packets for Eigen's in-register transpose (GCC warns that the packet type's
// alignment attribute is ignored as a template argument; the block is a local, so that is harmless).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
using PacketSquare = Eigen::internal::PacketBlock<Packet, kPacket>;
#pragma GCC diagnostic pop

// dst[i][lane] = src[lane * stride + i] for i < n and lane < lanes; lanes >= `lanes` are 0. Whole
// blocks of kPacket positions go through an in-register transpose.
void interleave(const float* src, int64_t stride, int64_t lanes, int64_t n, float* dst) {
  int64_t i = 0;
  if (lanes == kPacket) {
    for (; i + kPacket <= n; i += kPacket) {
      PacketSquare b;
      for (int64_t c = 0; c < kPacket; ++c)
        b.packet[c] = Eigen::internal::ploadu<Packet>(src + c * stride + i);
      Eigen::internal::ptranspose(b);
      for (int64_t j = 0; j < kPacket; ++j) Eigen::internal::pstoreu(dst + (i + j) * kPacket, b.packet[j]);
    }
  }
  for (; i < n; ++i)
    for (int64_t c = 0; c < kPacket; ++c) dst[i * kPacket + c] = c < lanes ? src[c * stride + i] : 0.f;
}

// The inverse for the first `lanes` lanes: dst[lane * stride + i] = src[i][lane], i < n.
void deinterleave(const float* src, int64_t n, int64_t lanes, float* dst, int64_t stride) {
  int64_t i = 0;
  if (lanes == kPacket) {
    for (; i + kPacket <= n; i += kPacket) {
      PacketSquare b;
      for (int64_t j = 0; j < kPacket; ++j)
        b.packet[j] = Eigen::internal::ploadu<Packet>(src + (i + j) * kPacket);
      Eigen::internal::ptranspose(b);
      for (int64_t c = 0; c < kPacket; ++c) Eigen::internal::pstoreu(dst + c * stride + i, b.packet[c]);
    }
  }
  for (; i < n; ++i)
    for (int64_t c = 0; c < lanes; ++c) dst[c * stride + i] = src[i * kPacket + c];
}

// Narrow planes (strided ones with output rows shorter than two packets, any narrower than one packet)
// waste lanes, per-row work and a phase split in the flat kernel below. Here a packet holds one position of
// kPacket channels instead (a channel-interleaved copy of the planes, as NCHWc layouts do): every lane is
// used whatever the plane size and strided taps need no phase split. Each output is still bias + the taps in
// (kh, kw) order with fused multiply-adds, so the results are bit-identical to the flat kernel's.
void depthwise_channels(const ConvGeometry& g, const float* x, int64_t planes, const float* w,
                        const float* bias, float* y) {
  const int64_t H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1];
  const int64_t KH = g.kernel[0], KW = g.kernel[1], taps = KH * KW;
  const int64_t sh = g.strides[0], sw = g.strides[1], dh = g.dilations[0], dw = g.dilations[1];
  const int64_t ph = g.pad_begin[0], pw = g.pad_begin[1];
  const int64_t Hp = H + ph + g.pad_end[0], Wp = W + pw + g.pad_end[1];
  const int64_t P = OH * OW;
  float* in = thread_scratch_as<float>(ScratchSlot::kColumns, static_cast<size_t>(Hp * Wp * kPacket));
  float* out = thread_scratch_as<float>(ScratchSlot::kOutput, static_cast<size_t>(P * kPacket));
  float* wt = thread_scratch_as<float>(ScratchSlot::kOffsets, static_cast<size_t>((taps + 1) * kPacket));
  std::fill_n(in, Hp * Wp * kPacket, 0.f);  // the padding stays zero; blocks rewrite the interior only
  float* dense =
      thread_scratch_as<float>(ScratchSlot::kRow, static_cast<size_t>(std::max(H * W, P) * kPacket));
  for (int64_t c0 = 0; c0 < planes; c0 += kPacket) {
    const int64_t nc = std::min(kPacket, planes - c0);
    // Interleave: in[(row, col)][lane], weights wt[tap][lane], bias wt[taps][lane]; unused lanes are 0.
    // The planes are transposed kPacket x kPacket at a time into dense[(ih, iw)][lane], then copied into
    // the padded rows one position (a packet) at a time: data movement only, the arithmetic is unchanged.
    interleave(x + c0 * H * W, H * W, nc, H * W, dense);
    for (int64_t ih = 0; ih < H; ++ih) {
      float* d = in + ((ih + ph) * Wp + pw) * kPacket;
      const float* s = dense + ih * W * kPacket;
      for (int64_t iw = 0; iw < W * kPacket; iw += kPacket)
        Eigen::internal::pstoreu(d + iw, Eigen::internal::ploadu<Packet>(s + iw));
    }
    for (int64_t c = 0; c < kPacket; ++c) {
      for (int64_t t = 0; t < taps; ++t) wt[t * kPacket + c] = c < nc ? w[(c0 + c) * taps + t] : 0.f;
      wt[taps * kPacket + c] = c < nc && bias ? bias[c0 + c] : 0.f;
    }
    for (int64_t oh = 0; oh < OH; ++oh) {
      const float* row = in + oh * sh * Wp * kPacket;
      float* orow = out + oh * OW * kPacket;
      int64_t ow = 0;
      for (; ow + 4 <= OW; ow += 4)
        positions<4>(row + ow * sw * kPacket, sw * kPacket, wt, KH, KW, dh * Wp * kPacket, dw * kPacket,
                     orow + ow * kPacket);
      switch (OW - ow) {  // the last 0..3 positions in one block
        case 3:
          positions<3>(row + ow * sw * kPacket, sw * kPacket, wt, KH, KW, dh * Wp * kPacket, dw * kPacket,
                       orow + ow * kPacket);
          break;
        case 2:
          positions<2>(row + ow * sw * kPacket, sw * kPacket, wt, KH, KW, dh * Wp * kPacket, dw * kPacket,
                       orow + ow * kPacket);
          break;
        case 1:
          positions<1>(row + ow * sw * kPacket, sw * kPacket, wt, KH, KW, dh * Wp * kPacket, dw * kPacket,
                       orow + ow * kPacket);
          break;
        default:
          break;
      }
    }
    deinterleave(out, P, nc, y + c0 * P, P);
  }
}

}  // namespace

void depthwise_conv2d(const ConvGeometry& g, const float* x, int64_t planes, int64_t mult, const float* w,
                      const float* bias, float* y) {
  // Narrow planes: the channel-interleaved kernel. The flat one would split strided planes into phases,
  // and on planes narrower than a packet most of its lanes hold dropped columns (7x7: 63 flat outputs for
  // 49 kept, and a scalar copy-out per row); measured 2x faster at 7x7, slower at 14x14 stride 1.
  const bool strided = g.strides[0] > 1 || g.strides[1] > 1;
  if (mult == 1 && ((strided && g.out[1] < 2 * kPacket) || g.out[1] < kPacket))
    return depthwise_channels(g, x, planes, w, bias, y);
  const int64_t H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1];
  const int64_t KH = g.kernel[0], KW = g.kernel[1];
  // The input plane as phase planes (core/ops/conv_phase.h): every tap is a unit-stride run over the
  // flat outputs t = oh*pitch + ow, so whole output planes are computed in long vector runs.
  const PhasePlanes phases(g);
  const int64_t pitch = phases.pitch(), rows = phases.rows_for(OH);
  const int64_t T = OH * pitch;                                   // flat outputs, including dropped columns
  const int64_t T_round = (T + kPacket - 1) / kPacket * kPacket;  // computed in whole packets
  // Spare floats after the planes: the last plane's dropped columns read up to a pitch past it and the
  // rounding up to whole packets adds up to a packet more.
  const int64_t in_floats = phases.planes() * phases.plane_floats(rows) + pitch + kPacket;
  float* xp = thread_scratch_as<float>(ScratchSlot::kColumns, static_cast<size_t>(in_floats));
  float* acc = thread_scratch_as<float>(ScratchSlot::kOutput, static_cast<size_t>(T_round));
  const int64_t taps = KH * KW;
  int64_t* off = thread_scratch_as<int64_t>(ScratchSlot::kOffsets, static_cast<size_t>(taps));
  for (int64_t kh = 0; kh < KH; ++kh)
    for (int64_t kw = 0; kw < KW; ++kw) off[kh * KW + kw] = phases.tap(kh, kw).offset(phases, rows);
  std::fill(xp + in_floats - pitch - kPacket, xp + in_floats, 0.f);

  for (int64_t p = 0; p < planes; ++p) {
    phases.fill(x + p * H * W, 0, rows, xp);
    for (int64_t i = p * mult; i < (p + 1) * mult; ++i) {
      const float b = bias ? bias[i] : 0.f;
      const float* wi = w + i * taps;
      int64_t t = 0;
      for (; t + 8 * kPacket <= T_round; t += 8 * kPacket) block<8>(xp + t, off, taps, wi, b, acc + t);
      switch ((T_round - t) / kPacket) {  // the last 0..7 packets in one block
        case 7:
          block<7>(xp + t, off, taps, wi, b, acc + t);
          break;
        case 6:
          block<6>(xp + t, off, taps, wi, b, acc + t);
          break;
        case 5:
          block<5>(xp + t, off, taps, wi, b, acc + t);
          break;
        case 4:
          block<4>(xp + t, off, taps, wi, b, acc + t);
          break;
        case 3:
          block<3>(xp + t, off, taps, wi, b, acc + t);
          break;
        case 2:
          block<2>(xp + t, off, taps, wi, b, acc + t);
          break;
        case 1:
          block<1>(xp + t, off, taps, wi, b, acc + t);
          break;
        default:
          break;
      }
      float* yi = y + i * OH * OW;
      for (int64_t oh = 0; oh < OH; ++oh) copy_run(yi + oh * OW, acc + oh * pitch, OW);
    }
  }
}

}  // namespace qs
