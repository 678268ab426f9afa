#include "core/quant/histogram.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/common/error.h"
#include "core/common/parallel.h"

namespace qs {

namespace {

// Values per parallel chunk below which one thread does the work.
constexpr int64_t kChunk = 65536;

int64_t chunk_count(int64_t n) { return std::clamp<int64_t>(n / kChunk, 1, num_threads()); }

// Tolerance, in bins, for values that round-off places just outside the range: they go to the edge bin
// instead of triggering a growth.
constexpr double kEdgeSlack = 1e-6;

}  // namespace

Histogram::Histogram(int num_bins) {
  if (num_bins < 2) throw Error("histogram: " + std::to_string(num_bins) + " bins (need at least 2)");
  counts_.assign(static_cast<size_t>(num_bins), 0);
}

void Histogram::add(std::span<const float> values, bool absolute) {
  const int64_t n = static_cast<int64_t>(values.size());
  if (n == 0) return;
  const float* x = values.data();
  const int64_t chunks = chunk_count(n);
  const int64_t per = (n + chunks - 1) / chunks;

  // Pass 1: extremes and finiteness (every chunk reports its first bad index; the smallest is reported).
  std::vector<float> cmin(static_cast<size_t>(chunks)), cmax(static_cast<size_t>(chunks));
  std::vector<int64_t> bad(static_cast<size_t>(chunks), -1);
  parallel_for(
      0, chunks,
      [&](int64_t c) {
        float lo = INFINITY, hi = -INFINITY;
        for (int64_t i = c * per, e = std::min(n, (c + 1) * per); i < e; ++i) {
          const float v = absolute ? std::fabs(x[i]) : x[i];
          if (!std::isfinite(v)) {
            bad[static_cast<size_t>(c)] = i;
            break;
          }
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
        cmin[static_cast<size_t>(c)] = lo;
        cmax[static_cast<size_t>(c)] = hi;
      },
      per);
  for (int64_t b : bad)
    if (b >= 0)
      throw Error("histogram: value " + std::to_string(x[b]) + " at index " + std::to_string(b) +
                  " is not finite");
  const float bmin = *std::min_element(cmin.begin(), cmin.end());
  const float bmax = *std::max_element(cmax.begin(), cmax.end());
  min_ = total_ == 0 ? bmin : std::min(min_, bmin);
  max_ = total_ == 0 ? bmax : std::max(max_, bmax);

  const int N = num_bins();
  const double new_min = std::min(0.0, static_cast<double>(bmin));
  const double new_max = std::max(0.0, static_cast<double>(bmax));
  if (width_ == 0.0) {
    if (new_max == new_min) {  // still only zeros
      total_ += static_cast<uint64_t>(n);
      return;
    }
    lo_ = new_min;
    width_ = (new_max - new_min) / N;
    if (total_ > 0) {  // the zeros counted so far
      const double t = std::floor((0.0 - lo_) / width_);
      counts_[static_cast<size_t>(std::clamp(t, 0.0, N - 1.0))] += total_;
    }
  } else if ((new_min - lo_) / width_ < -kEdgeSlack || (new_max - lo_) / width_ > N + kEdgeSlack) {
    grow(std::min(new_min, lo_), std::max(new_max, hi()));
  }

  // Pass 2: per-chunk counts, merged in chunk order.
  std::vector<std::vector<uint64_t>> local(static_cast<size_t>(chunks));
  const double lo = lo_, inv_w = 1.0 / width_;
  parallel_for(
      0, chunks,
      [&](int64_t c) {
        std::vector<uint64_t>& h = local[static_cast<size_t>(c)];
        h.assign(static_cast<size_t>(N), 0);
        for (int64_t i = c * per, e = std::min(n, (c + 1) * per); i < e; ++i) {
          const double v = absolute ? std::fabs(x[i]) : x[i];
          const double t = std::floor((v - lo) * inv_w);
          ++h[static_cast<size_t>(std::clamp(t, 0.0, N - 1.0))];
        }
      },
      per);
  for (const auto& h : local)
    for (int i = 0; i < N; ++i) counts_[static_cast<size_t>(i)] += h[static_cast<size_t>(i)];
  total_ += static_cast<uint64_t>(n);
}

void Histogram::grow(double new_min, double new_max) {
  const int N = num_bins();
  const double w = width_;
  // Finds the smallest j >= 0 such that new bins of width k·w starting at lo - j·k·w cover
  // [new_min, new_max] and every old bin still maps to a bin < N.
  auto offset_for = [&](double k, double* j) {
    const double kw = k * w;
    const double jmin = std::max(0.0, std::ceil((lo_ - new_min) / kw - 1e-9));
    double jmax = std::floor((lo_ + N * kw - new_max) / kw + 1e-9);
    jmax = std::min(jmax, N - 1 - std::floor((N - 1) / k));
    *j = jmin;
    return jmin <= jmax;
  };
  const double span = new_max - new_min;
  const double k0 = std::max(1.0, std::ceil(span / (N * w) - 1e-9));
  double k = k0, j = 0;
  // The smallest k covering the span may fail only through the alignment of lo; a couple more always
  // succeed unless k is beyond double's integer precision, where k >= span / ((N - 2) w) is the fallback
  // that provably leaves room for an aligned offset.
  bool ok = offset_for(k, &j);
  for (int a = 1; !ok && a <= 2; ++a) ok = offset_for(k = k0 + a, &j);
  if (!ok) ok = offset_for(k = std::ceil(span / ((N - 2) * w)) + 1.0, &j);
  if (!ok)
    throw Error("histogram: cannot grow the range to [" + std::to_string(new_min) + ", " +
                std::to_string(new_max) + "]");

  std::vector<uint64_t> merged(static_cast<size_t>(N), 0);
  for (int i = 0; i < N; ++i) {
    const double t = j + std::floor(i / k);
    merged[static_cast<size_t>(std::clamp(t, 0.0, N - 1.0))] += counts_[static_cast<size_t>(i)];
  }
  counts_ = std::move(merged);
  lo_ -= j * k * w;
  width_ = k * w;
}

double Histogram::percentile(double p) const {
  if (empty()) throw Error("histogram: percentile of an empty histogram");
  if (!(p >= 0.0 && p <= 100.0))
    throw Error("histogram: percentile " + std::to_string(p) + " is outside [0, 100]");
  if (width_ == 0.0) return 0.0;
  const double target = p / 100.0 * static_cast<double>(total_);
  double cum = 0.0;
  for (int i = 0; i < num_bins(); ++i) {
    const double c = static_cast<double>(counts_[static_cast<size_t>(i)]);
    if (c > 0.0 && cum + c >= target) {
      const double v = bin_lo(i) + (target - cum) / c * width_;
      return std::clamp(v, static_cast<double>(min_), static_cast<double>(max_));
    }
    cum += c;
  }
  return max_;
}

}  // namespace qs
