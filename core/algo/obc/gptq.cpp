#include "core/algo/obc/gptq.h"

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <numeric>

#include "core/algo/obc/linalg.h"
#include "core/common/error.h"

namespace qs::obc {

namespace {

// Per-row quantization of one column: every row r has its scale s[r] and zero point z[r].
void quantize_column(const Eigen::ArrayXf& w, const Eigen::ArrayXf& s, const Eigen::ArrayXf& z, float qmin,
                     float qmax, Eigen::Ref<Eigen::VectorXf> out) {
  out.array() = (((w / s).rint() + z).max(qmin).min(qmax) - z) * s;
}

}  // namespace

GptqStats gptq_quantize(RowMat<float>& w, const Eigen::MatrixXd& h, const RowGrid& grid, const GptqOptions& o,
                        const ProgressFn& progress, const std::string& where) {
  const auto t0 = std::chrono::steady_clock::now();
  const Eigen::Index rows = w.rows(), d = w.cols();
  if (h.rows() != d || h.cols() != d) throw Error(where + ": the Hessian does not match the weight");
  if (o.block < 1) throw Error(where + ": block size must be >= 1");
  if (o.group < 0) throw Error(where + ": group size must be >= 0");
  GptqStats stats;
  if (rows == 0 || d == 0) return stats;
  const PreparedHessian p = prepare_hessian(h, o.damp);

  // Column order: as stored, or by decreasing diag H (stable, so ties keep their order).
  std::vector<Eigen::Index> perm(static_cast<size_t>(d));
  std::iota(perm.begin(), perm.end(), 0);
  if (o.act_order)
    std::stable_sort(perm.begin(), perm.end(),
                     [&](Eigen::Index a, Eigen::Index b) { return p.h(a, a) > p.h(b, b); });

  // A = P·Hπ·P (reversed), factored A = L·Lᵀ; Vt = Vᵀ = P·Lᵀ·P is lower triangular.
  ColMat<float> a(d, d);
  for (Eigen::Index j = 0; j < d; ++j)
    for (Eigen::Index i = 0; i < d; ++i)
      a(d - 1 - i, d - 1 - j) =
          static_cast<float>(p.h(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(j)]));
  const auto tf = std::chrono::steady_clock::now();
  if (!cholesky_lower_inplace(a))
    throw Error(where +
                ": the layer Hessian is not positive definite in float; raise the dampening (--damp)");
  ColMat<float> vt(d, d);
  for (Eigen::Index j = 0; j < d; ++j)
    for (Eigen::Index i = j; i < d; ++i) vt(i, j) = a(d - 1 - j, d - 1 - i);  // Vt(i,j) = L(d-1-j, d-1-i)
  stats.factor_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - tf).count();
  a.resize(0, 0);

  ColMat<float> w0(rows, d), dq(rows, d), q(rows, d);
  for (Eigen::Index j = 0; j < d; ++j) {
    const Eigen::Index src = perm[static_cast<size_t>(j)];
    if (p.dead[static_cast<size_t>(src)])
      w0.col(j).setZero();  // `w` itself is only written at the end, so a cancel leaves it as it was
    else
      w0.col(j) = w.col(src);
  }

  // Per-row grid as arrays (replaced per group when grouping).
  Eigen::ArrayXf s(rows), z(rows);
  for (Eigen::Index r = 0; r < rows; ++r) {
    s[r] = grid.row_scale(r);
    z[r] = static_cast<float>(grid.row_zero_point(r));
  }
  float qmin = static_cast<float>(grid.qmin), qmax = static_cast<float>(grid.qmax);
  QuantSpec gspec = grid.spec;
  gspec.axis = -1;

  const Eigen::Index bs = o.group > 0 ? std::max<Eigen::Index>(o.group, o.block - o.block % o.group)
                                      : static_cast<Eigen::Index>(o.block);
  ColMat<float> sblk(rows, std::min(bs, d));
  Eigen::ArrayXf wcur(rows);
  for (Eigen::Index a0 = 0; a0 < d; a0 += bs) {
    if (progress && !progress(a0, d)) throw CancelledError();
    const Eigen::Index bl = std::min(bs, d - a0);
    // Contributions of every column already quantized: S = D[:, :a0]·V[:a0, a0:a0+bl].
    if (a0 > 0)
      sblk.leftCols(bl).noalias() = dq.leftCols(a0) * vt.block(a0, 0, bl, a0).transpose();
    else
      sblk.leftCols(bl).setZero();
    for (Eigen::Index jj = 0; jj < bl; ++jj) {
      const Eigen::Index j = a0 + jj;
      if (o.group > 0 && j % o.group == 0) {
        // The group's current weights (every earlier column's error propagated) give each row's range.
        // With A the columns done and G the group, GPTQ's current values are W₀_G + D_A·V_AG·V_GG⁻¹
        // (V_GG: the group's diagonal block of V, upper triangular); sblk holds D_A·V_AG.
        const Eigen::Index gn = std::min<Eigen::Index>(o.group, d - j);
        const ColMat<float> vgg = vt.block(j, j, gn, gn).transpose();
        const ColMat<float> sg = sblk.middleCols(jj, gn);
        const ColMat<float> cur =
            w0.middleCols(j, gn) + vgg.triangularView<Eigen::Upper>().solve<Eigen::OnTheRight>(sg);
        for (Eigen::Index r = 0; r < rows; ++r) {
          const QuantParams gp = params_from_range(gspec, {cur.row(r).minCoeff()}, {cur.row(r).maxCoeff()});
          s[r] = gp.scale[0];
          z[r] = static_cast<float>(gp.zero_point[0]);
          qmin = static_cast<float>(gp.qmin);
          qmax = static_cast<float>(gp.qmax);
        }
      }
      const float vjj = vt(j, j);
      wcur = w0.col(j).array() + sblk.col(jj).array() / vjj;
      quantize_column(wcur, s, z, qmin, qmax, q.col(j));
      dq.col(j) = w0.col(j) - q.col(j);
      const Eigen::Index rest = bl - jj - 1;
      if (rest > 0)
        sblk.middleCols(jj + 1, rest).noalias() += dq.col(j) * vt.col(j).segment(j + 1, rest).transpose();
    }
  }
  if (progress) progress(d, d);
  for (Eigen::Index j = 0; j < d; ++j) w.col(perm[static_cast<size_t>(j)]) = q.col(j);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

}  // namespace qs::obc
