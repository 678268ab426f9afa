// Normalizations of older and of generative models: LRN (AlexNet, GoogLeNet), InstanceNormalization and
// GroupNormalization (style transfer, GANs, diffusion U-Nets), MeanVarianceNormalization, LpNormalization
// (embedding heads), and ImageScaler (opset < 10 models, e.g. Tiny YOLOv2), all on float32. Statistics are
// accumulated in double: the results match ONNX's reference outputs to float rounding.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/common/parallel.h"
#include "core/ops/elementwise_util.h"
#include "core/ops/norm_factories.h"
#include "core/ops/reduce_layout.h"

namespace qs {

namespace {

const Tensor& float_input(std::span<const Tensor* const> in, size_t i, const std::string& where) {
  const Tensor& t = ew::required(in, i);
  if (t.dtype() != DType::Float32)
    throw UnsupportedError(where + ": input " + std::to_string(i) + " of type " + dtype_name(t.dtype()) +
                           " (float32 is supported)");
  return t;
}

// y = (x − mean)·inv·scale + bias over `count` contiguous values (mean_inv, reduce_layout.h).
void normalize_run(const float* x, float* y, int64_t count, double eps, float scale, float bias) {
  const MeanInv s = mean_inv(x, count, eps);
  for (int64_t i = 0; i < count; ++i) y[i] = static_cast<float>((x[i] - s.mean) * s.inv * scale + bias);
}

std::unique_ptr<Kernel> make_lrn(const KernelInit& init) {
  ew::check_arity(init, 1, 1);
  const Node& n = init.node;
  if (!n.has_attr("size")) init.invalid("attribute 'size' is required");
  const int64_t size = n.attr_int("size", 1);
  if (size < 1) init.invalid("attribute 'size' must be positive, got " + std::to_string(size));
  const double alpha = n.attr_float("alpha", 1e-4f), beta = n.attr_float("beta", 0.75f),
               bias = n.attr_float("bias", 1.0f);
  const std::string where = init.where();
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = float_input(in, 0, where);
    if (x.rank() < 3) throw Error(where + ": X of shape " + shape_str(x.shape()) + " is not N×C×D1×…");
    const int64_t N = x.dim(0), C = x.dim(1), inner = N * C != 0 ? x.numel() / (N * C) : 0;
    // Channels c − floor((size − 1)/2) .. c + ceil((size − 1)/2), clipped to [0, C).
    const int64_t before = (size - 1) / 2, after = size - 1 - before;
    Tensor y(DType::Float32, x.shape());
    const float* px = x.data<float>();
    float* py = y.data<float>();
    parallel_for(
        0, N * C,
        [&](int64_t item) {
          const int64_t b = item / C, c = item % C;
          const int64_t lo = std::max<int64_t>(0, c - before), hi = std::min<int64_t>(C - 1, c + after);
          const float* xc = px + item * inner;
          float* yc = py + item * inner;
          for (int64_t i = 0; i < inner; ++i) {
            double sq = 0;
            for (int64_t k = lo; k <= hi; ++k) {
              const double v = px[(b * C + k) * inner + i];
              sq += v * v;
            }
            yc[i] = static_cast<float>(xc[i] / std::pow(bias + alpha / static_cast<double>(size) * sq, beta));
          }
        },
        inner * size);
    out[0] = std::move(y);
  });
}

// Each (n, group) of X normalized over its channels and the spatial extent, then scaled and shifted per
// group (scale and bias with `groups` values) or per channel (C values). `groups` 0: one per channel.
void group_normalize(std::span<const Tensor* const> in, std::span<Tensor> out, int64_t groups, double eps,
                     const std::string& where) {
  const Tensor& x = float_input(in, 0, where);
  const Tensor& s = float_input(in, 1, where);
  const Tensor& b = float_input(in, 2, where);
  if (x.rank() < 2) throw Error(where + ": input of shape " + shape_str(x.shape()) + " is not N×C×…");
  const int64_t N = x.dim(0), C = x.dim(1), inner = N * C != 0 ? x.numel() / (N * C) : 0;
  if (groups == 0) groups = std::max<int64_t>(C, 1);
  if (C % groups != 0)
    throw Error(where + ": " + std::to_string(C) + " channels do not split into " + std::to_string(groups) +
                " groups");
  const bool per_group = s.numel() == groups && b.numel() == groups;
  if (!per_group && (s.numel() != C || b.numel() != C))
    throw Error(where + ": scale " + shape_str(s.shape()) + " and bias " + shape_str(b.shape()) + " need " +
                std::to_string(groups) + " values (one per group) or " + std::to_string(C) +
                " (per channel)");
  const int64_t per = C / groups, len = per * inner;
  Tensor y(DType::Float32, x.shape());
  const float *px = x.data<float>(), *ps = s.data<float>(), *pb = b.data<float>();
  float* py = y.data<float>();
  parallel_for(
      0, N * groups,
      [&](int64_t item) {
        const int64_t gr = item % groups;
        float* yg = py + item * len;
        normalize_run(px + item * len, yg, len, eps, 1.f, 0.f);
        for (int64_t k = 0; k < per; ++k) {
          const int64_t c = gr * per + k;
          const float sc = per_group ? ps[gr] : ps[c], bi = per_group ? pb[gr] : pb[c];
          for (int64_t i = 0; i < inner; ++i) yg[k * inner + i] = yg[k * inner + i] * sc + bi;
        }
      },
      len * 3);
  out[0] = std::move(y);
}

// InstanceNormalization: per (n, c) over the spatial extent, scale and B per channel.
std::unique_ptr<Kernel> make_instance_norm(const KernelInit& init) {
  ew::check_arity(init, 3, 3);
  const double eps = init.node.attr_float("epsilon", 1e-5f);
  const std::string where = init.where();
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    group_normalize(in, out, 0, eps, where);
  });
}

// GroupNormalization (opset 18): scale and bias per group as opset 18 states, or per channel (opset 21's
// form, which some exporters already write at 18).
std::unique_ptr<Kernel> make_group_norm(const KernelInit& init) {
  ew::check_arity(init, 3, 3);
  const Node& n = init.node;
  if (!n.has_attr("num_groups")) init.invalid("attribute 'num_groups' is required");
  const int64_t groups = n.attr_int("num_groups", 1);
  if (groups < 1) init.invalid("attribute 'num_groups' must be positive");
  const double eps = n.attr_float("epsilon", 1e-5f);
  if (n.attr_int("stash_type", 1) != 1) init.unsupported("stash_type other than 1 (float32)");
  const std::string where = init.where();
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    group_normalize(in, out, groups, eps, where);
  });
}

// MeanVarianceNormalization: (X − E[X]) / (sqrt(E[X²] − E[X]²) + 1e-9) over `axes` (ONNX's function body).
std::unique_ptr<Kernel> make_mvn(const KernelInit& init) {
  ew::check_arity(init, 1, 1);
  const std::vector<int64_t> axes_attr =
      init.node.has_attr("axes") ? init.node.attr_ints("axes") : std::vector<int64_t>{0, 2, 3};
  const std::string where = init.where();
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = float_input(in, 0, where);
    const Shape& s = x.shape();
    int64_t kept = 0;
    const std::vector<int64_t> group = reduction_groups(s, reduced_axes_mask(axes_attr, x.rank()), &kept);
    std::vector<double> sum(static_cast<size_t>(kept), 0), sq(static_cast<size_t>(kept), 0);
    const float* px = x.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) sum[static_cast<size_t>(group[static_cast<size_t>(i)])] += px[i];
    const double count = kept ? static_cast<double>(x.numel()) / static_cast<double>(kept) : 1;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const size_t k = static_cast<size_t>(group[static_cast<size_t>(i)]);
      const double d = px[i] - sum[k] / count;
      sq[k] += d * d;
    }
    Tensor y(DType::Float32, s);
    float* py = y.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const size_t k = static_cast<size_t>(group[static_cast<size_t>(i)]);
      py[i] = static_cast<float>((px[i] - sum[k] / count) / (std::sqrt(sq[k] / count) + 1e-9));
    }
    out[0] = std::move(y);
  });
}

// LpNormalization: x / ‖x‖_p along `axis`, p = 1 or 2.
std::unique_ptr<Kernel> make_lp_norm(const KernelInit& init) {
  ew::check_arity(init, 1, 1);
  const int64_t axis_attr = init.node.attr_int("axis", -1), p = init.node.attr_int("p", 2);
  if (p != 1 && p != 2) init.invalid("attribute 'p' must be 1 or 2, got " + std::to_string(p));
  const std::string where = init.where();
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = float_input(in, 0, where);
    const int64_t a = normalize_axis(axis_attr, x.rank(), where + " axis");
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < a; ++d) outer *= x.dim(d);
    for (int64_t d = a + 1; d < x.rank(); ++d) inner *= x.dim(d);
    const int64_t len = x.dim(a);
    Tensor y(DType::Float32, x.shape());
    const float* px = x.data<float>();
    float* py = y.data<float>();
    parallel_for(
        0, outer * inner,
        [&](int64_t item) {
          const int64_t o = item / inner, i = item % inner, base = o * len * inner + i;
          double norm = 0;
          for (int64_t k = 0; k < len; ++k) {
            const double v = px[base + k * inner];
            norm += p == 1 ? std::fabs(v) : v * v;
          }
          if (p == 2) norm = std::sqrt(norm);
          for (int64_t k = 0; k < len; ++k)
            py[base + k * inner] = static_cast<float>(px[base + k * inner] / norm);
        },
        len * 2);
    out[0] = std::move(y);
  });
}

// ImageScaler (experimental, removed in opset 10): y = scale·x + bias[c].
std::unique_ptr<Kernel> make_image_scaler(const KernelInit& init) {
  ew::check_arity(init, 1, 1);
  const float scale = init.node.attr_float("scale", 1.f);
  const std::vector<float> bias =
      init.node.has_attr("bias") ? init.node.attr_floats("bias") : std::vector<float>{};
  const std::string where = init.where();
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = float_input(in, 0, where);
    if (x.rank() != 4) throw Error(where + ": input of shape " + shape_str(x.shape()) + " is not N×C×H×W");
    const int64_t C = x.dim(1), inner = x.dim(2) * x.dim(3);
    if (!bias.empty() && static_cast<int64_t>(bias.size()) != C)
      throw Error(where + ": attribute 'bias' has " + std::to_string(bias.size()) + " values for " +
                  std::to_string(C) + " channels");
    Tensor y(DType::Float32, x.shape());
    const float* px = x.data<float>();
    float* py = y.data<float>();
    for (int64_t nc = 0; nc < x.dim(0) * C; ++nc) {
      const float b = bias.empty() ? 0.f : bias[static_cast<size_t>(nc % C)];
      for (int64_t i = 0; i < inner; ++i) py[nc * inner + i] = scale * px[nc * inner + i] + b;
    }
    out[0] = std::move(y);
  });
}

}  // namespace

void register_local_norm_ops(OpRegistry& r) {
  r.add("", "LRN", 1, 21, make_lrn);
  r.add("", "InstanceNormalization", 6, 21, make_instance_norm);
  r.add("", "GroupNormalization", 18, 21, make_group_norm);
  r.add("", "MeanVarianceNormalization", 9, 21, make_mvn);
  r.add("", "LpNormalization", 1, 21, make_lp_norm);
  r.add("", "ImageScaler", 1, 9, make_image_scaler);
}

}  // namespace qs
