// VJPs of pooling. MaxPool routes each output gradient to the first maximal element of its window (the
// element the forward kernel's Indices output names); AveragePool spreads it over the window's input
// elements divided by the same divisor as the forward kernel (count_include_pad and ceil_mode rules of
// core/ops/pool_kernels.h); the global pools act on whole planes.
#include <algorithm>

#include "core/autodiff/vjp.h"
#include "core/common/parallel.h"
#include "core/ops/pool_kernels.h"
#include "core/ops/window.h"

namespace qs {

namespace {

struct Pool {
  WindowAttrs attrs;
  std::string where;

  PoolPlan plan(const Tensor& x) const {
    const size_t n = attrs.kernel.size();
    if (x.rank() != static_cast<int64_t>(n + 2))
      throw Error(where + ": X has shape " + shape_str(x.shape()) + ", expected rank " +
                  std::to_string(n + 2));
    PoolPlan p;
    p.planes = x.dim(0) * x.dim(1);
    p.in.assign(x.shape().begin() + 2, x.shape().end());
    const WindowGeometry g = compute_window(attrs, p.in, where);
    p.out = g.out;
    p.kernel = attrs.kernel;
    p.strides = attrs.strides;
    p.dilations = attrs.dilations;
    p.pad_begin = g.pad_begin;
    p.pad_end = g.pad_end;
    return p;
  }
};

Pool read_pool(const KernelInit& init) {
  if (!init.node.has_attr("kernel_shape")) init.invalid("attribute kernel_shape is required");
  return {read_window_attrs(init, init.node.attr_ints("kernel_shape"), init.opset >= 10), init.where()};
}

std::unique_ptr<Vjp> make_max_pool_vjp(const KernelInit& init) {
  const Pool pool = read_pool(init);
  return make_vjp([pool](const VjpArgs& a, std::span<Tensor> gi) {
    if (!a.need[0]) return;
    const Tensor& x = *a.inputs[0];
    if (x.dtype() != DType::Float32) throw UnsupportedError(pool.where + ": gradient of non-float32 MaxPool");
    const PoolPlan p = pool.plan(x);
    const Tensor& g = a.grad_outputs[0];
    std::vector<float> y(static_cast<size_t>(g.numel()));
    std::vector<int64_t> idx(static_cast<size_t>(g.numel()));
    max_pool_with_indices<float>(x.data<float>(), y.data(), idx.data(), p, /*column_major=*/false);
    Tensor gx = zeros_f32(x.shape());
    float* d = gx.data<float>();
    const float* gp = g.data<float>();
    // Windows of one plane write only into that plane: planes in parallel.
    const int64_t out_plane = numel(p.out);
    parallel_for(
        0, p.planes,
        [&](int64_t c) {
          for (int64_t i = c * out_plane; i < (c + 1) * out_plane; ++i)
            d[idx[static_cast<size_t>(i)]] += gp[i];
        },
        out_plane);
    gi[0] = std::move(gx);
  });
}

std::unique_ptr<Vjp> make_average_pool_vjp(const KernelInit& init) {
  const Pool pool = read_pool(init);
  const bool cip = init.node.attr_int("count_include_pad", 0) != 0;
  return make_vjp([pool, cip](const VjpArgs& a, std::span<Tensor> gi) {
    if (!a.need[0]) return;
    const Tensor& x = *a.inputs[0];
    const PoolPlan p = pool.plan(x);
    const size_t n = p.in.size();
    // Per axis and output position: the input positions tapped and the divisor's factor.
    std::vector<std::vector<std::vector<int64_t>>> taps(n);
    std::vector<std::vector<int64_t>> count(n);
    for (size_t j = 0; j < n; ++j) {
      taps[j].resize(static_cast<size_t>(p.out[j]));
      count[j].resize(static_cast<size_t>(p.out[j]));
      for (int64_t o = 0; o < p.out[j]; ++o) {
        const int64_t start = o * p.strides[j] - p.pad_begin[j];
        int64_t padded = 0;
        for (int64_t k = 0; k < p.kernel[j]; ++k) {
          const int64_t i = start + k * p.dilations[j];
          if (i >= 0 && i < p.in[j]) taps[j][static_cast<size_t>(o)].push_back(i);
          // count_include_pad: the window clipped to the padded extent [-pad_begin, in + pad_end).
          if (i >= -p.pad_begin[j] && i < p.in[j] + p.pad_end[j]) ++padded;
        }
        count[j][static_cast<size_t>(o)] =
            cip ? padded : static_cast<int64_t>(taps[j][static_cast<size_t>(o)].size());
      }
    }
    Tensor gx = zeros_f32(x.shape());
    float* d = gx.data<float>();
    const float* gp = a.grad_outputs[0].data<float>();
    const int64_t in_plane = numel(p.in), out_plane = numel(p.out);
    const std::vector<int64_t> in_stride = strides_of(p.in);
    parallel_for(
        0, p.planes,
        [&](int64_t c) {
          std::vector<int64_t> o(n, 0), k(n, 0);
          for (int64_t q = 0; q < out_plane; ++q) {
            int64_t div = 1;
            bool empty = false;
            for (size_t j = 0; j < n; ++j) {
              div *= count[j][static_cast<size_t>(o[j])];
              empty |= taps[j][static_cast<size_t>(o[j])].empty();
            }
            if (!empty && div > 0) {
              const float v = gp[c * out_plane + q] / static_cast<float>(div);
              std::fill(k.begin(), k.end(), 0);
              for (;;) {  // every combination of per-axis taps
                int64_t off = 0;
                for (size_t j = 0; j < n; ++j)
                  off += taps[j][static_cast<size_t>(o[j])][static_cast<size_t>(k[j])] * in_stride[j];
                d[c * in_plane + off] += v;
                size_t j = n;
                while (j-- > 0) {
                  if (++k[j] < static_cast<int64_t>(taps[j][static_cast<size_t>(o[j])].size())) break;
                  k[j] = 0;
                }
                if (j == static_cast<size_t>(-1)) break;
              }
            }
            for (size_t j = n; j-- > 0;) {
              if (++o[j] < p.out[j]) break;
              o[j] = 0;
            }
          }
        },
        out_plane * numel(p.kernel));
    gi[0] = std::move(gx);
  });
}

template <bool kMax>
std::unique_ptr<Vjp> make_global_vjp(const KernelInit&) {
  return make_vjp([](const VjpArgs& a, std::span<Tensor> gi) {
    if (!a.need[0]) return;
    const Tensor& x = *a.inputs[0];
    const int64_t planes = x.dim(0) * x.dim(1), size = planes ? x.numel() / planes : 0;
    Tensor gx = zeros_f32(x.shape());
    float* d = gx.data<float>();
    const float* xp = x.data<float>();
    const float* gp = a.grad_outputs[0].data<float>();
    parallel_for(
        0, planes,
        [&](int64_t c) {
          if constexpr (kMax) {
            const float* xc = xp + c * size;
            d[c * size + (std::max_element(xc, xc + size) - xc)] = gp[c];
          } else {
            const float v = gp[c] / static_cast<float>(size);
            std::fill(d + c * size, d + (c + 1) * size, v);
          }
        },
        size);
    gi[0] = std::move(gx);
  });
}

}  // namespace

void register_pool_vjps(VjpRegistry& r) {
  r.add("MaxPool", 1, 21, make_max_pool_vjp);
  r.add("AveragePool", 1, 21, make_average_pool_vjp);
  r.add("GlobalAveragePool", 1, 21, make_global_vjp<false>);
  r.add("GlobalMaxPool", 1, 21, make_global_vjp<true>);
}

}  // namespace qs
