// Dense kernels for OBC, threaded with qs::parallel_for.
//
// Why not Eigen's own threading: Eigen splits a large GEMM over an OpenMP team whose threads
// busy-wait on each other for every packed panel. Called from a pool thread (an item of parallel_for)
// it starts a second team, so 2 cores run 4 spinning threads; on a machine shared with other jobs a
// descheduled team member stalls the whole product. Here every GEMM is Eigen's single-threaded kernel
// on one tile of the result, and the tiles are spread over the pool, whose threads claim work from a
// counter (a late thread just does less) — the result does not depend on the thread count.
#pragma once

#include "core/algo/obc/obs.h"

namespace qs::obc {

// C += alpha·A·op(B) on the calling thread only. Column-major operands given by pointer and leading
// dimension: A is m×k; op(B) is B (k×n) or, with trans_b, Bᵀ for B n×k; C is m×n.
template <typename T>
void gemm_serial(Eigen::Index m, Eigen::Index n, Eigen::Index k, T alpha, const T* a, Eigen::Index lda,
                 const T* b, Eigen::Index ldb, bool trans_b, T* c, Eigen::Index ldc);

// The same product spread over the pool in tiles of C (each tile a gemm_serial; the tiling depends only
// on the shape, so the result is identical for any thread count).
template <typename T>
void gemm_parallel(Eigen::Index m, Eigen::Index n, Eigen::Index k, T alpha, const T* a, Eigen::Index lda,
                   const T* b, Eigen::Index ldb, bool trans_b, T* c, Eigen::Index ldc);

// In-place Cholesky a = L·Lᵀ of the lower triangle of `a` (n×n, column-major, leading dimension lda):
// on return the lower triangle holds L (the strict upper triangle is overwritten with scratch). Right-looking
// and blocked: per panel of columns, Eigen's LLT of the diagonal block, the panel below solved in row chunks,
// and the trailing lower triangle updated in column strips (one GEMM each, largest first) — all spread
// over the pool. False when a pivot is not positive.
template <typename T>
bool cholesky_lower_inplace(T* a, Eigen::Index n, Eigen::Index lda);
template <typename T>
bool cholesky_lower_inplace(ColMat<T>& a) {
  return a.rows() == a.cols() && cholesky_lower_inplace(a.data(), a.rows(), a.rows());
}

}  // namespace qs::obc
