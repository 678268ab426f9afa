// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool on N x C x D1 x ... x Dn tensors.
#include <algorithm>
#include <limits>

#include "core/common/parallel.h"
#include "core/ops/kernel.h"
#include "core/ops/pool_kernels.h"
#include "core/ops/window.h"

namespace qs {

namespace {

std::vector<int64_t> read_kernel_shape(const KernelInit& init) {
  if (!init.node.has_attr("kernel_shape")) init.invalid("attribute kernel_shape is required");
  std::vector<int64_t> k = init.node.attr_ints("kernel_shape");
  if (k.empty()) init.invalid("kernel_shape is empty");
  if (k.size() > kMaxPoolSpatial)
    init.unsupported("kernel_shape has " + std::to_string(k.size()) + " spatial axes; at most " +
                     std::to_string(kMaxPoolSpatial) + " are supported");
  return k;
}

// Checks X against the window and computes the geometry of this run. Windows made only of padding are
// refused unless `padding_counts` (AveragePool with count_include_pad, where their value is 0).
PoolPlan make_plan(const WindowAttrs& a, const Tensor& x, const std::string& where,
                   bool padding_counts = false) {
  const size_t n = a.kernel.size();
  if (x.rank() != static_cast<int64_t>(n + 2))
    throw Error(where + ": X has shape " + shape_str(x.shape()) + ", expected rank " + std::to_string(n + 2) +
                " (N x C and " + std::to_string(n) + " spatial axes, as kernel_shape)");
  PoolPlan p;
  p.planes = x.dim(0) * x.dim(1);
  p.in.assign(x.shape().begin() + 2, x.shape().end());
  const WindowGeometry g = compute_window(a, p.in, where);
  p.out = g.out;
  p.kernel = a.kernel;
  p.strides = a.strides;
  p.dilations = a.dilations;
  p.pad_begin = g.pad_begin;
  p.pad_end = g.pad_end;
  if (!padding_counts) check_pool_windows(p, where);
  return p;
}

Shape output_shape(const Tensor& x, const PoolPlan& p) {
  Shape s = {x.dim(0), x.dim(1)};
  s.insert(s.end(), p.out.begin(), p.out.end());
  return s;
}

std::unique_ptr<Kernel> make_max_pool(const KernelInit& init) {
  const Node& n = init.node;
  WindowAttrs a = read_window_attrs(init, read_kernel_shape(init), /*allow_ceil_mode=*/init.opset >= 10);
  const int64_t storage_order = n.attr_int("storage_order", 0);
  if (storage_order != 0 && storage_order != 1)
    init.invalid("storage_order must be 0 (row major) or 1 (column major), got " +
                 std::to_string(storage_order));
  const bool indices = n.outputs.size() > 1 && !n.outputs[1].empty();
  if (indices && init.opset < 8) init.invalid("the Indices output exists only from opset 8");
  if (n.outputs.size() > 2) init.invalid("MaxPool has at most 2 outputs");
  const std::string where = init.where();
  return make_kernel(
      [a, storage_order, indices, where](std::span<const Tensor* const> in, std::span<Tensor> out) {
        const Tensor& x = *in[0];
        const PoolPlan p = make_plan(a, x, where);
        const Shape shape = output_shape(x, p);
        auto run = [&](auto tag) {
          using T = decltype(tag);
          Tensor y(x.dtype(), shape);
          if (indices) {
            Tensor idx(DType::Int64, shape);
            max_pool_with_indices<T>(x.data<T>(), y.data<T>(), idx.data<int64_t>(), p, storage_order == 1);
            out[1] = std::move(idx);
          } else {
            max_pool<T>(x.data<T>(), y.data<T>(), p);
          }
          out[0] = std::move(y);
        };
        switch (x.dtype()) {
          case DType::Float32:
            return run(float{});
          case DType::Float64:
            return run(double{});
          case DType::Int8:
            return run(int8_t{});
          case DType::UInt8:
            return run(uint8_t{});
          default:
            throw UnsupportedError(where + ": MaxPool on " + dtype_name(x.dtype()) + " is not supported");
        }
      });
}

std::unique_ptr<Kernel> make_average_pool(const KernelInit& init) {
  WindowAttrs a = read_window_attrs(init, read_kernel_shape(init), /*allow_ceil_mode=*/init.opset >= 10);
  const int64_t cip = init.node.attr_int("count_include_pad", 0);
  if (cip != 0 && cip != 1) init.invalid("count_include_pad must be 0 or 1, got " + std::to_string(cip));
  const std::string where = init.where();
  return make_kernel([a, cip, where](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    const PoolPlan p = make_plan(a, x, where, cip == 1);
    Tensor y(x.dtype(), output_shape(x, p));
    if (x.dtype() == DType::Float32) {
      average_pool<float>(x.data<float>(), y.data<float>(), p, cip == 1);
    } else if (x.dtype() == DType::Float64) {
      average_pool<double>(x.data<double>(), y.data<double>(), p, cip == 1);
    } else {
      throw UnsupportedError(where + ": AveragePool on " + dtype_name(x.dtype()) + " is not supported");
    }
    out[0] = std::move(y);
  });
}

// Global pooling: one value per (n, c) plane, output N x C x 1 x ... x 1.
template <bool kMax>
std::unique_ptr<Kernel> make_global_pool(const KernelInit& init) {
  const std::string where = init.where();
  return make_kernel([where](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    if (x.rank() < 2) throw Error(where + ": X has shape " + shape_str(x.shape()) + ", expected N x C x ...");
    Shape shape(x.shape().size(), 1);
    shape[0] = x.dim(0);
    shape[1] = x.dim(1);
    const int64_t planes = x.dim(0) * x.dim(1);
    const int64_t size = planes == 0 ? 0 : x.numel() / planes;
    if (size == 0 && planes > 0)
      throw Error(where + ": X has shape " + shape_str(x.shape()) + " with empty planes");
    auto run = [&](auto tag) {
      using T = decltype(tag);
      Tensor y(x.dtype(), shape);
      const T* xp = x.data<T>();
      T* yp = y.data<T>();
      parallel_for(
          0, planes,
          [&](int64_t c) {
            const T* xc = xp + c * size;
            if constexpr (kMax) {
              T m = xc[0];
              for (int64_t i = 1; i < size; ++i) m = std::max(m, xc[i]);
              yp[c] = m;
            } else {
              // kLanes independent partial sums (vectorized; a single accumulator is a serial chain),
              // combined in double.
              constexpr int64_t kLanes = 16;
              T lane[kLanes] = {};
              const int64_t body = size - size % kLanes;
              for (int64_t i = 0; i < body; i += kLanes)
                for (int64_t l = 0; l < kLanes; ++l) lane[l] += xc[i + l];
              double s = 0;
              for (int64_t l = 0; l < kLanes; ++l) s += static_cast<double>(lane[l]);
              for (int64_t i = body; i < size; ++i) s += static_cast<double>(xc[i]);
              yp[c] = static_cast<T>(s / static_cast<double>(size));
            }
          },
          size);
      out[0] = std::move(y);
    };
    if (x.dtype() == DType::Float32) return run(float{});
    if (x.dtype() == DType::Float64) return run(double{});
    throw UnsupportedError(where + ": " + (kMax ? "GlobalMaxPool" : "GlobalAveragePool") + " on " +
                           dtype_name(x.dtype()) + " is not supported");
  });
}

}  // namespace

void register_pool_ops(OpRegistry& r) {
  // Opset history: MaxPool 1 (basic), 8 (storage_order, Indices), 10 (dilations, ceil_mode), 11 (auto_pad
  // wording), 12 (int8/uint8); 22 only adds types. AveragePool 1, 7 (count_include_pad), 10 (ceil_mode),
  // 11, 19 (dilations, which the kernel handles at every opset). Attributes absent at an opset keep their
  // defaults, so one factory serves every version.
  r.add("", "MaxPool", 1, 21, make_max_pool);
  r.add("", "AveragePool", 1, 21, make_average_pool);
  r.add("", "GlobalAveragePool", 1, 21, make_global_pool<false>);
  r.add("", "GlobalMaxPool", 1, 21, make_global_pool<true>);
}

}  // namespace qs
