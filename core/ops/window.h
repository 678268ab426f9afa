// Window geometry shared by Conv, ConvTranspose and the pooling ops: strides, dilations, pads and
// auto_pad, per the ONNX spec.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ops/kernel.h"

namespace qs {

struct WindowAttrs {
  std::vector<int64_t> kernel;     // spatial kernel extents
  std::vector<int64_t> strides;    // default 1
  std::vector<int64_t> dilations;  // default 1
  std::vector<int64_t> pads;       // [begin_0, ..., begin_{n-1}, end_0, ..., end_{n-1}] (explicit pads)
  std::string auto_pad = "NOTSET";  // NOTSET, VALID, SAME_UPPER, SAME_LOWER
  bool ceil_mode = false;           // pooling only
};

// Reads strides/dilations/pads/auto_pad/ceil_mode for `n_spatial` axes; `kernel` is given by the caller
// (from kernel_shape or the weight). Throws Error naming the node for inconsistent lengths or values.
WindowAttrs read_window_attrs(const KernelInit& init, std::vector<int64_t> kernel, bool allow_ceil_mode);

// Output spatial extents and the effective begin/end pads for an input of spatial extents `in`.
// For SAME_* the pads are computed here (extra padding at the end for SAME_UPPER, at the begin for
// SAME_LOWER). With ceil_mode, a last window that would start in the end padding is dropped (as
// PyTorch/ONNX Runtime do).
struct WindowGeometry {
  std::vector<int64_t> out;
  std::vector<int64_t> pad_begin, pad_end;
};
WindowGeometry compute_window(const WindowAttrs& a, const std::vector<int64_t>& in, const std::string& where);

}  // namespace qs
