// OneHot: output[..., d, ...] = values[1] where indices == d, else values[0], with the depth axis inserted
// at `axis`. Negative indices count from depth from opset 11; other indices outside [0, depth) give an
// all-"off" row.
#include <cmath>
#include <cstring>

#include "core/ops/shape_common.h"

namespace qs {

namespace {

// The integral value of element 0 of `t`; throws Error naming `what` for a non-integral value.
int64_t integral(double v, const std::string& what) {
  if (!std::isfinite(v) || v != std::trunc(v) || std::fabs(v) > 9.0e15)
    throw Error(what + " " + std::to_string(v) + " is not an integer");
  return static_cast<int64_t>(v);
}

std::unique_ptr<Kernel> make_onehot(const KernelInit& init) {
  require_inputs(init, 3);
  const int64_t axis = init.node.attr_int("axis", -1);
  const bool negative_indices = init.opset >= 11;
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor &ind = *in[0], &dt = *in[1], &vals = *in[2];
    if (dt.numel() != 1 || dt.rank() > 1) throw Error("depth should hold exactly one value, got " + dt.str());
    const int64_t depth = integral(dt.value_as_double(0), "depth");
    if (depth <= 0) throw Error("depth must be positive, got " + std::to_string(depth));
    if (vals.numel() != 2 || vals.rank() != 1)
      throw Error("values should be [off_value, on_value], got " + vals.str());
    const int64_t r = ind.rank() + 1;
    const int64_t a = axis < 0 ? axis + r : axis;
    if (a < 0 || a >= r)
      throw Error("axis " + std::to_string(axis) + " is out of range for output rank " + std::to_string(r));
    Shape os = ind.shape();
    os.insert(os.begin() + a, depth);
    int64_t inner = 1;
    for (size_t i = static_cast<size_t>(a); i < ind.shape().size(); ++i) inner *= ind.shape()[i];
    const std::vector<double> idx = ind.to_vector<double>();
    Tensor y(vals.dtype(), os);
    dispatch_elem_size(dtype_size(vals.dtype()), [&](auto tag) {
      using U = decltype(tag);
      U off, on;
      std::memcpy(&off, vals.raw(), sizeof(U));
      std::memcpy(&on, static_cast<const std::byte*>(vals.raw()) + sizeof(U), sizeof(U));
      U* p = static_cast<U*>(y.raw());
      for (int64_t i = 0; i < y.numel(); ++i) p[i] = off;
      // Element e of indices = (outer o, inner j) lands at output [o, v, j].
      for (size_t e = 0; e < idx.size(); ++e) {
        int64_t v = integral(idx[e], "index");
        if (v < 0 && negative_indices) v += depth;
        if (v < 0 || v >= depth) continue;
        const int64_t o = static_cast<int64_t>(e) / inner, j = static_cast<int64_t>(e) % inner;
        p[(o * depth + v) * inner + j] = on;
      }
    });
    out[0] = std::move(y);
  });
}

}  // namespace

void register_onehot_ops(OpRegistry& r) { r.add("", "OneHot", 9, 21, make_onehot); }

}  // namespace qs
