// ExactOBS pruning (core/algo/obc/exactobs.h, obs.h): per-step losses against the closed-form OBS loss of
// the pruned set, N:M patterns, the global selection, prune-then-quantize, and the magnitude baseline.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/algo/obc/exactobs.h"
#include "core/common/error.h"
#include "obc_test_util.h"

namespace qs::obc {
namespace {

using testing::brute_obs_row;
using testing::correlated_hessian;
using testing::minmax_grid;
using testing::random_weights;

// min over w' with w'_S = 0 of ½(w' − w)ᵀH(w' − w) = ½·w_Sᵀ (Hinv_SS)⁻¹ w_S, and the minimizer.
double closed_form_loss(const Eigen::MatrixXd& hinv, const Eigen::VectorXd& w, const std::vector<int32_t>& s,
                        Eigen::VectorXd* best = nullptr) {
  const int64_t k = static_cast<int64_t>(s.size());
  if (k == 0) {
    if (best) *best = w;
    return 0;
  }
  Eigen::MatrixXd hss(k, k);
  Eigen::VectorXd ws(k);
  Eigen::MatrixXd hcol(w.size(), k);
  for (int64_t a = 0; a < k; ++a) {
    ws[a] = w[s[static_cast<size_t>(a)]];
    hcol.col(a) = hinv.col(s[static_cast<size_t>(a)]);
    for (int64_t b = 0; b < k; ++b) hss(a, b) = hinv(s[static_cast<size_t>(a)], s[static_cast<size_t>(b)]);
  }
  const Eigen::VectorXd y = hss.ldlt().solve(ws);
  if (best) *best = w - hcol * y;
  return 0.5 * ws.dot(y);
}

template <typename T>
void check_steps(int64_t d, int block, double tol) {
  const Eigen::MatrixXd h = correlated_hessian(d, 0.75, static_cast<uint32_t>(d));
  const RowMat<float> w = random_weights(3, d, 8);
  const Eigen::MatrixXd hinv = hessian_inverse(prepare_hessian(h, 0.01), "test");
  RowMat<T> wt = w.cast<T>();
  ObsTask task;
  task.prune.assign(3, d);  // the whole path
  task.block = block;
  task.record = true;
  std::vector<ObsTrace> traces;
  obs_rows<T>(wt, hinv.cast<T>(), task, &traces, nullptr);
  for (int64_t r = 0; r < 3; ++r) {
    const Eigen::VectorXd w0 = w.row(r).transpose().cast<double>();
    const auto& tr = traces[static_cast<size_t>(r)];
    ASSERT_EQ(static_cast<int64_t>(tr.order.size()), d);
    std::vector<int32_t> s;
    double prev = 0;
    for (int64_t k = 0; k < d; ++k) {
      // Greedy: the step's choice is the cheapest single extension of the set (closed form).
      double best = 0;
      int32_t arg = -1;
      for (int32_t j = 0; j < d; ++j) {
        if (std::find(s.begin(), s.end(), j) != s.end()) continue;
        auto t = s;
        t.push_back(j);
        const double l = closed_form_loss(hinv, w0, t);
        if (arg < 0 || l < best - 1e-12 * std::abs(best)) {
          best = l;
          arg = j;
        }
      }
      s.push_back(tr.order[static_cast<size_t>(k)]);
      const double now = closed_form_loss(hinv, w0, s);
      EXPECT_NEAR(tr.loss[static_cast<size_t>(k)], now - prev, tol * (now + 1e-9))
          << "row " << r << " step " << k;
      EXPECT_NEAR(now, best, tol * (best + 1e-9)) << "row " << r << " step " << k << " (greedy choice)";
      prev = now;
    }
  }
}

TEST(ObcExactObs, StepLossEqualsClosedFormObsLoss) {
  check_steps<double>(12, 5, 1e-8);
  check_steps<double>(20, 64, 1e-8);
  check_steps<float>(16, 4, 2e-3);
}

TEST(ObcExactObs, PrunedWeightsEqualClosedFormUpdate) {
  const int64_t d = 24, rows = 5;
  const Eigen::MatrixXd h = correlated_hessian(d, 0.6, 3);
  const RowMat<float> w = random_weights(rows, d, 4);
  const Eigen::MatrixXd hinv = hessian_inverse(prepare_hessian(h, 0.01), "test");
  RowMat<double> wt = w.cast<double>();
  ObsTask task;
  task.prune = {0, 3, 12, 23, 24};
  task.block = 7;
  task.record = true;
  std::vector<ObsTrace> traces;
  obs_rows<double>(wt, hinv, task, &traces, nullptr);
  for (int64_t r = 0; r < rows; ++r) {
    Eigen::VectorXd best;
    closed_form_loss(hinv, w.row(r).transpose().cast<double>(), traces[static_cast<size_t>(r)].order, &best);
    EXPECT_LE((wt.row(r).transpose() - best).cwiseAbs().maxCoeff(), 1e-9) << r;
    EXPECT_EQ(static_cast<int64_t>((wt.row(r).array() == 0).count()), task.prune[static_cast<size_t>(r)]);
  }
}

// Conv-like column layout: 8 input channels × 3 kernel offsets; groups of M consecutive channels.
std::vector<int32_t> conv_groups(int m) {
  std::vector<int32_t> g;
  for (int c = 0; c < 24; ++c) g.push_back((c / 3 / m) * 3 + c % 3);
  return g;
}

TEST(ObcExactObs, NmPatternExactAndEqualsBruteForce) {
  for (auto [n, m] : {std::pair{2, 4}, std::pair{4, 8}, std::pair{1, 4}}) {
    const int64_t d = 24, rows = 6;
    const std::vector<int32_t> groups = conv_groups(m);
    const Eigen::MatrixXd h = correlated_hessian(d, 0.7, static_cast<uint32_t>(m));
    const RowMat<float> w = random_weights(rows, d, 17);
    const Eigen::MatrixXd hinv = hessian_inverse(prepare_hessian(h, 0.01), "test");
    RowMat<double> wt = w.cast<double>();
    ObsTask task;
    const int64_t count = d / m * (m - n);
    task.prune.assign(rows, count);
    task.nm_groups = &groups;
    task.nm_max_zeros = m - n;
    task.block = 5;
    task.record = true;
    std::vector<ObsTrace> traces;
    obs_rows<double>(wt, hinv, task, &traces, nullptr);
    for (int64_t r = 0; r < rows; ++r) {
      std::map<int32_t, int> zeros;
      for (int64_t c = 0; c < d; ++c) zeros[groups[static_cast<size_t>(c)]] += wt(r, c) == 0;
      for (const auto& [g, z] : zeros) EXPECT_EQ(z, m - n) << n << ":" << m << " row " << r << " group " << g;
      std::vector<int32_t> order;
      const Eigen::VectorXd ref = brute_obs_row(hinv, w.row(r).transpose().cast<double>(), count, nullptr, r,
                                                &groups, m - n, &order, nullptr);
      EXPECT_EQ(traces[static_cast<size_t>(r)].order, order);
      EXPECT_LE((wt.row(r).transpose() - ref).cwiseAbs().maxCoeff(), 1e-9);
    }
    // Magnitude N:M: the same pattern, by |w|.
    RowMat<float> mag = w;
    PruneSpec spec;
    spec.nm_n = n;
    spec.nm_m = m;
    magnitude_prune(mag, spec, &groups);
    for (int64_t r = 0; r < rows; ++r) {
      std::map<int32_t, std::vector<float>> kept, dropped;
      for (int64_t c = 0; c < d; ++c)
        (mag(r, c) == 0 ? dropped : kept)[groups[static_cast<size_t>(c)]].push_back(std::abs(w(r, c)));
      for (const auto& [g, v] : dropped) {
        EXPECT_EQ(static_cast<int>(v.size()), m - n);
        EXPECT_LE(*std::max_element(v.begin(), v.end()), *std::min_element(kept[g].begin(), kept[g].end()));
      }
    }
  }
}

TEST(ObcExactObs, GlobalSelectionIsTheSmallestStepsAsPrefixes) {
  std::vector<ObsTrace> traces(3);
  traces[0].loss = {0.1, 0.5, 0.2, 3.0};  // running max: 0.1 0.5 0.5 3.0
  traces[1].loss = {0.05, 0.06, 0.07, 0.08};
  traces[2].loss = {1.0, 0.0, 2.0, 2.5};  // 1.0 1.0 2.0 2.5
  for (auto& t : traces) t.order = {0, 1, 2, 3};
  EXPECT_EQ(select_prune_counts(traces, 0.5),
            (std::vector<int64_t>{2, 4, 0}));  // 6 of 12: 0.05..0.08, 0.1, 0.5
  EXPECT_EQ(select_prune_counts(traces, 0.0), (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(select_prune_counts(traces, 0.75),
            (std::vector<int64_t>{3, 4, 2}));  // 9: 0.05..0.08, 0.1, 0.5 x2, 1.0 x2
}

TEST(ObcExactObs, BeatsMagnitudeAndPruneThenQuantize) {
  const int64_t d = 48, rows = 10;
  const Eigen::MatrixXd h = correlated_hessian(d, 0.8, 31);
  const RowMat<float> w = random_weights(rows, d, 32);
  const Eigen::MatrixXd hinv = hessian_inverse(prepare_hessian(h, 0.01), "test");
  const ColMat<float> hinvf = hinv.cast<float>();
  // Unstructured 50%: scan, select, prune.
  RowMat<float> scan = w;
  ObsTask t1;
  t1.prune.assign(rows, d);
  t1.record = true;
  std::vector<ObsTrace> traces;
  obs_rows<float>(scan, hinvf, t1, &traces, nullptr);
  const std::vector<int64_t> counts = select_prune_counts(traces, 0.5);
  int64_t sum = 0;
  for (int64_t c : counts) sum += c;
  EXPECT_EQ(sum, rows * d / 2);
  EXPECT_NE(*std::min_element(counts.begin(), counts.end()), *std::max_element(counts.begin(), counts.end()));
  RowMat<float> pruned = w;
  ObsTask t2;
  t2.prune = counts;
  obs_rows<float>(pruned, hinvf, t2, nullptr, nullptr);
  EXPECT_EQ((pruned.array() == 0).count(), rows * d / 2);
  RowMat<float> mag = w;
  PruneSpec spec;
  spec.sparsity = 0.5;
  magnitude_prune(mag, spec, nullptr);
  EXPECT_EQ((mag.array() == 0).count(), rows * d / 2);
  EXPECT_LT(layer_loss(w, pruned, h), layer_loss(w, mag, h));
  // Then quantize: zeros stay, the rest is on the grid, the loss beats magnitude + round-to-nearest.
  const RowGrid grid = minmax_grid(pruned, 4, true, true);
  RowMat<float> both = w;
  ObsTask t3 = t2;
  t3.grid = &grid;
  obs_rows<float>(both, hinvf, t3, nullptr, nullptr);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < d; ++c) {
      if (pruned(r, c) == 0) {
        EXPECT_EQ(both(r, c), 0.f);
      }
      EXPECT_EQ(both(r, c), grid.quantize(both(r, c), r));
    }
  RowMat<float> mag_rtn = mag;
  round_to_grid(mag_rtn, grid);
  EXPECT_LT(layer_loss(w, both, h), layer_loss(w, mag_rtn, h));
  EXPECT_GE(layer_loss(w, both, h), layer_loss(w, pruned, h) * 0.999);  // quantizing on top only adds loss
}

TEST(ObcExactObs, RefusesBadSpecs) {
  PruneSpec s;
  s.sparsity = 1.0;
  EXPECT_THROW(s.validate(), Error);
  s.nm_n = 4;
  s.nm_m = 4;
  EXPECT_THROW(s.validate(), Error);
  RowMat<float> w = random_weights(2, 8, 1);
  ObsTask t;
  t.prune = {9, 0};
  EXPECT_THROW(obs_rows<float>(w, ColMat<float>::Identity(8, 8), t, nullptr, nullptr), Error);
}

}  // namespace
}  // namespace qs::obc
