// OBQ and GPTQ speed on the layer shapes (4-bit per-channel grid, synthetic correlated Hessians),
// against the reference implementation's times measured on this machine (issue 4) and the arithmetic
// bound at the CPU's FMA rate.
//
//   build-*/bench/obc_bench --benchmark_filter='Gptq|Gemm'        # seconds
//   build-*/bench/obc_bench --benchmark_filter='Cholesky'         # GPTQ's factorization alone
//   build-*/bench/obc_bench --benchmark_filter='Obq/256'          # ~1 minute
//   build-*/bench/obc_bench --benchmark_filter='Obq'              # all three: several minutes
//
// Counters: ref_s = the reference code's time, speedup = ref_s / our time; for OBQ, bound_s = the issue's
// cost model (d_row·d_col³ flops) at the peak FMA rate of all cores (2 FMA pipes × 8 floats × 2 flops
// per cycle per core at the clock in /proc/cpuinfo), fma_done = multiply-adds our blocked algorithm
// executes (≈ d_row·d_col³/6), gflops = 2·fma_done / time, alone_s = CPU time / threads (the time the
// run would take on an idle machine; this one is shared), and the layer losses (‖WX − ŴX‖²/N) of RTN,
// GPTQ and OBQ on the same grid. The CPU column is the process's CPU time (all threads): on a machine
// shared with other jobs, CPU time / threads estimates the wall time the same run would take alone.
#include <benchmark/benchmark.h>

#include <chrono>
#include <ctime>

#include <Eigen/Core>
#include <fstream>
#include <random>
#include <string>

#include "core/algo/obc/gptq.h"
#include "core/algo/obc/linalg.h"
#include "core/algo/obc/obq.h"
#include "core/common/parallel.h"

namespace {

using qs::obc::RowMat;

struct Layer {
  int64_t rows, cols;
  double ref_gptq_s, ref_obq_s;  // the reference code on this machine (issue 4)
};
const Layer kLayers[] = {
    {256, 2304, 1.1, 70 * 60.0},    // 3×3 conv, 256 channels
    {1024, 1024, 1.0, 27 * 60.0},   // linear
    {512, 4608, 5.4, 34 * 3600.0},  // 3×3 conv, 512 channels
};

double cpu_ghz() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("cpu MHz", 0) == 0) return std::stod(line.substr(line.find(':') + 1)) / 1000.0;
  return 0;
}
// Peak float multiply-adds per second of all the threads used (AVX2: 2 FMA pipes × 8 lanes per cycle).
double peak_fma_per_s() { return cpu_ghz() * 1e9 * 16.0 * qs::num_threads(); }

struct Problem {
  Eigen::MatrixXd h;
  RowMat<float> w;
  qs::obc::RowGrid grid;
};

// H = 2·X·Xᵀ/n over n = 2d samples whose neighbouring features have correlation 0.9 and whose scales
// vary over an order of magnitude (as im2col columns do); W Gaussian with per-row scales.
const Problem& problem(int64_t rows, int64_t d) {
  static std::map<std::pair<int64_t, int64_t>, Problem> cache;
  auto key = std::make_pair(rows, d);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  std::mt19937 rng(static_cast<uint32_t>(rows * 7919 + d));
  std::normal_distribution<float> nd;
  std::uniform_real_distribution<float> ud(0.3f, 3.f);
  const int64_t n = 2 * d;
  Eigen::MatrixXf x(d, n);
  for (int64_t s = 0; s < n; ++s) {
    float prev = nd(rng);
    for (int64_t i = 0; i < d; ++i) x(i, s) = prev = 0.9f * prev + 0.43589f * nd(rng);
  }
  for (int64_t i = 0; i < d; ++i) x.row(i) *= ud(rng);
  Problem p;
  const Eigen::MatrixXf hf = (2.0f / static_cast<float>(n)) * x * x.transpose();
  p.h = hf.cast<double>();
  p.w.resize(rows, d);
  for (int64_t r = 0; r < rows; ++r) {
    const float s = 0.02f * (1 + static_cast<float>(r % 7));
    for (int64_t c = 0; c < d; ++c) p.w(r, c) = s * nd(rng);
  }
  qs::QuantSpec spec;
  spec.bits = 4;
  spec.axis = 0;
  std::vector<float> lo, hi;
  for (int64_t r = 0; r < rows; ++r) {
    lo.push_back(p.w.row(r).minCoeff());
    hi.push_back(p.w.row(r).maxCoeff());
  }
  p.grid = qs::obc::RowGrid::from_params(spec, qs::params_from_range(spec, lo, hi), rows);
  return cache.emplace(key, std::move(p)).first->second;
}

double rtn_loss(const Problem& p) {
  RowMat<float> q = p.w;
  qs::obc::round_to_grid(q, p.grid);
  return qs::obc::layer_loss(p.w, q, p.h);
}

void BM_Gptq(benchmark::State& state) {
  const Layer& l = kLayers[state.range(0)];
  const Problem& p = problem(l.rows, l.cols);
  qs::obc::GptqOptions o;
  o.act_order = state.range(1) != 0;
  RowMat<float> q;
  qs::obc::GptqStats st;
  double cpu = 0;
  for (auto _ : state) {
    q = p.w;
    const std::clock_t c0 = std::clock();
    st = qs::obc::gptq_quantize(q, p.h, p.grid, o);
    cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  }
  const double t = st.seconds;
  state.counters["alone_s"] = cpu / qs::num_threads();  // CPU time / threads: the time on an idle machine
  state.SetLabel(std::to_string(l.rows) + "x" + std::to_string(l.cols) + (o.act_order ? " act-order" : ""));
  state.counters["ref_s"] = l.ref_gptq_s;
  state.counters["speedup"] = l.ref_gptq_s / t;
  state.counters["factor_s"] = st.factor_seconds;
  state.counters["loss_gptq"] = qs::obc::layer_loss(p.w, q, p.h);
  state.counters["loss_rtn"] = rtn_loss(p);
}
BENCHMARK(BM_Gptq)
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({2, 0})
    ->Args({0, 1})
    ->Args({2, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

void BM_Obq(benchmark::State& state) {
  const Layer& l = kLayers[state.range(0)];
  const Problem& p = problem(l.rows, l.cols);
  RowMat<float> q;
  qs::obc::ObsStats st;
  qs::obc::ObqOptions o;
  o.block = static_cast<int>(state.range(1));
  double cpu = 0;
  for (auto _ : state) {
    q = p.w;
    const std::clock_t c0 = std::clock();
    st = qs::obc::obq_quantize(q, p.h, p.grid, o);
    cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  }
  const double alone = cpu / qs::num_threads();
  // Multiply-adds executed: per row, blocks of B steps each end with a rank-B update of the m×m matrix
  // left (lower triangle: m²·B/2) and cost m·b per step within the block.
  const int64_t d = l.cols, b = o.block > 0 ? o.block : 64;
  double fma = 0;
  for (int64_t m = d; m > 0; m -= b)
    fma += static_cast<double>(m) * m * std::min(b, m) / 2.0 + static_cast<double>(m) * b * b / 2.0;
  fma *= static_cast<double>(l.rows);
  const double t = st.seconds;
  const double bound =
      static_cast<double>(l.rows) * d * d * d / (2.0 * peak_fma_per_s());  // d_row·d_col³ flops
  state.SetLabel(std::to_string(l.rows) + "x" + std::to_string(l.cols) + " block " + std::to_string(b));
  state.counters["ref_s"] = l.ref_obq_s;
  state.counters["speedup"] = l.ref_obq_s / t;
  state.counters["bound_s"] = bound;
  state.counters["t_over_bound"] = t / bound;
  state.counters["alone_s"] = alone;  // CPU time / threads: the time on an idle machine
  state.counters["alone_over_bound"] = alone / bound;
  state.counters["fma_done"] = fma;
  state.counters["gflops"] = 2 * fma / t / 1e9;
  state.counters["gflops_alone"] = 2 * fma / alone / 1e9;
  state.counters["peak_gflops"] = 2 * peak_fma_per_s() / 1e9;
  state.counters["loss_obq"] = qs::obc::layer_loss(p.w, q, p.h);
  state.counters["loss_rtn"] = rtn_loss(p);
  state.counters["breakdowns"] = static_cast<double>(st.breakdowns);
}
BENCHMARK(BM_Obq)
    ->Args({0, 64})
    ->Args({1, 64})
    ->Args({2, 64})
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->Iterations(1);
// Block-size sweep on the small shape (first 256 rows of 256×2304 are the whole layer).
BENCHMARK(BM_Obq)
    ->Args({0, 32})
    ->Args({0, 128})
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Iterations(1);

// The float Cholesky GPTQ runs (d³/6 multiply-adds, both threads), against the same GEMM-rate ceiling.
void BM_Cholesky(benchmark::State& state) {
  const int64_t d = state.range(0);
  const Problem& p = problem(kLayers[state.range(1)].rows, d);
  const qs::obc::ColMat<float> a0 = p.h.cast<float>();
  qs::obc::ColMat<float> a;
  double cpu = 0, wall = 0;
  for (auto _ : state) {
    a = a0;
    a.diagonal().array() += 0.01f * a0.diagonal().mean();
    const std::clock_t c0 = std::clock();
    const auto t0 = std::chrono::steady_clock::now();
    if (!qs::obc::cholesky_lower_inplace(a)) state.SkipWithError("not positive definite");
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cpu += static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  }
  const double flops = static_cast<double>(d) * d * d / 3.0 * static_cast<double>(state.iterations());
  state.counters["gflops"] = flops / wall / 1e9;
  state.counters["gflops_alone"] = flops / (cpu / qs::num_threads()) / 1e9;  // CPU time / threads
  state.counters["peak_gflops"] = 2 * peak_fma_per_s() / 1e9;
}
BENCHMARK(BM_Cholesky)
    ->Args({2304, 0})
    ->Args({4608, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

// What Eigen's float GEMM reaches here (both threads): the practical ceiling for the blocked updates.
void BM_GemmPeak(benchmark::State& state) {
  const int64_t n = state.range(0);
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n), b = Eigen::MatrixXf::Random(n, n), c(n, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["gflops"] = benchmark::Counter(
      2.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.counters["peak_gflops"] = 2 * peak_fma_per_s() / 1e9;
}
BENCHMARK(BM_GemmPeak)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();

}  // namespace

BENCHMARK_MAIN();
