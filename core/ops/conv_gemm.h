// Conv as GEMM without a separate im2col matrix: per work item (a run of output positions of one or
// more images, one group) the im2col values are written straight into the packed panel layout of Eigen's
// GEBP micro-kernel, multiplied with weights packed once, and written to Y with the bias added.
//
// Every output position is computed with the same kernel path (rows are padded to whole panels) and the
// same depth chunks (fixed by the weight shape), so a result does not depend on how positions are
// grouped into items: it is identical for any thread count and any batch size.
#pragma once

#include <cstdint>
#include <vector>

#include "core/ops/conv_epilogue.h"
#include "core/ops/conv_geometry.h"
#include "core/ops/conv_im2col.h"

namespace qs {

// W (M x C/group x k...) in GEBP's packed right-hand-side layout, per group and depth chunk.
class PackedConvWeights {
 public:
  PackedConvWeights() = default;
  // w: M x Kg row-major (Kg = C/group * kernel size), M = groups * Mg.
  PackedConvWeights(const float* w, int64_t groups, int64_t Mg, int64_t Kg);

  int64_t groups() const { return groups_; }
  int64_t out_per_group() const { return Mg_; }
  int64_t depth() const { return Kg_; }
  // Depth chunk c covers [chunk_begin(c), chunk_begin(c + 1)); chunks() of them.
  int64_t chunks() const { return static_cast<int64_t>(chunk_begin_.size()) - 1; }
  int64_t chunk_begin(int64_t c) const { return chunk_begin_[static_cast<size_t>(c)]; }
  const float* block(int64_t group, int64_t chunk) const {
    return data_.data<float>() + group * Mg_ * Kg_ + chunk_begin(chunk) * Mg_;
  }

 private:
  int64_t groups_ = 0, Mg_ = 0, Kg_ = 0;
  std::vector<int64_t> chunk_begin_;
  Tensor data_;  // a Tensor for its 64-byte aligned buffer
};

// 1x1, stride 1, unpadded convolutions whose output planes are too small to fill GEBP panels well
// (P = positions per image, padded to whole panels of mr rows, would waste more than 1/8): computed per
// image as Y_g = W_g * X_g with Eigen's own GEMM (core/ops/gemm_eigen.h), from the unpacked weights.
// Depends only on the image shape, so an image's results do not depend on the batch size.
bool use_pointwise_gemm(const ConvGeometry& g);
void conv_pointwise_forward(const ConvGeometry& g, const float* w, const float* x, const float* bias,
                            float* y, const ConvClamp* clamp = nullptr);

// y = conv(x) + bias for the GEMM path (any spatial rank, any group). `w` must match g
// (out_per_group = M / group, depth = C / group * kernel size).
void conv_gemm_forward(const ConvGeometry& g, const PackedConvWeights& w, const float* x, const float* bias,
                       float* y, const ConvClamp* clamp = nullptr);

}  // namespace qs
