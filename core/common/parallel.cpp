#include "core/common/parallel.h"

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <thread>

namespace qs {

namespace {
std::atomic<int> g_threads{0};
}

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
