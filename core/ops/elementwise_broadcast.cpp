#include "core/ops/elementwise_broadcast.h"

#include "core/ops/broadcast.h"

namespace qs::ew {

BroadcastPlan make_broadcast_plan(const std::vector<Shape>& shapes) {
  BroadcastPlan p;
  const size_t n = shapes.size();
  p.out = shapes.empty() ? Shape{} : shapes[0];
  for (size_t k = 1; k < n; ++k) p.out = broadcast_shapes(p.out, shapes[k], "inputs");
  p.strides.assign(n, {});
  p.inner_stride.assign(n, 0);
  if (numel(p.out) == 0) {
    p.rows = 0;
    p.inner = 0;
    return p;
  }
  std::vector<std::vector<int64_t>> full(n);
  for (size_t k = 0; k < n; ++k) full[k] = broadcast_strides(shapes[k], p.out);

  // Merge axes: extent-1 axes are dropped; axis a joins the group before it when, for every input, the
  // group's stride equals stride(a) * extent(a) (contiguous continuation, or broadcast on both).
  std::vector<int64_t> dims;
  std::vector<std::vector<int64_t>> st(n);
  for (size_t a = 0; a < p.out.size(); ++a) {
    const int64_t e = p.out[a];
    if (e == 1) continue;
    bool merge = !dims.empty();
    for (size_t k = 0; k < n && merge; ++k) merge = st[k].back() == full[k][a] * e;
    if (merge) {
      dims.back() *= e;
      for (size_t k = 0; k < n; ++k) st[k].back() = full[k][a];
    } else {
      dims.push_back(e);
      for (size_t k = 0; k < n; ++k) st[k].push_back(full[k][a]);
    }
  }
  if (dims.empty()) return p;  // a single element
  p.inner = dims.back();
  for (size_t k = 0; k < n; ++k) {
    p.inner_stride[k] = st[k].back();  // 0 or 1: inputs are contiguous
    st[k].pop_back();
  }
  dims.pop_back();
  p.outer = std::move(dims);
  p.strides = std::move(st);
  p.rows = numel(p.outer);
  return p;
}

}  // namespace qs::ew
