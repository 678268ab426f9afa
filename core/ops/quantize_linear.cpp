// QuantizeLinear, DequantizeLinear (opsets 10-18) and DynamicQuantizeLinear (opset 11), for the 8-bit
// types, per tensor or per axis; rounding and saturation as stated in core/ops/quantized.h.
//
//   QuantizeLinear    y = saturate(round(x / y_scale) + y_zero_point); x float32 (or int32), y of the zero
//                     point's type (uint8 when it is omitted). x / y_scale is computed in float32 as ONNX's
//                     reference and ONNX Runtime do (in double for int32 x, as numpy promotes it).
//   DequantizeLinear  y = (x - x_zero_point) · x_scale; x uint8, int8 or int32 (biases), y float32. The
//                     difference is exact and the product is rounded once (identical to float32 arithmetic
//                     for 8-bit x; for int32 x it avoids float32's rounding of x - zp).
//   DynamicQuantizeLinear  uint8 with a scale and zero point computed from the data, in float32 exactly as
//                     ONNX's function body (test_dynamicquantizelinear_expanded) does; all-zero or empty
//                     input gives scale 1, as ONNX Runtime does, instead of a division by zero.
#include <algorithm>
#include <cmath>
#include <memory>

#include "core/common/parallel.h"
#include "core/ops/quantized.h"

namespace qs {

namespace {

using quantized::ScaleZeroPoint;

constexpr int64_t kRun = 16384;  // elements per work item

// Elements viewed as [outer, channels, inner] around the quantization axis (channels = 1 per tensor).
struct Layout {
  int64_t outer = 1, channels = 1, inner = 1;
};

// The layout of x for a scale operand: per tensor unless the scale holds more than one value (or is 1-D
// while opset >= 13 gives an axis), then along `axis`. Opsets 10-12 have no axis: per tensor only.
Layout layout_for(const Tensor& x, const Tensor& scale, bool has_axis, int64_t axis, int64_t* channels) {
  Layout l;
  l.inner = x.numel();
  *channels = -1;
  if (!has_axis || (scale.numel() == 1 && scale.rank() <= 1)) return l;
  const int64_t a = normalize_axis(axis, x.rank(), "axis");
  *channels = x.dim(a);
  l.outer = 1;
  for (int64_t i = 0; i < a; ++i) l.outer *= x.dim(i);
  l.channels = x.dim(a);
  l.inner = 1;
  for (int64_t i = a + 1; i < x.rank(); ++i) l.inner *= x.dim(i);
  return l;
}

// Calls f(channel, begin, end) over runs of consecutive elements sharing a channel, in parallel.
template <typename F>
void for_channel_runs(const Layout& l, const F& f) {
  const int64_t per_row = std::max<int64_t>(1, (l.inner + kRun - 1) / kRun);
  const int64_t rows = l.outer * l.channels;
  parallel_for(
      0, rows * per_row,
      [&](int64_t item) {
        const int64_t row = item / per_row, part = item % per_row;
        const int64_t b = row * l.inner + part * kRun,
                      e = row * l.inner + std::min(l.inner, (part + 1) * kRun);
        if (b < e) f(row % l.channels, b, e);
      },
      std::min(l.inner, kRun));
}

// ---- QuantizeLinear ----

template <typename Q, typename X>
void quantize(const X* x, Q* y, const Layout& l, const ScaleZeroPoint& p) {
  for_channel_runs(l, [&](int64_t c, int64_t b, int64_t e) {
    const float s = p.s(c);
    const int32_t z = p.z(c);
    const Q zq = static_cast<Q>(z);
    for (int64_t i = b; i < e; ++i) {
      double r;
      if constexpr (std::is_same_v<X, float>)
        r = static_cast<double>(std::nearbyint(x[i] / s));
      else
        r = std::nearbyint(static_cast<double>(x[i]) / static_cast<double>(s));
      y[i] = quantized::saturate<Q>(r + z, zq);
    }
  });
}

class QuantizeLinearKernel final : public Kernel {
 public:
  QuantizeLinearKernel(bool has_axis, int64_t axis) : has_axis_(has_axis), axis_(axis) {}

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& x = *in[0];
    const Tensor& scale = *in[1];
    const Tensor* zp = in.size() > 2 ? in[2] : nullptr;
    if (x.dtype() != DType::Float32 && x.dtype() != DType::Int32)
      throw UnsupportedError("input x is " + dtype_name(x.dtype()) +
                             "; only float32 and int32 are supported");
    const DType qt = zp ? zp->dtype() : DType::UInt8;
    if (!quantized::is_8bit(qt))
      throw UnsupportedError("y_zero_point is " + dtype_name(qt) +
                             "; only uint8 and int8 outputs are supported");
    int64_t channels = -1;
    const Layout l = layout_for(x, scale, has_axis_, axis_, &channels);
    const ScaleZeroPoint p = quantized::read_scale_zero_point(scale, zp, "y_scale", "y_zero_point", channels);
    quantized::check_positive(p, "y_scale");
    Tensor y(qt, x.shape());
    quantized::dispatch_8bit(qt, "y_zero_point", [&](auto qtag) {
      using Q = decltype(qtag);
      if (x.dtype() == DType::Float32)
        quantize<Q>(x.data<float>(), y.data<Q>(), l, p);
      else
        quantize<Q>(x.data<int32_t>(), y.data<Q>(), l, p);
    });
    out[0] = std::move(y);
  }

 private:
  bool has_axis_;
  int64_t axis_;
};

// ---- DequantizeLinear ----

template <typename X>
void dequantize(const X* x, float* y, const Layout& l, const ScaleZeroPoint& p) {
  for_channel_runs(l, [&](int64_t c, int64_t b, int64_t e) {
    const double s = p.s(c);
    const int64_t z = p.z(c);
    for (int64_t i = b; i < e; ++i)
      y[i] = static_cast<float>(static_cast<double>(static_cast<int64_t>(x[i]) - z) * s);
  });
}

class DequantizeLinearKernel final : public Kernel {
 public:
  DequantizeLinearKernel(bool has_axis, int64_t axis) : has_axis_(has_axis), axis_(axis) {}

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& x = *in[0];
    const Tensor& scale = *in[1];
    const Tensor* zp = in.size() > 2 ? in[2] : nullptr;
    if (!quantized::is_8bit(x.dtype()) && x.dtype() != DType::Int32)
      throw UnsupportedError("input x is " + dtype_name(x.dtype()) +
                             "; only uint8, int8 and int32 are supported");
    int64_t channels = -1;
    const Layout l = layout_for(x, scale, has_axis_, axis_, &channels);
    const ScaleZeroPoint p =
        quantized::read_scale_zero_point(scale, zp, "x_scale", "x_zero_point", channels, x.dtype());
    Tensor y(DType::Float32, x.shape());
    float* yd = y.data<float>();
    switch (x.dtype()) {
      case DType::UInt8:
        dequantize(x.data<uint8_t>(), yd, l, p);
        break;
      case DType::Int8:
        dequantize(x.data<int8_t>(), yd, l, p);
        break;
      default:
        dequantize(x.data<int32_t>(), yd, l, p);
        break;
    }
    out[0] = std::move(y);
  }

 private:
  bool has_axis_;
  int64_t axis_;
};

void check_qdq_arity(const KernelInit& init, const char* x, const char* s, const char* z) {
  const Node& n = init.node;
  const size_t k = n.num_inputs();
  if (k < 2 || k > 3 || !n.has_input(0) || !n.has_input(1))
    init.invalid(std::string("expects inputs ") + x + ", " + s + " and optional " + z + "; got " +
                 std::to_string(k));
  if (n.outputs.size() != 1) init.invalid("expects 1 output, got " + std::to_string(n.outputs.size()));
  // Opset 10-12 have no axis attribute: their scale is a scalar.
  if (init.opset < 13 && n.has_attr("axis"))
    init.invalid("the axis attribute exists only from opset 13 (the model imports opset " +
                 std::to_string(init.opset) + ")");
  // A constant scale of several values must be 1-D (checked again per run against x).
  if (const Tensor* sc = init.constant_input(1); sc && !(sc->numel() == 1 && sc->rank() <= 1)) {
    if (init.opset < 13)
      init.invalid(std::string(s) + " has shape " + shape_str(sc->shape()) + "; opset " +
                   std::to_string(init.opset) + " takes a scalar (per-axis needs opset 13)");
    if (sc->rank() != 1)
      init.invalid(std::string(s) + " has shape " + shape_str(sc->shape()) + "; expected a scalar or 1-D");
  }
}

std::unique_ptr<Kernel> make_quantize_linear(const KernelInit& init) {
  check_qdq_arity(init, "x", "y_scale", "y_zero_point");
  if (const Tensor* z = init.constant_input(2); z && !quantized::is_8bit(z->dtype()))
    init.unsupported("y_zero_point is " + dtype_name(z->dtype()) +
                     "; only uint8 and int8 outputs are supported");
  return std::make_unique<QuantizeLinearKernel>(init.opset >= 13, init.node.attr_int("axis", 1));
}

std::unique_ptr<Kernel> make_dequantize_linear(const KernelInit& init) {
  check_qdq_arity(init, "x", "x_scale", "x_zero_point");
  return std::make_unique<DequantizeLinearKernel>(init.opset >= 13, init.node.attr_int("axis", 1));
}

// ---- DynamicQuantizeLinear ----

std::unique_ptr<Kernel> make_dynamic_quantize_linear(const KernelInit& init) {
  const Node& n = init.node;
  if (n.num_inputs() != 1 || !n.has_input(0)) init.invalid("expects one input x");
  if (n.outputs.empty() || n.outputs.size() > 3)
    init.invalid("expects outputs y, y_scale, y_zero_point; got " + std::to_string(n.outputs.size()));
  return make_kernel([](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    if (x.dtype() != DType::Float32)
      throw UnsupportedError("input x is " + dtype_name(x.dtype()) + "; only float32 is supported");
    const float* xd = x.data<float>();
    // The range always includes 0 (so that 0 is exact); NaNs do not widen it.
    float lo = 0.f, hi = 0.f;
    for (int64_t i = 0; i < x.numel(); ++i) {
      lo = std::min(lo, xd[i]);
      hi = std::max(hi, xd[i]);
    }
    if (!std::isfinite(lo) || !std::isfinite(hi))
      throw Error("input x holds an infinite value; no uint8 scale covers its range");
    constexpr float qmin = 0.f, qmax = 255.f;
    const float scale = hi == lo ? 1.f : (hi - lo) / (qmax - qmin);
    const float zp_f = std::nearbyint(std::clamp(qmin - lo / scale, qmin, qmax));
    const uint8_t zp = static_cast<uint8_t>(zp_f);
    Tensor y(DType::UInt8, x.shape());
    Layout l;
    l.inner = x.numel();
    ScaleZeroPoint p;
    p.scale = {scale};
    p.zero_point = {zp};
    quantize<uint8_t>(xd, y.data<uint8_t>(), l, p);
    out[0] = std::move(y);
    if (out.size() > 1) out[1] = Tensor::scalar<float>(scale);
    if (out.size() > 2) out[2] = Tensor::scalar<uint8_t>(zp);
  });
}

}  // namespace

void register_quantized_ops(OpRegistry& r) {
  // QuantizeLinear / DequantizeLinear: 10 is per tensor; 13 adds the axis attribute (per-axis scales);
  // 19 adds float8 types and `saturate`, 21 int4/int16 and blocked scales — not implemented.
  r.add("", "QuantizeLinear", 10, 18, make_quantize_linear);
  r.add("", "DequantizeLinear", 10, 18, make_dequantize_linear);
  // DynamicQuantizeLinear has one version (11).
  r.add("", "DynamicQuantizeLinear", 11, 21, make_dynamic_quantize_linear);
  quantized::register_qlinear_matmul_ops(r);
  quantized::register_qlinear_conv_ops(r);
}

}  // namespace qs
