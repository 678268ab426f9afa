// ConvInteger and QLinearConv (opset 10): Conv's attributes and geometry (core/ops/conv_geometry.h) on 8-bit
// tensors, accumulated exactly by core/ops/conv_integer.h; rounding as stated in core/ops/quantized.h.
//
//   ConvInteger  y (int32) = Σ (x - x_zero_point)(w - w_zero_point); x_zero_point per tensor, w_zero_point
//                per tensor or per output channel.
//   QLinearConv  y = saturate(round((x_scale·w_scale[m] / y_scale) · (Σ (x - x_zp)(w - w_zp[m]) + B[m]))
//                + y_zero_point); x and y per tensor, w per tensor or per output channel, B int32.
// Padding holds the input's zero point (0 after the shift), as in ONNX's reference and ONNX Runtime. A
// constant W (and zero point) is shifted once in the factory; the accumulators come from the float Conv
// kernel where that is provably exact, else from integer GEMM (see FloatExactConv below).
#include <cmath>
#include <memory>
#include <optional>

#include "core/common/parallel.h"
#include "core/ops/conv_integer.h"
#include "core/ops/quantized.h"

namespace qs::quantized {

namespace {

// Conv's attribute reader sees a node whose inputs are (X, W), so it checks a constant W as for Conv.
ConvAttrs read_attrs(const KernelInit& init, size_t w_index) {
  Node proxy = init.node;
  proxy.inputs = {init.node.inputs[0], init.node.inputs[w_index]};
  const KernelInit pi{proxy, init.opset, init.lookup_constant};
  return read_conv_attrs(pi, /*transpose=*/false);
}

void check_8bit(const Tensor& t, const char* name) {
  if (!is_8bit(t.dtype()))
    throw UnsupportedError(std::string("input ") + name + " is " + dtype_name(t.dtype()) +
                           "; only uint8 and int8 are supported");
}

// The weight's zero points: one value or one per output channel, of W's type.
std::vector<int32_t> weight_zero_points(const Tensor& w, const Tensor* zp) {
  if (!zp) return {0};
  if (zp->dtype() != w.dtype())
    throw Error("w_zero_point is " + dtype_name(zp->dtype()) + " but W is " + dtype_name(w.dtype()));
  if (zp->rank() > 1)
    throw Error("w_zero_point has shape " + shape_str(zp->shape()) + "; expected a scalar or 1-D");
  return zp->to_vector<int32_t>();
}

// The exact accumulators by im2col + integer GEMM: int32 when they provably fit, else int64.
Tensor accumulate_int(const ConvGeometry& g, const Tensor& x, int32_t x_zp, const ShiftedConvWeights& w) {
  const int64_t depth = g.out_channels ? w.w.numel() / g.out_channels : 0;
  const bool narrow = conv_integer_fits_int32(depth, w.max_abs);
  Tensor acc(narrow ? DType::Int32 : DType::Int64, g.y_shape);
  dispatch_8bit(x.dtype(), "input X", [&](auto tag) {
    using X = decltype(tag);
    if (narrow) {
      conv_integer<X, int32_t>(g, x.data<X>(), x_zp, w.w.data<int32_t>(), acc.data<int32_t>());
    } else {
      const Tensor w64 = w.w.cast(DType::Int64);
      conv_integer<X, int64_t>(g, x.data<X>(), x_zp, w64.data<int64_t>(), acc.data<int64_t>());
    }
  });
  return acc;
}

// The same accumulators from the runtime's float Conv kernel (core/ops/conv.cpp), several times faster
// than integer GEMM on AVX2. It is exact when every partial sum is an integer of magnitude <= 2^24: the
// products (x - x_zp)(w - w_zp) are integers of at most 255·|w'|max, so a convolution over D = C/group ·
// kernel size of them qualifies when D·255·|w'|max <= 2^24, whatever the kernel's summation order or use
// of FMA. Deeper convolutions with one group are split into runs of input channels that qualify, each
// run's exact result added in int32 (int64 when the total could exceed it). Built in the factory for a
// constant W (shifted and packed once); used for any x zero point.
class FloatExactConv {
 public:
  static std::unique_ptr<FloatExactConv> make(const KernelInit& init, const ShiftedConvWeights& w) {
    const Tensor& ws = w.w;
    if (ws.rank() < 3 || ws.dim(0) == 0) return nullptr;
    const int64_t group = init.node.attr_int("group", 1);
    const int64_t M = ws.dim(0), Cg = ws.dim(1), ks = ws.numel() / (M * Cg);
    constexpr int64_t kExact = int64_t{1} << 24;
    const int64_t per_channel = ks * 255 * std::max<int64_t>(1, w.max_abs);
    const int64_t run = kExact / per_channel;  // input channels whose sum stays exact
    if (run < 1 || (group != 1 && run < Cg)) return nullptr;
    auto f = std::unique_ptr<FloatExactConv>(new FloatExactConv);
    f->narrow_ = conv_integer_fits_int32(Cg * ks, w.max_abs);
    for (int64_t c0 = 0; c0 < Cg; c0 += run) {
      auto ch = std::make_unique<Chunk>();
      ch->c0 = c0;
      ch->c1 = std::min(Cg, c0 + run);
      Shape s = ws.shape();
      s[1] = ch->c1 - ch->c0;
      ch->w = Tensor(DType::Float32, s);
      const int32_t* src = ws.data<int32_t>();
      float* dst = ch->w.data<float>();
      for (int64_t m = 0; m < M; ++m)
        for (int64_t c = ch->c0; c < ch->c1; ++c)
          for (int64_t k = 0; k < ks; ++k) *dst++ = static_cast<float>(src[(m * Cg + c) * ks + k]);
      ch->node = init.node;
      ch->node.op_type = "Conv";
      ch->node.domain.clear();
      ch->node.inputs = {"X", "W"};
      ch->node.outputs = {"Y"};
      const Tensor* wc = &ch->w;
      ch->conv = OpRegistry::instance().create(
          KernelInit{ch->node, 11, [wc](const std::string& v) { return v == "W" ? wc : nullptr; }});
      f->chunks_.push_back(std::move(ch));
    }
    return f;
  }

  // The accumulators for x (8-bit, checked against W by the caller's geometry).
  Tensor run(const ConvGeometry& g, const Tensor& x, int32_t x_zp) const {
    const int64_t N = x.dim(0), C = x.dim(1), IS = g.in_size();
    Tensor acc(narrow_ ? DType::Int32 : DType::Int64, g.y_shape);
    for (size_t i = 0; i < chunks_.size(); ++i) {
      const Chunk& ch = *chunks_[i];
      // With one chunk it holds every channel (any group); otherwise group is 1 and X's channels are W's.
      const int64_t c0 = chunks_.size() == 1 ? 0 : ch.c0, cn = chunks_.size() == 1 ? C : ch.c1 - ch.c0;
      Shape xs = x.shape();
      xs[1] = cn;
      Tensor xf(DType::Float32, xs);
      float* xd = xf.data<float>();
      dispatch_8bit(x.dtype(), "input X", [&](auto tag) {
        using X = decltype(tag);
        const X* src = x.data<X>();
        parallel_for(
            0, N * cn,
            [&](int64_t plane) {
              const X* p = src + ((plane / cn) * C + c0 + plane % cn) * IS;
              float* o = xd + plane * IS;
              for (int64_t j = 0; j < IS; ++j) o[j] = static_cast<float>(static_cast<int32_t>(p[j]) - x_zp);
            },
            IS);
      });
      Tensor y;
      const Tensor* in[2] = {&xf, &ch.w};
      ch.conv->run(in, std::span<Tensor>(&y, 1));
      const float* yd = y.data<float>();
      const int64_t n = acc.numel();
      auto add = [&](auto atag) {
        using A = decltype(atag);
        A* a = acc.data<A>();
        if (i == 0)
          for (int64_t j = 0; j < n; ++j) a[j] = static_cast<A>(yd[j]);
        else
          for (int64_t j = 0; j < n; ++j) a[j] += static_cast<A>(yd[j]);
      };
      if (narrow_)
        add(int32_t{});
      else
        add(int64_t{});
    }
    return acc;
  }

 private:
  struct Chunk {
    int64_t c0 = 0, c1 = 0;
    Tensor w;  // float32 M x (c1 - c0) x k..., shifted
    Node node;
    std::unique_ptr<Kernel> conv;
  };
  FloatExactConv() = default;
  bool narrow_ = true;
  std::vector<std::unique_ptr<Chunk>> chunks_;
};

// W shifted by its zero point, once in the factory when both are constants.
std::optional<ShiftedConvWeights> constant_weights(const KernelInit& init, size_t w_index, size_t zp_index) {
  const Tensor* w = init.constant_input(w_index);
  const bool zp_given = init.node.has_input(zp_index);
  const Tensor* zp = zp_given ? init.constant_input(zp_index) : nullptr;
  if (!w || (zp_given && !zp) || !is_8bit(w->dtype())) return std::nullopt;
  try {
    return shift_conv_weights(*w, weight_zero_points(*w, zp));
  } catch (const Error& e) {
    init.invalid(e.what());
  }
}

// The accumulation strategy of one node: W's shifted values when constant, and the exact float path when
// it applies; otherwise integer GEMM on the weights of each run.
class Accumulator {
 public:
  Accumulator(const KernelInit& init, size_t w_index, size_t zp_index)
      : attrs_(read_attrs(init, w_index)), w_(constant_weights(init, w_index, zp_index)) {
    if (w_) float_ = FloatExactConv::make(init, *w_);
  }
  const ConvAttrs& attrs() const { return attrs_; }
  bool constant() const { return w_.has_value(); }

  // `zp`: W's zero points when it is not constant (ignored otherwise).
  Tensor run(const ConvGeometry& g, const Tensor& x, int32_t x_zp, const Tensor& w,
             const std::vector<int32_t>& zp) const {
    if (float_) return float_->run(g, x, x_zp);
    if (w_) return accumulate_int(g, x, x_zp, *w_);
    return accumulate_int(g, x, x_zp, shift_conv_weights(w, zp));
  }

 private:
  ConvAttrs attrs_;
  std::optional<ShiftedConvWeights> w_;
  std::unique_ptr<FloatExactConv> float_;
};

// ---- ConvInteger ----

class ConvIntegerKernel final : public Kernel {
 public:
  explicit ConvIntegerKernel(const KernelInit& init) : acc_(init, 1, 3) {}

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& x = *in[0];
    const Tensor& w = *in[1];
    check_8bit(x, "x");
    check_8bit(w, "w");
    const Tensor* xz = in.size() > 2 ? in[2] : nullptr;
    const Tensor* wz = in.size() > 3 ? in[3] : nullptr;
    int32_t x_zp = 0;
    if (xz) {
      if (xz->numel() != 1 || xz->rank() > 1)
        throw Error("x_zero_point has shape " + shape_str(xz->shape()) + "; expected a scalar (per tensor)");
      if (xz->dtype() != x.dtype())
        throw Error("x_zero_point is " + dtype_name(xz->dtype()) + " but x is " + dtype_name(x.dtype()));
      x_zp = static_cast<int32_t>(xz->value_as_int(0));
    }
    const ConvGeometry g = conv_geometry(acc_.attrs(), x.shape(), w.shape(), nullptr);
    Tensor acc =
        acc_.run(g, x, x_zp, w, acc_.constant() ? std::vector<int32_t>{} : weight_zero_points(w, wz));
    // An int64 accumulator (huge depth) keeps its low 32 bits: what wrapping int32 accumulators give.
    out[0] = acc.dtype() == DType::Int32 ? std::move(acc) : acc.cast(DType::Int32);
  }

 private:
  Accumulator acc_;
};

std::unique_ptr<Kernel> make_conv_integer(const KernelInit& init) {
  const Node& n = init.node;
  const size_t k = n.num_inputs();
  if (k < 2 || k > 4 || !n.has_input(0) || !n.has_input(1))
    init.invalid("expects inputs x, w and optional x_zero_point, w_zero_point; got " + std::to_string(k));
  if (n.outputs.size() != 1) init.invalid("expects 1 output, got " + std::to_string(n.outputs.size()));
  return std::make_unique<ConvIntegerKernel>(init);
}

// ---- QLinearConv ----

class QLinearConvKernel final : public Kernel {
 public:
  explicit QLinearConvKernel(const KernelInit& init) : acc_(init, 3, 5) {}

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& x = *in[0];
    const Tensor& w = *in[3];
    check_8bit(x, "x");
    check_8bit(w, "w");
    const Tensor* bias = in.size() > 8 ? in[8] : nullptr;
    const ConvGeometry g = conv_geometry(acc_.attrs(), x.shape(), w.shape(), bias);
    const int64_t M = g.out_channels;
    const ScaleZeroPoint xp = read_scale_zero_point(*in[1], in[2], "x_scale", "x_zero_point", -1, x.dtype());
    const ScaleZeroPoint wp = read_scale_zero_point(*in[4], in[5], "w_scale", "w_zero_point", M, w.dtype());
    const ScaleZeroPoint yp = read_scale_zero_point(*in[6], in[7], "y_scale", "y_zero_point", -1);
    check_positive(yp, "y_scale");
    const DType yt = in[7]->dtype();
    if (!is_8bit(yt))
      throw UnsupportedError("y_zero_point is " + dtype_name(yt) + "; only uint8 and int8 are supported");
    if (bias && bias->dtype() != DType::Int32)
      throw Error("bias B is " + dtype_name(bias->dtype()) + "; QLinearConv takes an int32 bias");

    const Tensor acc = acc_.run(g, x, xp.zero_point[0], w, wp.zero_point);
    // Per output channel: the multiplier in float32, as ONNX's reference and ONNX Runtime compute it.
    std::vector<float> mult(static_cast<size_t>(M));
    for (int64_t m = 0; m < M; ++m) mult[static_cast<size_t>(m)] = xp.scale[0] * wp.s(m) / yp.scale[0];
    const int32_t* bd = bias ? bias->data<int32_t>() : nullptr;
    const int64_t P = g.out_size();
    const int32_t yz = yp.zero_point[0];
    Tensor y(yt, g.y_shape);
    dispatch_8bit(yt, "y_zero_point", [&](auto qtag) {
      using Q = decltype(qtag);
      Q* yd = y.data<Q>();
      auto requant = [&](auto atag) {
        using A = decltype(atag);
        const A* c = acc.data<A>();
        parallel_for(
            0, g.batch * M,
            [&](int64_t plane) {
              const int64_t m = plane % M;
              const int64_t b = bd ? bd[m] : 0;
              const double s = mult[static_cast<size_t>(m)];
              for (int64_t i = plane * P; i < (plane + 1) * P; ++i) {
                const double r = std::nearbyint(static_cast<double>(static_cast<int64_t>(c[i]) + b) * s);
                yd[i] = saturate<Q>(r + yz, static_cast<Q>(yz));
              }
            },
            P);
      };
      if (acc.dtype() == DType::Int32)
        requant(int32_t{});
      else
        requant(int64_t{});
    });
    out[0] = std::move(y);
  }

 private:
  Accumulator acc_;
};

std::unique_ptr<Kernel> make_qlinear_conv(const KernelInit& init) {
  const Node& n = init.node;
  const size_t k = n.num_inputs();
  if (k < 8 || k > 9)
    init.invalid(
        "expects 8 inputs (x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point) "
        "and an optional bias B; got " +
        std::to_string(k));
  for (size_t i = 0; i < 8; ++i)
    if (!n.has_input(i))
      init.invalid("input " + std::to_string(i) + " is omitted; only the bias B is optional");
  if (n.outputs.size() != 1) init.invalid("expects 1 output, got " + std::to_string(n.outputs.size()));
  // Constant scales are checked against a constant W now, so a bad model fails at load naming the node.
  const Tensor* w = init.constant_input(3);
  const Tensor* ws = init.constant_input(4);
  if (w && ws && w->rank() > 0) {
    try {
      read_scale_zero_point(*ws, nullptr, "w_scale", "w_zero_point", w->dim(0));
    } catch (const UnsupportedError& e) {
      init.unsupported(e.what());
    } catch (const Error& e) {
      init.invalid(e.what());
    }
  }
  return std::make_unique<QLinearConvKernel>(init);
}

}  // namespace

void register_qlinear_conv_ops(OpRegistry& r) {
  // Both have one version (10).
  r.add("", "ConvInteger", 10, 21, make_conv_integer);
  r.add("", "QLinearConv", 10, 21, make_qlinear_conv);
}

}  // namespace qs::quantized
