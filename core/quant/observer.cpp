#include "core/quant/observer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/common/error.h"
#include "core/common/parallel.h"

namespace qs {

namespace {

// Min and max of a batch; throws Error naming the first non-finite value.
std::pair<float, float> batch_extremes(std::span<const float> v, const std::string& who) {
  float lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i]))
      throw Error("observer '" + who + "': value " + std::to_string(v[i]) + " at index " + std::to_string(i) +
                  " is not finite");
    lo = std::min(lo, v[i]);
    hi = std::max(hi, v[i]);
  }
  return {lo, hi};
}

// ---- Expected fake-quantization error of a histogram ------------------------------------------------

// Mass spread uniformly over [a, b] (a point when b - a is negligible).
struct MassSpan {
  double a, b, mass;
};

std::vector<MassSpan> mass_spans(const Histogram& h) {
  std::vector<MassSpan> s;
  const double mn = h.min(), mx = h.max();
  for (int i = 0; i < h.num_bins(); ++i) {
    const uint64_t c = h.bins()[static_cast<size_t>(i)];
    if (c == 0) continue;
    s.push_back(
        {std::clamp(h.bin_lo(i), mn, mx), std::clamp(h.bin_lo(i + 1), mn, mx), static_cast<double>(c)});
  }
  return s;
}

// ∫_u^v (y − q)² dy.
double cube_diff(double u, double v, double q) {
  const double a = u - q, b = v - q;
  return (b * b * b - a * a * a) / 3.0;
}

// ∫_u^v (y − clamp(round(y), qmin, qmax))² dy for u <= v, in quantized units y = x / s + zp. Cells are
// [k − ½, k + ½]; a full cell contributes exactly 1/12, the partial ones and the clipped tails in closed
// form.
double rounding_integral(double u, double v, double qmin, double qmax) {
  double r = 0.0;
  const double lo_edge = qmin + 0.5, hi_edge = qmax - 0.5;
  if (u < lo_edge) r += cube_diff(u, std::min(v, lo_edge), qmin);
  if (v > hi_edge) r += cube_diff(std::max(u, hi_edge), v, qmax);
  const double mu = std::max(u, lo_edge), mv = std::min(v, hi_edge);
  if (mu < mv) {
    const double k0 = std::floor(mu + 0.5), k1 = std::floor(mv + 0.5);
    if (k0 == k1)
      r += cube_diff(mu, mv, k0);
    else
      r += cube_diff(mu, k0 + 0.5, k0) + cube_diff(k1 - 0.5, mv, k1) + (k1 - k0 - 1.0) / 12.0;
  }
  return r;
}

// Σ mass · E[(x − FQ(x))²] over the spans, for one channel's parameters.
double spans_sq_error(const std::vector<MassSpan>& spans, float scale, int32_t zp, int32_t qmin,
                      int32_t qmax) {
  const double s = scale, inv_s = 1.0 / s, z = zp, lo = qmin, hi = qmax;
  double sum = 0.0;
  for (const MassSpan& m : spans) {
    const double ya = m.a * inv_s + z, yb = m.b * inv_s + z;
    double e;
    if (yb - ya > 1e-9) {
      e = s * s * rounding_integral(ya, yb, lo, hi) / (yb - ya);
    } else {
      const double x = 0.5 * (m.a + m.b);
      const double d = x - fake_quantize_value(static_cast<float>(x), scale, zp, qmin, qmax);
      e = d * d;
    }
    sum += m.mass * e;
  }
  return sum;
}

// Index of the smallest error among candidate ranges (ties: the earliest) and that error.
std::pair<size_t, double> best_candidate(const std::vector<MassSpan>& spans, const QuantSpec& spec,
                                         const std::vector<Range>& cands) {
  std::vector<QuantParams> ps;
  ps.reserve(cands.size());
  for (const Range& r : cands) ps.push_back(params_from_range(spec, {r.lo}, {r.hi}));
  std::vector<double> err(cands.size());
  parallel_for(
      0, static_cast<int64_t>(cands.size()),
      [&](int64_t i) {
        const QuantParams& p = ps[static_cast<size_t>(i)];
        err[static_cast<size_t>(i)] = spans_sq_error(spans, p.scale[0], p.zero_point[0], p.qmin, p.qmax);
      },
      static_cast<int64_t>(spans.size()) * 8);
  size_t best = 0;
  for (size_t i = 1; i < err.size(); ++i)
    if (err[i] < err[best]) best = i;
  return {best, err[best]};
}

// ---- KL divergence ----------------------------------------------------------------------------------

// MXNet's _smooth_distribution: eps counts go to every empty bin and are taken evenly from the others.
// False when every bin is empty.
bool smooth(std::vector<double>& d) {
  constexpr double kEps = 1e-4;
  const double zeros = static_cast<double>(std::count(d.begin(), d.end(), 0.0));
  const double nonzeros = static_cast<double>(d.size()) - zeros;
  if (nonzeros == 0.0) return false;
  const double take = kEps * zeros / nonzeros;
  for (double& v : d) v = v == 0.0 ? kEps : v - take;
  return true;
}

// KL(P‖Q) for the window [a, a + i) of `counts` merged into `levels` groups (see kl_optimal_range).
double window_kl(const std::vector<uint64_t>& counts, const std::vector<double>& prefix, int a, int i,
                 int64_t levels) {
  std::vector<double> p(static_cast<size_t>(i)), q(static_cast<size_t>(i), 0.0);
  for (int t = 0; t < i; ++t)
    p[static_cast<size_t>(t)] = static_cast<double>(counts[static_cast<size_t>(a + t)]);
  const double below = prefix[static_cast<size_t>(a)];
  const double above = prefix.back() - prefix[static_cast<size_t>(a + i)];
  const int groups = static_cast<int>(std::min<int64_t>(levels, i));
  const int merged = i / groups;
  for (int g = 0; g < groups; ++g) {
    const int start = g * merged, end = g == groups - 1 ? i : start + merged;
    double sum = 0.0, nonzero = 0.0;
    for (int t = start; t < end; ++t) {
      sum += p[static_cast<size_t>(t)];
      nonzero += p[static_cast<size_t>(t)] > 0.0 ? 1.0 : 0.0;
    }
    if (nonzero == 0.0) continue;
    for (int t = start; t < end; ++t)
      if (p[static_cast<size_t>(t)] > 0.0) q[static_cast<size_t>(t)] = sum / nonzero;
  }
  p.front() += below;  // the clipped mass lands on the window's edges in P only
  p.back() += above;
  if (!smooth(p) || !smooth(q)) return std::numeric_limits<double>::infinity();
  double sp = 0.0, sq = 0.0;
  for (int t = 0; t < i; ++t) {
    sp += p[static_cast<size_t>(t)];
    sq += q[static_cast<size_t>(t)];
  }
  double kl = 0.0;
  for (int t = 0; t < i; ++t) {
    const double pn = p[static_cast<size_t>(t)] / sp, qn = q[static_cast<size_t>(t)] / sq;
    kl += pn * std::log(pn / qn);
  }
  return kl;
}

}  // namespace

// ---- Observers --------------------------------------------------------------------------------------

Observer::Observer(const QuantSpec& spec) : spec_(spec) {
  validate_spec(spec);
  if (spec.axis != -1)
    throw UnsupportedError("observer: per-channel activation ranges (axis " + std::to_string(spec.axis) +
                           ") are not supported; activations are quantized per tensor");
}

void Observer::observe(const Tensor& t) {
  if (t.dtype() != DType::Float32)
    throw Error("observer '" + method() + "': needs a float32 activation, got " + t.str());
  if (t.numel() == 0) return;
  observe_values(t.span<float>());
  ++batches_;
}

Range Observer::range() const {
  if (batches_ == 0) throw Error("observer '" + method() + "': no data observed");
  return compute_range();
}

void MinMaxObserver::observe_values(std::span<const float> values) {
  const auto [lo, hi] = batch_extremes(values, method());
  lo_ = batches() == 0 ? lo : std::min(lo_, lo);
  hi_ = batches() == 0 ? hi : std::max(hi_, hi);
}

EmaObserver::EmaObserver(const QuantSpec& spec, double momentum) : Observer(spec), momentum_(momentum) {
  if (!(momentum >= 0.0 && momentum < 1.0))
    throw Error("observer 'ema': momentum " + std::to_string(momentum) + " is outside [0, 1)");
}

void EmaObserver::observe_values(std::span<const float> values) {
  const auto [lo, hi] = batch_extremes(values, method());
  if (batches() == 0) {
    lo_ = lo;
    hi_ = hi;
  } else {
    lo_ = momentum_ * lo_ + (1.0 - momentum_) * lo;
    hi_ = momentum_ * hi_ + (1.0 - momentum_) * hi;
  }
}

Range EmaObserver::compute_range() const { return {static_cast<float>(lo_), static_cast<float>(hi_)}; }

HistogramObserver::HistogramObserver(const QuantSpec& spec, int bins, bool absolute)
    : Observer(spec), hist_(bins), absolute_(absolute) {}

PercentileObserver::PercentileObserver(const QuantSpec& spec, double percentile, int bins)
    : HistogramObserver(spec, bins, spec.symmetric), percentile_(percentile) {
  if (!(percentile >= 50.0 && percentile <= 100.0))
    throw Error("observer 'percentile': percentile " + std::to_string(percentile) + " is outside [50, 100]");
}

Range PercentileObserver::compute_range() const {
  const Histogram& h = histogram();
  if (absolute()) {
    const float t = static_cast<float>(h.percentile(percentile_));
    return {-t, t};
  }
  return {static_cast<float>(h.percentile(100.0 - percentile_)),
          static_cast<float>(h.percentile(percentile_))};
}

Range MseObserver::compute_range() const { return mse_optimal_range(histogram(), spec()); }

Range KlObserver::compute_range() const { return kl_optimal_range(histogram(), spec()); }

const std::vector<std::string>& observer_methods() {
  static const std::vector<std::string> kMethods = {"minmax", "ema", "percentile", "mse", "kl"};
  return kMethods;
}

std::unique_ptr<Observer> make_observer(const std::string& method, const QuantSpec& spec,
                                        const ObserverOptions& options) {
  if (method == "minmax") return std::make_unique<MinMaxObserver>(spec);
  if (method == "ema") return std::make_unique<EmaObserver>(spec, options.ema_momentum);
  if (method == "percentile")
    return std::make_unique<PercentileObserver>(spec, options.percentile, options.histogram_bins);
  if (method == "mse") return std::make_unique<MseObserver>(spec, options.histogram_bins);
  if (method == "kl") return std::make_unique<KlObserver>(spec, options.histogram_bins);
  std::string valid;
  for (const std::string& m : observer_methods()) valid += (valid.empty() ? "" : ", ") + m;
  throw Error("unknown calibration method '" + method + "' (valid: " + valid + ")");
}

// ---- Range searches on a histogram ------------------------------------------------------------------

double histogram_quant_mse(const Histogram& h, const QuantParams& p) {
  validate_params(p);
  if (p.channels() != 1) throw Error("histogram MSE: needs per-tensor parameters");
  if (h.empty()) throw Error("histogram MSE: empty histogram");
  if (h.bin_width() == 0.0) return 0.0;  // only zeros, which every zero point represents exactly
  return spans_sq_error(mass_spans(h), p.scale[0], p.zero_point[0], p.qmin, p.qmax) /
         static_cast<double>(h.total());
}

Range mse_optimal_range(const Histogram& h, const QuantSpec& spec_in) {
  QuantSpec spec = spec_in;
  spec.axis = -1;
  validate_spec(spec);
  if (h.empty()) throw Error("mse calibration: empty histogram");
  if (h.bin_width() == 0.0) return {0.0f, 0.0f};
  const std::vector<MassSpan> spans = mass_spans(h);
  const int K = h.num_bins();
  const double lo0 = std::min(0.0, static_cast<double>(h.min()));
  const double hi0 = std::max(0.0, static_cast<double>(h.max()));
  // Candidate (a, b) as a range; a and b count K-ths of each side. Wider candidates are listed first.
  auto range_of = [&](int a, int b) {
    return Range{static_cast<float>(lo0 * a / K), static_cast<float>(hi0 * b / K)};
  };

  if (spec.symmetric) {
    const double amax = std::max(-lo0, hi0);
    std::vector<Range> c;
    for (int k = K; k >= 1; --k) {
      const float t = static_cast<float>(amax * k / K);
      c.push_back({-t, t});
    }
    return c[best_candidate(spans, spec, c).first];
  }

  // Asymmetric. One-sided data: the other side stays at 0 and this one is searched exhaustively.
  if (lo0 == 0.0 || hi0 == 0.0) {
    std::vector<Range> c;
    for (int k = K; k >= 1; --k) c.push_back(lo0 == 0.0 ? range_of(0, k) : range_of(k, 0));
    return c[best_candidate(spans, spec, c).first];
  }
  std::vector<Range> diag;
  for (int k = K; k >= 1; --k) diag.push_back(range_of(k, k));
  auto [di, best_err] = best_candidate(spans, spec, diag);
  int a = K - static_cast<int>(di), b = a;
  // One end moves, the other stays: best k over `ks` (descending, so ties keep the wider range).
  auto scan_side = [&](int side, const std::vector<int>& ks) {
    std::vector<Range> c;
    std::vector<int> kept;
    for (int k : ks) {
      const int ca = side == 0 ? a : k, cb = side == 0 ? k : b;
      if (ca == 0 && cb == 0) continue;
      c.push_back(range_of(ca, cb));
      kept.push_back(k);
    }
    const auto [ci, err] = best_candidate(spans, spec, c);
    return std::pair<int, double>{kept[ci], err};
  };
  // Coarse-to-fine scans: every kStride-th position, then every position within kStride of the best.
  constexpr int kStride = 8;
  for (int round = 0; round < 16; ++round) {
    bool improved = false;
    for (int side = 0; side < 2; ++side) {
      std::vector<int> coarse, fine;
      for (int k = K; k > 0; k -= kStride) coarse.push_back(k);
      coarse.push_back(0);
      const int kc = scan_side(side, coarse).first;
      for (int k = std::min(K, kc + kStride - 1); k >= std::max(0, kc - kStride + 1); --k) fine.push_back(k);
      const auto [kf, err] = scan_side(side, fine);
      if (err < best_err) {
        best_err = err;
        (side == 0 ? b : a) = kf;
        improved = true;
      }
    }
    if (!improved) break;
  }
  return range_of(a, b);
}

Range kl_optimal_range(const Histogram& h, const QuantSpec& spec) {
  validate_spec(spec);
  if (h.empty()) throw Error("kl calibration: empty histogram");
  if (h.bin_width() == 0.0) return {0.0f, 0.0f};
  if (spec.symmetric && h.lo() < 0.0)
    throw Error("kl calibration: a symmetric spec needs a histogram of |x|, got one starting at " +
                std::to_string(h.lo()));
  const int K = h.num_bins();
  const int64_t levels = spec.symmetric ? int64_t{1} << (spec.bits - 1) : int64_t{1} << spec.bits;
  const int imin = static_cast<int>(std::min<int64_t>(levels, K));
  const std::vector<uint64_t>& counts = h.bins();
  std::vector<double> prefix(static_cast<size_t>(K) + 1, 0.0);
  for (int t = 0; t < K; ++t)
    prefix[static_cast<size_t>(t) + 1] =
        prefix[static_cast<size_t>(t)] + static_cast<double>(counts[static_cast<size_t>(t)]);
  // Zero's position in bins; a window of i bins keeps the share of each side (0 for |x|).
  const double zero_pos = -h.lo() / h.bin_width();
  auto start_of = [&](int i) {
    const double a = std::round(zero_pos * (1.0 - static_cast<double>(i) / K));
    return static_cast<int>(std::clamp(a, 0.0, static_cast<double>(K - i)));
  };

  const int n = K - imin + 1;  // candidates i = K, K-1, ..., imin (wider first)
  std::vector<double> kl(static_cast<size_t>(n));
  parallel_for(
      0, n,
      [&](int64_t c) {
        const int i = K - static_cast<int>(c);
        kl[static_cast<size_t>(c)] = window_kl(counts, prefix, start_of(i), i, levels);
      },
      K * 4);
  size_t best = 0;
  for (size_t c = 1; c < kl.size(); ++c)
    if (kl[c] < kl[best]) best = c;
  const int i = K - static_cast<int>(best), a = start_of(i);
  const double lo = std::max(h.bin_lo(a), std::min(0.0, static_cast<double>(h.min())));
  const double hi = std::min(h.bin_lo(a + i), std::max(0.0, static_cast<double>(h.max())));
  if (spec.symmetric) return {static_cast<float>(-hi), static_cast<float>(hi)};
  return {static_cast<float>(lo), static_cast<float>(hi)};
}

}  // namespace qs
