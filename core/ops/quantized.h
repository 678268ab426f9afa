// Shared pieces of the float runtime's quantized ops (core/ops/quantize_linear.cpp, qlinear_matmul.cpp,
// qlinear_conv.cpp): ONNX's rounding and saturation, scale / zero-point operands, and zero-point shifts.
//
// Conventions, stated once (ONNX opsets 10-18, the 8-bit types):
// - Rounding is half to even: std::nearbyint in the default rounding mode, which the engine never changes.
// - Saturation clamps to the whole range of the output type (uint8 [0, 255], int8 [-128, 127]).
// - A NaN that reaches a quantized output becomes the zero point (as core/quant's quantize_value does):
//   ONNX leaves it undefined and a cast of NaN to an integer is undefined behaviour in C++.
// - Integer accumulations (MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv) are exact. Shifted
//   8-bit operands lie in [-255, 255], so a sum of K products stays within int32 when K·255·max|w'| does;
//   the kernels check that bound and otherwise accumulate in int64. MatMulInteger/ConvInteger then return
//   the low 32 bits, i.e. what 32-bit accumulators wrapping on overflow give (ONNX: "accumulation may
//   overflow if and only if in 32 bits").
// - QLinearMatMul/QLinearConv requantize as ONNX's reference does: the multiplier a_scale·b_scale/y_scale
//   is computed in float32 (as ONNX Runtime does too), the product with the exact accumulator in double,
//   then rounded half to even, shifted by y_zero_point and saturated.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/ops/kernel.h"

namespace qs::quantized {

// v (an integral-valued double or ±inf) clamped to T's range; NaN gives `nan_value`.
template <typename T>
inline T saturate(double v, T nan_value) {
  constexpr double lo = static_cast<double>(std::numeric_limits<T>::min());
  constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());
  if (std::isnan(v)) return nan_value;
  return v <= lo   ? std::numeric_limits<T>::min()
         : v >= hi ? std::numeric_limits<T>::max()
                   : static_cast<T>(v);
}

// The 8-bit element types the quantized ops take for quantized tensors.
inline bool is_8bit(DType t) { return t == DType::UInt8 || t == DType::Int8; }

// Calls f(T{}) for T = uint8_t or int8_t; throws UnsupportedError naming `what` for other types.
template <typename F>
decltype(auto) dispatch_8bit(DType t, const std::string& what, F&& f) {
  if (t == DType::UInt8) return f(uint8_t{});
  if (t == DType::Int8) return f(int8_t{});
  throw UnsupportedError(what + " is " + dtype_name(t) + "; only uint8 and int8 are supported");
}

// A scale operand and its zero point, per tensor (one value) or per channel.
struct ScaleZeroPoint {
  std::vector<float> scale;
  std::vector<int32_t> zero_point;  // same length as scale; zeros when the zero point is omitted
  size_t size() const { return scale.size(); }
  float s(int64_t c) const { return scale[scale.size() == 1 ? 0 : static_cast<size_t>(c)]; }
  int32_t z(int64_t c) const { return zero_point[zero_point.size() == 1 ? 0 : static_cast<size_t>(c)]; }
};

// Reads `scale` (float32) and `zp` (nullptr when omitted; of type `zp_type` unless that is Undefined), as
// named in messages by `sname` / `zname`. Per tensor when the scale holds one value in rank 0 or 1; a 1-D
// scale of `channels` values is per channel when channels >= 0 (channels < 0 allows per tensor only).
// The zero point must have the scale's shape. Throws Error describing the mismatch.
ScaleZeroPoint read_scale_zero_point(const Tensor& scale, const Tensor* zp, const std::string& sname,
                                     const std::string& zname, int64_t channels,
                                     DType zp_type = DType::Undefined);

// A scale that divides (QuantizeLinear's y_scale, QLinearConv's and QLinearMatMul's y_scale) must be
// positive and finite; throws Error naming `sname` otherwise.
void check_positive(const ScaleZeroPoint& p, const std::string& sname);

// q - zp as int32 for an 8-bit tensor `q` (zp broadcast to q's shape by numpy rules, or a scalar / 1-element
// zero point; nullptr means 0). Throws Error naming `what` when zp does not broadcast to q unidirectionally
// or has another type than q.
Tensor shift_by_zero_point(const Tensor& q, const Tensor* zp, const std::string& what);

// Registration of the groups (called by register_quantized_ops, core/ops/quantize_linear.cpp).
void register_qlinear_matmul_ops(OpRegistry& r);  // MatMulInteger, QLinearMatMul
void register_qlinear_conv_ops(OpRegistry& r);    // ConvInteger, QLinearConv

}  // namespace qs::quantized
