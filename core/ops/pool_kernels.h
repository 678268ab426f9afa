// Pooling arithmetic over N x C x D1 x ... x Dn tensors, one (n, c) plane at a time. The window geometry
// (output extents, effective pads) comes from compute_window (core/ops/window.h); these functions only
// compute. Every output window must contain at least one input element (check_pool_windows), except for
// average_pool with count_include_pad, where a window of padding only averages to 0.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qs {

// At most this many spatial axes (fixed-size scratch arrays keep the inner loops free of allocation).
inline constexpr size_t kMaxPoolSpatial = 8;

struct PoolPlan {
  int64_t planes = 0;            // N * C
  std::vector<int64_t> in, out;  // spatial extents of X and Y
  std::vector<int64_t> kernel, strides, dilations;
  std::vector<int64_t> pad_begin, pad_end;  // effective pads (explicit or from auto_pad)
};

// Throws Error (text prefixed by `where`) when some output window lies entirely in the padding: its max
// or average is undefined and implementations disagree.
void check_pool_windows(const PoolPlan& p, const std::string& where);

// Y = max over each window of the input elements (padding ignored). T: float, double, int8_t, uint8_t.
template <typename T>
void max_pool(const T* x, T* y, const PoolPlan& p);

// As max_pool, and writes the flat index of the first maximal element of each window into `indices`:
// plane * prod(in) + the spatial offset in row-major order, or column-major (first spatial axis fastest)
// when `column_major` (MaxPool storage_order = 1).
template <typename T>
void max_pool_with_indices(const T* x, T* y, int64_t* indices, const PoolPlan& p, bool column_major);

// Y = sum over each window / divisor. The divisor counts the input elements of the window, plus the
// explicit/auto padding elements when `count_include_pad`; elements of a ceil_mode window lying beyond
// the end padding never count (as ONNX Runtime and PyTorch).
template <typename T>
void average_pool(const T* x, T* y, const PoolPlan& p, bool count_include_pad);

}  // namespace qs
