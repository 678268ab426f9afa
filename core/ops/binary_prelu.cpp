// PRelu: y = x < 0 ? slope * x : x, the slope broadcast unidirectionally to X (opset 7+). The common
// per-channel slope [C, 1, 1] on [N, C, H, W] runs as N*C contiguous runs with a scalar slope each.
#include "core/ops/binary_kernel.h"
#include "core/ops/elementwise_groups.h"

namespace qs::ew {

namespace {

std::unique_ptr<Kernel> make_prelu(const KernelInit& init) {
  check_arity(init, 2, 2);
  return make_kernel([](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = required(in, 0);
    const Tensor& slope = required(in, 1);
    check_same_type(x, slope);
    if (broadcast_shapes(x.shape(), slope.shape(), "PRelu") != x.shape())
      throw Error("slope of shape " + shape_str(slope.shape()) + " does not broadcast to X of shape " +
                  shape_str(x.shape()));
    dispatch_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsFloat<T> || kIsSignedInt<T>) {
        out[0] =
            binary_broadcast<T, T, T>(x, slope, [](T v, T s) { return blend(v < T{0}, wrap_mul(s, v), v); });
      } else if constexpr (kIsUnsignedInt<T>) {
        out[0] = x.clone();  // never negative
      } else {
        unsupported_type(x.dtype(), "X", NumericTypes::names);
      }
    });
  });
}

}  // namespace

void register_prelu_ops(OpRegistry& r) { r.add("", "PRelu", 7, 21, make_prelu); }

}  // namespace qs::ew
