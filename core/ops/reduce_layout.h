// Memory layout of a reduction over a set of axes of a contiguous tensor.
//
// Adjacent axes with the same role (kept / reduced) are merged and extent-1 axes ignored. With a single
// reduced group the input is viewed as [outer, red, inner] (inner == 1 when the reduced axes are the
// trailing ones, e.g. the last axis, or H and W of NCHW), which the kernels walk directly. With several
// reduced groups (e.g. axes {0, 2} of [N, C, H]) the input is first permuted to [kept..., reduced...], after
// which it is [outer, red, 1].
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor/tensor.h"

namespace qs {

struct ReduceLayout {
  Shape out_shape;  // keepdims: reduced axes become 1; otherwise they are removed
  int64_t outer = 1, red = 1, inner = 1;
  std::vector<int64_t> perm;  // non-empty: permute the input by `perm` first
};

// reduced[a] says whether axis a is reduced (size == rank of `in`).
ReduceLayout make_reduce_layout(const Shape& in, const std::vector<bool>& reduced, bool keepdims);

// Copy of x with its axes permuted: out.shape[i] == x.shape[perm[i]].
Tensor permute_copy(const Tensor& x, const std::vector<int64_t>& perm);

// Normalizes reduce axes (negative counts from the end) for a tensor of `rank`; throws Error for an axis
// out of range or given twice. An empty list stays empty.
std::vector<bool> reduced_axes_mask(const std::vector<int64_t>& axes, int64_t rank);

// For each element of a contiguous tensor of shape `in`, the row-major index of its position over the kept
// (not reduced) axes: the reduction group it belongs to. *groups receives the number of groups.
std::vector<int64_t> reduction_groups(const Shape& in, const std::vector<bool>& reduced, int64_t* groups);

// Mean and 1/sqrt(variance + eps) of `count` contiguous values, in two passes in double (0 and 1/sqrt(eps)
// when count is 0): the statistics of the local normalizations (core/ops/norm_local.cpp), which their VJPs
// (core/autodiff/vjp_local.cpp) recompute the same way.
struct MeanInv {
  double mean = 0, inv = 0;
};
MeanInv mean_inv(const float* x, int64_t count, double eps);

}  // namespace qs
