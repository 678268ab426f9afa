#include "core/common/parallel.h"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace qs {

namespace {
std::atomic<int> g_threads{0};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Why not OpenMP: libgomp's waiting threads spin for a long time (and its barriers wait for every team
// member), so on a machine shared with other busy processes a loop could wait a whole scheduler time
// slice for a descheduled thread, each loop: inference with 2 threads ran 100x slower than with 1.
// Here threads claim chunks of items from a shared counter, the caller too, so a thread that does not get
// the CPU simply does less of the work; waiting threads spin only briefly, then sleep on a futex.
struct Job {
  detail::RangeFn fn = nullptr;
  void* ctx = nullptr;
  int64_t n = 0, grain = 1;
  uint32_t chunks = 0;
  int max_helpers = 0;
  std::atomic<uint32_t> next{0};       // next chunk to claim
  std::atomic<uint32_t> remaining{0};  // chunks not finished yet
  std::atomic<int> helpers{0};         // pool threads that joined

  // Claims and runs chunks until none are left; returns after its last claimed chunk is done.
  void work() {
    for (;;) {
      const uint32_t c = next.fetch_add(1, std::memory_order_relaxed);
      if (c >= chunks) return;
      const int64_t b = static_cast<int64_t>(c) * grain, e = std::min(n, b + grain);
      fn(ctx, b, e);
      if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) remaining.notify_all();
    }
  }
};

// Spins before sleeping: the executor starts loops microseconds apart, and a futex wake-up costs more.
constexpr int kSpins = 2000;

class Pool {
 public:
  void run(int64_t n, int threads, detail::RangeFn fn, void* ctx) {
    // Nested in another loop of this pool or in an OpenMP region (core/algo uses some), or concurrent
    // with another thread's loop: run on the caller, as OpenMP does without nesting.
    bool expected = false;
    if (omp_in_parallel() || !busy_.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      fn(ctx, 0, n);
      return;
    }
    ensure_workers(threads - 1);
    auto job = std::make_shared<Job>();
    job->fn = fn;
    job->ctx = ctx;
    job->n = n;
    // Several chunks per thread so that a thread that gets the CPU late leaves little behind it.
    const int64_t chunks = std::min<int64_t>(n, int64_t{16} * threads);
    job->grain = (n + chunks - 1) / chunks;
    job->chunks = static_cast<uint32_t>((n + job->grain - 1) / job->grain);
    job->remaining.store(job->chunks, std::memory_order_relaxed);
    job->max_helpers = threads - 1;
    {
      std::lock_guard<std::mutex> lock(mu_);
      current_ = job;
    }
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    job->work();
    // Wait for chunks other threads are still running.
    for (int s = 0; s < kSpins && job->remaining.load(std::memory_order_acquire) != 0; ++s) cpu_relax();
    for (uint32_t r; (r = job->remaining.load(std::memory_order_acquire)) != 0;) job->remaining.wait(r);
    {
      std::lock_guard<std::mutex> lock(mu_);
      current_.reset();
    }
    busy_.store(false, std::memory_order_release);
  }

 private:
  void ensure_workers(int count) {
    std::lock_guard<std::mutex> lock(spawn_mu_);
    while (static_cast<int>(workers_) < count) {
      std::thread([this] { loop(); }).detach();  // the pool lives until the process ends
      ++workers_;
    }
  }

  void loop() {
    uint32_t seen = generation_.load(std::memory_order_acquire);
    for (;;) {
      for (int s = 0; s < kSpins && generation_.load(std::memory_order_acquire) == seen; ++s) cpu_relax();
      generation_.wait(seen, std::memory_order_acquire);
      seen = generation_.load(std::memory_order_acquire);
      std::shared_ptr<Job> job;
      {
        std::lock_guard<std::mutex> lock(mu_);
        job = current_;
      }
      // A late thread may find the job finished (or none): claiming then finds no chunk left.
      if (job && job->helpers.fetch_add(1, std::memory_order_relaxed) < job->max_helpers) job->work();
    }
  }

  std::atomic<bool> busy_{false};
  std::atomic<uint32_t> generation_{0};
  std::mutex mu_;  // guards current_
  std::shared_ptr<Job> current_;
  std::mutex spawn_mu_;
  size_t workers_ = 0;
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: its detached threads may still be waiting at exit
  return *p;
}
}  // namespace

namespace detail {
void pool_run(int64_t n, int threads, RangeFn fn, void* ctx) { pool().run(n, threads, fn, ctx); }
}  // namespace detail

int num_threads() {
  int t = g_threads.load(std::memory_order_relaxed);
  if (t <= 0) {
    t = std::max(1u, std::thread::hardware_concurrency());
    g_threads.store(t);
    Eigen::setNbThreads(t);
  }
  return t;
}

void set_num_threads(int n) {
  n = std::max(1, n);
  g_threads.store(n);
  Eigen::setNbThreads(n);
}

}  // namespace qs
