// LayerNormalization (opset 17): normalizes over axes [axis, rank) of X, then Y = normalized * Scale + B
// with Scale and B unidirectionally broadcast to X. Optional outputs Mean and InvStdDev have shape
// X.shape[:axis] + [1] * (rank - axis).
#include <algorithm>
#include <cmath>

#include "core/common/parallel.h"
#include "core/ops/broadcast.h"
#include "core/ops/norm_factories.h"

namespace qs {

namespace {

// A Scale or B operand laid out for the row loop: either one row of `inner` values shared by every row of
// X, or a full X-sized array. Points into the tensor when its layout already fits, else into `expanded`.
struct RowOperand {
  const float* data = nullptr;
  bool per_row = false;  // true: data has one row of `inner` values per outer index
  std::vector<float> expanded;
};

std::vector<float> expand(const Tensor& t, const Shape& target) {
  std::vector<float> out(static_cast<size_t>(numel(target)));
  const float* src = t.data<float>();
  for_each_broadcast<1>(target, {broadcast_strides(t.shape(), target)},
                        [&](int64_t i, int64_t o) { out[static_cast<size_t>(i)] = src[o]; });
  return out;
}

void prepare(RowOperand& op, const Tensor& t, const Shape& xshape, int64_t axis, const std::string& what,
             const std::string& where) {
  if (t.dtype() != DType::Float32)
    throw UnsupportedError(where + ": " + what + " of type " + dtype_name(t.dtype()) + " is not supported");
  if (t.rank() > static_cast<int64_t>(xshape.size()) || broadcast_shapes(t.shape(), xshape, where) != xshape)
    throw Error(where + ": " + what + " of shape " + shape_str(t.shape()) +
                " does not broadcast to X of shape " + shape_str(xshape));
  const int64_t r = static_cast<int64_t>(xshape.size());
  // Does the operand vary along an outer (not normalized) axis?
  bool outer = false;
  for (int64_t i = 0; i < t.rank(); ++i) {
    const int64_t xa = r - t.rank() + i;
    if (xa < axis && t.shape()[static_cast<size_t>(i)] != 1) outer = true;
  }
  const Shape inner_shape(xshape.begin() + axis, xshape.end());
  if (outer) {
    op.per_row = true;
    op.expanded = expand(t, xshape);
    op.data = op.expanded.data();
    return;
  }
  if (t.numel() == numel(inner_shape)) {  // same layout as the normalized axes (up to leading 1s)
    op.data = t.data<float>();
    return;
  }
  // Drop the leading extents (all 1) that align with outer axes, then broadcast over the inner axes.
  const int64_t keep = std::min<int64_t>(t.rank(), r - axis);
  const Tensor squeezed = t.reshaped(Shape(t.shape().end() - keep, t.shape().end()));
  op.expanded = expand(squeezed, inner_shape);
  op.data = op.expanded.data();
}

}  // namespace

std::unique_ptr<Kernel> make_layer_norm(const KernelInit& init) {
  const Node& n = init.node;
  const int64_t axis_attr = n.attr_int("axis", -1);
  const float eps = n.attr_float("epsilon", 1e-5f);
  const int64_t stash = n.attr_int("stash_type", 1);
  if (stash != 1)
    init.unsupported("stash_type " + std::to_string(stash) + " (only 1, float32, is supported)");
  if (!n.has_input(0) || !n.has_input(1)) init.invalid("inputs X and Scale are required");
  const bool has_bias = n.has_input(2);
  const std::string where = init.where();

  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    if (x.dtype() != DType::Float32)
      throw UnsupportedError(where + ": LayerNormalization on " + dtype_name(x.dtype()) +
                             " is not supported");
    const int64_t r = x.rank();
    if (r == 0) throw Error(where + ": X is a scalar");
    const int64_t axis = normalize_axis(axis_attr, r, where);
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
    const int64_t inner = outer == 0 ? 0 : x.numel() / outer;
    RowOperand scale, bias;
    prepare(scale, *in[1], x.shape(), axis, "Scale", where);
    if (has_bias) prepare(bias, *in[2], x.shape(), axis, "B", where);

    Tensor y(DType::Float32, x.shape());
    Shape stat_shape = x.shape();
    for (int64_t i = axis; i < r; ++i) stat_shape[static_cast<size_t>(i)] = 1;
    const bool want_mean = out.size() > 1, want_inv = out.size() > 2;
    Tensor mean_t = want_mean ? Tensor(DType::Float32, stat_shape) : Tensor();
    Tensor inv_t = want_inv ? Tensor(DType::Float32, stat_shape) : Tensor();
    const float* xp = x.data<float>();
    float* yp = y.data<float>();
    float* mp = want_mean ? mean_t.data<float>() : nullptr;
    float* ip = want_inv ? inv_t.data<float>() : nullptr;
    parallel_for(
        0, outer,
        [&](int64_t o) {
          const float* xr = xp + o * inner;
          float* yr = yp + o * inner;
          // Two passes (mean, then mean of squared deviations: no cancellation). Each sum uses kLanes float
          // partial sums, which vectorize, combined in double.
          constexpr int64_t kLanes = 16;
          const int64_t body = inner - inner % kLanes;
          float lane[kLanes] = {};
          for (int64_t i = 0; i < body; i += kLanes)
            for (int64_t l = 0; l < kLanes; ++l) lane[l] += xr[i + l];
          double sum = 0;
          for (int64_t l = 0; l < kLanes; ++l) sum += lane[l];
          for (int64_t i = body; i < inner; ++i) sum += xr[i];
          const double mean = sum / static_cast<double>(inner);
          const float mf = static_cast<float>(mean);
          std::fill(lane, lane + kLanes, 0.f);
          for (int64_t i = 0; i < body; i += kLanes)
            for (int64_t l = 0; l < kLanes; ++l) {
              const float d = xr[i + l] - mf;
              lane[l] += d * d;
            }
          double sq = 0;
          for (int64_t l = 0; l < kLanes; ++l) sq += lane[l];
          for (int64_t i = body; i < inner; ++i) {
            const double d = xr[i] - mf;
            sq += d * d;
          }
          const float inv = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(inner) + eps));
          const float* sr = scale.data + (scale.per_row ? o * inner : 0);
          if (has_bias) {
            const float* br = bias.data + (bias.per_row ? o * inner : 0);
            for (int64_t i = 0; i < inner; ++i) yr[i] = (xr[i] - mf) * inv * sr[i] + br[i];
          } else {
            for (int64_t i = 0; i < inner; ++i) yr[i] = (xr[i] - mf) * inv * sr[i];
          }
          if (mp) mp[o] = mf;
          if (ip) ip[o] = inv;
        },
        inner);
    out[0] = std::move(y);
    if (want_mean) out[1] = std::move(mean_t);
    if (want_inv) out[2] = std::move(inv_t);
  });
}

}  // namespace qs
