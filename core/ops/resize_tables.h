// Per-axis sampling tables of Resize/Upsample: for every output index along one axis, which input
// index (nearest) or which two input indices and weight (linear) it reads. Arithmetic is in float, as in
// ONNX Runtime, so that rounding ties (nearest modes) resolve the same way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qs {

enum class CoordMode { HalfPixel, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNearest };
// Simple: the rule of Resize-10 and Upsample (no nearest_mode attribute): ceil when the axis is
// downsampled (scale < 1), truncation otherwise — ONNX Runtime's behaviour.
enum class NearestMode { Simple, RoundPreferFloor, RoundPreferCeil, Floor, Ceil };

// Parses attribute values; return false for unknown names.
bool parse_coord_mode(const std::string& s, CoordMode& m);
bool parse_nearest_mode(const std::string& s, NearestMode& m);

// One resized axis. `length` is the spec's length_resized (scale = length_resized / length_original):
// in * scale when scales are given — not necessarily an integer, as in ONNX's reference implementation
// (ONNX Runtime uses the integer output extent instead, which differs for align_corners and
// pytorch_half_pixel when in * scale is fractional) — and the output extent when sizes are given.
struct AxisScale {
  int64_t in = 0, out = 0;  // extents
  float scale = 1;          // the given scale, or out / in when sizes were given
  float length = 0;
};

// x_original for output index `x`.
float original_coordinate(CoordMode mode, int64_t x, const AxisScale& a);

// Input index of every output index, clamped to [0, in - 1].
std::vector<int64_t> nearest_table(CoordMode cm, NearestMode nm, const AxisScale& a);

// Linear interpolation along one axis: y[o] = x[i0[o]] + w[o] * (x[i1[o]] - x[i0[o]]), the original
// coordinate clamped to [0, in - 1] (edge values outside, as ONNX's reference and ONNX Runtime).
struct LinearTable {
  std::vector<int64_t> i0, i1;
  std::vector<float> w;
  bool identity = false;  // out == in and every output reads exactly its own index
};
LinearTable linear_table(CoordMode cm, const AxisScale& a);

}  // namespace qs
