// Reference Conv and ConvTranspose: the ONNX definitions written as plain loops, deliberately slow, with
// double accumulation. They are the oracle the optimized kernels are tested against, so they share no
// code with them (not even the geometry: the caller gives the output shape and the begin pads).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor/tensor.h"

namespace qs::reference {

struct ConvParams {
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pad_begin;  // one value per spatial axis
};

// x: N x C x D1..Dn, w: M x C/group x k1..kn, b: M or nullptr; y_shape: N x M x O1..On.
// y[n][m][o] = b[m] + sum_{c, k} x[n][g*C/group + c][o*s - pad_begin + k*d] * w[m][c][k], g = m / (M/group),
// with positions outside X contributing 0.
Tensor conv(const Tensor& x, const Tensor& w, const Tensor* b, const ConvParams& p, const Shape& y_shape);

// x: N x C x D1..Dn, w: C x M/group x k1..kn, b: M or nullptr; y_shape: N x M x O1..On.
// y[n][m][o] = b[m] + sum over c in m's group, k and input positions i with i*s - pad_begin + k*d == o of
// x[n][c][i] * w[c][m - g*M/group][k]. Written as a gather over o (the optimized kernel scatters).
Tensor conv_transpose(const Tensor& x, const Tensor& w, const Tensor* b, const ConvParams& p,
                      const Shape& y_shape);

}  // namespace qs::reference
