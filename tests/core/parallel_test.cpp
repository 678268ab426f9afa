// parallel_for: every index runs exactly once whatever the thread count, nested and concurrent loops
// (which run on the caller) included.
#include "core/common/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace qs {
namespace {

struct ThreadsGuard {
  int saved = num_threads();
  ~ThreadsGuard() { set_num_threads(saved); }
};

TEST(ParallelFor, EveryIndexRunsOnce) {
  ThreadsGuard guard;
  for (int threads : {1, 2, 3, 8})
    for (int64_t n : {int64_t{1}, int64_t{2}, int64_t{7}, int64_t{64}, int64_t{1000}, int64_t{100003}}) {
      set_num_threads(threads);
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      parallel_for(
          5, 5 + n, [&](int64_t i) { hits[static_cast<size_t>(i - 5)].fetch_add(1); }, 1 << 12);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "index " << i << " of " << n << ", " << threads;
    }
}

TEST(ParallelFor, NestedLoopsRunEveryInnerIndexOnce) {
  ThreadsGuard guard;
  set_num_threads(2);
  const int64_t outer = 16, inner = 300;
  std::vector<std::atomic<int>> hits(static_cast<size_t>(outer * inner));
  parallel_for(
      0, outer,
      [&](int64_t o) {
        parallel_for(
            0, inner, [&](int64_t i) { hits[static_cast<size_t>(o * inner + i)].fetch_add(1); }, 1 << 12);
      },
      1 << 20);
  for (const auto& h : hits) ASSERT_EQ(h.load(), 1);
}

TEST(ParallelFor, ConcurrentCallersAreIndependent) {
  ThreadsGuard guard;
  set_num_threads(2);
  const int64_t n = 20000;
  std::vector<std::vector<int64_t>> out(4, std::vector<int64_t>(static_cast<size_t>(n), 0));
  std::vector<std::thread> callers;
  for (size_t t = 0; t < out.size(); ++t)
    callers.emplace_back([&, t] {
      for (int rep = 0; rep < 20; ++rep)
        parallel_for(
            0, n, [&](int64_t i) { out[t][static_cast<size_t>(i)] += i * static_cast<int64_t>(t + 1); },
            1 << 10);
    });
  for (auto& c : callers) c.join();
  for (size_t t = 0; t < out.size(); ++t)
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(out[t][static_cast<size_t>(i)], 20 * i * static_cast<int64_t>(t + 1));
}

}  // namespace
}  // namespace qs
