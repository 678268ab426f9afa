// Cast (opset 6+, `to` attribute) and CastLike (opset 15+, target type of the second input). Conversion
// rules are those of convert() in elementwise_convert.h. String, float16 and bfloat16 tensors are not held
// by the engine, so those targets are refused when the kernel is created.
#include "core/ops/elementwise_convert.h"
#include "core/ops/elementwise_groups.h"
#include "core/ops/elementwise_util.h"

namespace qs::ew {

namespace {

Tensor cast_to(const Tensor& x, DType to) {
  if (x.dtype() == to) return x;  // shares the buffer; nothing is written
  Tensor y(to, x.shape());
  dispatch_dtype(x.dtype(), [&](auto stag) {
    using S = decltype(stag);
    dispatch_dtype(to, [&](auto dtag) {
      using D = decltype(dtag);
      const S* ps = x.data<S>();
      D* pd = y.data<D>();
      parallel_chunks(x.numel(), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) pd[i] = convert<D>(ps[i]);
      });
    });
  });
  return y;
}

bool castable(DType t) { return dtype_supported(t) && dtype_size(t) != 0; }

std::unique_ptr<Kernel> make_cast(const KernelInit& init) {
  check_arity(init, 1, 1);
  if (!init.node.has_attr("to")) init.invalid("attribute 'to' is required");
  const int64_t to_i = init.node.attr_int("to", 0);
  const auto to = static_cast<DType>(to_i);
  if (!castable(to))
    init.unsupported("attribute 'to' = " + std::to_string(to_i) + " (" + dtype_name(to) +
                     "): casting to this type is not supported");
  return make_kernel([to](std::span<const Tensor* const> in, std::span<Tensor> out) {
    out[0] = cast_to(required(in, 0), to);
  });
}

std::unique_ptr<Kernel> make_castlike(const KernelInit& init) {
  check_arity(init, 2, 2);
  return make_kernel([](std::span<const Tensor* const> in, std::span<Tensor> out) {
    out[0] = cast_to(required(in, 0), required(in, 1).dtype());
  });
}

}  // namespace

void register_cast_ops(OpRegistry& r) {
  // Opset 6 replaced the string `to` with the enum; 9/13/19/21 only added types the engine cannot hold
  // (string, bfloat16, float8, int4), whose `to` values are refused above.
  r.add("", "Cast", 6, 21, make_cast);
  r.add("", "CastLike", 15, 21, make_castlike);
}

}  // namespace qs::ew
