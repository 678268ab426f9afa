// GPTQ (core/algo/obc/gptq.h): the blocked computation (reverse Cholesky factor of H, lazy block updates)
// against GPTQ as published, unblocked: U = chol(H⁻¹) upper, err = (w_j − q_j)/U_jj, w_{j:} −= err·U_{j,j:}.
#include <gtest/gtest.h>

#include <numeric>

#include "core/algo/obc/gptq.h"
#include "core/common/error.h"
#include "obc_test_util.h"

namespace qs::obc {
namespace {

using testing::correlated_hessian;
using testing::minmax_grid;
using testing::random_weights;

RowMat<float> reference_gptq(const RowMat<float>& w0, const Eigen::MatrixXd& h0, const RowGrid& grid,
                             double damp, bool act_order, int group) {
  const int64_t rows = w0.rows(), d = w0.cols();
  Eigen::MatrixXd h = h0;
  Eigen::MatrixXd w = w0.cast<double>();
  for (int64_t i = 0; i < d; ++i)
    if (h(i, i) == 0) {
      h(i, i) = 1;
      w.col(i).setZero();
    }
  std::vector<int64_t> perm(static_cast<size_t>(d));
  std::iota(perm.begin(), perm.end(), 0);
  if (act_order)
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return h(a, a) > h(b, b); });
  Eigen::MatrixXd hp(d, d), wp(rows, d);
  for (int64_t i = 0; i < d; ++i) {
    wp.col(i) = w.col(perm[static_cast<size_t>(i)]);
    for (int64_t j = 0; j < d; ++j) hp(i, j) = h(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(j)]);
  }
  hp.diagonal().array() += damp * hp.diagonal().mean();
  const Eigen::MatrixXd hinv = hp.inverse();
  const Eigen::MatrixXd u = hinv.llt().matrixU();
  Eigen::MatrixXd q(rows, d);
  std::vector<float> s(static_cast<size_t>(rows)), z(static_cast<size_t>(rows));
  int32_t qmin = grid.qmin, qmax = grid.qmax;
  for (int64_t r = 0; r < rows; ++r) {
    s[static_cast<size_t>(r)] = grid.row_scale(r);
    z[static_cast<size_t>(r)] = static_cast<float>(grid.row_zero_point(r));
  }
  for (int64_t j = 0; j < d; ++j) {
    if (group > 0 && j % group == 0) {
      QuantSpec spec = grid.spec;
      spec.axis = -1;
      const int64_t gn = std::min<int64_t>(group, d - j);
      for (int64_t r = 0; r < rows; ++r) {
        const auto seg = wp.row(r).segment(j, gn).cast<float>();
        const QuantParams p = params_from_range(spec, {seg.minCoeff()}, {seg.maxCoeff()});
        s[static_cast<size_t>(r)] = p.scale[0];
        z[static_cast<size_t>(r)] = static_cast<float>(p.zero_point[0]);
        qmin = p.qmin;
        qmax = p.qmax;
      }
    }
    for (int64_t r = 0; r < rows; ++r)
      q(r, j) = fake_quantize_value(static_cast<float>(wp(r, j)), s[static_cast<size_t>(r)],
                                    static_cast<int32_t>(z[static_cast<size_t>(r)]), qmin, qmax);
    const Eigen::VectorXd err = (wp.col(j) - q.col(j)) / u(j, j);
    wp.rightCols(d - j) -= err * u.row(j).tail(d - j);
  }
  RowMat<float> out(rows, d);
  for (int64_t i = 0; i < d; ++i) out.col(perm[static_cast<size_t>(i)]) = q.col(i).cast<float>();
  return out;
}

void check(int64_t rows, int64_t d, int bits, bool per_channel, bool act_order, int group, int block,
           uint32_t seed) {
  Eigen::MatrixXd h = correlated_hessian(d, 0.6, seed);
  if (d > 5) {  // a dead column
    h.row(5).setZero();
    h.col(5).setZero();
  }
  const RowMat<float> w = random_weights(rows, d, seed + 3);
  const RowGrid grid = minmax_grid(w, bits, true, per_channel);
  const RowMat<float> ref = reference_gptq(w, h, grid, 0.01, act_order, group);
  RowMat<float> q = w;
  GptqOptions o;
  o.act_order = act_order;
  o.group = group;
  o.block = block;
  gptq_quantize(q, h, grid, o);
  int64_t mismatches = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < d; ++c) {
      // The same grid level. With groups the scale comes from the current weights' range, which float and
      // the double reference compute a few ulps apart: values then differ by ulps, never by a step.
      const bool same =
          group > 0 ? std::abs(q(r, c) - ref(r, c)) <= 1e-5f * std::abs(ref(r, c)) : q(r, c) == ref(r, c);
      mismatches += !same;
      if (!same && mismatches < 8)
        ADD_FAILURE() << "r " << r << " c " << c << " got " << q(r, c) << " want " << ref(r, c);
    }
  EXPECT_EQ(mismatches, 0) << "d " << d << " block " << block << " act_order " << act_order << " group "
                           << group;
}

TEST(ObcGptq, BlockedEqualsUnblockedReference) {
  for (int block : {1, 3, 8, 128})
    for (int64_t d : {6, 37, 90}) check(5, d, 4, true, false, 0, block, static_cast<uint32_t>(d + block));
  check(4, 64, 3, false, false, 0, 16, 5);  // per tensor
  check(4, 64, 2, true, false, 0, 16, 6);
}

TEST(ObcGptq, ActOrderAndGroups) {
  check(5, 48, 4, true, true, 0, 16, 11);
  check(5, 48, 4, true, false, 8, 16, 12);    // groups inside blocks
  check(5, 48, 3, true, true, 16, 10, 13);    // block rounded to a multiple of the group
  check(5, 50, 4, true, false, 12, 128, 14);  // a short last group
}

TEST(ObcGptq, LossNotAboveRoundToNearestAndOnGrid) {
  for (int bits : {2, 3, 4, 6})
    for (bool act_order : {false, true}) {
      const int64_t d = 96, rows = 16;
      const Eigen::MatrixXd h = correlated_hessian(d, 0.8, static_cast<uint32_t>(bits));
      const RowMat<float> w = random_weights(rows, d, 21);
      const RowGrid grid = minmax_grid(w, bits, true, true);
      RowMat<float> rtn = w;
      round_to_grid(rtn, grid);
      RowMat<float> q = w;
      GptqOptions o;
      o.act_order = act_order;
      gptq_quantize(q, h, grid, o);
      EXPECT_LE(layer_loss(w, q, h), layer_loss(w, rtn, h)) << bits;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < d; ++c) EXPECT_EQ(q(r, c), grid.quantize(q(r, c), r));
    }
}

TEST(ObcGptq, CancelBetweenBlocks) {
  const Eigen::MatrixXd h = correlated_hessian(40, 0.5, 2);
  RowMat<float> w = random_weights(3, 40, 2);
  const RowMat<float> before = w;
  const RowGrid grid = minmax_grid(w, 4, true, true);
  GptqOptions o;
  o.block = 8;
  int calls = 0;
  EXPECT_THROW(gptq_quantize(w, h, grid, o, [&](int64_t, int64_t) { return ++calls < 3; }), CancelledError);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(w, before);  // nothing written before the end
}

}  // namespace
}  // namespace qs::obc
