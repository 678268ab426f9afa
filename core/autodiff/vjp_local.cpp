// VJPs of the local normalizations and of the selection/scan ops (core/ops/norm_local.cpp,
// core/ops/select_ops.cpp): LRN, InstanceNormalization, GroupNormalization, MeanVarianceNormalization,
// LpNormalization, ImageScaler, TopK, CumSum and Hardmax. Statistics are recomputed from the forward input
// in double, as the forward kernels compute them, so the gradients match finite differences of those
// kernels.
//
// Piecewise-constant ops: Hardmax's output is 0/1 and only changes at ties, so its gradient is zero
// wherever it exists; it is registered as such (a model with a Hardmax on the path to the output then has
// a well-defined, zero contribution through it instead of a "no gradient" error). NonMaxSuppression needs
// no VJP: its only output is int64, and the reverse pass never differentiates a node none of whose
// outputs is float32 (the same rule covers ArgMax, Shape, NonZero, ...), so its float inputs get zeros.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/autodiff/vjp.h"
#include "core/common/parallel.h"
#include "core/ops/reduce_layout.h"

namespace qs {

namespace {

// outer × len × inner split of a shape around `axis`.
struct AxisSplit {
  int64_t outer = 1, len = 1, inner = 1;
};
AxisSplit split_at(const Shape& s, int64_t axis) {
  AxisSplit r;
  for (int64_t d = 0; d < axis; ++d) r.outer *= s[static_cast<size_t>(d)];
  r.len = s[static_cast<size_t>(axis)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) r.inner *= s[d];
  return r;
}

// ---- LRN ----
// y_c = x_c·D_c^(−β), D_c = bias + α/size·Σ_{k ∈ W(c)} x_k², W(c) = [c − ⌊(size−1)/2⌋, c + ⌈(size−1)/2⌉] ∩
// [0, C). x_j enters D_c for every c with j ∈ W(c), i.e. c ∈ [j − after, j + before], so
//   dx_j = g_j·D_j^(−β) − 2αβ/size · x_j · Σ_{c ∈ [j − after, j + before]} g_c·x_c·D_c^(−β−1).
std::unique_ptr<Vjp> make_lrn_vjp(const KernelInit& init) {
  const Node& n = init.node;
  const int64_t size = n.attr_int("size", 1);
  if (size < 1) init.invalid("attribute 'size' must be positive, got " + std::to_string(size));
  const double alpha = n.attr_float("alpha", 1e-4f), beta = n.attr_float("beta", 0.75f),
               bias = n.attr_float("bias", 1.0f);
  const std::string where = init.where();
  return make_vjp([=](const VjpArgs& a, std::span<Tensor> gi) {
    if (!a.need[0]) return;
    const Tensor& x = in_f32(a, 0, where);
    if (x.rank() < 3) throw Error(where + ": X of shape " + shape_str(x.shape()) + " is not N×C×D1×…");
    const int64_t N = x.dim(0), C = x.dim(1), inner = N * C != 0 ? x.numel() / (N * C) : 0;
    const int64_t before = (size - 1) / 2, after = size - 1 - before;
    const double a_n = alpha / static_cast<double>(size);
    const float* px = x.data<float>();
    const float* pg = a.grad_outputs[0].data<float>();
    Tensor gx(DType::Float32, x.shape());
    float* pd = gx.data<float>();
    constexpr int64_t kBlock = 256;  // spatial positions per work item
    const int64_t blocks = (inner + kBlock - 1) / kBlock;
    parallel_for(
        0, N * blocks,
        [&](int64_t item) {
          const int64_t b = item / blocks, i0 = (item % blocks) * kBlock, i1 = std::min(inner, i0 + kBlock);
          // p[c] = D_c^(−β), t[c] = g_c·x_c·D_c^(−β−1) at the current position.
          std::vector<double> p(static_cast<size_t>(C)), t(static_cast<size_t>(C));
          for (int64_t i = i0; i < i1; ++i) {
            auto at = [&](int64_t c) { return (b * C + c) * inner + i; };
            for (int64_t c = 0; c < C; ++c) {
              double sq = 0;
              for (int64_t k = std::max<int64_t>(0, c - before); k <= std::min(C - 1, c + after); ++k) {
                const double v = px[at(k)];
                sq += v * v;
              }
              const double dc = bias + a_n * sq, pc = std::pow(dc, -beta);
              p[static_cast<size_t>(c)] = pc;
              t[static_cast<size_t>(c)] = static_cast<double>(pg[at(c)]) * px[at(c)] * pc / dc;
            }
            for (int64_t j = 0; j < C; ++j) {
              double s = 0;
              for (int64_t c = std::max<int64_t>(0, j - after); c <= std::min(C - 1, j + before); ++c)
                s += t[static_cast<size_t>(c)];
              pd[at(j)] = static_cast<float>(static_cast<double>(pg[at(j)]) * p[static_cast<size_t>(j)] -
                                             2.0 * a_n * beta * px[at(j)] * s);
            }
          }
        },
        kBlock * C * (size + 2));
    gi[0] = std::move(gx);
  });
}

// ---- InstanceNormalization, GroupNormalization ----
// X [N, C, …] in groups of `per` channels; each (n, group) is normalized over its per·inner values:
// x̂ = (x − μ)·r, r = 1/sqrt(var + eps), y = x̂·S[c] + B[c]. With gx̂ = g·S[c] (the full Jacobian of the
// statistics, as for LayerNormalization):
//   dx = r·(gx̂ − mean(gx̂) − x̂·mean(gx̂·x̂)),  dS[c] = Σ g·x̂,  dB[c] = Σ g  (sums over n and positions).
// `sgx` / `sg` receive Σ g·x̂ and Σ g per (n, c) (summed by the caller, in a fixed order).
void group_norm_backward(const float* px, const float* pg, int64_t N, int64_t C, int64_t inner,
                         int64_t groups, double eps, const std::vector<double>& scale, float* pd,
                         std::vector<double>& sgx, std::vector<double>& sg) {
  const int64_t per = C / groups, len = per * inner;
  sgx.assign(static_cast<size_t>(N * C), 0.0);
  sg.assign(static_cast<size_t>(N * C), 0.0);
  parallel_for(
      0, N * groups,
      [&](int64_t item) {
        const int64_t base = item * len;
        const float* x = px + base;
        const float* g = pg + base;
        const MeanInv st = mean_inv(x, len, eps);  // as the forward kernel computes them
        const double mean = st.mean, r = st.inv;
        double m1 = 0, m2 = 0;
        for (int64_t k = 0; k < per; ++k) {
          const int64_t c = (item % groups) * per + k;
          const double s = scale[static_cast<size_t>(c)];
          double a_gx = 0, a_g = 0;
          for (int64_t i = k * inner; i < (k + 1) * inner; ++i) {
            const double xh = (x[i] - mean) * r, gv = g[i];
            a_gx += gv * xh;
            a_g += gv;
          }
          sgx[static_cast<size_t>(item / groups * C + c)] = a_gx;
          sg[static_cast<size_t>(item / groups * C + c)] = a_g;
          m1 += a_g * s;
          m2 += a_gx * s;
        }
        if (!pd || len == 0) return;
        m1 /= static_cast<double>(len);
        m2 /= static_cast<double>(len);
        for (int64_t k = 0; k < per; ++k) {
          const double s = scale[static_cast<size_t>((item % groups) * per + k)];
          for (int64_t i = k * inner; i < (k + 1) * inner; ++i) {
            const double xh = (x[i] - mean) * r;
            pd[base + i] = static_cast<float>(r * (g[i] * s - m1 - xh * m2));
          }
        }
      },
      len * 6);
}

// InstanceNormalization = GroupNormalization with one channel per group and per-channel S, B;
// GroupNormalization's S and B are per group (opset 18) or per channel, as the forward kernel reads them.
std::unique_ptr<Vjp> make_group_norm_vjp(const KernelInit& init, bool instance) {
  const int64_t groups_attr = instance ? 0 : init.node.attr_int("num_groups", 1);
  if (!instance && groups_attr < 1) init.invalid("attribute 'num_groups' must be positive");
  const double eps = init.node.attr_float("epsilon", 1e-5f);
  const std::string where = init.where();
  return make_vjp([=](const VjpArgs& a, std::span<Tensor> gi) {
    const Tensor& x = in_f32(a, 0, where);
    const Tensor& S = in_f32(a, 1, where);
    const Tensor& B = in_f32(a, 2, where);
    if (x.rank() < 2) throw Error(where + ": input of shape " + shape_str(x.shape()) + " is not N×C×…");
    const int64_t N = x.dim(0), C = x.dim(1), inner = N * C != 0 ? x.numel() / (N * C) : 0;
    const int64_t groups = instance ? C : groups_attr;
    if (groups == 0 || C % groups != 0)
      throw Error(where + ": " + std::to_string(C) + " channels do not split into " + std::to_string(groups) +
                  " groups");
    const int64_t per = C / groups;
    const bool per_group = !instance && S.numel() == groups && B.numel() == groups;
    if (!per_group && (S.numel() != C || B.numel() != C))
      throw Error(where + ": scale " + shape_str(S.shape()) + " and bias " + shape_str(B.shape()) +
                  " do not match " + std::to_string(C) + " channels in " + std::to_string(groups) +
                  " groups");
    const auto sv = S.to_vector<double>();
    std::vector<double> scale(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c)
      scale[static_cast<size_t>(c)] = sv[static_cast<size_t>(per_group ? c / per : c)];
    Tensor gx = a.need[0] ? Tensor(DType::Float32, x.shape()) : Tensor();
    std::vector<double> sgx, sg;
    group_norm_backward(x.data<float>(), a.grad_outputs[0].data<float>(), N, C, inner, groups, eps, scale,
                        a.need[0] ? gx.data<float>() : nullptr, sgx, sg);
    if (a.need[0]) gi[0] = std::move(gx);
    // Parameter gradients: the per (n, c) sums over n, then over the group's channels when per group.
    auto reduce = [&](const std::vector<double>& v, const Shape& shape) {
      std::vector<double> out(static_cast<size_t>(per_group ? groups : C), 0.0);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          out[static_cast<size_t>(per_group ? c / per : c)] += v[static_cast<size_t>(n * C + c)];
      return from_double(out, shape);
    };
    if (a.need[1]) gi[1] = reduce(sgx, S.shape());
    if (a.need[2]) gi[2] = reduce(sg, B.shape());
  });
}

// ---- MeanVarianceNormalization ----
// Per group of the reduced axes (count n): d = x − μ, σ = sqrt(mean(d²)), y = d/(σ + ε), ε = 1e-9 (ONNX's
// function body, as the forward kernel). With ∂σ/∂x_j = d_j/(n·σ):
//   dx_j = (g_j − mean(g))/(σ + ε) − d_j · Σ g·d / (n·σ·(σ + ε)²)   (the second term is 0 where σ = 0).
std::unique_ptr<Vjp> make_mvn_vjp(const KernelInit& init) {
  const std::vector<int64_t> axes_attr =
      init.node.has_attr("axes") ? init.node.attr_ints("axes") : std::vector<int64_t>{0, 2, 3};
  const std::string where = init.where();
  return make_vjp([=](const VjpArgs& a, std::span<Tensor> gi) {
    if (!a.need[0]) return;
    const Tensor& x = in_f32(a, 0, where);
    const Shape& s = x.shape();
    const int64_t total = x.numel();
    // Each element's group as the forward kernel numbers them.
    int64_t kept = 0;
    const std::vector<int64_t> group = reduction_groups(s, reduced_axes_mask(axes_attr, x.rank()), &kept);
    const double count = kept ? static_cast<double>(total) / static_cast<double>(kept) : 1;
    const float* px = x.data<float>();
    const float* pg = a.grad_outputs[0].data<float>();
    const size_t K = static_cast<size_t>(kept);
    std::vector<double> mean(K, 0), sd(K, 0), gmean(K, 0), gd(K, 0);
    for (int64_t i = 0; i < total; ++i) {
      const size_t k = static_cast<size_t>(group[static_cast<size_t>(i)]);
      mean[k] += px[i];
      gmean[k] += pg[i];
    }
    for (size_t k = 0; k < K; ++k) {
      mean[k] /= count;
      gmean[k] /= count;
    }
    for (int64_t i = 0; i < total; ++i) {
      const size_t k = static_cast<size_t>(group[static_cast<size_t>(i)]);
      const double d = px[i] - mean[k];
      sd[k] += d * d;
      gd[k] += pg[i] * d;
    }
    for (size_t k = 0; k < K; ++k) sd[k] = std::sqrt(sd[k] / count);
    Tensor gx(DType::Float32, s);
    float* pd = gx.data<float>();
    for (int64_t i = 0; i < total; ++i) {
      const size_t k = static_cast<size_t>(group[static_cast<size_t>(i)]);
      const double den = sd[k] + 1e-9, d = px[i] - mean[k];
      const double stat = sd[k] > 0 ? d * gd[k] / (count * sd[k] * den * den) : 0.0;
      pd[i] = static_cast<float>((pg[i] - gmean[k]) / den - stat);
    }
    gi[0] = std::move(gx);
  });
}

// ---- LpNormalization ----
// y = x/‖x‖_p along `axis`. p = 2: dx = (g − y·Σ g·y)/‖x‖₂; p = 1: dx = g/‖x‖₁ − sign(x)·Σ g·x/‖x‖₁²
// (sign(0) = 0, the subgradient Abs uses). A zero vector (the forward output is NaN there) gets 0.
std::unique_ptr<Vjp> make_lp_norm_vjp(const KernelInit& init) {
  const int64_t axis_attr = init.node.attr_int("axis", -1), p = init.node.attr_int("p", 2);
  if (p != 1 && p != 2) init.invalid("attribute 'p' must be 1 or 2, got " + std::to_string(p));
  const std::string where = init.where();
  return make_vjp([=](const VjpArgs& a, std::span<Tensor> gi) {
    if (!a.need[0]) return;
    const Tensor& x = in_f32(a, 0, where);
    const AxisSplit sp = split_at(x.shape(), normalize_axis(axis_attr, x.rank(), where + " axis"));
    const float* px = x.data<float>();
    const float* pg = a.grad_outputs[0].data<float>();
    Tensor gx(DType::Float32, x.shape());
    float* pd = gx.data<float>();
    parallel_for(
        0, sp.outer * sp.inner,
        [&](int64_t item) {
          const int64_t base = item / sp.inner * sp.len * sp.inner + item % sp.inner;
          auto at = [&](int64_t k) { return base + k * sp.inner; };
          double norm = 0, gx_dot = 0;
          for (int64_t k = 0; k < sp.len; ++k) {
            const double v = px[at(k)];
            norm += p == 1 ? std::fabs(v) : v * v;
            gx_dot += pg[at(k)] * v;
          }
          if (p == 2) norm = std::sqrt(norm);
          for (int64_t k = 0; k < sp.len; ++k) {
            const double v = px[at(k)], g = pg[at(k)];
            double d = 0;
            if (norm > 0)
              d = p == 2 ? (g - v * gx_dot / (norm * norm)) / norm
                         : g / norm - (v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0)) * gx_dot / (norm * norm);
            pd[at(k)] = static_cast<float>(d);
          }
        },
        sp.len * 4);
    gi[0] = std::move(gx);
  });
}

// ---- ImageScaler ----  y = scale·x + bias[c]: dx = scale·g.
std::unique_ptr<Vjp> make_image_scaler_vjp(const KernelInit& init) {
  const float scale = init.node.attr_float("scale", 1.f);
  return make_vjp([scale](const VjpArgs& a, std::span<Tensor> gi) {
    if (!a.need[0]) return;
    const Tensor& g = a.grad_outputs[0];
    Tensor gx(DType::Float32, g.shape());
    const float* pg = g.data<float>();
    float* pd = gx.data<float>();
    for (int64_t i = 0; i < g.numel(); ++i) pd[i] = scale * pg[i];
    gi[0] = std::move(gx);
  });
}

// ---- TopK ----
// Values = X gathered at Indices along the axis: the values' gradient is scattered back to the selected
// positions (the others get 0); the int64 Indices carry none. The indices are the forward output; when
// the node omits that output, the VJP reruns the forward kernel to get them, so the two never disagree.
class TopKVjp final : public Vjp {
 public:
  explicit TopKVjp(const KernelInit& init)
      : axis_attr_(init.node.attr_int("axis", -1)),
        where_(init.where()),
        kernel_(OpRegistry::instance().create(init)) {}

  void backward(const VjpArgs& a, std::span<Tensor> gi) const override {
    if (!a.need[0]) return;
    const Tensor& x = in_f32(a, 0, where_);
    Tensor indices = a.outputs.size() > 1 ? a.outputs[1] : Tensor();
    if (!indices.defined()) {
      std::vector<Tensor> out(2);
      kernel_->run(a.inputs, out);
      indices = std::move(out[1]);
    }
    const Tensor& g = a.grad_outputs[0];
    const int64_t axis = normalize_axis(axis_attr_, x.rank(), where_ + " axis");
    const AxisSplit sx = split_at(x.shape(), axis), sy = split_at(g.shape(), axis);
    if (indices.dtype() != DType::Int64 || indices.shape() != g.shape())
      throw Error(where_ + ": indices " + indices.str() + " do not match the values' gradient " + g.str());
    const int64_t* pi = indices.data<int64_t>();
    const float* pg = g.data<float>();
    Tensor gx = zeros_f32(x.shape());
    float* pd = gx.data<float>();
    for (int64_t o = 0; o < sy.outer; ++o)
      for (int64_t j = 0; j < sy.len; ++j)
        for (int64_t i = 0; i < sy.inner; ++i) {
          const int64_t at = (o * sy.len + j) * sy.inner + i, src = pi[at];
          if (src < 0 || src >= sx.len)
            throw Error(where_ + ": index " + std::to_string(src) + " out of range");
          pd[(o * sx.len + src) * sx.inner + i] += pg[at];
        }
    gi[0] = std::move(gx);
  }

 private:
  int64_t axis_attr_;
  std::string where_;
  std::unique_ptr<Kernel> kernel_;
};

// ---- CumSum ----
// y = cumsum(x) along the axis: x_i reaches every output at or after it (before it when reverse; strictly
// so when exclusive), so dx is the cumulative sum of g in the other direction with the same exclusivity.
std::unique_ptr<Vjp> make_cumsum_vjp(const KernelInit& init) {
  const bool exclusive = init.node.attr_int("exclusive", 0) != 0,
             reverse = init.node.attr_int("reverse", 0) != 0;
  const std::string where = init.where();
  return make_vjp([=](const VjpArgs& a, std::span<Tensor> gi) {
    if (!a.need[0]) return;
    const Tensor& x = in_f32(a, 0, where);
    const Tensor* axis_t = a.inputs.size() > 1 ? a.inputs[1] : nullptr;
    if (!axis_t || axis_t->numel() != 1 ||
        (axis_t->dtype() != DType::Int64 && axis_t->dtype() != DType::Int32))
      throw Error(where + ": axis must be one int32 or int64 value");
    const AxisSplit sp = split_at(x.shape(), normalize_axis(static_cast<int64_t>(axis_t->value_as_double(0)),
                                                            x.rank(), where + " axis"));
    const float* pg = a.grad_outputs[0].data<float>();
    Tensor gx(DType::Float32, x.shape());
    float* pd = gx.data<float>();
    for (int64_t o = 0; o < sp.outer; ++o)
      for (int64_t i = 0; i < sp.inner; ++i) {
        double acc = 0;
        for (int64_t s = 0; s < sp.len; ++s) {
          const int64_t j = reverse ? s : sp.len - 1 - s, at = (o * sp.len + j) * sp.inner + i;
          if (exclusive) {
            pd[at] = static_cast<float>(acc);
            acc += pg[at];
          } else {
            acc += pg[at];
            pd[at] = static_cast<float>(acc);
          }
        }
      }
    gi[0] = std::move(gx);
  });
}

// ---- Hardmax ---- piecewise constant: zero gradient (see the top of the file).
std::unique_ptr<Vjp> make_zero_vjp(const KernelInit& init) {
  const std::string where = init.where();
  return make_vjp([where](const VjpArgs& a, std::span<Tensor> gi) {
    if (a.need[0]) gi[0] = zeros_f32(in_f32(a, 0, where).shape());
  });
}

}  // namespace

void register_local_vjps(VjpRegistry& r) {
  r.add("LRN", 1, 21, make_lrn_vjp);
  r.add("InstanceNormalization", 6, 21, [](const KernelInit& i) { return make_group_norm_vjp(i, true); });
  r.add("GroupNormalization", 18, 21, [](const KernelInit& i) { return make_group_norm_vjp(i, false); });
  r.add("MeanVarianceNormalization", 9, 21, make_mvn_vjp);
  r.add("LpNormalization", 1, 21, make_lp_norm_vjp);
  r.add("ImageScaler", 1, 9, make_image_scaler_vjp);
  r.add("TopK", 1, 21,
        [](const KernelInit& i) -> std::unique_ptr<Vjp> { return std::make_unique<TopKVjp>(i); });
  r.add("CumSum", 11, 21, make_cumsum_vjp);
  r.add("Hardmax", 1, 21, make_zero_vjp);
}

}  // namespace qs
