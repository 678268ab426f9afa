// VJPs of reductions: the output gradient is broadcast back over the reduced axes, times the local
// derivative (1 for Sum, 1/count for Mean, 2x for SumSquare, x/y for L2; Max/Min route it to the first
// extreme element of each reduced group). Axes follow the forward op: attribute before opset 18 (13 for
// ReduceSum), then an optional input; empty axes reduce everything unless noop_with_empty_axes.
#include <cmath>
#include <optional>

#include "core/autodiff/vjp.h"
#include "core/ops/broadcast.h"

namespace qs {

namespace {

enum class Red { Sum, Mean, SumSquare, L2, Max, Min };

std::unique_ptr<Vjp> make_reduce_vjp(const KernelInit& init, Red kind, int input_since) {
  const bool axes_input = init.opset >= input_since;
  const bool noop = axes_input && init.node.attr_int("noop_with_empty_axes", 0) != 0;
  std::optional<std::vector<int64_t>> fixed;
  if (!axes_input)
    fixed = init.node.attr_ints("axes", {});
  else if (!init.node.has_input(1))
    fixed = std::vector<int64_t>{};
  const std::string where = init.where();
  return make_vjp([=](const VjpArgs& a, std::span<Tensor> gi) {
    if (!a.need[0]) return;
    const Tensor& x = *a.inputs[0];
    if (x.dtype() != DType::Float32) throw UnsupportedError(where + ": gradient of a non-float32 reduction");
    std::vector<int64_t> axes = fixed ? *fixed : a.inputs[1]->to_vector<int64_t>();
    const Tensor& g = a.grad_outputs[0];
    if (axes.empty() && noop) {  // the op was an Identity
      gi[0] = g;
      return;
    }
    const int64_t r = x.rank();
    Shape keep = x.shape();
    if (axes.empty())
      for (auto& d : keep) d = 1;
    for (int64_t ax : axes) keep[static_cast<size_t>(normalize_axis(ax, r, where))] = 1;
    const int64_t count = keep.empty() ? 1 : x.numel() / std::max<int64_t>(numel(keep), 1);
    const float* xp = x.data<float>();
    const float* yp = a.outputs[0].data<float>();
    const float* gp = g.data<float>();
    Tensor gx = zeros_f32(x.shape());
    float* d = gx.data<float>();
    const auto strides = broadcast_strides(keep, x.shape());
    if (kind == Red::Max || kind == Red::Min) {
      std::vector<int64_t> first(static_cast<size_t>(numel(keep)), -1);
      for_each_broadcast<1>(x.shape(), {strides}, [&](int64_t i, int64_t o) {
        int64_t& f = first[static_cast<size_t>(o)];
        if (f < 0 || (kind == Red::Max ? xp[i] > xp[f] : xp[i] < xp[f])) f = i;
      });
      for (size_t o = 0; o < first.size(); ++o)
        if (first[o] >= 0) d[first[o]] = gp[o];
    } else {
      for_each_broadcast<1>(x.shape(), {strides}, [&](int64_t i, int64_t o) {
        switch (kind) {
          case Red::Sum:
            d[i] = gp[o];
            break;
          case Red::Mean:
            d[i] = gp[o] / static_cast<float>(count);
            break;
          case Red::SumSquare:
            d[i] = 2.f * xp[i] * gp[o];
            break;
          case Red::L2:
            d[i] = yp[o] > 0.f ? xp[i] / yp[o] * gp[o] : 0.f;
            break;
          default:
            break;
        }
      });
    }
    gi[0] = std::move(gx);
  });
}

}  // namespace

void register_reduce_vjps(VjpRegistry& r) {
  struct Op {
    const char* name;
    Red kind;
    int input_since;
  };
  const Op ops[] = {
      {"ReduceSum", Red::Sum, 13}, {"ReduceMean", Red::Mean, 18}, {"ReduceSumSquare", Red::SumSquare, 18},
      {"ReduceL2", Red::L2, 18},   {"ReduceMax", Red::Max, 18},   {"ReduceMin", Red::Min, 18}};
  for (const Op& op : ops) {
    const Red kind = op.kind;
    const int since = op.input_since;
    r.add(op.name, 1, 21, [kind, since](const KernelInit& i) { return make_reduce_vjp(i, kind, since); });
  }
}

}  // namespace qs
