// Dense symmetric factorizations for OBC, threaded with qs::parallel_for (Eigen's own LLT runs its
// trailing updates on one thread, which dominated GPTQ's time on large layers).
#pragma once

#include "core/algo/obc/obs.h"

namespace qs::obc {

// In-place Cholesky a = L·Lᵀ: on return the lower triangle holds L (the strict upper triangle is left as
// is). Right-looking and blocked: each panel's trailing update is split into independent GEMM tiles of
// the lower triangle whose layout depends only on the size. False when a pivot is not positive.
template <typename T>
bool cholesky_lower_inplace(ColMat<T>& a);

}  // namespace qs::obc
