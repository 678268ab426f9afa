// VJP of DequantizeLinear, y = (x - x_zero_point) · x_scale: only the scale is a float input, with
// ∂L/∂scale[c] = Σ over channel c of ∂L/∂y · (x - zero_point) (per tensor: over every element). x and the
// zero point are integers and carry no gradient. QuantizeLinear, DynamicQuantizeLinear and the integer
// operators have integer outputs: a gradient path through them is refused by ReverseModel::backward
// (core/autodiff/reverse.cpp) rather than cut silently.
#include <vector>

#include "core/autodiff/vjp.h"

namespace qs {

namespace {

std::unique_ptr<Vjp> make_dequantize_linear_vjp(const KernelInit& init) {
  const bool has_axis = init.opset >= 13;
  const int64_t axis = init.node.attr_int("axis", 1);
  const std::string where = init.where();
  return make_vjp([=](const VjpArgs& a, std::span<Tensor> gi) {
    if (a.need.size() < 2 || !a.need[1]) return;
    const Tensor& x = *a.inputs[0];
    const Tensor& scale = *a.inputs[1];
    const Tensor* zp = a.inputs.size() > 2 ? a.inputs[2] : nullptr;
    const Tensor& g = a.grad_outputs[0];
    const bool per_tensor = !has_axis || (scale.numel() == 1 && scale.rank() <= 1);
    int64_t outer = 1, channels = 1, inner = x.numel();
    if (!per_tensor) {
      const int64_t ax = normalize_axis(axis, x.rank(), where + ": axis");
      channels = x.dim(ax);
      outer = inner = 1;
      for (int64_t i = 0; i < ax; ++i) outer *= x.dim(i);
      for (int64_t i = ax + 1; i < x.rank(); ++i) inner *= x.dim(i);
      if (scale.numel() != channels)
        throw Error(where + ": x_scale holds " + std::to_string(scale.numel()) + " values for " +
                    std::to_string(channels) + " channels");
    }
    const std::vector<double> q = x.to_vector<double>();
    const std::vector<double> z = zp ? zp->to_vector<double>() : std::vector<double>(scale.numel(), 0.0);
    const float* gp = g.data<float>();
    std::vector<double> acc(static_cast<size_t>(channels), 0.0);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t c = 0; c < channels; ++c) {
        const double zc = z[z.size() == 1 ? 0 : static_cast<size_t>(c)];
        double s = 0;
        for (int64_t i = (o * channels + c) * inner, e = i + inner; i < e; ++i)
          s += static_cast<double>(gp[i]) * (q[static_cast<size_t>(i)] - zc);
        acc[static_cast<size_t>(c)] += s;
      }
    Tensor gs(DType::Float32, scale.shape());
    for (int64_t c = 0; c < scale.numel(); ++c)
      gs.data<float>()[c] = static_cast<float>(acc[static_cast<size_t>(c)]);
    gi[1] = std::move(gs);
  });
}

}  // namespace

void register_quantize_vjps(VjpRegistry& r) {
  // Opsets as the forward kernel (core/ops/quantize_linear.cpp): 13 adds the axis.
  r.add("DequantizeLinear", 10, 18, make_dequantize_linear_vjp);
}

}  // namespace qs
