// What the CPU running us can do, asked once (x86 CPUID through __builtin_cpu_supports). Code compiled for
// a wider ISA with a function attribute is called only when this says yes.
#pragma once

namespace qs {

bool cpu_has_avx2();
// AVX-512 F, BW, VL and VNNI (VPDPWSSD on 512-bit registers), with the OS saving their state.
bool cpu_has_avx512_vnni();

}  // namespace qs
