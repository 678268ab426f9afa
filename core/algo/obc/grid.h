// The quantization grid of a weight matrix's rows (layer.h), taken from the plan: each row r (an output
// channel) has one scale and zero point (per-tensor plans share one), and the integer range of the spec.
// Rounding is exactly quantizer.h's fake_quantize_value: clamp(rint(w / scale) + zp, qmin, qmax).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "core/quant/quantizer.h"

namespace qs::obc {

struct RowGrid {
  QuantSpec spec;                   // bits, symmetric, signed (for per-group grids)
  std::vector<float> scale;         // one per row, or one for all rows
  std::vector<int32_t> zero_point;  // same length as scale
  int32_t qmin = 0, qmax = 0;

  // From plan parameters: per channel (channels == rows) or per tensor. Throws Error otherwise.
  static RowGrid from_params(const QuantSpec& spec, const QuantParams& p, int64_t rows);
  // The grid of rows [row0, row0 + n) (a per-tensor grid is returned as is).
  RowGrid slice(int64_t row0, int64_t n) const;

  float row_scale(int64_t r) const { return scale[scale.size() == 1 ? 0 : static_cast<size_t>(r)]; }
  int32_t row_zero_point(int64_t r) const {
    return zero_point[zero_point.size() == 1 ? 0 : static_cast<size_t>(r)];
  }
  float quantize(float w, int64_t r) const {
    return fake_quantize_value(w, row_scale(r), row_zero_point(r), qmin, qmax);
  }
};

// Round-to-nearest of every row of `w` (rows × cols, either storage order) on `grid`, in place.
template <typename Derived>
void round_to_grid(Eigen::MatrixBase<Derived>& w, const RowGrid& grid) {
  for (Eigen::Index r = 0; r < w.rows(); ++r)
    for (Eigen::Index c = 0; c < w.cols(); ++c) w(r, c) = grid.quantize(w(r, c), r);
}

// Vectorized fake quantization with one scale / zero point, identical to fake_quantize_value element by
// element (float division, rint = round half to even, zero point added after rounding, clamp).
template <typename ArrayIn>
auto fake_quantize_array(const ArrayIn& w, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  const float z = static_cast<float>(zp);
  return (((w / scale).rint() + z).max(static_cast<float>(qmin)).min(static_cast<float>(qmax)) - z) * scale;
}

}  // namespace qs::obc
