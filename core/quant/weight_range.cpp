#include "core/quant/weight_range.h"

#include <algorithm>
#include <cmath>

#include "core/common/error.h"
#include "core/common/parallel.h"

namespace qs {

namespace {

// Calls f(value) for every element of channel c, in element order.
template <typename F>
void for_channel(const float* w, const ChannelLayout& l, int64_t c, F&& f) {
  for (int64_t o = 0; o < l.outer; ++o) {
    const float* p = w + (o * l.channels + c) * l.inner;
    for (int64_t i = 0; i < l.inner; ++i) f(p[i]);
  }
}

ChannelLayout checked_layout(const Tensor& w, int axis, const char* who) {
  if (w.dtype() != DType::Float32) throw Error(std::string(who) + ": needs a float32 weight, got " + w.str());
  if (w.numel() == 0) throw Error(std::string(who) + ": empty weight " + w.str());
  if (axis < -1 || axis >= w.rank())
    throw Error(std::string(who) + ": channel axis " + std::to_string(axis) + " for weight " + w.str());
  return channel_layout(w.shape(), axis);
}

// ‖w_c − FQ(w_c)‖², row by row (rows are the contiguous inner runs of the channel). Eight fixed partial
// sums let the compiler vectorize without reassociating; the same function serves the search and
// weight_quant_sq_error, so both report identical numbers. FQ is fake_quantize_value, written branch-free.
double channel_sq_error(const float* w, const ChannelLayout& l, int64_t c, float s, int32_t zp, int32_t qmin,
                        int32_t qmax) {
  const float z = static_cast<float>(zp), lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
  auto sq = [&](float x) {
    float v = std::rint(x / s);
    v = std::isnan(v) ? 0.0f : v;
    v = std::min(std::max(v + z, lo), hi);
    const double d = static_cast<double>(x) - static_cast<double>((v - z) * s);
    return d * d;
  };
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t o = 0; o < l.outer; ++o) {
    const float* p = w + (o * l.channels + c) * l.inner;
    int64_t i = 0;
    for (; i + 8 <= l.inner; i += 8)
      for (int j = 0; j < 8; ++j) acc[j] += sq(p[i + j]);
    for (; i < l.inner; ++i) acc[0] += sq(p[i]);
  }
  double sum = 0.0;
  for (double a : acc) sum += a;
  return sum;
}

}  // namespace

ChannelRanges weight_minmax(const Tensor& w, int axis) {
  const ChannelLayout l = checked_layout(w, axis, "weight range");
  const float* x = w.data<float>();
  ChannelRanges r;
  r.lo.assign(static_cast<size_t>(l.channels), 0.0f);
  r.hi.assign(static_cast<size_t>(l.channels), 0.0f);
  std::vector<char> finite(static_cast<size_t>(l.channels), 1);
  parallel_for(
      0, l.channels,
      [&](int64_t c) {
        float lo = INFINITY, hi = -INFINITY;
        bool ok = true;
        for_channel(x, l, c, [&](float v) {
          ok = ok && std::isfinite(v);
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        });
        r.lo[static_cast<size_t>(c)] = lo;
        r.hi[static_cast<size_t>(c)] = hi;
        finite[static_cast<size_t>(c)] = ok;
      },
      l.outer * l.inner);
  for (size_t c = 0; c < finite.size(); ++c)
    if (!finite[c])
      throw Error("weight range: channel " + std::to_string(c) + " of " + w.str() + " is not finite");
  return r;
}

ChannelRanges weight_mse_range(const Tensor& w, const QuantSpec& spec, const WeightMseOptions& options) {
  validate_spec(spec);
  if (options.steps < 1) throw Error("weight mse range: steps " + std::to_string(options.steps) + " < 1");
  if (!(options.min_shrink > 0.0f && options.min_shrink <= 1.0f))
    throw Error("weight mse range: min_shrink " + std::to_string(options.min_shrink) + " is outside (0, 1]");
  ChannelRanges r = weight_minmax(w, spec.axis);
  const ChannelLayout l = channel_layout(w.shape(), spec.axis);
  const float* x = w.data<float>();
  QuantSpec one = spec;  // per-candidate parameters are one channel's
  one.axis = -1;
  const int steps = options.steps;
  auto alpha = [&](int k) {
    return steps == 1 ? 1.0f : 1.0f - (1.0f - options.min_shrink) * static_cast<float>(k) / (steps - 1);
  };
  // err[c * steps + k]: channel c at shrink alpha(k). Ranges are finite with lo <= hi, so
  // params_from_range cannot throw here.
  std::vector<double> err(static_cast<size_t>(l.channels * steps));
  parallel_for(
      0, l.channels * steps,
      [&](int64_t ck) {
        const size_t c = static_cast<size_t>(ck / steps);
        const float a = alpha(static_cast<int>(ck % steps));
        const QuantParams p = params_from_range(one, {a * r.lo[c]}, {a * r.hi[c]});
        err[static_cast<size_t>(ck)] =
            channel_sq_error(x, l, static_cast<int64_t>(c), p.scale[0], p.zero_point[0], p.qmin, p.qmax);
      },
      l.outer * l.inner);
  for (int64_t c = 0; c < l.channels; ++c) {
    const double* e = err.data() + c * steps;
    const int best = static_cast<int>(std::min_element(e, e + steps) - e);  // first minimum: largest α
    const size_t cc = static_cast<size_t>(c);
    r.lo[cc] *= alpha(best);
    r.hi[cc] *= alpha(best);
  }
  return r;
}

const std::vector<std::string>& weight_range_methods() {
  static const std::vector<std::string> kMethods = {"minmax", "mse"};
  return kMethods;
}

ChannelRanges weight_range(const Tensor& w, const QuantSpec& spec, const std::string& method) {
  if (method == "minmax") {
    validate_spec(spec);
    return weight_minmax(w, spec.axis);
  }
  if (method == "mse") return weight_mse_range(w, spec);
  throw Error("unknown weight range method '" + method + "' (valid: minmax, mse)");
}

std::vector<double> weight_quant_sq_error(const Tensor& w, const QuantParams& p) {
  const ChannelLayout l = checked_layout(w, p.axis, "weight error");
  validate_params(p, w.shape());
  std::vector<double> err(static_cast<size_t>(l.channels));
  const float* x = w.data<float>();
  parallel_for(
      0, l.channels,
      [&](int64_t c) {
        const size_t cc = static_cast<size_t>(c);
        err[cc] = channel_sq_error(x, l, c, p.scale[cc], p.zero_point[cc], p.qmin, p.qmax);
      },
      l.outer * l.inner);
  return err;
}

}  // namespace qs
