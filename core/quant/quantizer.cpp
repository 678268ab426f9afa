#include "core/quant/quantizer.h"

#include <algorithm>
#include <cfloat>
#include <string>

#include "core/common/cpu.h"
#include "core/common/error.h"
#include "core/common/parallel.h"

namespace qs {

namespace {

// Elements per parallel work item for per-tensor parameters.
constexpr int64_t kBlock = 16384;

std::string channel_str(size_t c) { return "channel " + std::to_string(c); }

// Calls f(begin, end, scale, zp) for every contiguous run of elements sharing parameters, in parallel.
template <typename F>
void for_each_run(const ChannelLayout& l, const QuantParams& p, F&& f) {
  const int64_t n = l.outer * l.channels * l.inner;
  if (p.axis < 0) {
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    parallel_for(
        0, blocks,
        [&](int64_t b) { f(b * kBlock, std::min(n, (b + 1) * kBlock), p.scale[0], p.zero_point[0]); },
        kBlock);
    return;
  }
  parallel_for(
      0, l.outer * l.channels,
      [&](int64_t r) {
        const size_t c = static_cast<size_t>(r % l.channels);
        f(r * l.inner, (r + 1) * l.inner, p.scale[c], p.zero_point[c]);
      },
      std::max<int64_t>(l.inner, 1));
}

// fake_quantize_value over a run, written so that GCC vectorizes it (rint → vroundps; the quiet isnan
// select and std::max/min become blends and vmaxps/vminps, where `<`-based selects would not). Equal to the
// scalar path: every intermediate is an integer-valued float below 2^24, so nothing rounds differently.
// The baseline x86-64 ISA has no vector rounding (SSE4.1), so the loop is also compiled for AVX2 and that
// copy is called after a run-time check.
inline void fake_quantize_body(float* x, int64_t n, float s, int32_t zp, int32_t qmin, int32_t qmax) {
  const float z = static_cast<float>(zp), lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
  for (int64_t i = 0; i < n; ++i) {
    float v = std::rint(x[i] / s);
    v = std::isnan(v) ? 0.0f : v;  // NaN → the zero point
    v = std::min(std::max(v + z, lo), hi);
    x[i] = (v - z) * s;
  }
}
__attribute__((target("avx2"))) void fake_quantize_avx2(float* x, int64_t n, float s, int32_t zp,
                                                        int32_t qmin, int32_t qmax) {
  fake_quantize_body(x, n, s, zp, qmin, qmax);
}
void fake_quantize_run(float* x, int64_t n, float s, int32_t zp, int32_t qmin, int32_t qmax) {
  if (cpu_has_avx2())
    fake_quantize_avx2(x, n, s, zp, qmin, qmax);
  else
    fake_quantize_body(x, n, s, zp, qmin, qmax);
}

// quantize_value over a run into T, in the form fake_quantize_run explains (NaN → 0 + zp, which
// validate_params keeps inside [qmin, qmax], as quantize_value returns). Compiled twice: for the baseline ISA
// and, called after a run-time check, for AVX2, where rint becomes vroundps and the loop runs 8 values per
// step (the baseline has no vector rounding instruction, so there it is a libm call per value).
template <typename T>
inline void quantize_run_body(const float* x, T* y, int64_t n, float s, int32_t zp, int32_t qmin,
                              int32_t qmax) {
  const float z = static_cast<float>(zp), lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
  for (int64_t i = 0; i < n; ++i) {
    float v = std::rint(x[i] / s);
    v = std::isnan(v) ? 0.0f : v;
    v = std::min(std::max(v + z, lo), hi);
    y[i] = static_cast<T>(static_cast<int32_t>(v));
  }
}
template <typename T>
__attribute__((target("avx2"))) void quantize_run_avx2(const float* x, T* y, int64_t n, float s, int32_t zp,
                                                       int32_t qmin, int32_t qmax) {
  quantize_run_body(x, y, n, s, zp, qmin, qmax);
}
template <typename T>
void quantize_run(const float* x, T* y, int64_t n, float s, int32_t zp, int32_t qmin, int32_t qmax) {
  if (cpu_has_avx2())
    quantize_run_avx2(x, y, n, s, zp, qmin, qmax);
  else
    quantize_run_body(x, y, n, s, zp, qmin, qmax);
}

bool fits(DType t, int32_t qmin, int32_t qmax) {
  switch (t) {
    case DType::Int8:
      return qmin >= INT8_MIN && qmax <= INT8_MAX;
    case DType::UInt8:
      return qmin >= 0 && qmax <= UINT8_MAX;
    case DType::Int16:
      return qmin >= INT16_MIN && qmax <= INT16_MAX;
    case DType::UInt16:
      return qmin >= 0 && qmax <= UINT16_MAX;
    case DType::Int32:
      return true;
    default:
      return false;
  }
}

}  // namespace

void validate_spec(const QuantSpec& spec) {
  if (spec.bits < 2 || spec.bits > 16)
    throw Error("quantization: " + std::to_string(spec.bits) + " bits is outside the supported 2..16");
  if (spec.axis < -1)
    throw Error("quantization: axis " + std::to_string(spec.axis) +
                " (use -1 for per tensor or a channel axis >= 0)");
}

int32_t spec_qmin(const QuantSpec& spec) {
  validate_spec(spec);
  if (!spec.is_signed) return 0;
  const int32_t half = int32_t{1} << (spec.bits - 1);
  return spec.symmetric ? -(half - 1) : -half;
}

int32_t spec_qmax(const QuantSpec& spec) {
  validate_spec(spec);
  return spec.is_signed ? (int32_t{1} << (spec.bits - 1)) - 1 : (int32_t{1} << spec.bits) - 1;
}

int32_t symmetric_zero_point(const QuantSpec& spec) {
  validate_spec(spec);
  return spec.is_signed ? 0 : int32_t{1} << (spec.bits - 1);
}

QuantParams params_from_range(const QuantSpec& spec, const std::vector<float>& lo,
                              const std::vector<float>& hi) {
  validate_spec(spec);
  if (lo.size() != hi.size() || lo.empty())
    throw Error("quantization: " + std::to_string(lo.size()) + " lower and " + std::to_string(hi.size()) +
                " upper range bounds");
  if (spec.axis == -1 && lo.size() != 1)
    throw Error("quantization: per-tensor parameters need one range, got " + std::to_string(lo.size()));
  QuantParams p;
  p.axis = spec.axis;
  p.qmin = spec_qmin(spec);
  p.qmax = spec_qmax(spec);
  p.scale.resize(lo.size());
  p.zero_point.resize(lo.size());
  for (size_t c = 0; c < lo.size(); ++c) {
    if (!std::isfinite(lo[c]) || !std::isfinite(hi[c]))
      throw Error("quantization: " + channel_str(c) + " has a non-finite range [" + std::to_string(lo[c]) +
                  ", " + std::to_string(hi[c]) + "]");
    if (lo[c] > hi[c])
      throw Error("quantization: " + channel_str(c) + " has an empty range, lo " + std::to_string(lo[c]) +
                  " > hi " + std::to_string(hi[c]));
    const double l = std::min(0.0, static_cast<double>(lo[c]));
    const double h = std::max(0.0, static_cast<double>(hi[c]));
    if (spec.symmetric) {
      const int32_t zp = symmetric_zero_point(spec);
      float s = static_cast<float>(std::max(-l, h) / static_cast<double>(p.qmax - zp));
      if (!(s >= FLT_MIN)) s = 1.0f;
      p.scale[c] = s;
      p.zero_point[c] = zp;
    } else {
      float s = static_cast<float>((h - l) / static_cast<double>(p.qmax - p.qmin));
      if (!(s >= FLT_MIN)) s = 1.0f;
      // Rounded in float like the quantizer itself; the clamp only guards rounding at the ends.
      const float z = std::rint(static_cast<float>(p.qmin) - static_cast<float>(l) / s);
      p.scale[c] = s;
      p.zero_point[c] =
          static_cast<int32_t>(std::clamp(z, static_cast<float>(p.qmin), static_cast<float>(p.qmax)));
    }
  }
  return p;
}

void validate_params(const QuantParams& p) {
  if (p.scale.empty() || p.scale.size() != p.zero_point.size())
    throw Error("quantization parameters: " + std::to_string(p.scale.size()) + " scales and " +
                std::to_string(p.zero_point.size()) + " zero points");
  if (p.axis < -1) throw Error("quantization parameters: axis " + std::to_string(p.axis));
  if (p.axis == -1 && p.scale.size() != 1)
    throw Error("quantization parameters: per tensor but " + std::to_string(p.scale.size()) + " scales");
  if (p.qmin >= p.qmax)
    throw Error("quantization parameters: empty integer range [" + std::to_string(p.qmin) + ", " +
                std::to_string(p.qmax) + "]");
  for (size_t c = 0; c < p.scale.size(); ++c) {
    if (!(p.scale[c] > 0.0f) || !std::isfinite(p.scale[c]))
      throw Error("quantization parameters: " + channel_str(c) + " has scale " + std::to_string(p.scale[c]));
    if (p.zero_point[c] < p.qmin || p.zero_point[c] > p.qmax)
      throw Error("quantization parameters: " + channel_str(c) + " has zero point " +
                  std::to_string(p.zero_point[c]) + " outside [" + std::to_string(p.qmin) + ", " +
                  std::to_string(p.qmax) + "]");
  }
}

void validate_params(const QuantParams& p, const Shape& shape) {
  validate_params(p);
  if (p.axis < 0) return;
  if (p.axis >= static_cast<int>(shape.size()))
    throw Error("quantization parameters: channel axis " + std::to_string(p.axis) +
                " for a tensor of shape " + shape_str(shape));
  if (shape[static_cast<size_t>(p.axis)] != p.channels())
    throw Error("quantization parameters: " + std::to_string(p.channels()) + " channels for axis " +
                std::to_string(p.axis) + " of shape " + shape_str(shape));
}

ChannelLayout channel_layout(const Shape& shape, int axis) {
  ChannelLayout l;
  if (axis < 0) {
    l.inner = numel(shape);
    return l;
  }
  if (axis >= static_cast<int>(shape.size()))
    throw Error("quantization: channel axis " + std::to_string(axis) + " for shape " + shape_str(shape));
  for (int i = 0; i < axis; ++i) l.outer *= shape[static_cast<size_t>(i)];
  l.channels = shape[static_cast<size_t>(axis)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < shape.size(); ++i) l.inner *= shape[i];
  return l;
}

void fake_quantize_inplace(Tensor& t, const QuantParams& p) {
  if (t.dtype() != DType::Float32) throw Error("fake quantization needs float32, got " + t.str());
  validate_params(p, t.shape());
  float* x = t.data<float>();
  const int32_t qmin = p.qmin, qmax = p.qmax;
  for_each_run(channel_layout(t.shape(), p.axis), p, [&](int64_t b, int64_t e, float s, int32_t zp) {
    fake_quantize_run(x + b, e - b, s, zp, qmin, qmax);
  });
}

Tensor fake_quantize(const Tensor& t, const QuantParams& p) {
  Tensor out = t.clone();
  fake_quantize_inplace(out, p);
  return out;
}

DType storage_dtype(const QuantParams& p) {
  for (DType t : {DType::Int8, DType::UInt8, DType::Int16, DType::UInt16})
    if (fits(t, p.qmin, p.qmax)) return t;
  return DType::Int32;
}

Tensor quantize(const Tensor& t, const QuantParams& p, DType out) {
  if (t.dtype() != DType::Float32) throw Error("quantize needs float32, got " + t.str());
  validate_params(p, t.shape());
  if (!fits(out, p.qmin, p.qmax))
    throw Error("quantize: integer range [" + std::to_string(p.qmin) + ", " + std::to_string(p.qmax) +
                "] does not fit " + dtype_name(out));
  Tensor q(out, t.shape());
  const float* x = t.data<float>();
  const ChannelLayout l = channel_layout(t.shape(), p.axis);
  dispatch_dtype(out, [&](auto tag) {
    using T = decltype(tag);
    T* y = q.data<T>();
    for_each_run(l, p, [&](int64_t b, int64_t e, float s, int32_t zp) {
      quantize_run(x + b, y + b, e - b, s, zp, p.qmin, p.qmax);
    });
  });
  return q;
}

Tensor dequantize(const Tensor& q, const QuantParams& p) {
  if (!fits(q.dtype(), 0, 0))  // true exactly for the five integer storage types
    throw Error("dequantize needs an int8/uint8/int16/uint16/int32 tensor, got " + q.str());
  validate_params(p, q.shape());
  Tensor out(DType::Float32, q.shape());
  float* y = out.data<float>();
  const ChannelLayout l = channel_layout(q.shape(), p.axis);
  dispatch_dtype(q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = q.data<T>();
    for_each_run(l, p, [&](int64_t b, int64_t e, float s, int32_t zp) {
      for (int64_t i = b; i < e; ++i) y[i] = dequantize_value(static_cast<int32_t>(x[i]), s, zp);
    });
  });
  return out;
}

std::vector<float> quant_grid(const QuantParams& p, int64_t channel) {
  validate_params(p);
  if (channel < 0 || channel >= p.channels())
    throw Error("quantization grid: channel " + std::to_string(channel) + " of " +
                std::to_string(p.channels()));
  const size_t c = static_cast<size_t>(channel);
  std::vector<float> g;
  g.reserve(static_cast<size_t>(p.qmax - p.qmin + 1));
  for (int32_t q = p.qmin; q <= p.qmax; ++q) g.push_back(dequantize_value(q, p.scale[c], p.zero_point[c]));
  return g;
}

}  // namespace qs
