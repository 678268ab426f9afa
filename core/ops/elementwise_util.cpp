#include "core/ops/elementwise_util.h"

namespace qs::ew {

void unsupported_type(DType t, const char* input, const char* allowed) {
  throw UnsupportedError(std::string("input '") + input + "' has type " + dtype_name(t) +
                         ", which this op does not support (supported: " + allowed + ")");
}

void check_arity(const KernelInit& init, size_t min_inputs, size_t max_inputs, size_t num_outputs) {
  const size_t n = init.node.num_inputs();
  if (n < min_inputs || n > max_inputs) {
    const std::string expected = min_inputs == max_inputs
                                     ? std::to_string(min_inputs)
                                     : std::to_string(min_inputs) + " to " + std::to_string(max_inputs);
    init.invalid("expects " + expected + " input(s), got " + std::to_string(n));
  }
  for (size_t i = 0; i < min_inputs; ++i)
    if (!init.node.has_input(i)) init.invalid("required input " + std::to_string(i) + " is omitted");
  if (init.node.outputs.size() != num_outputs)
    init.invalid("expects " + std::to_string(num_outputs) + " output(s), got " +
                 std::to_string(init.node.outputs.size()));
}

const Tensor& required(std::span<const Tensor* const> in, size_t i) {
  if (i >= in.size() || in[i] == nullptr || !in[i]->defined())
    throw Error("required input " + std::to_string(i) + " was not given");
  return *in[i];
}

}  // namespace qs::ew
