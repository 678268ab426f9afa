// MatMulInteger and QLinearMatMul (opset 10): numpy matmul of 8-bit tensors shifted by their zero points,
// accumulated exactly (core/ops/quantized.h) by the float runtime's own MatMul kernel on int32 (int64 when
// K·255² could exceed int32). Zero points (and QLinearMatMul's scales) are per tensor, per row of A (a
// 1-D [M], or [..., M, 1]) and per column of B (a 1-D [N], or [..., 1, N]), as the spec describes;
// QLinearMatMul's y_scale / y_zero_point are per tensor.
#include <cmath>
#include <limits>
#include <memory>

#include "core/common/parallel.h"
#include "core/ops/broadcast.h"
#include "core/ops/quantized.h"

namespace qs::quantized {

namespace {

// A per-row operand of A given as a 1-D [M] is [M, 1] in numpy terms.
Tensor row_view(const Tensor& t) { return t.rank() == 1 && t.numel() > 1 ? t.reshaped({t.numel(), 1}) : t; }

// K·255·255 < 2^31: products of shifted 8-bit values summed over K cannot leave int32.
bool int32_exact(int64_t K) { return K <= std::numeric_limits<int32_t>::max() / (255 * 255); }

// The MatMul kernel of the float runtime (it computes int32 and int64 exactly).
class IntMatMul {
 public:
  explicit IntMatMul(const KernelInit& init) {
    node_.name = init.node.name;
    node_.op_type = "MatMul";
    node_.inputs = {"A", "B"};
    node_.outputs = {"Y"};
    kernel_ = OpRegistry::instance().create(KernelInit{node_, 13, nullptr});
  }

  // Exact products of the shifted operands (int32 tensors); the result is int32, or int64 when K is too
  // large for an int32 accumulator.
  Tensor run(const Tensor& a, const Tensor& b) const {
    const int64_t K = a.rank() == 0 ? 0 : a.dim(-1);
    Tensor y;
    if (int32_exact(K)) {
      const Tensor* in[2] = {&a, &b};
      kernel_->run(in, std::span<Tensor>(&y, 1));
    } else {
      const Tensor a64 = a.cast(DType::Int64), b64 = b.cast(DType::Int64);
      const Tensor* in[2] = {&a64, &b64};
      kernel_->run(in, std::span<Tensor>(&y, 1));
    }
    return y;
  }

 private:
  Node node_;
  std::unique_ptr<Kernel> kernel_;
};

void check_8bit(const Tensor& t, const char* name) {
  if (!is_8bit(t.dtype()))
    throw UnsupportedError(std::string("input ") + name + " is " + dtype_name(t.dtype()) +
                           "; only uint8 and int8 are supported");
}

// ---- MatMulInteger ----

class MatMulIntegerKernel final : public Kernel {
 public:
  explicit MatMulIntegerKernel(const KernelInit& init) : mm_(init) {}

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& a = *in[0];
    const Tensor& b = *in[1];
    check_8bit(a, "A");
    check_8bit(b, "B");
    const Tensor* az = in.size() > 2 ? in[2] : nullptr;
    const Tensor* bz = in.size() > 3 ? in[3] : nullptr;
    const Tensor azv = az ? row_view(*az) : Tensor();
    const Tensor as = shift_by_zero_point(a, az ? &azv : nullptr, "A (a_zero_point)");
    const Tensor bs = shift_by_zero_point(b, bz, "B (b_zero_point)");
    Tensor y = mm_.run(as, bs);
    // An int64 result (very large K) keeps its low 32 bits: what wrapping int32 accumulators give.
    out[0] = y.dtype() == DType::Int32 ? std::move(y) : y.cast(DType::Int32);
  }

 private:
  IntMatMul mm_;
};

std::unique_ptr<Kernel> make_matmul_integer(const KernelInit& init) {
  const Node& n = init.node;
  const size_t k = n.num_inputs();
  if (k < 2 || k > 4 || !n.has_input(0) || !n.has_input(1))
    init.invalid("expects inputs A, B and optional a_zero_point, b_zero_point; got " + std::to_string(k));
  if (n.outputs.size() != 1) init.invalid("expects 1 output, got " + std::to_string(n.outputs.size()));
  return std::make_unique<MatMulIntegerKernel>(init);
}

// ---- QLinearMatMul ----

class QLinearMatMulKernel final : public Kernel {
 public:
  explicit QLinearMatMulKernel(const KernelInit& init) : mm_(init) {}

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& a = *in[0];
    const Tensor& b = *in[3];
    check_8bit(a, "a");
    check_8bit(b, "b");
    const Tensor &a_s = *in[1], &a_z = *in[2], &b_s = *in[4], &b_z = *in[5], &y_s = *in[6], &y_z = *in[7];
    check_pair(a_s, a_z, a, "a_scale", "a_zero_point");
    check_pair(b_s, b_z, b, "b_scale", "b_zero_point");
    const ScaleZeroPoint yp = read_scale_zero_point(y_s, &y_z, "y_scale", "y_zero_point", -1);
    check_positive(yp, "y_scale");
    if (!is_8bit(y_z.dtype()))
      throw UnsupportedError("y_zero_point is " + dtype_name(y_z.dtype()) +
                             "; only uint8 and int8 are supported");
    const bool vector_params = a_s.numel() > 1 || b_s.numel() > 1;
    if (vector_params && (a.rank() < 2 || b.rank() < 2))
      throw Error("per-row or per-column scales need 2-D (or higher) a and b; got a " + shape_str(a.shape()) +
                  " and b " + shape_str(b.shape()));

    const Tensor azv = row_view(a_z), asv = row_view(a_s);
    const Tensor acc = mm_.run(shift_by_zero_point(a, &azv, "a (a_zero_point)"),
                               shift_by_zero_point(b, &b_z, "b (b_zero_point)"));
    const Shape& ys = acc.shape();
    if (vector_params) {
      check_broadcast(asv.shape(), ys, "a_scale");
      check_broadcast(b_s.shape(), ys, "b_scale");
    }
    // Every multiplier a_scale·b_scale/y_scale in float32, per (row of A, column of B) as broadcast to Y.
    const float ysv = yp.scale[0];
    const int32_t yz = yp.zero_point[0];
    const float* ap = asv.data<float>();
    const float* bp = b_s.data<float>();
    const std::vector<int64_t> sa =
        vector_params ? broadcast_strides(asv.shape(), ys) : std::vector<int64_t>(ys.size(), 0);
    const std::vector<int64_t> sb =
        vector_params ? broadcast_strides(b_s.shape(), ys) : std::vector<int64_t>(ys.size(), 0);
    Tensor y(y_z.dtype(), ys);
    dispatch_8bit(y_z.dtype(), "y_zero_point", [&](auto tag) {
      using Q = decltype(tag);
      Q* yd = y.data<Q>();
      auto requant = [&](auto acc_tag) {
        using A = decltype(acc_tag);
        const A* c = acc.data<A>();
        for_each_broadcast<2>(ys, {sa, sb}, [&](int64_t i, int64_t ia, int64_t ib) {
          const float m = ap[ia] * bp[ib] / ysv;
          const double r = std::nearbyint(static_cast<double>(c[i]) * static_cast<double>(m));
          yd[i] = saturate<Q>(r + yz, static_cast<Q>(yz));
        });
      };
      if (acc.dtype() == DType::Int32)
        requant(int32_t{});
      else
        requant(int64_t{});
    });
    out[0] = std::move(y);
  }

 private:
  // A scale and its zero point: the same shape (per tensor, or per row / column broadcastable to the
  // operand), float32 scales, the zero point of the operand's type.
  static void check_pair(const Tensor& s, const Tensor& z, const Tensor& x, const std::string& sn,
                         const std::string& zn) {
    if (s.dtype() != DType::Float32)
      throw UnsupportedError(sn + " is " + dtype_name(s.dtype()) + "; only float32 is supported");
    if (s.shape() != z.shape())
      throw Error(zn + " has shape " + shape_str(z.shape()) + " but " + sn + " has shape " +
                  shape_str(s.shape()) + "; they must be equal");
    if (z.dtype() != x.dtype())
      throw Error(zn + " is " + dtype_name(z.dtype()) + " but its tensor is " + dtype_name(x.dtype()));
    for (float v : s.to_vector<float>())
      if (!std::isfinite(v)) throw Error(sn + " holds a non-finite value " + std::to_string(v));
  }

  // A per-row / per-column scale must broadcast to the output Y (extent 1 along the other matrix axis).
  static void check_broadcast(const Shape& s, const Shape& y, const std::string& sn) {
    bool ok = s.size() <= y.size();
    for (size_t i = 0; ok && i < s.size(); ++i) {
      const int64_t d = s[s.size() - 1 - i];
      ok = d == 1 || d == y[y.size() - 1 - i];
    }
    if (!ok)
      throw Error(sn + " of shape " + shape_str(s) + " does not broadcast to the output shape " +
                  shape_str(y) + " (per row of a: [M] or [..., M, 1]; per column of b: [N] or [..., 1, N])");
  }

  IntMatMul mm_;
};

std::unique_ptr<Kernel> make_qlinear_matmul(const KernelInit& init) {
  const Node& n = init.node;
  if (n.num_inputs() != 8)
    init.invalid(
        "expects 8 inputs (a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point); got " +
        std::to_string(n.num_inputs()));
  for (size_t i = 0; i < 8; ++i)
    if (!n.has_input(i)) init.invalid("input " + std::to_string(i) + " is omitted; every input is required");
  if (n.outputs.size() != 1) init.invalid("expects 1 output, got " + std::to_string(n.outputs.size()));
  return std::make_unique<QLinearMatMulKernel>(init);
}

}  // namespace

void register_qlinear_matmul_ops(OpRegistry& r) {
  // MatMulInteger has one version (10); QLinearMatMul 10, then 21 adds float8 types (not implemented).
  r.add("", "MatMulInteger", 10, 21, make_matmul_integer);
  r.add("", "QLinearMatMul", 10, 20, make_qlinear_matmul);
}

}  // namespace qs::quantized
