// Which integer kernels run: the reference loops (the oracle), the portable optimized kernels (packed,
// blocked, plain C++), or the AVX2 kernels (intrinsics in functions compiled for AVX2, chosen at run
// time with __builtin_cpu_supports). All three give identical integers; tests check that.
#pragma once

#include <string>

namespace qs {

enum class IntIsa { Reference, Portable, Avx2 };

// Avx2 when this CPU has it, else Portable.
IntIsa best_int_isa();
bool int_isa_available(IntIsa isa);
const char* int_isa_name(IntIsa isa);
// What runs for `isa` on this machine, for listings: its name, and "avx2 + avx512-vnni" where the AVX2
// GEMM accumulates with AVX-512 VNNI (gemm_int.h, avx512_enabled).
std::string int_kernels_name(IntIsa isa);

}  // namespace qs
