// Axis permutation of a tensor (the Transpose op's computation, also used by DepthToSpace/SpaceToDepth).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor/tensor.h"

namespace qs {

// A new contiguous tensor with out.shape[i] = x.shape[perm[i]]. Throws Error when perm is not a
// permutation of [0, rank).
Tensor transpose_tensor(const Tensor& x, const std::vector<int64_t>& perm);

}  // namespace qs
