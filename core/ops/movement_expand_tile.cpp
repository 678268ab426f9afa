// Expand (bidirectional numpy broadcast to a shape) and Tile. Both are strided views of the input with
// stride 0 on repeated axes, materialized by strided_copy.
#include "core/ops/broadcast.h"
#include "core/ops/movement_strided.h"
#include "core/ops/shape_common.h"

namespace qs {

namespace {

std::unique_ptr<Kernel> make_expand(const KernelInit& init) {
  require_inputs(init, 2);
  const IntListInput shape(init, 1, "input 'shape'");
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    const Shape target = shape.get(in);
    for (int64_t d : target)
      if (d < 0) throw Error("shape " + ints_str(target) + " has a negative extent");
    StridedView v;
    v.shape = broadcast_shapes(x.shape(), target, "Expand of " + x.str());
    v.strides = broadcast_strides(x.shape(), v.shape);
    out[0] = materialize(x, v);
  });
}

std::unique_ptr<Kernel> make_tile(const KernelInit& init) {
  require_inputs(init, 2);
  const IntListInput repeats(init, 1, "input 'repeats'");
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    const std::vector<int64_t> rep = repeats.get(in);
    if (static_cast<int64_t>(rep.size()) != x.rank())
      throw Error("repeats " + ints_str(rep) + " should have one value per axis of " + x.str());
    // Output axis i of extent rep[i] * d[i] is the pair (copy, index) of extents [rep[i], d[i]] in
    // row-major order: a view with stride 0 on the copy axis, then a reshape.
    const auto st = strides_of(x.shape());
    StridedView v;
    Shape os;
    for (size_t i = 0; i < rep.size(); ++i) {
      if (rep[i] < 0) throw Error("repeats " + ints_str(rep) + " has a negative value");
      v.shape.insert(v.shape.end(), {rep[i], x.shape()[i]});
      v.strides.insert(v.strides.end(), {0, st[i]});
      os.push_back(rep[i] * x.shape()[i]);
    }
    out[0] = materialize(x, v).reshaped(os);
  });
}

}  // namespace

void register_expand_tile_ops(OpRegistry& r) {
  r.add("", "Expand", 8, 21, make_expand);
  r.add("", "Tile", 6, 21, make_tile);
}

}  // namespace qs
