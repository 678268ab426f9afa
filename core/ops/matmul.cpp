#include "core/ops/kernel.h"

namespace qs {

void register_matmul_ops(OpRegistry& r) { (void)r; }

}  // namespace qs
