// BatchNormalization in inference mode: Y = (X - mean) * scale / sqrt(var + epsilon) + B per channel.
#include <cmath>

#include "core/common/parallel.h"
#include "core/ops/norm_factories.h"

namespace qs {

namespace {

// Per-parameter-element affine form Y = (X - mean) * a + b, a = scale / sqrt(var + eps), b = B.
struct BnParams {
  std::vector<float> mean, a, b;
};

BnParams fold(const Tensor& scale, const Tensor& bias, const Tensor& mean, const Tensor& var, float eps,
              const std::string& where) {
  const int64_t c = scale.numel();
  if (bias.numel() != c || mean.numel() != c || var.numel() != c)
    throw Error(where + ": scale, B, mean and var must have the same number of elements, got " +
                shape_str(scale.shape()) + ", " + shape_str(bias.shape()) + ", " + shape_str(mean.shape()) +
                ", " + shape_str(var.shape()));
  for (const Tensor* t : {&scale, &bias, &mean, &var})
    if (t->dtype() != DType::Float32 && t->dtype() != DType::Float64)
      throw UnsupportedError(where + ": BatchNormalization parameters of type " + dtype_name(t->dtype()) +
                             " are not supported");
  BnParams p;
  const auto s = scale.to_vector<double>(), v = var.to_vector<double>(), m = mean.to_vector<double>(),
             bb = bias.to_vector<double>();
  p.mean.resize(static_cast<size_t>(c));
  p.a.resize(static_cast<size_t>(c));
  p.b.resize(static_cast<size_t>(c));
  for (size_t i = 0; i < static_cast<size_t>(c); ++i) {
    p.mean[i] = static_cast<float>(m[i]);
    p.a[i] = static_cast<float>(s[i] / std::sqrt(v[i] + static_cast<double>(eps)));
    p.b[i] = static_cast<float>(bb[i]);
  }
  return p;
}

}  // namespace

std::unique_ptr<Kernel> make_batch_norm(const KernelInit& init) {
  const Node& n = init.node;
  const float eps = n.attr_float("epsilon", 1e-5f);
  if (n.num_inputs() != 5)
    init.invalid("expects 5 inputs (X, scale, B, mean, var), got " + std::to_string(n.num_inputs()));
  size_t extra_outputs = 0;
  for (size_t i = 1; i < n.outputs.size(); ++i) extra_outputs += n.outputs[i].empty() ? 0 : 1;
  if (init.opset < 7 && n.attr_int("is_test", 0) == 0)
    init.unsupported("is_test=0 (training mode, statistics of the batch) is not supported");
  if (init.opset >= 14 && n.attr_int("training_mode", 0) != 0)
    init.unsupported("training_mode=1 (statistics of the batch) is not supported");
  if (extra_outputs > 0)
    init.unsupported("the training-mode outputs (running/saved mean and variance) are not supported");
  // spatial=0 (opset < 9): one parameter per (channel, spatial position) instead of per channel.
  const bool spatial = init.opset >= 9 || n.attr_int("spatial", 1) != 0;

  std::shared_ptr<const BnParams> folded;
  const Tensor *s = init.constant_input(1), *b = init.constant_input(2), *m = init.constant_input(3),
               *v = init.constant_input(4);
  if (s && b && m && v) folded = std::make_shared<BnParams>(fold(*s, *b, *m, *v, eps, init.where()));
  const std::string where = init.where();

  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    if (x.dtype() != DType::Float32)
      throw UnsupportedError(where + ": BatchNormalization on " + dtype_name(x.dtype()) +
                             " is not supported");
    if (x.rank() < 2) throw Error(where + ": X has shape " + shape_str(x.shape()) + ", expected N x C x ...");
    const BnParams local = folded ? BnParams{} : fold(*in[1], *in[2], *in[3], *in[4], eps, where);
    const BnParams& p = folded ? *folded : local;
    const int64_t c = x.dim(1);
    const int64_t planes = x.dim(0) * c;
    const int64_t size = planes == 0 ? 0 : x.numel() / planes;  // spatial elements per plane
    const int64_t expected = spatial ? c : c * size;
    if (static_cast<int64_t>(p.a.size()) != expected)
      throw Error(where + ": the parameters have " + std::to_string(p.a.size()) + " elements, expected " +
                  std::to_string(expected) + " for X of shape " + shape_str(x.shape()) +
                  (spatial ? "" : " (spatial=0)"));
    Tensor y(DType::Float32, x.shape());
    const float* xp = x.data<float>();
    float* yp = y.data<float>();
    parallel_for(
        0, planes,
        [&](int64_t plane) {
          const int64_t ch = plane % c;
          const float* xc = xp + plane * size;
          float* yc = yp + plane * size;
          if (spatial) {
            const float mu = p.mean[static_cast<size_t>(ch)], a = p.a[static_cast<size_t>(ch)],
                        bb = p.b[static_cast<size_t>(ch)];
            for (int64_t i = 0; i < size; ++i) yc[i] = (xc[i] - mu) * a + bb;
          } else {
            const size_t base = static_cast<size_t>(ch * size);
            for (int64_t i = 0; i < size; ++i) {
              const size_t k = base + static_cast<size_t>(i);
              yc[i] = (xc[i] - p.mean[k]) * p.a[k] + p.b[k];
            }
          }
        },
        size);
    out[0] = std::move(y);
  });
}

}  // namespace qs
