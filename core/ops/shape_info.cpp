// Ops that describe their input rather than read it: Shape (with opset-15 start/end) and Size.
#include <algorithm>

#include "core/ops/shape_common.h"

namespace qs {

namespace {

std::unique_ptr<Kernel> make_shape(const KernelInit& init) {
  require_inputs(init, 1);
  const Node& n = init.node;
  if (init.opset < 15 && (n.has_attr("start") || n.has_attr("end")))
    init.invalid("attributes 'start'/'end' require opset 15");
  const int64_t start = n.attr_int("start", 0);
  const bool has_end = n.has_attr("end");
  const int64_t end = n.attr_int("end", 0);
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Shape& s = in[0]->shape();
    const int64_t r = static_cast<int64_t>(s.size());
    // Negative values count from the end; both are then clamped to [0, rank] (spec, opset 15).
    const auto clampi = [r](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
    const int64_t b = clampi(start), e = has_end ? clampi(end) : r;
    std::vector<int64_t> v;
    if (e > b) v.assign(s.begin() + b, s.begin() + e);
    out[0] = Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  });
}

std::unique_ptr<Kernel> make_size(const KernelInit& init) {
  require_inputs(init, 1);
  return make_kernel([](std::span<const Tensor* const> in, std::span<Tensor> out) {
    out[0] = Tensor::scalar<int64_t>(in[0]->numel());
  });
}

}  // namespace

void register_shape_info_ops(OpRegistry& r) {
  r.add("", "Shape", 1, 21, make_shape);
  r.add("", "Size", 1, 21, make_size);
}

}  // namespace qs
