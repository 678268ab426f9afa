// Uniform affine quantization: the arithmetic every other part of QuantScope (plans, simulation, the
// integer engine, exports) relies on. The conventions are stated here, once.
//
// Integer ranges (QuantSpec → [qmin, qmax]), for b = bits in 2..16:
//   signed symmetric    [-(2^(b-1)-1), 2^(b-1)-1]  narrow range, zero point 0 (TFLite weight convention;
//                                                  int8 → [-127, 127], so -x quantizes to -q exactly)
//   signed asymmetric   [-2^(b-1), 2^(b-1)-1]      zero point from the range
//   unsigned asymmetric [0, 2^b-1]                 zero point from the range
//   unsigned symmetric  [0, 2^b-1]                 zero point 2^(b-1) (uint8 → 128)
//
// Scale and zero point from a float range [lo, hi] (params_from_range):
//   asymmetric: the range is first extended to contain 0 (lo = min(lo, 0), hi = max(hi, 0)) so that 0 is
//               exactly representable (zero padding, ReLU); scale = (hi - lo) / (qmax - qmin);
//               zero_point = clamp(round_half_even(qmin - lo / scale), qmin, qmax).
//   symmetric:  scale = max(|lo|, |hi|) / (qmax - zero_point), i.e. divided by the positive extent
//               2^(b-1)-1 for both signed and unsigned symmetric.
//   A zero range (all values 0, or a scale below FLT_MIN) gives scale 1 — as ONNX Runtime's quantization
//   tool does — so 0 maps exactly to the zero point and no division by zero can occur; values never seen
//   in calibration are then quantized with a unit step.
//
// Rounding (as ONNX QuantizeLinear and ONNX Runtime): q = clamp(round_half_even(x / scale) + zp, qmin, qmax),
// a float division, round half to even (2.5 → 2, 3.5 → 4, -2.5 → -2), the zero point added after rounding.
// Round half to even uses the FPU's default rounding mode (std::rint); the engine never changes it.
// NaN quantizes to the zero point (so it dequantizes to 0); ±inf saturates.
// Dequantization: x' = (q - zp) * scale. Fake quantization is dequantize(quantize(x)) in float.
//
// Per-channel parameters hold one scale/zero point per index of `axis`; per-tensor parameters hold one
// entry and axis = -1.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/tensor/tensor.h"

namespace qs {

struct QuantSpec {
  int bits = 8;           // 2..16
  bool symmetric = true;  // zero point fixed (0 signed, 2^(bits-1) unsigned)
  bool is_signed = true;
  int axis = -1;  // -1: per tensor; otherwise the channel axis (>= 0)
};

struct QuantParams {
  std::vector<float> scale;         // > 0, one per channel (or one)
  std::vector<int32_t> zero_point;  // in [qmin, qmax], same length as scale
  int axis = -1;                    // -1: per tensor
  int32_t qmin = 0;
  int32_t qmax = 0;

  int64_t channels() const { return static_cast<int64_t>(scale.size()); }
};

// Throws Error when bits is outside 2..16 or axis < -1.
void validate_spec(const QuantSpec& spec);
// The integer range of `spec` (see the table above).
int32_t spec_qmin(const QuantSpec& spec);
int32_t spec_qmax(const QuantSpec& spec);
// Zero point of a symmetric spec: 0 when signed, 2^(bits-1) when unsigned.
int32_t symmetric_zero_point(const QuantSpec& spec);

// Scale and zero point for each channel's [lo[c], hi[c]]. Per tensor (spec.axis == -1) takes exactly one
// range. Throws Error when the sizes differ, a bound is NaN/inf, or lo > hi.
QuantParams params_from_range(const QuantSpec& spec, const std::vector<float>& lo,
                              const std::vector<float>& hi);

// Checks that `p` is usable (positive finite scales, zero points within [qmin, qmax], sizes agree, a
// per-tensor entry count of 1) and, when `shape` is given, that the channel axis matches it.
void validate_params(const QuantParams& p);
void validate_params(const QuantParams& p, const Shape& shape);

// One value (inline: used in hot loops of the observers and weight searches).
inline int32_t quantize_value(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  float v = std::rint(x / scale);
  if (std::isnan(v)) return zp;
  v += static_cast<float>(zp);
  v = v < static_cast<float>(qmin) ? static_cast<float>(qmin) : v;
  v = v > static_cast<float>(qmax) ? static_cast<float>(qmax) : v;
  return static_cast<int32_t>(v);
}
inline float dequantize_value(int32_t q, float scale, int32_t zp) {
  return static_cast<float>(q - zp) * scale;
}
inline float fake_quantize_value(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  return dequantize_value(quantize_value(x, scale, zp, qmin, qmax), scale, zp);
}

// A float32 tensor viewed as [outer, channels, inner] around `axis` (-1: one channel of all elements).
struct ChannelLayout {
  int64_t outer = 1;
  int64_t channels = 1;
  int64_t inner = 1;
};
ChannelLayout channel_layout(const Shape& shape, int axis);

// Fake quantization of a float32 tensor, per tensor or per channel along p.axis (any rank). The in-place
// version writes into `t`'s buffer: call it only on a tensor nobody else shares (see tensor.h).
void fake_quantize_inplace(Tensor& t, const QuantParams& p);
Tensor fake_quantize(const Tensor& t, const QuantParams& p);

// The smallest of Int8, UInt8, Int16, UInt16, Int32 holding [p.qmin, p.qmax].
DType storage_dtype(const QuantParams& p);
// Quantizes float32 `t` into `out` (Int8, UInt8, Int16, UInt16 or Int32); throws Error when [qmin, qmax]
// does not fit `out`.
Tensor quantize(const Tensor& t, const QuantParams& p, DType out);
inline Tensor quantize(const Tensor& t, const QuantParams& p) { return quantize(t, p, storage_dtype(p)); }
// Integer tensor (any of the types above) back to float32.
Tensor dequantize(const Tensor& q, const QuantParams& p);

// The float value of every integer level of `channel`, ascending: (q - zp) * scale for q = qmin..qmax.
std::vector<float> quant_grid(const QuantParams& p, int64_t channel = 0);

}  // namespace qs
