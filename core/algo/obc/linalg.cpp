#include "core/algo/obc/linalg.h"

#include <Eigen/Cholesky>
#include <algorithm>

#include "core/common/parallel.h"

namespace qs::obc {

using Eigen::Index;

template <typename T>
void gemm_serial(Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b, Index ldb,
                 bool trans_b, T* c, Index ldc) {
  if (m <= 0 || n <= 0 || k <= 0) return;
  namespace ei = Eigen::internal;
  // Eigen's GEMM driver without its parallel partitioning (info = nullptr runs on the calling thread).
  ei::gemm_blocking_space<Eigen::ColMajor, T, T, Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic> blocking(
      m, n, k, 1, true);
  if (trans_b)
    ei::general_matrix_matrix_product<Index, T, Eigen::ColMajor, false, T, Eigen::RowMajor, false,
                                      Eigen::ColMajor, 1>::run(m, n, k, a, lda, b, ldb, c, 1, ldc, alpha,
                                                               blocking, nullptr);
  else
    ei::general_matrix_matrix_product<Index, T, Eigen::ColMajor, false, T, Eigen::ColMajor, false,
                                      Eigen::ColMajor, 1>::run(m, n, k, a, lda, b, ldb, c, 1, ldc, alpha,
                                                               blocking, nullptr);
}

template <typename T>
void gemm_parallel(Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b, Index ldb,
                   bool trans_b, T* c, Index ldc) {
  if (m <= 0 || n <= 0 || k <= 0) return;
  // Tiles of about 128×128 of C (at least 32 rows/cols, so packing stays a small part of each tile).
  constexpr Index kTile = 128;
  const Index mt = (m + kTile - 1) / kTile, nt = (n + kTile - 1) / kTile;
  const Index tm = (m + mt - 1) / mt, tn = (n + nt - 1) / nt;
  parallel_for(
      0, mt * nt,
      [&](int64_t t) {
        const Index i0 = (t % mt) * tm, j0 = (t / mt) * tn;
        const Index mi = std::min(tm, m - i0), nj = std::min(tn, n - j0);
        const T* bj = trans_b ? b + j0 : b + j0 * ldb;
        gemm_serial(mi, nj, k, alpha, a + i0, lda, bj, ldb, trans_b, c + i0 + j0 * ldc, ldc);
      },
      tm * tn * k);
}

template <typename T>
bool cholesky_lower_inplace(T* a, Index n, Index lda) {
  // Panel width: the depth of every trailing GEMM. 256 keeps Eigen's float kernel near its peak
  // (its kc is about that) while the serial panel factorization stays a few percent of the work.
  constexpr Index kPanel = 256, kRows = 128;
  using Map = Eigen::Map<ColMat<T>, 0, Eigen::OuterStride<>>;
  auto at = [&](Index i, Index j) { return a + i + j * lda; };
  for (Index k = 0; k < n; k += kPanel) {
    const Index kb = std::min(kPanel, n - k), rest = n - k - kb;
    Map a11(at(k, k), kb, kb, Eigen::OuterStride<>(lda));
    Eigen::LLT<Eigen::Ref<ColMat<T>, 0, Eigen::OuterStride<>>> llt(a11);  // in place
    if (llt.info() != Eigen::Success) return false;
    if (rest == 0) break;
    // Panel below: A21 ← A21·L11⁻ᵀ, independent per row chunk.
    const Index chunks = (rest + kRows - 1) / kRows;
    parallel_for(
        0, chunks,
        [&](int64_t c) {
          const Index r0 = k + kb + c * kRows, rn = std::min(kRows, n - r0);
          Map blk(at(r0, k), rn, kb, Eigen::OuterStride<>(lda));
          a11.template triangularView<Eigen::Lower>().transpose().template solveInPlace<Eigen::OnTheRight>(
              blk);
        },
        kRows * kb * kb);
    // Trailing lower triangle A22 ← A22 − A21·A21ᵀ, by strips of kRows columns from the diagonal down:
    // strip s is rows [c0, n) × columns [c0, c0 + kRows). Strips run largest first so the last ones
    // claimed are short. (The part of each strip's top square above the diagonal is computed too and
    // left in the strict upper triangle, which callers ignore.)
    const Index c00 = k + kb;
    parallel_for(
        0, chunks,
        [&](int64_t s) {
          const Index c0 = c00 + s * kRows, cn = std::min(kRows, n - c0);
          gemm_serial(n - c0, cn, kb, T(-1), at(c0, k), lda, at(c0, k), lda, true, at(c0, c0), lda);
        },
        (rest / 2 + kRows) * kRows * kb);
  }
  return true;
}

template void gemm_serial<float>(Index, Index, Index, float, const float*, Index, const float*, Index, bool,
                                 float*, Index);
template void gemm_serial<double>(Index, Index, Index, double, const double*, Index, const double*, Index,
                                  bool, double*, Index);
template void gemm_parallel<float>(Index, Index, Index, float, const float*, Index, const float*, Index, bool,
                                   float*, Index);
template void gemm_parallel<double>(Index, Index, Index, double, const double*, Index, const double*, Index,
                                    bool, double*, Index);
template bool cholesky_lower_inplace<float>(float*, Index, Index);
template bool cholesky_lower_inplace<double>(double*, Index, Index);

}  // namespace qs::obc
