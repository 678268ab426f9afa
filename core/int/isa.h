// Which integer kernels run: the reference loops (the oracle), the portable optimized kernels (packed,
// blocked, plain C++), or the AVX2 kernels (intrinsics in functions compiled for AVX2, chosen at run
// time with __builtin_cpu_supports). All three give identical integers; tests check that.
#pragma once

namespace qs {

enum class IntIsa { Reference, Portable, Avx2 };

// Avx2 when this CPU has it, else Portable.
IntIsa best_int_isa();
bool int_isa_available(IntIsa isa);
const char* int_isa_name(IntIsa isa);

}  // namespace qs
