#include "core/algo/obc/linalg.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <utility>
#include <vector>

#include "core/common/parallel.h"

namespace qs::obc {

template <typename T>
bool cholesky_lower_inplace(ColMat<T>& a) {
  constexpr Eigen::Index kPanel = 128, kTile = 256;
  const Eigen::Index n = a.rows();
  if (a.cols() != n) return false;
  for (Eigen::Index k = 0; k < n; k += kPanel) {
    const Eigen::Index kb = std::min(kPanel, n - k), rest = n - k - kb;
    Eigen::LLT<ColMat<T>> llt(a.block(k, k, kb, kb));
    if (llt.info() != Eigen::Success) return false;
    a.block(k, k, kb, kb).template triangularView<Eigen::Lower>() = llt.matrixL();
    if (rest == 0) break;
    const ColMat<T> l11 = a.block(k, k, kb, kb).template triangularView<Eigen::Lower>();
    // Panel below: A21 ← A21·L11⁻ᵀ, independent per row chunk.
    const Eigen::Index chunks = (rest + kTile - 1) / kTile;
    parallel_for(
        0, chunks,
        [&](int64_t c) {
          const Eigen::Index r0 = k + kb + c * kTile, rn = std::min(kTile, n - r0);
          auto blk = a.block(r0, k, rn, kb);
          l11.template triangularView<Eigen::Lower>().transpose().template solveInPlace<Eigen::OnTheRight>(
              blk);
        },
        kTile * kb * kb);
    // Trailing lower triangle: A22 ← A22 − A21·A21ᵀ in tiles.
    std::vector<std::pair<Eigen::Index, Eigen::Index>> tiles;
    for (Eigen::Index i = 0; i < chunks; ++i)
      for (Eigen::Index j = 0; j <= i; ++j) tiles.emplace_back(i, j);
    parallel_for(
        0, static_cast<int64_t>(tiles.size()),
        [&](int64_t t) {
          const auto [i, j] = tiles[static_cast<size_t>(t)];
          const Eigen::Index r0 = k + kb + i * kTile, c0 = k + kb + j * kTile;
          const Eigen::Index rn = std::min(kTile, n - r0), cn = std::min(kTile, n - c0);
          a.block(r0, c0, rn, cn).noalias() -= a.block(r0, k, rn, kb) * a.block(c0, k, cn, kb).transpose();
        },
        kTile * kTile * kb);
  }
  return true;
}

template bool cholesky_lower_inplace<float>(ColMat<float>&);
template bool cholesky_lower_inplace<double>(ColMat<double>&);

}  // namespace qs::obc
