// The copy engine behind Transpose, Slice, Expand, Tile, DepthToSpace and SpaceToDepth: gathers a strided
// view of a buffer into a contiguous row-major buffer. Type-agnostic (elements are moved as bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor/tensor.h"

namespace qs {

// A view of a buffer: element (i_0, ..., i_{r-1}) is at element offset `offset + sum_k i_k * strides[k]`.
// Strides are in elements and may be 0 (broadcast) or negative (reversed slices).
struct StridedView {
  Shape shape;
  std::vector<int64_t> strides;
  int64_t offset = 0;
};

// Writes the elements of `view` over `src` into `dst` in row-major order of view.shape. `elem_size` is
// the element size in bytes (1, 2, 4 or 8). The caller guarantees every addressed element lies in src.
// Unit-extent axes are dropped and axes that are contiguous in src merged first, so common cases become
// row memcpy (last axis contiguous in src), a cache-blocked 2-D transpose (another axis contiguous in
// src), or a strided element loop. Parallel over rows; deterministic.
void strided_copy(void* dst, const void* src, size_t elem_size, const StridedView& view);

// A contiguous tensor holding `view` of `src`'s buffer, with dtype of src.
Tensor materialize(const Tensor& src, const StridedView& view);

// The view of `t` with its axes permuted: axis i of the view is axis perm[i] of t.
StridedView permuted_view(const Shape& shape, const std::vector<int64_t>& perm);

}  // namespace qs
