// Integer pooling (average: exact window sums, one requantization per divisor; max on 16-bit storage,
// which the float MaxPool kernel does not take) and data movement through the float kernels.
#include <algorithm>
#include <limits>
#include <type_traits>

#include "core/common/parallel.h"
#include "core/int/int_ops.h"
#include "core/int/int_tensor.h"
#include "core/int/pool_int.h"
#include "core/int/requant.h"
#include "core/quant/quantizer.h"

namespace qs {

namespace {

// Σ p[0..n) exactly: int32 partial sums over chunks of 2^15 values (2^15 · 65535 < 2^31 for the widest
// storage type, uint16), added in int64. Compiled also for AVX2 (the widening adds vectorize there), used
// when the engine runs its AVX2 kernels.
template <typename T>
inline int64_t plane_sum_body(const T* p, int64_t n) {
  int64_t s = 0;
  for (int64_t i0 = 0; i0 < n; i0 += 32768) {
    const int64_t i1 = std::min(n, i0 + 32768);
    int32_t part = 0;
    for (int64_t i = i0; i < i1; ++i) part += p[i];
    s += part;
  }
  return s;
}
template <typename T>
__attribute__((target("avx2"))) int64_t plane_sum_avx2(const T* p, int64_t n) {
  return plane_sum_body(p, n);
}
template <typename T>
int64_t plane_sum(IntIsa isa, const T* p, int64_t n) {
  return isa == IntIsa::Avx2 ? plane_sum_avx2(p, n) : plane_sum_body(p, n);
}

class IntPoolKernel final : public Kernel, public ChannelsLastKernel {
 public:
  explicit IntPoolKernel(const IntNodeContext& c) : where_(c.ln.node->describe()), isa_(c.isa) {
    const Node& n = *c.ln.node;
    KernelInit init{n, c.opset, [&c](const std::string& v) { return c.g.initializer(v); }};
    global_ = n.op_type == "GlobalAveragePool" || n.op_type == "GlobalMaxPool" || n.op_type == "ReduceMean";
    reduce_mean_ = n.op_type == "ReduceMean";
    // A ReduceMean over the trailing axes (is_global_reduce_mean) without keepdims drops them.
    drop_dims_ = n.op_type == "ReduceMean" && n.attr_int("keepdims", 1) == 0;
    max_ = n.op_type == "MaxPool" || n.op_type == "GlobalMaxPool";
    x_ = *c.L.params_of(n.inputs[0]);
    o_ = *c.L.params_of(c.ln.result);
    if (!global_) {
      if (!n.has_attr("kernel_shape")) init.invalid("attribute kernel_shape is required");
      attrs_ = read_window_attrs(init, n.attr_ints("kernel_shape"), c.opset >= 10);
      cip_ = n.attr_int("count_include_pad", 0) != 0;
      if (max_ && n.outputs.size() > 1 && !n.outputs[1].empty())
        init.unsupported("MaxPool's Indices output on 16-bit integers");
    }
  }

  // GlobalAveragePool reads channels-last data as readily: sums over the positions of each channel.
  bool can_run_channels_last() const override { return global_ && !max_ && !drop_dims_ && !reduce_mean_; }
  bool gains_from_channels_last(int64_t) const override { return false; }
  void set_channels_last() override { channels_last_ = true; }
  bool output_channels_last() const override { return false; }

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& x = *in[0];
    if (channels_last_) return global_average_channels_last(x, out);
    PoolPlan p;
    if (global_) {
      if (x.rank() < 3)
        throw Error(where_ + ": X has shape " + shape_str(x.shape()) + ", expected N x C x D...");
      WindowAttrs a;
      a.kernel.assign(x.shape().begin() + 2, x.shape().end());
      a.strides.assign(a.kernel.size(), 1);
      a.dilations.assign(a.kernel.size(), 1);
      a.pads.assign(2 * a.kernel.size(), 0);
      p = pool_plan_for(a, x.shape(), where_, false);
    } else {
      p = pool_plan_for(attrs_, x.shape(), where_, cip_ && !max_);
    }
    const Shape ys = drop_dims_ ? Shape{x.dim(0), x.dim(1)} : pool_output_shape(x.shape(), p);
    if (global_ && !max_) return global_average(x, ys, out);
    const std::vector<int32_t> X = to_int32(x);
    if (max_) {
      out[0] = from_int32(window_max(X, p), x.dtype(), ys);
      return;
    }
    const std::vector<int64_t> sums = window_sums(X, x_.zero_point[0], p);
    const std::vector<int32_t> div = average_pool_divisors(p, cip_);
    // One multiplier per divisor value (at most the window volume).
    const int32_t dmax = div.empty() ? 0 : *std::max_element(div.begin(), div.end());
    std::vector<FixedMultiplier> f(static_cast<size_t>(dmax) + 1);
    for (int32_t d = 1; d <= dmax; ++d)
      f[static_cast<size_t>(d)] =
          fixed_multiplier(static_cast<double>(x_.scale[0]) / (static_cast<double>(o_.scale[0]) * d), where_);
    std::vector<int32_t> y(sums.size());
    const int64_t op = numel(p.out), zo = o_.zero_point[0];
    for (size_t i = 0; i < y.size(); ++i) {
      const int32_t d = div[i % static_cast<size_t>(op)];
      if (d <= 0) throw Error(where_ + ": a window holds no input element");
      y[i] = clamp_q(zo + requantize(sums[i], f[static_cast<size_t>(d)]), o_.qmin, o_.qmax);
    }
    out[0] = from_int32(y, storage_dtype(o_), ys);
  }

 private:
  // One contiguous plane per output: the sum of x − zp over it, requantized once.
  void global_average(const Tensor& x, const Shape& ys, std::span<Tensor> out) const {
    const int64_t planes = x.dim(0) * x.dim(1), size = planes ? x.numel() / planes : 0;
    const FixedMultiplier f = fixed_multiplier(
        static_cast<double>(x_.scale[0]) / (static_cast<double>(o_.scale[0]) * static_cast<double>(size)),
        where_);
    std::vector<int32_t> y(static_cast<size_t>(planes));
    const int64_t zx = x_.zero_point[0], zo = o_.zero_point[0];
    auto sum_planes = [&](auto tag) {
      using T = decltype(tag);
      const T* p = x.data<T>();
      // Chunks of planes: one item per plane would cost more to hand out than a 7×7 plane's sum.
      constexpr int64_t kChunk = 64;
      parallel_for(
          0, (planes + kChunk - 1) / kChunk,
          [&](int64_t item) {
            for (int64_t c = item * kChunk; c < std::min(planes, (item + 1) * kChunk); ++c) {
              const int64_t s = plane_sum(isa_, p + c * size, size);
              y[static_cast<size_t>(c)] = clamp_q(zo + requantize(s - zx * size, f), o_.qmin, o_.qmax);
            }
          },
          kChunk * size);
    };
    dispatch_act(x.dtype(), where_, sum_planes);
    out[0] = from_int32(y, storage_dtype(o_), ys);
  }

  // x [N, H, W, C] → y [N, C, 1, 1]: the same sums and requantization as global_average.
  void global_average_channels_last(const Tensor& x, std::span<Tensor> out) const {
    if (x.rank() != 4) throw Error(where_ + ": channels-last X " + x.str() + " is not 4-D");
    const int64_t N = x.dim(0), size = x.dim(1) * x.dim(2), C = x.dim(3);
    const FixedMultiplier f = fixed_multiplier(
        static_cast<double>(x_.scale[0]) / (static_cast<double>(o_.scale[0]) * static_cast<double>(size)),
        where_);
    std::vector<int32_t> y(static_cast<size_t>(N * C));
    const int64_t zx = x_.zero_point[0], zo = o_.zero_point[0];
    dispatch_act(x.dtype(), where_, [&](auto tag) {
      using T = decltype(tag);
      const T* xp = x.data<T>();
      parallel_for(
          0, N,
          [&](int64_t n) {
            // The image's channel sums of x, then y = zo + R(sum − zx·size) per channel.
            const auto finish = [&](const auto& sums) {
              for (int64_t c = 0; c < C; ++c)
                y[static_cast<size_t>(n * C + c)] = clamp_q(
                    zo + requantize(static_cast<int64_t>(sums[static_cast<size_t>(c)]) - zx * size, f),
                    o_.qmin, o_.qmax);
            };
            if (sizeof(T) == 1 && isa_ == IntIsa::Avx2 && size < (int64_t{1} << 23)) {
              thread_local std::vector<int32_t> sums;
              sums.resize(static_cast<size_t>(C));
              detail::sum_positions_8bit_avx2(xp + n * size * C, std::is_signed_v<T>, size, C, sums.data());
              return finish(sums);
            }
            // int32 sums while they cannot overflow (|x| < 2^16), which the compiler vectorizes.
            const auto sum = [&](auto acc) {
              using A = decltype(acc);
              std::vector<A> sums(static_cast<size_t>(C), 0);
              for (int64_t q = 0; q < size; ++q) {
                const T* row = xp + (n * size + q) * C;
                for (int64_t c = 0; c < C; ++c) sums[static_cast<size_t>(c)] += row[c];
              }
              finish(sums);
            };
            if (size < (int64_t{1} << 15))
              sum(int32_t{});
            else
              sum(int64_t{});
          },
          size * C);
    });
    out[0] = from_int32(y, storage_dtype(o_), {N, C, 1, 1});
  }

  std::string where_;
  IntIsa isa_;
  bool global_ = false, max_ = false, cip_ = false, drop_dims_ = false, reduce_mean_ = false;
  bool channels_last_ = false;
  WindowAttrs attrs_;
  QuantParams x_, o_;
};

// The float kernel of a movement op, built with constants that fit the integer data: Pad's constant (an
// input from opset 11, the `value` attribute before) becomes its level on the grid.
class MovementKernel final : public Kernel {
 public:
  explicit MovementKernel(const IntNodeContext& c) : node_(*c.ln.node) {
    const QuantParams* p = c.L.params_of(node_.inputs[0]);
    if (node_.op_type == "Pad" && p && node_.attr_string("mode", "constant") == "constant") {
      // The constant (0 when omitted) becomes its level on the grid; lowering made sure it is on it.
      float v = 0;
      if (node_.has_attr("value"))
        v = node_.attr_float("value", 0.f);
      else if (node_.has_input(2))
        v = static_cast<float>(c.g.initializer(node_.inputs[2])->value_as_double(0));
      const int32_t q = quantize_value(v, p->scale[0], p->zero_point[0], p->qmin, p->qmax);
      if (c.opset < 11) {
        node_.attrs["value"] = Attribute::of_float(static_cast<float>(q));
      } else {
        node_.inputs.resize(std::max<size_t>(node_.inputs.size(), 3));
        if (node_.inputs[2].empty()) node_.inputs[2] = node_.name + "::pad_level";
        pad_value_ = from_int32({q}, storage_dtype(*p), {});
        pad_name_ = node_.inputs[2];
      }
    }
    const Graph& g = c.g;
    KernelInit init{node_, c.opset, [this, &g](const std::string& v) -> const Tensor* {
                      if (!pad_name_.empty() && v == pad_name_) return &pad_value_;
                      return g.initializer(v);
                    }};
    kernel_ = OpRegistry::instance().create(init);
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    if (pad_name_.empty()) return kernel_->run(in, out);
    std::vector<const Tensor*> ins(in.begin(), in.end());
    ins.resize(std::max<size_t>(ins.size(), 3));
    ins[2] = &pad_value_;
    kernel_->run(ins, out);
  }

 private:
  Node node_;
  Tensor pad_value_;
  std::string pad_name_;
  std::unique_ptr<Kernel> kernel_;
};

// 2-D MaxPool on 8-bit storage: the AVX2 plane kernel (pool_int.h), else the float kernel on the integers.
class MaxPool8Kernel final : public Kernel {
 public:
  MaxPool8Kernel(const IntNodeContext& c, std::unique_ptr<Kernel> fallback)
      : where_(c.ln.node->describe()), isa_(c.isa), fallback_(std::move(fallback)) {
    const Node& n = *c.ln.node;
    KernelInit init{n, c.opset, [&c](const std::string& v) { return c.g.initializer(v); }};
    attrs_ = read_window_attrs(init, n.attr_ints("kernel_shape"), c.opset >= 10);
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& x = *in[0];
    if (x.rank() == 4) {
      const PoolPlan p = pool_plan_for(attrs_, x.shape(), where_, false);
      Tensor y(x.dtype(), pool_output_shape(x.shape(), p));
      if (max_pool_8bit(isa_, x, y, p)) {
        out[0] = std::move(y);
        return;
      }
    }
    fallback_->run(in, out);
  }

 private:
  std::string where_;
  IntIsa isa_;
  WindowAttrs attrs_;
  std::unique_ptr<Kernel> fallback_;
};

class FusedMaxPoolKernel final : public Kernel {
 public:
  FusedMaxPoolKernel(const IntNodeContext& c, const MaxPoolFusingKernel& layer, const Kernel& layer_kernel,
                     const Kernel& pool)
      : where_(c.ln.node->describe()), layer_(layer), layer_kernel_(layer_kernel), pool_(pool) {
    const Node& n = *c.ln.node;
    KernelInit init{n, c.opset, [&c](const std::string& v) { return c.g.initializer(v); }};
    attrs_ = read_window_attrs(init, n.attr_ints("kernel_shape"), c.opset >= 10);
    pool_outputs_ = n.outputs.size();
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    if (layer_.run_max_pooled(in, out, attrs_, where_)) return;
    std::vector<Tensor> mid(1), pooled(pool_outputs_);
    layer_kernel_.run(in, mid);
    const Tensor* x[] = {&mid[0]};
    pool_.run(x, pooled);
    out[0] = std::move(pooled[0]);
  }

 private:
  std::string where_;
  const MaxPoolFusingKernel& layer_;
  const Kernel& layer_kernel_;
  const Kernel& pool_;
  WindowAttrs attrs_;
  size_t pool_outputs_ = 1;
};

}  // namespace

std::unique_ptr<Kernel> make_fused_max_pool_kernel(const IntNodeContext& c, const MaxPoolFusingKernel& layer,
                                                   const Kernel& layer_kernel, const Kernel& pool) {
  return std::make_unique<FusedMaxPoolKernel>(c, layer, layer_kernel, pool);
}

std::unique_ptr<Kernel> make_int_pool_kernel(const IntNodeContext& c) {
  return std::make_unique<IntPoolKernel>(c);
}

std::unique_ptr<Kernel> make_int_movement_kernel(const IntNodeContext& c) {
  const Node& n = *c.ln.node;
  if (n.op_type == "MaxPool" || n.op_type == "GlobalMaxPool") {
    const QuantParams* p = c.L.params_of(n.inputs[0]);
    const DType t = p ? storage_dtype(*p) : DType::Float32;
    if (n.op_type == "GlobalMaxPool" || (t != DType::Int8 && t != DType::UInt8))
      return make_int_pool_kernel(c);
    const bool indices = n.outputs.size() > 1 && !n.outputs[1].empty();
    if (c.isa == IntIsa::Avx2 && !indices && n.has_attr("kernel_shape") &&
        n.attr_ints("kernel_shape").size() == 2)
      return std::make_unique<MaxPool8Kernel>(c, std::make_unique<MovementKernel>(c));
  }
  return std::make_unique<MovementKernel>(c);
}

}  // namespace qs
