#include "core/ops/kernel.h"

namespace qs {

void register_norm_ops(OpRegistry& r) { (void)r; }

}  // namespace qs
