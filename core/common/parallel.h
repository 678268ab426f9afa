// Threading. The engine uses OpenMP with static partitioning: each output element is computed by exactly
// one thread in a fixed order, so results are identical run to run and for any thread count.
#pragma once

#include <cstdint>

namespace qs {

// Threads used by kernels (default: all cores). Affects Eigen too.
int num_threads();
void set_num_threads(int n);

// Calls f(i) for i in [begin, end), split statically over num_threads() threads when the work
// (end - begin) * cost_per_item is large enough to be worth it. f must not throw.
template <typename F>
void parallel_for(int64_t begin, int64_t end, F&& f, int64_t cost_per_item = 1) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int t = num_threads();
  if (t <= 1 || n == 1 || n * cost_per_item < 32768) {
    for (int64_t i = begin; i < end; ++i) f(i);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(t)
  for (int64_t i = begin; i < end; ++i) f(i);
}

}  // namespace qs
