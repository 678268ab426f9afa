// Weight ranges, per output channel (axis >= 0; the caller knows the layer's channel axis, see
// quant_points.h) or per tensor (axis -1). The results go straight into params_from_range.
//
// Methods:
//   minmax  each channel's min and max.
//   mse     per channel, the shrink α of the min/max range [α·min, α·max] minimizing ‖w_c − FQ(w_c)‖² with
//           the real fake-quant function (exact: weights are small enough to evaluate directly). α runs
//           over `steps` values evenly from 1 down to `min_shrink`; α = 1 (min/max) is always a candidate
//           and wins ties, so the result is never worse than minmax.
#pragma once

#include <string>
#include <vector>

#include "core/quant/quantizer.h"
#include "core/tensor/tensor.h"

namespace qs {

struct ChannelRanges {
  std::vector<float> lo;  // one per channel (one for per tensor)
  std::vector<float> hi;
};

struct WeightMseOptions {
  int steps = 100;          // >= 1 candidates, from α = 1 down to min_shrink
  float min_shrink = 0.2f;  // in (0, 1]
};

// Throws Error for a non-float32 or empty weight, a bad axis, or a non-finite value.
ChannelRanges weight_minmax(const Tensor& w, int axis);
// Uses spec.axis as the channel axis.
ChannelRanges weight_mse_range(const Tensor& w, const QuantSpec& spec, const WeightMseOptions& options = {});
// "minmax" or "mse"; throws Error for other names, listing the valid ones.
ChannelRanges weight_range(const Tensor& w, const QuantSpec& spec, const std::string& method);
const std::vector<std::string>& weight_range_methods();

// ‖w_c − FQ(w_c)‖² per channel of p (accumulated in double, in element order).
std::vector<double> weight_quant_sq_error(const Tensor& w, const QuantParams& p);

}  // namespace qs
