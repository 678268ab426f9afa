#include "core/ops/binary_kernel.h"

namespace qs::ew {

void check_same_type(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    throw Error("inputs have different types: " + dtype_name(a.dtype()) + " and " + dtype_name(b.dtype()));
}

}  // namespace qs::ew
