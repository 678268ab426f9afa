// Exact integer convolution, the core of ConvInteger and QLinearConv (core/ops/qlinear_conv.cpp): im2col of
// the 8-bit input shifted by its zero point, then the runtime's GEMM (core/ops/gemm_eigen.h) on int32 or
// int64 — exact as long as the accumulator type cannot overflow, which the caller guarantees
// (conv_integer_fits_int32). Any spatial rank and group, the geometry of core/ops/conv_geometry.h.
#pragma once

#include <cstdint>

#include "core/ops/conv_geometry.h"

namespace qs {

// W minus its zero point (per tensor or per output channel), row-major M x (C/group · kernel size), int32
// (shifted 8-bit values lie in [-255, 255]), and the largest magnitude in it.
struct ShiftedConvWeights {
  Tensor w;  // int32, the shape of W
  int32_t max_abs = 0;
};
// `zp`: one value, or one per output channel (W's dimension 0). Throws Error for another count.
ShiftedConvWeights shift_conv_weights(const Tensor& w, const std::vector<int32_t>& zp);

// True when the accumulators of a convolution over `depth` = C/group · kernel size shifted 8-bit inputs
// (|x - zp| <= 255) and weights of largest magnitude `w_max_abs` fit int32.
bool conv_integer_fits_int32(int64_t depth, int32_t w_max_abs);

// y[n][m][o] = Σ_{c,k} (x[n][g·C/group + c][tap(o, k)] - x_zp) · w[m][c·ks + k], a tap in the padding
// contributing 0 (the padding holds x_zp). x: N x C x D1..Dn (X = uint8_t or int8_t); w: M x C/group x
// k1..kn shifted weights in T; y: N x M x O1..On in T (T = int32_t or int64_t). Parallel over images,
// groups and runs of output positions; integer arithmetic makes the result independent of the split.
template <typename X, typename T>
void conv_integer(const ConvGeometry& g, const X* x, int32_t x_zp, const T* w, T* y);

}  // namespace qs
