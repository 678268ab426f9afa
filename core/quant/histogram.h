// A streaming histogram with a fixed number of bins over a range that grows as data arrives, for the
// calibration observers (percentile, MSE, KL). Memory is independent of how much data is added.
//
// Invariants:
// - The range [lo, hi) always contains 0 (quantization ranges always do, see quantizer.h), so the first
//   batch sets [min(0, min x), max(0, max x)] and all bins have the same width (hi - lo) / num_bins.
// - Growth is exact: when a batch falls outside, the new bin width is an integer multiple k of the old one
//   (the smallest k that works) and the old lower edge lies on a new bin edge, j new bins above the new lower
//   edge (the smallest such j, so lo stays put when data only grows upward). Each old bin then lies entirely
//   inside one new bin and its count moves there: counts are conserved exactly, no data is re-read.
// - Until a non-zero value arrives the range is empty (width 0) and the zeros are only counted.
// - Values are binned by floor((x - lo) / width), clamped to the edge bins (which absorbs round-off at hi).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace qs {

class Histogram {
 public:
  static constexpr int kDefaultBins = 2048;

  explicit Histogram(int num_bins = kDefaultBins);

  // Adds `values` (their absolute values when `absolute`). Throws Error on NaN or inf, naming the index.
  void add(std::span<const float> values, bool absolute = false);

  int num_bins() const { return static_cast<int>(counts_.size()); }
  const std::vector<uint64_t>& bins() const { return counts_; }
  double lo() const { return lo_; }
  double hi() const { return lo_ + width_ * num_bins(); }
  double bin_width() const { return width_; }  // 0 while every value seen is 0
  double bin_lo(int i) const { return lo_ + width_ * i; }
  double bin_center(int i) const { return lo_ + width_ * (i + 0.5); }
  uint64_t total() const { return total_; }
  bool empty() const { return total_ == 0; }
  // Exact extremes of the values added (0 when empty).
  float min() const { return min_; }
  float max() const { return max_; }

  // The value below which p percent (0..100) of the mass lies, linear within a bin (values are taken as
  // uniform inside their bin) and clamped to [min, max]. Throws Error when empty or p is outside [0, 100].
  double percentile(double p) const;

 private:
  void grow(double new_min, double new_max);

  std::vector<uint64_t> counts_;
  double lo_ = 0.0;
  double width_ = 0.0;
  uint64_t total_ = 0;
  float min_ = 0.0f;
  float max_ = 0.0f;
};

}  // namespace qs
