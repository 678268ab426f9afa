// Comparisons (output bool) and boolean logic, with numpy broadcasting: Equal, Less, Greater, LessOrEqual,
// GreaterOrEqual, And, Or, Xor.
#include "core/ops/binary_kernel.h"
#include "core/ops/elementwise_groups.h"

namespace qs::ew {

namespace {

// Registers a same-type op with bool output; Types selects the accepted input types.
template <typename Types, typename OpFor>
void add_bool_op(OpRegistry& r, const char* op, int since, OpFor op_for) {
  r.add("", op, since, 21, [op_for](const KernelInit& init) {
    check_arity(init, 2, 2);
    return same_type_binary_kernel<Types, true>(op_for);
  });
}

}  // namespace

void register_compare_ops(OpRegistry& r) {
  // Opset 7 introduced numpy broadcasting; later versions only added types (bool for Equal at 11).
  add_bool_op<AnyTypes>(r, "Equal", 7,
                        [](auto t) { return [](decltype(t) x, decltype(t) y) { return x == y; }; });
  add_bool_op<AnyTypes>(r, "Less", 7,
                        [](auto t) { return [](decltype(t) x, decltype(t) y) { return x < y; }; });
  add_bool_op<AnyTypes>(r, "Greater", 7,
                        [](auto t) { return [](decltype(t) x, decltype(t) y) { return x > y; }; });
  add_bool_op<AnyTypes>(r, "LessOrEqual", 12,
                        [](auto t) { return [](decltype(t) x, decltype(t) y) { return x <= y; }; });
  add_bool_op<AnyTypes>(r, "GreaterOrEqual", 12,
                        [](auto t) { return [](decltype(t) x, decltype(t) y) { return x >= y; }; });
  add_bool_op<BoolTypes>(r, "And", 7,
                         [](auto t) { return [](decltype(t) x, decltype(t) y) { return x && y; }; });
  add_bool_op<BoolTypes>(r, "Or", 7,
                         [](auto t) { return [](decltype(t) x, decltype(t) y) { return x || y; }; });
  add_bool_op<BoolTypes>(r, "Xor", 7,
                         [](auto t) { return [](decltype(t) x, decltype(t) y) { return x != y; }; });
}

}  // namespace qs::ew
