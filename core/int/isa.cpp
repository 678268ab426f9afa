#include "core/int/isa.h"

#include "core/common/cpu.h"
#include "core/int/gemm_int.h"

namespace qs {

bool int_isa_available(IntIsa isa) { return isa != IntIsa::Avx2 || cpu_has_avx2(); }

IntIsa best_int_isa() { return int_isa_available(IntIsa::Avx2) ? IntIsa::Avx2 : IntIsa::Portable; }

const char* int_isa_name(IntIsa isa) {
  switch (isa) {
    case IntIsa::Reference:
      return "reference";
    case IntIsa::Portable:
      return "portable";
    case IntIsa::Avx2:
      return "avx2";
  }
  return "?";
}

std::string int_kernels_name(IntIsa isa) {
  return isa == IntIsa::Avx2 && intgemm::avx512_enabled() ? "avx2 + avx512-vnni" : int_isa_name(isa);
}

}  // namespace qs
