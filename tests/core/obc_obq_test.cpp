// OBQ (core/algo/obc/obq.h, obs.h): the blocked, lazy engine against the greedy procedure written out
// directly (obc_test_util.h), and its layer loss against round-to-nearest on the same grid.
#include <gtest/gtest.h>

#include "core/algo/obc/obq.h"
#include "core/common/error.h"
#include "core/common/parallel.h"
#include "obc_test_util.h"

namespace qs::obc {
namespace {

using testing::brute_obs_row;
using testing::correlated_hessian;
using testing::minmax_grid;
using testing::random_weights;

// The engine in precision T against brute force (double): same order of weights, same final weights.
template <typename T>
void check_against_brute(int64_t rows, int64_t d, int bits, bool symmetric, bool per_channel, int block,
                         uint32_t seed, double tol) {
  const Eigen::MatrixXd h = correlated_hessian(d, 0.7, seed);
  const RowMat<float> w = random_weights(rows, d, seed + 1);
  const RowGrid grid = minmax_grid(w, bits, symmetric, per_channel);
  const PreparedHessian p = prepare_hessian(h, 0.01);
  const Eigen::MatrixXd hinv = hessian_inverse(p, "test");
  RowMat<T> wt = w.cast<T>();
  ObsTask task;
  task.grid = &grid;
  task.block = block;
  task.record = true;
  std::vector<ObsTrace> traces;
  obs_rows<T>(wt, hinv.cast<T>(), task, &traces, nullptr);
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<int32_t> order;
    std::vector<double> loss;
    const Eigen::VectorXd ref =
        brute_obs_row(hinv, w.row(r).transpose().cast<double>(), 0, &grid, r, nullptr, 0, &order, &loss);
    ASSERT_EQ(traces[static_cast<size_t>(r)].order, order) << "row " << r << " d " << d << " block " << block;
    for (int64_t c = 0; c < d; ++c) {
      EXPECT_NEAR(static_cast<double>(wt(r, c)), ref[c], tol * grid.row_scale(r))
          << "row " << r << " col " << c;
      // On the grid.
      EXPECT_EQ(static_cast<float>(wt(r, c)), grid.quantize(static_cast<float>(wt(r, c)), r));
    }
    for (size_t k = 0; k < loss.size(); ++k)
      EXPECT_NEAR(traces[static_cast<size_t>(r)].loss[k], loss[k], 1e-3 * (loss[k] + 1e-6)) << "step " << k;
  }
}

TEST(ObcObq, EqualsBruteForceGreedyDouble) {
  // Blocks smaller than the row exercise the lazy updates and the in-place compaction.
  for (int64_t d : {1, 7, 16, 33})
    for (int block : {1, 4, 5, 64})
      check_against_brute<double>(4, d, 3, true, true, block, static_cast<uint32_t>(d * 10 + block), 1e-9);
  check_against_brute<double>(3, 20, 4, false, true, 6, 99, 1e-9);  // asymmetric
  check_against_brute<double>(3, 20, 2, true, false, 3, 98, 1e-9);  // per tensor, 2 bits
  check_against_brute<double>(3, 24, 8, true, true, 7, 97, 1e-9);
}

TEST(ObcObq, EqualsBruteForceGreedyFloat) {
  for (int64_t d : {9, 25, 40})
    for (int block : {4, 16})
      check_against_brute<float>(4, d, 4, true, true, block, static_cast<uint32_t>(d + block), 1e-4);
}

TEST(ObcObq, LossNotAboveRoundToNearest) {
  for (int bits : {2, 3, 4, 8})
    for (bool per_channel : {true, false})
      for (uint32_t seed : {1u, 2u}) {
        const int64_t d = 72, rows = 12;
        const Eigen::MatrixXd h = correlated_hessian(d, 0.8, seed);
        const RowMat<float> w = random_weights(rows, d, seed + 7);
        const RowGrid grid = minmax_grid(w, bits, true, per_channel);
        RowMat<float> rtn = w;
        round_to_grid(rtn, grid);
        RowMat<float> q = w;
        obq_quantize(q, h, grid, {});
        const double l_rtn = layer_loss(w, rtn, h), l_obq = layer_loss(w, q, h);
        EXPECT_LE(l_obq, l_rtn) << bits << " bits, per channel " << per_channel;
        if (bits <= 4) {
          EXPECT_LT(l_obq, 0.9 * l_rtn) << bits << " bits";  // a real gain, not a tie
        }
      }
}

TEST(ObcObq, DeadColumnsAndThreads) {
  const int64_t d = 30, rows = 9;
  Eigen::MatrixXd h = correlated_hessian(d, 0.5, 4);
  h.row(3).setZero();
  h.col(3).setZero();
  const RowMat<float> w = random_weights(rows, d, 5);
  const RowGrid grid = minmax_grid(w, 4, true, true);
  RowMat<float> a = w, b = w;
  const int saved = num_threads();
  set_num_threads(1);
  obq_quantize(a, h, grid, {});
  set_num_threads(2);
  obq_quantize(b, h, grid, {});
  set_num_threads(saved);
  EXPECT_TRUE(a.col(3).isZero());  // the dead column's weights are 0
  EXPECT_EQ(a, b);                 // rows are independent: the same result for any thread count
}

TEST(ObcObq, CancelAndErrors) {
  const int64_t d = 10;
  const Eigen::MatrixXd h = correlated_hessian(d, 0.5, 4);
  RowMat<float> w = random_weights(4, d, 5);
  const RowGrid grid = minmax_grid(w, 4, true, true);
  EXPECT_THROW(obq_quantize(w, h, grid, {}, [](int64_t, int64_t) { return false; }), CancelledError);
  const Eigen::MatrixXd neg = -Eigen::MatrixXd::Identity(d, d);
  ObqOptions o;
  o.damp = 0;
  EXPECT_THROW(obq_quantize(w, neg, grid, o), Error);
  EXPECT_THROW(obq_quantize(w, Eigen::MatrixXd::Identity(d + 1, d + 1), grid, o), Error);
  QuantSpec s;
  s.bits = 4;
  s.axis = 0;
  EXPECT_THROW(RowGrid::from_params(s, params_from_range(s, {-1, -1, -1}, {1, 1, 1}), 4), Error);
}

}  // namespace
}  // namespace qs::obc
