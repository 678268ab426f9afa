#include "core/ops/elementwise_groups.h"
#include "core/ops/kernel.h"

namespace qs {

void register_elementwise_ops(OpRegistry& r) {
  ew::register_unary_math_ops(r);
  ew::register_activation_ops(r);
  ew::register_clip_ops(r);
  ew::register_arith_ops(r);
  ew::register_compare_ops(r);
  ew::register_prelu_ops(r);
  ew::register_variadic_ops(r);
  ew::register_where_ops(r);
  ew::register_cast_ops(r);
}

}  // namespace qs
