#include "core/ops/resize_tables.h"

#include <algorithm>
#include <cmath>

namespace qs {

bool parse_coord_mode(const std::string& s, CoordMode& m) {
  if (s == "half_pixel") {
    m = CoordMode::HalfPixel;
  } else if (s == "pytorch_half_pixel") {
    m = CoordMode::PytorchHalfPixel;
  } else if (s == "align_corners") {
    m = CoordMode::AlignCorners;
  } else if (s == "asymmetric") {
    m = CoordMode::Asymmetric;
  } else if (s == "tf_half_pixel_for_nn") {
    m = CoordMode::TfHalfPixelForNearest;
  } else {
    return false;
  }
  return true;
}

bool parse_nearest_mode(const std::string& s, NearestMode& m) {
  if (s == "round_prefer_floor") {
    m = NearestMode::RoundPreferFloor;
  } else if (s == "round_prefer_ceil") {
    m = NearestMode::RoundPreferCeil;
  } else if (s == "floor") {
    m = NearestMode::Floor;
  } else if (s == "ceil") {
    m = NearestMode::Ceil;
  } else {
    return false;
  }
  return true;
}

float original_coordinate(CoordMode mode, int64_t x, const AxisScale& a) {
  const float xf = static_cast<float>(x), scale = a.scale;
  switch (mode) {
    case CoordMode::HalfPixel:
      return (xf + 0.5f) / scale - 0.5f;
    case CoordMode::PytorchHalfPixel:
      return a.length > 1.f ? (xf + 0.5f) / scale - 0.5f : 0.f;
    case CoordMode::AlignCorners:
      return a.length == 1.f ? 0.f : xf * static_cast<float>(a.in - 1) / (a.length - 1.f);
    case CoordMode::Asymmetric:
      return xf / scale;
    case CoordMode::TfHalfPixelForNearest:
      return (xf + 0.5f) / scale;
  }
  return 0.f;
}

namespace {

int64_t round_nearest(NearestMode m, float x, bool downsample) {
  switch (m) {
    case NearestMode::Simple:
      return downsample ? static_cast<int64_t>(std::ceil(x)) : static_cast<int64_t>(x);
    case NearestMode::RoundPreferCeil:
      return static_cast<int64_t>(std::round(x));  // halves away from zero; negatives are clamped anyway
    case NearestMode::Floor:
      return static_cast<int64_t>(std::floor(x));
    case NearestMode::Ceil:
      return static_cast<int64_t>(std::ceil(x));
    case NearestMode::RoundPreferFloor:
      if (x == std::floor(x) + 0.5f) return static_cast<int64_t>(std::floor(x));
      return static_cast<int64_t>(std::round(x));
  }
  return 0;
}

}  // namespace

std::vector<int64_t> nearest_table(CoordMode cm, NearestMode nm, const AxisScale& a) {
  std::vector<int64_t> t(static_cast<size_t>(a.out));
  for (int64_t o = 0; o < a.out; ++o) {
    const float x = original_coordinate(cm, o, a);
    t[static_cast<size_t>(o)] = std::clamp<int64_t>(round_nearest(nm, x, a.scale < 1.f), 0, a.in - 1);
  }
  return t;
}

LinearTable linear_table(CoordMode cm, const AxisScale& a) {
  const int64_t in = a.in, out = a.out;
  LinearTable t;
  t.i0.resize(static_cast<size_t>(out));
  t.i1.resize(static_cast<size_t>(out));
  t.w.resize(static_cast<size_t>(out));
  t.identity = in == out;
  for (int64_t o = 0; o < out; ++o) {
    const size_t u = static_cast<size_t>(o);
    const float x = std::clamp(original_coordinate(cm, o, a), 0.f, static_cast<float>(in - 1));
    const int64_t i0 = std::min<int64_t>(static_cast<int64_t>(x), in - 1);
    t.i0[u] = i0;
    t.i1[u] = std::min<int64_t>(i0 + 1, in - 1);
    t.w[u] = x - static_cast<float>(i0);
    if (i0 != o || t.w[u] != 0.f) t.identity = false;
  }
  return t;
}

}  // namespace qs
