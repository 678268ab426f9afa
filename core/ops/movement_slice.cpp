// Slice: starts/ends/axes attributes (opset 1-9) or starts/ends/axes/steps inputs (opset 10+), negative
// steps, clamping per the spec. The result is a strided view of the input materialized by strided_copy
// (row memcpy when the innermost sliced axis has step 1).
#include <algorithm>
#include <limits>

#include "core/ops/movement_strided.h"
#include "core/ops/shape_common.h"

namespace qs {

namespace {

struct SliceArgs {
  std::vector<int64_t> starts, ends, axes, steps;  // axes/steps may be empty (defaults)
};

// The view of `in` selected by `p`; throws Error for inconsistent lengths, bad axes or a zero step.
StridedView slice_view(const Shape& in, const SliceArgs& p) {
  const int64_t r = static_cast<int64_t>(in.size());
  const size_t k = p.starts.size();
  if (p.ends.size() != k)
    throw Error("starts " + ints_str(p.starts) + " and ends " + ints_str(p.ends) + " differ in length");
  if (!p.axes.empty() && p.axes.size() != k)
    throw Error("axes " + ints_str(p.axes) + " and starts " + ints_str(p.starts) + " differ in length");
  if (!p.steps.empty() && p.steps.size() != k)
    throw Error("steps " + ints_str(p.steps) + " and starts " + ints_str(p.starts) + " differ in length");
  std::vector<int64_t> axes = p.axes;
  if (axes.empty())
    for (size_t i = 0; i < k; ++i) axes.push_back(static_cast<int64_t>(i));
  axes = normalize_axes(axes, r, "axes");
  const auto st = strides_of(in);
  StridedView v;
  v.shape = in;
  v.strides = st;
  for (size_t i = 0; i < k; ++i) {
    const size_t a = static_cast<size_t>(axes[i]);
    const int64_t dim = in[a];
    const int64_t step = p.steps.empty() ? 1 : p.steps[i];
    if (step == 0) throw Error("step of axis " + std::to_string(a) + " is 0");
    int64_t s = p.starts[i], e = p.ends[i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    int64_t count = 0;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      if (e > s) count = (e - s - 1) / step + 1;
    } else if (dim > 0) {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      // -step overflows for INT64_MIN; any step beyond the extent selects just the start.
      const int64_t neg =
          step == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -step;
      if (s > e) count = (s - e - 1) / neg + 1;
    }
    v.shape[a] = count;
    v.strides[a] = st[a] * step;
    if (count > 0) v.offset += s * st[a];
  }
  return v;
}

std::unique_ptr<Kernel> make_slice_v1(const KernelInit& init) {
  require_inputs(init, 1);
  const Node& n = init.node;
  if (!n.has_attr("starts") || !n.has_attr("ends"))
    init.invalid("attributes 'starts' and 'ends' are required");
  SliceArgs p{n.attr_ints("starts"), n.attr_ints("ends"), n.attr_ints("axes"), {}};
  if (n.has_attr("axes") && p.axes.empty()) init.invalid("attribute 'axes' is empty");
  return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor> out) {
    out[0] = materialize(*in[0], slice_view(in[0]->shape(), p));
  });
}

std::unique_ptr<Kernel> make_slice_v10(const KernelInit& init) {
  require_inputs(init, 3);
  const IntListInput starts(init, 1, "input 'starts'"), ends(init, 2, "input 'ends'"),
      axes(init, 3, "input 'axes'"), steps(init, 4, "input 'steps'");
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    SliceArgs p{starts.get(in), ends.get(in), axes.present() ? axes.get(in) : std::vector<int64_t>{},
                steps.present() ? steps.get(in) : std::vector<int64_t>{}};
    if (axes.present() && p.axes.empty() && !p.starts.empty()) throw Error("input 'axes' is empty");
    out[0] = materialize(*in[0], slice_view(in[0]->shape(), p));
  });
}

}  // namespace

void register_slice_ops(OpRegistry& r) {
  r.add("", "Slice", 1, 9, make_slice_v1);
  r.add("", "Slice", 10, 21, make_slice_v10);
}

}  // namespace qs
