#include "core/algo/obc/exactobs.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

#include "core/common/error.h"

namespace qs::obc {

void PruneSpec::validate() const {
  if (nm()) {
    if (nm_n < 0 || nm_n >= nm_m)
      throw Error("N:M sparsity " + std::to_string(nm_n) + ":" + std::to_string(nm_m) + " needs 0 <= N < M");
  } else if (!(sparsity >= 0 && sparsity < 1)) {
    throw Error("sparsity " + std::to_string(sparsity) + " is outside [0, 1)");
  }
}

std::vector<int64_t> select_prune_counts(const std::vector<ObsTrace>& traces, double sparsity) {
  struct Step {
    double loss;
    size_t row;
    size_t k;
  };
  std::vector<Step> steps;
  size_t total = 0;
  for (const auto& t : traces) total += t.loss.size();
  steps.reserve(total);
  for (size_t r = 0; r < traces.size(); ++r) {
    double run = -std::numeric_limits<double>::infinity();
    for (size_t k = 0; k < traces[r].loss.size(); ++k) {
      run = std::max(run, traces[r].loss[k]);
      steps.push_back({run, r, k});
    }
  }
  const auto want = static_cast<size_t>(std::llround(sparsity * static_cast<double>(total)));
  std::vector<int64_t> counts(traces.size(), 0);
  if (want == 0) return counts;
  auto less = [](const Step& a, const Step& b) {
    return std::tie(a.loss, a.row, a.k) < std::tie(b.loss, b.row, b.k);
  };
  std::nth_element(steps.begin(), steps.begin() + static_cast<std::ptrdiff_t>(want - 1), steps.end(), less);
  const Step kth = steps[want - 1];
  for (const auto& s : steps)
    if (!less(kth, s)) ++counts[s.row];  // s <= kth
  return counts;
}

void magnitude_prune(RowMat<float>& w, const PruneSpec& s, const std::vector<int32_t>* nm_groups) {
  s.validate();
  const Eigen::Index rows = w.rows(), cols = w.cols();
  if (s.nm()) {
    if (!nm_groups || static_cast<Eigen::Index>(nm_groups->size()) != cols)
      throw Error("magnitude N:M pruning needs the column groups");
    std::vector<std::vector<Eigen::Index>> members(static_cast<size_t>(cols));
    for (Eigen::Index c = 0; c < cols; ++c)
      members[static_cast<size_t>((*nm_groups)[static_cast<size_t>(c)])].push_back(c);
    const int zeros = s.nm_m - s.nm_n;
    for (Eigen::Index r = 0; r < rows; ++r)
      for (auto& m : members) {
        if (m.empty()) continue;
        std::vector<Eigen::Index> order = m;
        std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) {
          return std::abs(w(r, a)) < std::abs(w(r, b));
        });
        for (int k = 0; k < zeros && k < static_cast<int>(order.size()); ++k)
          w(r, order[static_cast<size_t>(k)]) = 0;
      }
    return;
  }
  const Eigen::Index n = rows * cols;
  const auto want = static_cast<Eigen::Index>(std::llround(s.sparsity * static_cast<double>(n)));
  if (want == 0) return;
  std::vector<Eigen::Index> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  float* p = w.data();
  std::stable_sort(order.begin(), order.end(),
                   [&](Eigen::Index a, Eigen::Index b) { return std::abs(p[a]) < std::abs(p[b]); });
  for (Eigen::Index k = 0; k < want; ++k) p[order[static_cast<size_t>(k)]] = 0;
}

}  // namespace qs::obc
