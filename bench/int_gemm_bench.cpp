// int8 GEMM (the packed int16-operand kernel of core/int/gemm_int.h, one thread) at 256/512/1024 as a
// fraction of this CPU's AVX2 peak, with the float GEMM (Eigen, core/ops/gemm_eigen.h) beside it.
//
// How the peak is derived, at startup, on this machine:
//   clock    a chain of dependent 64-bit integer adds (latency 1 cycle on every x86-64 core) timed over
//            1.6·10^9 adds in thread CPU time: adds per CPU second = cycles per second (whatever the turbo
//            state while it runs; CPU time because the machine is shared).
//   IPC      the throughput of each multiply instruction, issued in blocks of 12 independent instructions
//            (throughput-bound), in thread CPU time, divided by the measured clock.
//   peaks    exact int8 peak   = IPC(VPMADDWD) · 16 MACs · clock — what an exact int8 GEMM can reach on
//                                AVX2: int16 pairs into int32 (the operands of this kernel);
//            nominal int8 peak = IPC(VPMADDUBSW) · 32 MACs · clock — the figure usually quoted for AVX2
//                                int8, which saturates int16 on full-range int8 data (see gemm_int.h) and
//                                still needs a VPMADDWD to widen, so no exact kernel reaches it;
//            float peak        = IPC(VFMADD231PS) · 8 MACs · clock;
//            and where the CPU has AVX-512 VNNI (the kernel then accumulates with it, gemm_int.h
//            avx512_enabled; Int8Gemm/avx2 is the same kernel with it off):
//            exact AVX-512 peak = IPC(VPDPWSSD on zmm) · 32 MACs · clock.
// The fractions are printed as counters (frac_exact: of the exact peak of the instructions the kernel
// uses; frac_nominal, frac_fma).
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <ctime>
#include <cstdio>
#include <random>
#include <vector>

#include "core/common/cpu.h"
#include "core/int/gemm_int.h"
#include "core/ops/gemm_eigen.h"

namespace {

// CPU time of this thread: the machine is shared, and wall time would count the time other processes hold
// the core (Google Benchmark's rates below are per CPU second too).
double thread_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double measure_clock_hz() {
  uint64_t x = 0;
  const int64_t outer = 100'000'000;  // × 16 dependent adds
  const double t0 = thread_seconds();
  for (int64_t i = 0; i < outer; ++i) asm volatile(".rept 16\n\taddq $1, %0\n\t.endr" : "+r"(x));
  const double s = thread_seconds() - t0;
  benchmark::DoNotOptimize(x);
  return static_cast<double>(outer) * 16 / s;
}

// Instructions per CPU second of one instruction form, issued 12 to a block with 12 different
// destinations (independent: the sources never change, FMA's accumulation chains are 12 long, more than
// latency × ports), so throughput-bound.
#define QS_X12(ins)                                                                                         \
  ins " %%ymm0, %%ymm1, %%ymm2\n\t" ins " %%ymm0, %%ymm1, %%ymm3\n\t" ins " %%ymm0, %%ymm1, %%ymm4\n\t"   \
  ins " %%ymm0, %%ymm1, %%ymm5\n\t" ins " %%ymm0, %%ymm1, %%ymm6\n\t" ins " %%ymm0, %%ymm1, %%ymm7\n\t"   \
  ins " %%ymm0, %%ymm1, %%ymm8\n\t" ins " %%ymm0, %%ymm1, %%ymm9\n\t" ins " %%ymm0, %%ymm1, %%ymm10\n\t"  \
  ins " %%ymm0, %%ymm1, %%ymm11\n\t" ins " %%ymm0, %%ymm1, %%ymm12\n\t" ins " %%ymm0, %%ymm1, %%ymm13\n\t"
#define QS_THROUGHPUT(name, ins)                                                                          \
  double name() {                                                                                          \
    const int64_t iters = 20'000'000;                                                                      \
    asm volatile("vpxor %%ymm0, %%ymm0, %%ymm0\n\tvpxor %%ymm1, %%ymm1, %%ymm1" ::: "xmm0", "xmm1");       \
    const double t0 = thread_seconds();                                                                    \
    for (int64_t i = 0; i < iters; ++i)                                                                    \
      asm volatile(QS_X12(ins)::: "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
                   "xmm11", "xmm12", "xmm13");                                                              \
    return static_cast<double>(iters) * 12 / (thread_seconds() - t0);                                     \
  }
QS_THROUGHPUT(madd_per_second, "vpmaddwd")
QS_THROUGHPUT(ubsw_per_second, "vpmaddubsw")
QS_THROUGHPUT(fma_per_second, "vfmadd231ps")

// The same for VPDPWSSD on 512-bit registers (call only where qs::cpu_has_avx512_vnni()).
double dpwssd512_per_second() {
  const int64_t iters = 20'000'000;
  asm volatile("vpxord %%zmm0, %%zmm0, %%zmm0\n\tvpxord %%zmm1, %%zmm1, %%zmm1" ::: "xmm0", "xmm1");
  const double t0 = thread_seconds();
  for (int64_t i = 0; i < iters; ++i)
    asm volatile(".irp r,2,3,4,5,6,7,8,9,10,11,12,13\n\tvpdpwssd %%zmm0, %%zmm1, %%zmm\\r\n\t.endr" ::
                     : "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
                       "xmm12", "xmm13");
  return static_cast<double>(iters) * 12 / (thread_seconds() - t0);
}

struct Peaks {
  double hz = 0, ipc_madd = 0, ipc_ubsw = 0, ipc_fma = 0, ipc_dp512 = 0;
  double exact() const { return ipc_madd * 16 * hz; }
  double exact512() const { return ipc_dp512 * 32 * hz; }
  double nominal() const { return ipc_ubsw * 32 * hz; }
  double fma() const { return ipc_fma * 8 * hz; }
};

Peaks measure() {
  Peaks p;
  p.hz = measure_clock_hz();
  p.ipc_madd = madd_per_second() / p.hz;
  p.ipc_ubsw = ubsw_per_second() / p.hz;
  p.ipc_fma = fma_per_second() / p.hz;
  if (qs::cpu_has_avx512_vnni()) p.ipc_dp512 = dpwssd512_per_second() / p.hz;
  return p;
}

const Peaks& peaks() {
  static const Peaks p = [] {
    const Peaks m = measure();
    std::fprintf(stderr,
                 "clock %.3f GHz (dependent adds); IPC: VPMADDWD %.2f, VPMADDUBSW %.2f, VFMADD231PS %.2f\n"
                 "peaks: exact int8 (VPMADDWD·16) %.1f GMAC/s, nominal int8 (VPMADDUBSW·32) %.1f GMAC/s, "
                 "float FMA (·8) %.1f GMAC/s\n",
                 m.hz / 1e9, m.ipc_madd, m.ipc_ubsw, m.ipc_fma, m.exact() / 1e9, m.nominal() / 1e9, m.fma() / 1e9);
    if (m.ipc_dp512 > 0)
      std::fprintf(stderr, "AVX-512 VNNI: IPC VPDPWSSD (zmm) %.2f, exact int8 peak (·32) %.1f GMAC/s\n",
                   m.ipc_dp512, m.exact512() / 1e9);
    return m;
  }();
  return p;
}

void BM_Int8Gemm(benchmark::State& state, qs::IntIsa isa, bool pack_b, bool avx512) {
  const int64_t n = state.range(0);
  const bool saved = qs::intgemm::avx512_enabled();
  qs::intgemm::set_avx512(avx512);
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> w(-127, 127), x(-128, 127);
  std::vector<int32_t> a(static_cast<size_t>(n * n)), b(static_cast<size_t>(n * n));
  for (auto& v : a) v = w(rng);
  for (auto& v : b) v = x(rng);
  std::vector<int32_t> A(static_cast<size_t>(qs::intgemm::packed_a_size(n, n)));
  std::vector<int16_t> B(static_cast<size_t>(qs::intgemm::packed_b_size(n, n)));
  qs::intgemm::pack_a(n, n, a.data(), n, A.data());
  qs::intgemm::pack_b_rows(n, n, b.data(), n, B.data());
  std::vector<qs::FixedMultiplier> m(static_cast<size_t>(n), qs::fixed_multiplier(1.0 / (1 << 16), "bench"));
  const qs::intgemm::RequantTable rq(m, std::vector<int32_t>(static_cast<size_t>(n), 0));
  std::vector<int8_t> y(static_cast<size_t>(n * n));
  qs::intgemm::Epilogue e;
  e.rq = &rq;
  e.out = qs::DType::Int8;
  e.lo = -128;
  e.hi = 127;
  e.y = y.data();
  e.ldy = n;
  for (auto _ : state) {
    if (pack_b) qs::intgemm::pack_b_rows(n, n, b.data(), n, B.data());
    qs::intgemm::gemm(isa, n, n, n, A.data(), B.data(), e);
    benchmark::ClobberMemory();
  }
  const double macs = static_cast<double>(n) * n * n * static_cast<double>(state.iterations());
  state.counters["GMACs"] = benchmark::Counter(macs / 1e9, benchmark::Counter::kIsRate);
  state.counters["frac_exact"] =
      benchmark::Counter(macs / (avx512 ? peaks().exact512() : peaks().exact()), benchmark::Counter::kIsRate);
  state.counters["frac_nominal"] = benchmark::Counter(macs / peaks().nominal(), benchmark::Counter::kIsRate);
  qs::intgemm::set_avx512(saved);
}

void BM_FloatGemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::mt19937 rng(1);
  std::normal_distribution<float> d;
  std::vector<float> a(static_cast<size_t>(n * n)), b(static_cast<size_t>(n * n)), c(static_cast<size_t>(n * n));
  for (auto& v : a) v = d(rng);
  for (auto& v : b) v = d(rng);
  for (auto _ : state) {
    qs::gemm<float>(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, c.data(), n, false);
    benchmark::ClobberMemory();
  }
  const double macs = static_cast<double>(n) * n * n * static_cast<double>(state.iterations());
  state.counters["GMACs"] = benchmark::Counter(macs / 1e9, benchmark::Counter::kIsRate);
  state.counters["frac_fma"] = benchmark::Counter(macs / peaks().fma(), benchmark::Counter::kIsRate);
}

void register_all() {
  peaks();
  for (int64_t n : {256, 512, 1024}) {
    if (qs::int_isa_available(qs::IntIsa::Avx2)) {
      benchmark::RegisterBenchmark("Int8Gemm/avx2", BM_Int8Gemm, qs::IntIsa::Avx2, false, false)
          ->Arg(n)
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark("Int8Gemm/avx2+packB", BM_Int8Gemm, qs::IntIsa::Avx2, true, false)
          ->Arg(n)
          ->Unit(benchmark::kMillisecond);
    }
    if (qs::cpu_has_avx512_vnni()) {
      benchmark::RegisterBenchmark("Int8Gemm/avx512vnni", BM_Int8Gemm, qs::IntIsa::Avx2, false, true)
          ->Arg(n)
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark("Int8Gemm/avx512vnni+packB", BM_Int8Gemm, qs::IntIsa::Avx2, true, true)
          ->Arg(n)
          ->Unit(benchmark::kMillisecond);
    }
    benchmark::RegisterBenchmark("Int8Gemm/portable", BM_Int8Gemm, qs::IntIsa::Portable, false, false)
        ->Arg(n)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("FloatGemm/eigen", BM_FloatGemm)->Arg(n)->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
