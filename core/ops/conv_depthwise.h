// Direct 2-D convolution for groups with a single input channel (depthwise, with any channel
// multiplier), where im2col + GEMM would have K = kh*kw and spend most of its time moving data. Whole
// output planes are computed as long vector runs over the phase planes of core/ops/conv_phase.h.
#pragma once

#include <cstdint>

#include "core/ops/conv_geometry.h"

namespace qs {

// Convolves `planes` contiguous input planes x (in[0] x in[1] each), plane p with the `mult` kernels
// p*mult .. p*mult + mult-1 of w (kh x kw each, contiguous), into planes*mult contiguous output planes y
// (out[0] x out[1] each), adding bias[i] to output plane i (bias may be nullptr). Each output is bias +
// the taps in (kh, kw) order, a fixed order, so results do not depend on how planes are batched into
// calls. Uses the calling thread's kColumns, kOutput and kOffsets scratch. Precondition: rank 2.
void depthwise_conv2d(const ConvGeometry& g, const float* x, int64_t planes, int64_t mult, const float* w,
                      const float* bias, float* y);

}  // namespace qs
