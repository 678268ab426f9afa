// Internal to the optimized integer convolutions (layer_kernels.cpp and the conv_*.cpp files that hold
// PackedConv's longer paths): the geometry and epilogue helpers they share.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/int/gemm_int.h"
#include "core/int/layer_quant.h"
#include "core/ops/conv_geometry.h"

namespace qs::conv_parts {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// 2-D geometry (1-D convolutions as height 1).
struct Geo2 {
  int64_t IH, IW, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw;
  explicit Geo2(const ConvGeometry& g) {
    const bool one = g.spatial_rank() == 1;
    const size_t a = one ? 0 : 1;  // index of the width axis
    IH = one ? 1 : g.in[0];
    OH = one ? 1 : g.out[0];
    KH = one ? 1 : g.kernel[0];
    sh = one ? 1 : g.strides[0];
    ph = one ? 0 : g.pad_begin[0];
    dh = one ? 1 : g.dilations[0];
    IW = g.in[a];
    OW = g.out[a];
    KW = g.kernel[a];
    sw = g.strides[a];
    pw = g.pad_begin[a];
    dw = g.dilations[a];
  }
};

// Phase b of a stride-sw split of a row padded by pw on the left holds input column j·sw + b − pw at phase
// column j: the columns j in [first, second) of the RS phase columns hold input data, the others padding.
inline std::pair<int64_t, int64_t> phase_data_columns(const Geo2& g, int64_t b, int64_t RS) {
  const int64_t lo = std::min<int64_t>(RS, std::max<int64_t>(0, ceil_div(g.pw - b, g.sw)));
  return {lo, std::max(lo, std::min<int64_t>(RS, ceil_div(g.IW + g.pw - b, g.sw)))};
}

inline intgemm::Epilogue epilogue(const LayerQuant& q, const intgemm::RequantTable& rq, bool per_row,
                                  int64_t channel0, void* y, int64_t ldy) {
  intgemm::Epilogue e;
  e.rq = &rq;
  e.channel_is_row = per_row;
  e.channel0 = channel0;
  e.zp = q.out.zero_point[0] - rq.folded_zp;
  e.lo = q.lo;
  e.hi = q.hi;
  e.out = storage_dtype(q.out);
  e.y = y;
  e.ldy = ldy;
  return e;
}

// Asks the cache for `bytes` bytes from `base`: the input of the work item a thread is likely to take
// next, requested while it computes this one. A layer's input has usually left the L2 cache by the time it
// is read, and the channel-interleaved depthwise kernel reads it as 16 short plane streams at once, too
// many for the hardware prefetcher: on Zen 3 its layers over cold input ran 1.1–1.25× faster with this.
inline void prefetch_bytes(const void* base, int64_t bytes) {
  if (bytes <= 0) return;
  const char* p = static_cast<const char*>(base);
  for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(p + b);
  __builtin_prefetch(p + bytes - 1);
}

inline size_t elem(DType t) { return dtype_size(t); }
// Winograd's transformed weights for PackedConv::wino_ (conv_winograd.cpp): per group, the 16 matrices U'_ξ
// packed as A; empty when the layer is not 3×3, has too few channels to gain, or its ranges could make the
// int32 arithmetic inexact.
std::vector<std::vector<int32_t>> winograd_weights(const LayerQuant& q, int64_t group);

}  // namespace qs::conv_parts
