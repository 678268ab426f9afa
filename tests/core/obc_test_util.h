// Shared by the OBC tests: random layers with correlated inputs, and brute-force references.
#pragma once

#include <Eigen/Dense>
#include <random>

#include "core/algo/obc/grid.h"
#include "core/algo/obc/obs.h"

namespace qs::obc::testing {

// H = 2·X·Xᵀ/n for n = 4d samples whose neighbouring features have correlation rho (as im2col columns
// of neighbouring pixels do), with feature scales varying over an order of magnitude.
inline Eigen::MatrixXd correlated_hessian(int64_t d, double rho, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> nd;
  std::uniform_real_distribution<double> ud(0.3, 3.0);
  const int64_t n = 4 * d + 8;
  Eigen::MatrixXd x(d, n);
  for (int64_t s = 0; s < n; ++s) {
    double prev = nd(rng);
    for (int64_t i = 0; i < d; ++i) {
      prev = rho * prev + std::sqrt(1 - rho * rho) * nd(rng);
      x(i, s) = prev;
    }
  }
  for (int64_t i = 0; i < d; ++i) x.row(i) *= ud(rng);
  return 2.0 * x * x.transpose() / static_cast<double>(n);
}

inline RowMat<float> random_weights(int64_t rows, int64_t d, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  RowMat<float> w(rows, d);
  for (int64_t r = 0; r < rows; ++r) {
    const float s = 0.5f + 0.25f * static_cast<float>(r % 5);
    for (int64_t c = 0; c < d; ++c) w(r, c) = s * nd(rng);
  }
  return w;
}

// The plan-style grid of `w`: per row (per_channel) or per tensor, from the min/max range.
inline RowGrid minmax_grid(const RowMat<float>& w, int bits, bool symmetric, bool per_channel) {
  QuantSpec spec;
  spec.bits = bits;
  spec.symmetric = symmetric;
  spec.is_signed = true;
  spec.axis = per_channel ? 0 : -1;
  std::vector<float> lo, hi;
  if (per_channel) {
    for (Eigen::Index r = 0; r < w.rows(); ++r) {
      lo.push_back(w.row(r).minCoeff());
      hi.push_back(w.row(r).maxCoeff());
    }
  } else {
    lo.push_back(w.minCoeff());
    hi.push_back(w.maxCoeff());
  }
  return RowGrid::from_params(spec, params_from_range(spec, lo, hi), w.rows());
}

// The greedy OBS procedure written out directly: explicit inverse, explicit downdate of the whole
// matrix after every step, a full scan for the best weight. Double precision. `prune` weights are
// pruned first (N:M groups if given, at most max_zeros zeros per group), then with a grid every other
// weight is quantized. Returns the final row; `order`/`loss` receive the steps.
inline Eigen::VectorXd brute_obs_row(const Eigen::MatrixXd& hinv0, Eigen::VectorXd w, int64_t prune,
                                     const RowGrid* grid, int64_t row, const std::vector<int32_t>* groups,
                                     int max_zeros, std::vector<int32_t>* order, std::vector<double>* loss) {
  const int64_t d = w.size();
  Eigen::MatrixXd hinv = hinv0;
  std::vector<bool> fixed(static_cast<size_t>(d), false);
  std::vector<int> zeros(static_cast<size_t>(d), 0);
  Eigen::VectorXd value = Eigen::VectorXd::Zero(d);
  auto target = [&](int64_t j, bool pruning) {
    return pruning ? 0.0 : static_cast<double>(grid->quantize(static_cast<float>(w[j]), row));
  };
  const int64_t total = prune + (grid ? d - prune : 0);
  for (int64_t step = 0; step < total; ++step) {
    const bool pruning = step < prune;
    int64_t best = -1;
    double best_score = 0;
    for (int64_t j = 0; j < d; ++j) {
      if (fixed[static_cast<size_t>(j)]) continue;
      if (pruning && groups && zeros[static_cast<size_t>((*groups)[static_cast<size_t>(j)])] >= max_zeros)
        continue;
      const double e = w[j] - target(j, pruning);
      const double s = e * e / hinv(j, j);
      if (best < 0 || s < best_score) {
        best = j;
        best_score = s;
      }
    }
    const int64_t j = best;
    const double t = target(j, pruning), e = w[j] - t, p = hinv(j, j);
    w -= hinv.col(j) * (e / p);
    const Eigen::VectorXd c = hinv.col(j);
    hinv -= c * c.transpose() / p;
    fixed[static_cast<size_t>(j)] = true;
    value[j] = t;
    for (int64_t i = 0; i < d; ++i)  // fixed weights stay where they were put (their Hinv entries are ~0)
      if (fixed[static_cast<size_t>(i)]) w[i] = value[i];
    if (pruning && groups) ++zeros[static_cast<size_t>((*groups)[static_cast<size_t>(j)])];
    if (order) order->push_back(static_cast<int32_t>(j));
    if (loss) loss->push_back(e * e / (2 * p));
  }
  return w;
}

}  // namespace qs::obc::testing
