// Attributes and per-run geometry of Conv and ConvTranspose, per the ONNX spec (opsets 1..21 share these
// semantics). The factory reads and validates the attributes once; the geometry is resolved on each run
// from the shapes of X and W (W may be computed at run time).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ops/kernel.h"
#include "core/ops/window.h"

namespace qs {

struct ConvAttrs {
  bool transpose = false;
  int64_t group = 1;
  std::vector<int64_t> kernel_shape;  // the attribute; empty when absent
  // Spatial rank when the attributes or a constant W fix it in the factory, else -1; then `window` holds
  // empty strides/dilations/pads, meaning the defaults (1, 1, 0) for whatever rank W has at run time.
  int64_t n_spatial = -1;
  WindowAttrs window;                   // strides, dilations, pads, auto_pad (kernel filled per run)
  std::vector<int64_t> output_padding;  // ConvTranspose; empty means zeros
  std::vector<int64_t> output_shape;    // ConvTranspose; empty means absent
};

// Reads and validates the attributes; when W is a constant also checks it against them (rank,
// kernel_shape, divisibility by group). Throws Error / UnsupportedError naming the node.
ConvAttrs read_conv_attrs(const KernelInit& init, bool transpose);

// Geometry of one run. For Conv, `in`/`out` are the spatial extents of X/Y and output position o reads
// input position o*stride - pad_begin + k*dilation. For ConvTranspose the same relation holds with the
// roles swapped: input position i writes output position i*stride - pad_begin + k*dilation. There
// pad_end is negative when output_shape asks for more than the natural extent: the extra trailing output
// positions receive only the bias.
struct ConvGeometry {
  int64_t batch = 0;
  int64_t in_channels = 0;   // C, channels of X
  int64_t out_channels = 0;  // M, channels of Y
  int64_t group = 1;
  std::vector<int64_t> in, out, kernel, strides, dilations, pad_begin, pad_end;
  Shape y_shape;

  int64_t spatial_rank() const { return static_cast<int64_t>(kernel.size()); }
  int64_t in_size() const { return numel(in); }
  int64_t out_size() const { return numel(out); }
  int64_t kernel_size() const { return numel(kernel); }
};

// Resolves the geometry for X and W of the given shapes and checks the bias (nullptr when omitted).
// Throws Error describing any mismatch with the shapes (messages are prefixed with the node by the
// executor).
ConvGeometry conv_geometry(const ConvAttrs& a, const Shape& x, const Shape& w, const Tensor* bias);
ConvGeometry conv_transpose_geometry(const ConvAttrs& a, const Shape& x, const Shape& w, const Tensor* bias);

// The kernels compute in float32 only: UnsupportedError for another type of X, Error when W or B differ
// from X's type.
void check_conv_dtypes(const Tensor& x, const Tensor& w, const Tensor* bias);

}  // namespace qs
