// ArgMax / ArgMin registration (reduce_arg.cpp); called by register_reduce_ops.
#pragma once

#include "core/ops/kernel.h"

namespace qs::red {

void register_arg_ops(OpRegistry& r);

}  // namespace qs::red
