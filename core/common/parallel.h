// Threading. parallel_for hands out the items of a loop to a small pool of persistent threads (the
// caller included). Each item is computed by exactly one thread and callers make an item's result
// independent of which thread computes it (per-thread scratch is fully rewritten by each item), so
// results are identical run to run and for any thread count.
#pragma once

#include <cstdint>
#include <type_traits>

namespace qs {

// Threads used by kernels (default: all cores). Affects Eigen too.
int num_threads();
void set_num_threads(int n);

namespace detail {
using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end);
// Runs fn(ctx, b, e) over disjoint ranges covering [0, n) on up to `threads` threads, the caller among
// them, and returns when all are done. Runs everything on the caller when the pool is already in use
// (a nested call, or another thread's loop): the pool does not nest.
void pool_run(int64_t n, int threads, RangeFn fn, void* ctx);
}  // namespace detail

// Calls f(i) for i in [begin, end), spread over num_threads() threads when the work
// (end - begin) * cost_per_item is at least min_work, below which handing the loop out costs more than it
// saves. f must not throw.
template <typename F>
void parallel_for(int64_t begin, int64_t end, F&& f, int64_t cost_per_item = 1, int64_t min_work = 32768) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int t = num_threads();
  if (t <= 1 || n == 1 || n * cost_per_item < min_work) {
    for (int64_t i = begin; i < end; ++i) f(i);
    return;
  }
  struct Ctx {
    std::remove_reference_t<F>* f;
    int64_t begin;
  } ctx{&f, begin};
  detail::pool_run(
      n, t,
      [](void* c, int64_t b, int64_t e) {
        const Ctx& x = *static_cast<const Ctx*>(c);
        for (int64_t i = b; i < e; ++i) (*x.f)(x.begin + i);
      },
      &ctx);
}

// min_work for loops whose cost is counted in integer multiply-adds (the integer engine's layers): 2M of
// them, about ten microseconds. Batch-1 layers of MobileNetV2 below it took up to three times their
// one-thread time on two threads (waking a thread, and emptier GEMM panels for each).
constexpr int64_t kMinParallelMacs = int64_t{1} << 21;

}  // namespace qs
