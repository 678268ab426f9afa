#include "core/algo/obc/gptq.h"

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <numeric>

#include "core/algo/obc/linalg.h"
#include "core/common/error.h"
#include "core/common/parallel.h"

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
  if (!(o.damp >= 0)) throw Error(where + ": dampening must be >= 0");
  GptqStats stats;
  if (rows == 0 || d == 0) return stats;

  // The prepared Hessian (prepare_hessian's rules: a dead column gets H_dd = 1, then λ·mean(diag) is added
  // to the diagonal), without copying H: only its diagonal is needed before the factorization reads it.
  Eigen::VectorXd diag = h.diagonal();
  std::vector<uint8_t> dead(static_cast<size_t>(d), 0);
  for (Eigen::Index i = 0; i < d; ++i)
    if (diag[i] == 0) {
      dead[static_cast<size_t>(i)] = 1;
      diag[i] = 1;
    }
  const double damp_added = o.damp * diag.mean();
  diag.array() += damp_added;

  // Column order: as stored, or by decreasing diag H (stable, so ties keep their order).
  std::vector<Eigen::Index> perm(static_cast<size_t>(d));
  std::iota(perm.begin(), perm.end(), 0);
  if (o.act_order)
    std::stable_sort(perm.begin(), perm.end(),
                     [&](Eigen::Index a, Eigen::Index b) { return diag[a] > diag[b]; });

  // Everything below works in reversed column order c = d−1−j (j: the quantization order), where V is the
  // Cholesky factor L of A = P·Hπ·P itself: V_ji = L_{d−1−j, d−1−i}. The block products then read L in
  // place (no transposed copy) as plain column-major GEMMs.
  // A's lower triangle, straight from h in float: A(d−1−i, d−1−j) = Hπ(i, j) for i ≤ j.
  const auto tf = std::chrono::steady_clock::now();
  ColMat<float> l(d, d);
  parallel_for(
      0, d,
      [&](int64_t j) {
        const Eigen::Index pj = perm[static_cast<size_t>(j)];
        const double* hc = h.data() + pj * d;
        float* ac = l.data() + (d - 1 - j) * d + (d - 1);  // A(d−1−i, d−1−j) = ac[−i]
        for (Eigen::Index i = 0; i < j; ++i) ac[-i] = static_cast<float>(hc[perm[static_cast<size_t>(i)]]);
        ac[-j] = static_cast<float>(diag[pj]);
      },
      d);
  if (!cholesky_lower_inplace(l))
    throw Error(where +
                ": the layer Hessian is not positive definite in float; raise the dampening (--damp)");
  stats.factor_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - tf).count();

  // Weights in reversed order: w0(:, c) = W(:, π(d−1−c)); dq = w0 − q.
  ColMat<float> w0(rows, d), dq(rows, d), q(rows, d);
  for (Eigen::Index c = 0; c < d; ++c) {
    const Eigen::Index src = perm[static_cast<size_t>(d - 1 - c)];
    if (dead[static_cast<size_t>(src)])
      w0.col(c).setZero();  // `w` itself is only written at the end, so a cancel leaves it as it was
    else
      w0.col(c) = w.col(src);
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
  // sblk(:, t) accumulates Σ_{i<j} (w₀_i − q_i)·V_ij for the block's column c0 + t.
  ColMat<float> sblk(rows, std::min(bs, d));
  Eigen::ArrayXf wcur(rows);
  for (Eigen::Index a0 = 0; a0 < d; a0 += bs) {
    if (progress && !progress(a0, d)) throw CancelledError();
    const Eigen::Index bl = std::min(bs, d - a0), c1 = d - a0, c0 = c1 - bl;
    // Contributions of every column already quantized (reversed columns [c1, d)): S = D·L[c1:, c0:c1].
    sblk.leftCols(bl).setZero();
    if (a0 > 0)
      gemm_parallel<float>(rows, bl, d - c1, 1.f, dq.data() + c1 * rows, rows, l.data() + c1 + c0 * d, d,
                           false, sblk.data(), rows);
    for (Eigen::Index t = bl - 1; t >= 0; --t) {
      const Eigen::Index c = c0 + t, j = d - 1 - c;
      if (o.group > 0 && j % o.group == 0) {
        // The group's current weights (every earlier column's error propagated) give each row's range.
        // With A the columns done and G the group, GPTQ's current values are W₀_G + D_A·V_AG·V_GG⁻¹; in
        // reversed order V_GG is the group's diagonal block of L (lower triangular) and sblk holds D_A·V_AG.
        const Eigen::Index gn = std::min<Eigen::Index>(o.group, d - j), cg = c - gn + 1;
        const ColMat<float> sg = sblk.middleCols(cg - c0, gn);
        const ColMat<float> cur =
            w0.middleCols(cg, gn) +
            l.block(cg, cg, gn, gn).triangularView<Eigen::Lower>().solve<Eigen::OnTheRight>(sg);
        for (Eigen::Index r = 0; r < rows; ++r) {
          const QuantParams gp = params_from_range(gspec, {cur.row(r).minCoeff()}, {cur.row(r).maxCoeff()});
          s[r] = gp.scale[0];
          z[r] = static_cast<float>(gp.zero_point[0]);
          qmin = static_cast<float>(gp.qmin);
          qmax = static_cast<float>(gp.qmax);
        }
      }
      wcur = w0.col(c).array() + sblk.col(t).array() / l(c, c);
      quantize_column(wcur, s, z, qmin, qmax, q.col(c));
      dq.col(c) = w0.col(c) - q.col(c);
      // Columns quantized after this one within the block: V_{j,j'} = L(c, c') for c' < c.
      if (t > 0) sblk.leftCols(t).noalias() += dq.col(c) * l.row(c).segment(c0, t);
    }
  }
  if (progress) progress(d, d);
  for (Eigen::Index c = 0; c < d; ++c) w.col(perm[static_cast<size_t>(d - 1 - c)]) = q.col(c);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

}  // namespace qs::obc
