// Single-threaded GEMM on row-major buffers (Eigen's blocked kernel underneath) and the per-thread
// scratch memory the compute-heavy kernels use.
//
// Determinism: gemm() never threads internally and its blocking depends only on (M, N, K), so a call
// gives bit-identical results whatever qs::num_threads() is. Callers parallelize by splitting C into
// tiles whose sizes depend only on the problem shape (never on the thread count), so whole kernels give
// identical results for any thread count, as core/common/parallel.h promises.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qs {

// C[M×N] (row-major, row stride ldc) = alpha * op(A) * op(B) + (accumulate ? C : 0).
// op(A) is M×K: A is stored M×K with row stride lda, or K×M when trans_a. Likewise op(B) is K×N: B is
// stored K×N with row stride ldb, or N×K when trans_b. Instantiated for float, double, int32_t, int64_t.
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T* C, int64_t ldc, bool accumulate);

// gemm() split into output tiles run with qs::parallel_for. The tiling depends only on (M, N, K).
template <typename T>
void gemm_parallel(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                   int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc, bool accumulate);

// How many work items to cut `work` into so each carries at least `min_item` (1 when small). Counts
// above 1 are rounded up to even so two threads, the common case, get equal shares. Depends only on
// the work, never on the thread count, so the results of a split computation do not either.
inline int64_t work_split(int64_t work, int64_t min_item) {
  const int64_t n = work / (min_item > 0 ? min_item : 1);
  return n <= 1 ? 1 : n + (n & 1);
}

// Independent users of per-thread scratch memory on one thread (a GEMM runs while an im2col buffer is
// alive, so they need separate slots).
enum class ScratchSlot : int { kGemmPackA, kGemmPackB, kColumns, kOffsets, kRow, kOutput, kCount };

// A buffer of at least `bytes` bytes, 64-byte aligned, owned by the calling thread and reused by its
// later calls with the same slot (it only grows). Valid until the same thread asks for the same slot
// again. Safe for concurrent run() calls: each OS thread has its own buffers.
void* thread_scratch(ScratchSlot slot, size_t bytes);
template <typename T>
T* thread_scratch_as(ScratchSlot slot, size_t count) {
  return static_cast<T*>(thread_scratch(slot, count * sizeof(T)));
}

}  // namespace qs
