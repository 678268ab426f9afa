#include "core/int/isa.h"

namespace qs {

bool int_isa_available(IntIsa isa) {
  if (isa != IntIsa::Avx2) return true;
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

IntIsa best_int_isa() { return int_isa_available(IntIsa::Avx2) ? IntIsa::Avx2 : IntIsa::Portable; }

const char* int_isa_name(IntIsa isa) {
  switch (isa) {
    case IntIsa::Reference: return "reference";
    case IntIsa::Portable: return "portable";
    case IntIsa::Avx2: return "avx2";
  }
  return "?";
}

}  // namespace qs
