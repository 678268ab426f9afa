// VJPs of normalization: BatchNormalization (inference: fixed statistics, so it is affine in X and every
// parameter), LayerNormalization (statistics of X, the full Jacobian), Softmax and LogSoftmax (both
// normalization conventions: opset < 13 coerces X to 2-D at `axis`).
#include <algorithm>
#include <cmath>

#include "core/autodiff/vjp.h"
#include "core/common/parallel.h"
#include "core/ops/broadcast.h"

namespace qs {

namespace {

// Y = (X - mean)·scale/sqrt(var + eps) + B per channel (per channel and position when spatial = 0).
std::unique_ptr<Vjp> make_batch_norm_vjp(const KernelInit& init) {
  const float eps = init.node.attr_float("epsilon", 1e-5f);
  const bool spatial = init.opset >= 9 || init.node.attr_int("spatial", 1) != 0;
  const std::string where = init.where();
  return make_vjp([=](const VjpArgs& a, std::span<Tensor> gi) {
    const Tensor& x = *a.inputs[0];
    for (size_t i = 0; i < 5; ++i)
      if (a.inputs[i]->dtype() != DType::Float32)
        throw UnsupportedError(where + ": gradient of BatchNormalization with " +
                               dtype_name(a.inputs[i]->dtype()) + " operands");
    const auto s = a.inputs[1]->to_vector<double>(), m = a.inputs[3]->to_vector<double>(),
               v = a.inputs[4]->to_vector<double>();
    const int64_t c = x.dim(1), planes = x.dim(0) * c, size = planes ? x.numel() / planes : 0;
    const size_t np = s.size();
    std::vector<double> inv(np);
    for (size_t k = 0; k < np; ++k) inv[k] = 1.0 / std::sqrt(v[k] + static_cast<double>(eps));
    const float* xp = x.data<float>();
    const float* gp = a.grad_outputs[0].data<float>();
    auto param = [&](int64_t plane, int64_t i) {
      const int64_t ch = plane % c;
      return static_cast<size_t>(spatial ? ch : ch * size + i);
    };
    if (a.need[0]) {
      Tensor gx(DType::Float32, x.shape());
      float* d = gx.data<float>();
      parallel_for(
          0, planes,
          [&](int64_t pl) {
            for (int64_t i = 0; i < size; ++i) {
              const size_t k = param(pl, i);
              d[pl * size + i] = static_cast<float>(gp[pl * size + i] * s[k] * inv[k]);
            }
          },
          size);
      gi[0] = std::move(gx);
    }
    const bool any_param = a.need[1] || a.need[2] || a.need[3] || a.need[4];
    if (!any_param) return;
    // Σ g and Σ g·(x - mean) per parameter element give every parameter's gradient.
    std::vector<double> sg(np, 0.0), sgx(np, 0.0);
    for (int64_t pl = 0; pl < planes; ++pl)
      for (int64_t i = 0; i < size; ++i) {
        const size_t k = param(pl, i);
        const double g = gp[pl * size + i];
        sg[k] += g;
        sgx[k] += g * (xp[pl * size + i] - m[k]);
      }
    std::vector<double> d(np);
    if (a.need[1]) {
      for (size_t k = 0; k < np; ++k) d[k] = sgx[k] * inv[k];
      gi[1] = from_double(d, a.inputs[1]->shape());
    }
    if (a.need[2]) gi[2] = from_double(sg, a.inputs[2]->shape());
    if (a.need[3]) {
      for (size_t k = 0; k < np; ++k) d[k] = -sg[k] * s[k] * inv[k];
      gi[3] = from_double(d, a.inputs[3]->shape());
    }
    if (a.need[4]) {
      for (size_t k = 0; k < np; ++k) d[k] = -0.5 * sgx[k] * s[k] * inv[k] * inv[k] * inv[k];
      gi[4] = from_double(d, a.inputs[4]->shape());
    }
  });
}

// Over each row of `inner` normalized elements: x̂ = (x - μ)·r, r = 1/sqrt(var + eps), Y = x̂·S + B.
//   dx = r·(gx̂ - mean(gx̂) - x̂·mean(gx̂·x̂)),  gx̂ = g·S;  dS = Σ_rows g·x̂,  dB = Σ_rows g (to their shapes).
std::unique_ptr<Vjp> make_layer_norm_vjp(const KernelInit& init) {
  const int64_t axis_attr = init.node.attr_int("axis", -1);
  const float eps = init.node.attr_float("epsilon", 1e-5f);
  const std::string where = init.where();
  return make_vjp([=](const VjpArgs& a, std::span<Tensor> gi) {
    // The optional Mean and InvStdDev outputs are for training graphs; a gradient through them is refused
    // rather than dropped.
    for (size_t k = 1; k < a.grad_outputs.size(); ++k) {
      const Tensor& g = a.grad_outputs[k];
      if (g.defined() &&
          std::any_of(g.data<float>(), g.data<float>() + g.numel(), [](float v) { return v != 0.f; }))
        throw UnsupportedError(where + ": no gradient through the Mean / InvStdDev outputs");
    }
    const Tensor& x = *a.inputs[0];
    const Tensor& S = *a.inputs[1];
    const int64_t r = x.rank();
    const int64_t axis = normalize_axis(axis_attr, r, where);
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
    const int64_t inner = outer ? x.numel() / outer : 0;
    // Scale broadcast to X's shape (it may vary along outer axes too).
    std::vector<float> sfull(static_cast<size_t>(x.numel()));
    {
      const float* sp = S.data<float>();
      for_each_broadcast<1>(x.shape(), {broadcast_strides(S.shape(), x.shape())},
                            [&](int64_t i, int64_t o) { sfull[static_cast<size_t>(i)] = sp[o]; });
    }
    const float* xp = x.data<float>();
    const float* gp = a.grad_outputs[0].data<float>();
    Tensor xhat(DType::Float32, x.shape());
    Tensor gx = a.need[0] ? Tensor(DType::Float32, x.shape()) : Tensor();
    float* xh = xhat.data<float>();
    float* d = a.need[0] ? gx.data<float>() : nullptr;
    parallel_for(
        0, outer,
        [&](int64_t o) {
          const float* xr = xp + o * inner;
          double mean = 0;
          for (int64_t i = 0; i < inner; ++i) mean += xr[i];
          mean /= static_cast<double>(inner);
          double var = 0;
          for (int64_t i = 0; i < inner; ++i) var += (xr[i] - mean) * (xr[i] - mean);
          const double rs = 1.0 / std::sqrt(var / static_cast<double>(inner) + static_cast<double>(eps));
          double m1 = 0, m2 = 0;
          for (int64_t i = 0; i < inner; ++i) {
            const int64_t k = o * inner + i;
            xh[k] = static_cast<float>((xr[i] - mean) * rs);
            const double gh = static_cast<double>(gp[k]) * sfull[static_cast<size_t>(k)];
            m1 += gh;
            m2 += gh * xh[k];
          }
          if (!d) return;
          m1 /= static_cast<double>(inner);
          m2 /= static_cast<double>(inner);
          for (int64_t i = 0; i < inner; ++i) {
            const int64_t k = o * inner + i;
            const double gh = static_cast<double>(gp[k]) * sfull[static_cast<size_t>(k)];
            d[k] = static_cast<float>(rs * (gh - m1 - xh[k] * m2));
          }
        },
        inner * 8);
    if (d) gi[0] = std::move(gx);
    if (a.need[1]) {
      Tensor gs(DType::Float32, x.shape());
      for (int64_t i = 0; i < x.numel(); ++i) gs.data<float>()[i] = gp[i] * xh[i];
      gi[1] = sum_to_shape(gs, S.shape());
    }
    if (a.need.size() > 2 && a.need[2]) gi[2] = sum_to_shape(a.grad_outputs[0], a.inputs[2]->shape());
  });
}

// Softmax: dx = y·(g - Σ g·y); LogSoftmax: dx = g - exp(y)·Σ g, sums along the normalized axis.
std::unique_ptr<Vjp> make_softmax_vjp(const KernelInit& init, bool log) {
  const bool coerce_2d = init.opset < 13;
  const int64_t axis_attr = init.node.attr_int("axis", coerce_2d ? 1 : -1);
  const std::string where = init.where();
  return make_vjp([=](const VjpArgs& a, std::span<Tensor> gi) {
    if (!a.need[0]) return;
    const Tensor& y = a.outputs[0];
    const int64_t r = y.rank();
    const int64_t axis = normalize_axis(axis_attr, r, where);
    int64_t outer = 1, n = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= y.dim(i);
    if (coerce_2d) {
      for (int64_t i = axis; i < r; ++i) n *= y.dim(i);
    } else {
      n = y.dim(axis);
      for (int64_t i = axis + 1; i < r; ++i) inner *= y.dim(i);
    }
    const float* yp = y.data<float>();
    const float* gp = a.grad_outputs[0].data<float>();
    Tensor gx(DType::Float32, y.shape());
    float* d = gx.data<float>();
    parallel_for(
        0, outer * inner,
        [&](int64_t t) {
          const int64_t o = t / inner, j = t % inner;
          const int64_t base = o * n * inner + j;
          double s = 0;
          for (int64_t k = 0; k < n; ++k) {
            const int64_t i = base + k * inner;
            s += log ? static_cast<double>(gp[i]) : static_cast<double>(gp[i]) * yp[i];
          }
          for (int64_t k = 0; k < n; ++k) {
            const int64_t i = base + k * inner;
            d[i] = log ? static_cast<float>(gp[i] - std::exp(static_cast<double>(yp[i])) * s)
                       : static_cast<float>(yp[i] * (gp[i] - s));
          }
        },
        n * 4);
    gi[0] = std::move(gx);
  });
}

}  // namespace

void register_norm_vjps(VjpRegistry& r) {
  r.add("BatchNormalization", 1, 21, make_batch_norm_vjp);
  r.add("LayerNormalization", 17, 21, make_layer_norm_vjp);
  r.add("Softmax", 1, 21, [](const KernelInit& i) { return make_softmax_vjp(i, false); });
  r.add("LogSoftmax", 1, 21, [](const KernelInit& i) { return make_softmax_vjp(i, true); });
}

}  // namespace qs
