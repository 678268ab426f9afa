#include "core/algo/obc/obs.h"

#include <omp.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>

#include "core/common/error.h"
#include "core/common/parallel.h"

namespace qs::obc {

PreparedHessian prepare_hessian(const Eigen::MatrixXd& h, double damp) {
  if (h.rows() != h.cols()) throw Error("the Hessian is not square");
  if (!(damp >= 0)) throw Error("dampening must be >= 0");
  PreparedHessian p;
  p.h = h;
  const Eigen::Index d = h.rows();
  p.dead.assign(static_cast<size_t>(d), 0);
  for (Eigen::Index i = 0; i < d; ++i)
    if (h(i, i) == 0) {
      p.dead[static_cast<size_t>(i)] = 1;
      p.h(i, i) = 1;
    }
  p.damp_added = d > 0 ? damp * p.h.diagonal().mean() : 0;
  p.h.diagonal().array() += p.damp_added;
  return p;
}

Eigen::MatrixXd hessian_inverse(const PreparedHessian& p, const std::string& where) {
  Eigen::LLT<Eigen::MatrixXd> llt(p.h);
  if (llt.info() != Eigen::Success)
    throw Error(where + ": the layer Hessian is not positive definite; raise the dampening (--damp)");
  return llt.solve(Eigen::MatrixXd::Identity(p.h.rows(), p.h.cols()));
}

double layer_loss(const RowMat<float>& w, const RowMat<float>& what, const Eigen::MatrixXd& h) {
  const Eigen::MatrixXd delta = (w - what).cast<double>();
  return 0.5 * (delta * h).cwiseProduct(delta).sum();
}

namespace {

constexpr int kDefaultBlock = 64;

// One thread's solver: buffers for the largest row, reused for every row it handles.
template <typename T>
class RowSolver {
 public:
  using Mat = ColMat<T>;
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using MapMat = Eigen::Map<Mat>;

  RowSolver(int64_t d, int block)
      : d_(d),
        block_(block),
        m_(static_cast<size_t>(d * d)),
        u_(static_cast<size_t>(d * block)),
        w_(d),
        diag_(d),
        score_(d),
        c_(d),
        penalty_(d),
        urow_(block),
        idx_(static_cast<size_t>(d)),
        elim_(static_cast<size_t>(d)),
        in_block_(static_cast<size_t>(block)),
        zeros_(static_cast<size_t>(d) + 1),
        keep_(d) {}

  // Runs one row. `row` is the row's index in the grid.
  void run(const Mat& hinv, T* out, int64_t prune, const RowGrid* grid, int64_t row, const ObsTask& task,
           ObsTrace* trace, ObsStats& stats) {
    const int64_t d = d_;
    m_size_ = d;
    std::copy(hinv.data(), hinv.data() + d * d, m_.data());
    for (int64_t i = 0; i < d; ++i) {
      w_[i] = out[i];
      idx_[static_cast<size_t>(i)] = static_cast<int32_t>(i);
      elim_[static_cast<size_t>(i)] = 0;
      penalty_[i] = 0;
    }
    diag_.head(d) = hinv.diagonal();
    const std::vector<int32_t>* groups = prune > 0 ? task.nm_groups : nullptr;
    if (groups) std::fill(zeros_.begin(), zeros_.end(), 0);
    const int64_t total = prune + (grid ? d - prune : 0);
    const float scale = grid ? grid->row_scale(row) : 1.f;
    const int32_t zp = grid ? grid->row_zero_point(row) : 0;
    const int32_t qmin = grid ? grid->qmin : 0, qmax = grid ? grid->qmax : 0;
    constexpr T inf = std::numeric_limits<T>::infinity();
    if (trace) {
      trace->order.clear();
      trace->loss.clear();
      trace->order.reserve(static_cast<size_t>(total));
      trace->loss.reserve(static_cast<size_t>(total));
    }
    int64_t b = 0;
    for (int64_t step = 0; step < total; ++step) {
      const int64_t m = m_size_;
      const bool pruning = step < prune;
      if (step == prune && groups)  // the N:M constraint only applies to pruning
        for (int64_t i = 0; i < m; ++i) penalty_[i] = elim_[static_cast<size_t>(i)] ? inf : T(0);
      auto w = w_.head(m);
      auto diag = diag_.head(m);
      if (pruning) {
        score_.head(m).array() = w.array().square() / diag.array() + penalty_.head(m).array();
      } else if constexpr (std::is_same_v<T, float>) {
        score_.head(m).array() =
            (w.array() - fake_quantize_array(w.array(), scale, zp, qmin, qmax)).square() / diag.array() +
            penalty_.head(m).array();
      } else {
        const Eigen::ArrayXf wf = w.array().template cast<float>();
        const Eigen::ArrayXf t = fake_quantize_array(wf, scale, zp, qmin, qmax);
        score_.head(m).array() =
            (w.array() - t.template cast<T>()).square() / diag.array() + penalty_.head(m).array();
      }
      int64_t j = -1;
      T best = inf;
      for (int64_t i = 0; i < m; ++i)
        if (score_[i] < best) {
          best = score_[i];
          j = i;
        }
      if (j < 0)  // every score is inf or NaN: take the first weight still free (pivot breakdown)
        for (int64_t i = 0; i < m && j < 0; ++i)
          if (!elim_[static_cast<size_t>(i)] && penalty_[i] != inf) j = i;
      if (j < 0) break;  // no admissible weight (cannot happen for valid N:M counts)
      const T target =
          pruning ? T(0)
                  : static_cast<T>(fake_quantize_value(static_cast<float>(w[j]), scale, zp, qmin, qmax));
      // Column j of the current inverse Hessian: M_:,j − U·U_j,:ᵀ.
      MapMat M(m_.data(), m, m);
      MapMat U(u_.data(), m, block_);
      auto c = c_.head(m);
      c = M.col(j);
      if (b > 0) {
        urow_.head(b) = U.row(j).head(b).transpose();
        c.noalias() -= U.leftCols(b) * urow_.head(b);
      }
      for (int64_t k = 0; k < b; ++k) c[in_block_[static_cast<size_t>(k)]] = 0;  // exactly eliminated
      const T p = c[j];
      const T err = w[j] - target;
      double loss = 0;
      if (p > T(0) && std::isfinite(p)) {
        loss = static_cast<double>(err) * static_cast<double>(err) / (2.0 * static_cast<double>(p));
        w -= c * (err / p);
        U.col(b) = c / std::sqrt(p);
      } else {
        ++stats.breakdowns;  // fix the weight without compensating the others
        U.col(b).setZero();
        loss = std::numeric_limits<double>::infinity();
      }
      diag.array() -= U.col(b).array().square();
      w[j] = target;
      out[idx_[static_cast<size_t>(j)]] = target;
      elim_[static_cast<size_t>(j)] = 1;
      penalty_[j] = inf;
      in_block_[static_cast<size_t>(b)] = j;
      ++b;
      ++stats.steps;
      if (pruning && groups) {
        const int32_t g = (*groups)[static_cast<size_t>(idx_[static_cast<size_t>(j)])];
        if (++zeros_[static_cast<size_t>(g)] >= task.nm_max_zeros)
          for (int64_t i = 0; i < m; ++i)
            if ((*groups)[static_cast<size_t>(idx_[static_cast<size_t>(i)])] == g) penalty_[i] = inf;
      }
      if (trace) {
        trace->order.push_back(idx_[static_cast<size_t>(j)]);
        trace->loss.push_back(loss);
      }
      if (b == block_ && step + 1 < total) {
        compact(b);
        b = 0;
      }
    }
    for (int64_t i = 0; i < m_size_; ++i)
      if (!elim_[static_cast<size_t>(i)]) out[idx_[static_cast<size_t>(i)]] = w_[i];
  }

 private:
  // Drops the eliminated rows/columns from M (in place: R is increasing, so every element moves to an
  // index no larger than the one it is read from, and reads proceed in increasing order) and applies
  // M ← M − U·Uᵀ to the rest.
  void compact(int64_t b) {
    const int64_t m = m_size_;
    int64_t n = 0;
    for (int64_t i = 0; i < m; ++i)
      if (!elim_[static_cast<size_t>(i)]) keep_(n++) = i;
    T* mp = m_.data();
    T* up = u_.data();
    for (int64_t jj = 0; jj < n; ++jj) {
      const int64_t src_col = keep_(jj);
      for (int64_t ii = jj; ii < n; ++ii) mp[jj * n + ii] = mp[src_col * m + keep_(ii)];
    }
    for (int64_t k = 0; k < b; ++k)
      for (int64_t ii = 0; ii < n; ++ii) up[k * n + ii] = up[k * m + keep_(ii)];
    MapMat M(mp, n, n);
    Eigen::Map<Mat> U(up, n, b);
    M.template selfadjointView<Eigen::Lower>().rankUpdate(U, T(-1));
    // Mirror the lower triangle, in tiles small enough for L1.
    constexpr int64_t kT = 32;
    for (int64_t j0 = 0; j0 < n; j0 += kT)
      for (int64_t i0 = j0; i0 < n; i0 += kT) {
        const int64_t j1 = std::min(j0 + kT, n), i1 = std::min(i0 + kT, n);
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = j0; j < std::min(j1, i); ++j) mp[i * n + j] = mp[j * n + i];
      }
    for (int64_t ii = 0; ii < n; ++ii) {
      const int64_t s = keep_(ii);
      w_[ii] = w_[s];
      penalty_[ii] = penalty_[s];
      idx_[static_cast<size_t>(ii)] = idx_[static_cast<size_t>(s)];
      elim_[static_cast<size_t>(ii)] = 0;
    }
    diag_.head(n) = M.diagonal();
    m_size_ = n;
  }

  int64_t d_;
  int block_;
  int64_t m_size_ = 0;
  std::vector<T> m_, u_;
  Vec w_, diag_, score_, c_, penalty_, urow_;
  std::vector<int32_t> idx_;
  std::vector<uint8_t> elim_;
  std::vector<int64_t> in_block_;
  std::vector<int32_t> zeros_;
  Eigen::Matrix<int64_t, Eigen::Dynamic, 1> keep_;
};

}  // namespace

template <typename T>
ObsStats obs_rows(RowMat<T>& w, const ColMat<T>& hinv, const ObsTask& task, std::vector<ObsTrace>* traces,
                  const ProgressFn& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t rows = w.rows(), d = w.cols();
  if (hinv.rows() != d || hinv.cols() != d) throw Error("OBS: the inverse Hessian does not match the weight");
  if (!task.prune.empty() && static_cast<int64_t>(task.prune.size()) != rows)
    throw Error("OBS: one prune count per row is needed");
  for (int64_t k : task.prune)
    if (k < 0 || k > d)
      throw Error("OBS: prune count " + std::to_string(k) + " is outside [0, " + std::to_string(d) + "]");
  if (task.nm_groups && static_cast<int64_t>(task.nm_groups->size()) != d)
    throw Error("OBS: N:M groups do not match the weight's columns");
  if (task.nm_groups)
    for (int32_t g : *task.nm_groups)
      if (g < 0 || g >= d) throw Error("OBS: N:M group index out of range");
  const bool record = task.record && traces;
  if (record) traces->assign(static_cast<size_t>(rows), {});
  ObsStats stats;
  if (rows == 0 || d == 0) return stats;
  const int block = static_cast<int>(std::min<int64_t>(d, task.block > 0 ? task.block : kDefaultBlock));
  const int nt = std::max(1, std::min<int>(num_threads(), static_cast<int>(rows)));
  // Allocated here, not in the parallel region (which must not throw).
  std::vector<std::unique_ptr<RowSolver<T>>> solvers;
  for (int t = 0; t < nt; ++t) solvers.push_back(std::make_unique<RowSolver<T>>(d, block));
  std::vector<ObsStats> thread_stats(static_cast<size_t>(nt));
  // Rows per batch between progress calls: about a quarter of a second of work at ~30 GFMA/s per thread.
  const double row_cost =
      static_cast<double>(d) * static_cast<double>(d) * static_cast<double>(d) / 6.0 + 1e5;
  const int64_t batch = std::clamp<int64_t>(static_cast<int64_t>(0.25 * 30e9 * nt / row_cost), nt, rows);
  for (int64_t r0 = 0; r0 < rows; r0 += batch) {
    if (progress && !progress(r0, rows)) throw CancelledError();
    const int64_t r1 = std::min(rows, r0 + batch);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int64_t r = r0; r < r1; ++r) {
      const int t = omp_get_thread_num();
      auto& s = solvers[static_cast<size_t>(t)];
      const int64_t prune = task.prune.empty() ? 0 : task.prune[static_cast<size_t>(r)];
      s->run(hinv, w.row(r).data(), prune, task.grid, r, task,
             record ? &(*traces)[static_cast<size_t>(r)] : nullptr, thread_stats[static_cast<size_t>(t)]);
    }
  }
  if (progress) progress(rows, rows);
  for (const auto& s : thread_stats) {
    stats.steps += s.steps;
    stats.breakdowns += s.breakdowns;
  }
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

template ObsStats obs_rows<float>(RowMat<float>&, const ColMat<float>&, const ObsTask&,
                                  std::vector<ObsTrace>*, const ProgressFn&);
template ObsStats obs_rows<double>(RowMat<double>&, const ColMat<double>&, const ObsTask&,
                                   std::vector<ObsTrace>*, const ProgressFn&);

}  // namespace qs::obc
