#include "core/quant/observer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/common/error.h"
#include "core/quant/histogram.h"

namespace qs {
namespace {

QuantSpec spec_of(int bits, bool symmetric, bool is_signed) {
  QuantSpec s;
  s.bits = bits;
  s.symmetric = symmetric;
  s.is_signed = is_signed;
  return s;
}

// Laplace(0, b) samples plus `outliers` values of magnitude 30..50 with random signs.
std::vector<float> laplace_with_outliers(std::mt19937& rng, int n, float b, int outliers) {
  std::exponential_distribution<float> e(1.0f / b);
  std::bernoulli_distribution sign(0.5);
  std::uniform_real_distribution<float> big(30.0f, 50.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = sign(rng) ? e(rng) : -e(rng);
  for (int i = 0; i < outliers; ++i)
    v[static_cast<size_t>(i * (n / outliers))] = sign(rng) ? big(rng) : -big(rng);
  return v;
}

// The nearest-rank percentile: the order statistic of 1-based rank ceil(p/100 · n). The histogram's value
// for p lies in the same bin as this one (the bin where the cumulative count reaches p/100 · n), so the two
// differ by less than one bin width.
double rank_percentile(std::vector<float> v, double p) {
  std::sort(v.begin(), v.end());
  const double r = std::ceil(p / 100.0 * static_cast<double>(v.size()));
  return v[static_cast<size_t>(std::clamp(r, 1.0, static_cast<double>(v.size()))) - 1];
}

// Brute-force mean squared fake-quantization error of raw data.
double raw_mse(const std::vector<float>& v, const QuantSpec& spec, Range r) {
  const QuantParams p = params_from_range(spec, {r.lo}, {r.hi});
  double s = 0.0;
  for (float x : v) {
    const float q =
        std::min(std::max(std::nearbyint(x / p.scale[0]) + p.zero_point[0], static_cast<float>(p.qmin)),
                 static_cast<float>(p.qmax));
    const double d = static_cast<double>(x) - (q - p.zero_point[0]) * p.scale[0];
    s += d * d;
  }
  return s / static_cast<double>(v.size());
}

Tensor as_tensor(const std::vector<float>& v) {
  return Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v);
}

// ---- Histogram --------------------------------------------------------------------------------------

TEST(Histogram, GrowthConservesCountsAndNestsBins) {
  std::mt19937 rng(1);
  Histogram h(256);
  std::vector<float> all;
  // Batches that widen the range upward, downward and by a large factor.
  const std::vector<std::pair<float, float>> batches = {{0.0f, 1.0f},  {0.5f, 3.0f},   {-2.0f, 1.0f},
                                                        {-0.1f, 0.1f}, {-40.0f, 5.0f}, {10.0f, 700.0f}};
  double first_width = 0.0;
  for (const auto& [a, b] : batches) {
    std::uniform_real_distribution<float> u(a, b);
    std::vector<float> v(3000);
    for (float& x : v) x = u(rng);
    h.add(v);
    if (first_width == 0.0) first_width = h.bin_width();
    all.insert(all.end(), v.begin(), v.end());
    uint64_t sum = 0;
    for (uint64_t c : h.bins()) sum += c;
    EXPECT_EQ(sum, all.size());
    EXPECT_EQ(h.total(), all.size());
    EXPECT_EQ(h.min(), *std::min_element(all.begin(), all.end()));
    EXPECT_EQ(h.max(), *std::max_element(all.begin(), all.end()));
    EXPECT_LE(h.lo(), std::min(0.0f, h.min()));
    EXPECT_GE(h.hi() + 1e-6 * h.bin_width(), std::max(0.0f, h.max()));
  }
  // Exact merging means the counts equal a direct binning of all data with the final edges, except for
  // values within round-off of a bin edge.
  std::vector<uint64_t> direct(256, 0);
  for (float x : all) {
    const double t = std::floor((x - h.lo()) / h.bin_width());
    ++direct[static_cast<size_t>(std::clamp(t, 0.0, 255.0))];
  }
  uint64_t moved = 0;
  for (int i = 0; i < 256; ++i)
    moved += static_cast<uint64_t>(std::llabs(static_cast<long long>(direct[static_cast<size_t>(i)]) -
                                              static_cast<long long>(h.bins()[static_cast<size_t>(i)])));
  EXPECT_LE(moved, 4u);
  // The bin width is an integer multiple of the first one.
  const double k = h.bin_width() / first_width;
  EXPECT_GT(k, 100.0);
  EXPECT_NEAR(k, std::round(k), 1e-6 * k);
}

TEST(Histogram, PercentilesWithinOneBinOfSortedData) {
  std::mt19937 rng(2);
  Histogram h;
  std::vector<float> all;
  for (int b = 0; b < 8; ++b) {  // growing spread, so the histogram re-bins several times
    std::vector<float> v = laplace_with_outliers(rng, 4000, 0.5f + static_cast<float>(b), 4);
    h.add(v);
    all.insert(all.end(), v.begin(), v.end());
  }
  for (double p : {0.0, 0.01, 1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0})
    EXPECT_NEAR(h.percentile(p), rank_percentile(all, p), h.bin_width()) << "p " << p;
  EXPECT_EQ(h.percentile(0.0), h.min());
  EXPECT_EQ(h.percentile(100.0), h.max());
  EXPECT_THROW(h.percentile(101.0), Error);
}

TEST(Histogram, ZerosFirstAbsoluteValuesAndErrors) {
  Histogram h(64);
  const std::vector<float> zeros(10, 0.0f);
  h.add(zeros);
  EXPECT_EQ(h.total(), 10u);
  EXPECT_EQ(h.bin_width(), 0.0);
  EXPECT_EQ(h.percentile(99.0), 0.0);
  const std::vector<float> v = {-4.0f, 2.0f, 3.0f};
  h.add(v, /*absolute=*/true);
  EXPECT_EQ(h.lo(), 0.0);
  EXPECT_EQ(h.max(), 4.0f);
  EXPECT_EQ(h.bins()[0], 10u);  // the earlier zeros land in the bin of 0
  EXPECT_EQ(h.total(), 13u);
  EXPECT_THROW(h.add(std::vector<float>{1.0f, std::nanf("")}), Error);
  EXPECT_THROW(h.add(std::vector<float>{std::numeric_limits<float>::infinity()}), Error);
  EXPECT_THROW(Histogram(1), Error);
  EXPECT_THROW(Histogram().percentile(50.0), Error);
}

TEST(Histogram, LargeBatchesMatchSmallOnes) {
  // The parallel binning path gives the same counts as adding the values in small pieces.
  std::mt19937 rng(4);
  std::normal_distribution<float> nd(1.0f, 3.0f);
  std::vector<float> v(300000);
  for (float& x : v) x = nd(rng);
  Histogram big, small;
  big.add(v);
  const float lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
  small.add(std::vector<float>{lo, hi});  // same range from the start, so no growth
  small.add(std::span<const float>(v).subspan(0, 1000));
  small.add(std::span<const float>(v).subspan(1000));
  std::vector<uint64_t> expect = small.bins();
  // Remove the two extra values added to `small`.
  expect[0] -= lo < 0.0f ? 1 : 0;
  expect[static_cast<size_t>(small.num_bins() - 1)] -= 1;
  EXPECT_EQ(big.lo(), small.lo());
  EXPECT_EQ(big.bins(), expect);
}

// ---- Observers --------------------------------------------------------------------------------------

TEST(Observer, MinMaxIsTheTrueExtremes) {
  std::mt19937 rng(5);
  auto obs = make_observer("minmax", spec_of(8, false, false));
  float lo = INFINITY, hi = -INFINITY;
  for (int b = 0; b < 6; ++b) {
    std::normal_distribution<float> nd(static_cast<float>(b) - 2.0f, 1.0f + static_cast<float>(b));
    std::vector<float> v(777);
    for (float& x : v) x = nd(rng);
    obs->observe(Tensor::from_vector<float>({7, 111}, v));
    lo = std::min(lo, *std::min_element(v.begin(), v.end()));
    hi = std::max(hi, *std::max_element(v.begin(), v.end()));
  }
  obs->observe(Tensor(DType::Float32, {0, 3}));  // empty: ignored
  EXPECT_EQ(obs->batches(), 6);
  EXPECT_EQ(obs->range().lo, lo);
  EXPECT_EQ(obs->range().hi, hi);
}

TEST(Observer, EmaMatchesDirectLoop) {
  std::mt19937 rng(6);
  ObserverOptions opt;
  opt.ema_momentum = 0.9;  // large enough steps to see a difference from min/max
  auto obs = make_observer("ema", spec_of(8, false, true), opt);
  double lo = 0.0, hi = 0.0;
  for (int b = 0; b < 20; ++b) {
    std::uniform_real_distribution<float> u(-1.0f - static_cast<float>(b % 5),
                                            2.0f + static_cast<float>(b % 3));
    std::vector<float> v(100);
    for (float& x : v) x = u(rng);
    obs->observe(as_tensor(v));
    const double bl = *std::min_element(v.begin(), v.end()), bh = *std::max_element(v.begin(), v.end());
    lo = b == 0 ? bl : 0.9 * lo + 0.1 * bl;
    hi = b == 0 ? bh : 0.9 * hi + 0.1 * bh;
  }
  EXPECT_FLOAT_EQ(obs->range().lo, static_cast<float>(lo));
  EXPECT_FLOAT_EQ(obs->range().hi, static_cast<float>(hi));
  // Default momentum 0.999: the first batch dominates.
  auto slow = make_observer("ema", spec_of(8, false, true));
  slow->observe(as_tensor({-1.0f, 1.0f}));
  slow->observe(as_tensor({-11.0f, 11.0f}));
  EXPECT_FLOAT_EQ(slow->range().hi, static_cast<float>(0.999 * 1.0 + 0.001 * 11.0));
}

TEST(Observer, PercentileMatchesSortedData) {
  std::mt19937 rng(7);
  ObserverOptions opt;
  opt.percentile = 99.9;
  auto asym = make_observer("percentile", spec_of(8, false, true), opt);
  auto sym = make_observer("percentile", spec_of(8, true, true), opt);
  std::vector<float> all, absv;
  for (int b = 0; b < 5; ++b) {
    std::vector<float> v = laplace_with_outliers(rng, 5000, 1.0f, 2);
    for (float& x : v) x += 0.5f;  // skewed, so the two tails differ
    asym->observe(as_tensor(v));
    sym->observe(as_tensor(v));
    all.insert(all.end(), v.begin(), v.end());
  }
  for (float x : all) absv.push_back(std::fabs(x));
  const auto* ha = dynamic_cast<const HistogramObserver*>(asym.get());
  const auto* hs = dynamic_cast<const HistogramObserver*>(sym.get());
  ASSERT_TRUE(ha && hs);
  EXPECT_NEAR(asym->range().lo, rank_percentile(all, 0.1), ha->histogram().bin_width());
  EXPECT_NEAR(asym->range().hi, rank_percentile(all, 99.9), ha->histogram().bin_width());
  const double t = rank_percentile(absv, 99.9);
  EXPECT_NEAR(sym->range().hi, t, hs->histogram().bin_width());
  EXPECT_EQ(sym->range().lo, -sym->range().hi);
  EXPECT_LT(sym->range().hi, 30.0f);  // the outliers are beyond the 99.9th percentile
}

TEST(Observer, HistogramMseMatchesRawData) {
  // The uniform-within-bin integral predicts the raw error for smooth data.
  std::mt19937 rng(8);
  std::normal_distribution<float> nd(0.3f, 1.0f);
  std::vector<float> v(50000);
  for (float& x : v) x = nd(rng);
  Histogram h;
  h.add(v);
  for (int bits : {3, 4, 8})
    for (Range r : {Range{-4.0f, 4.0f}, Range{-1.0f, 2.0f}, Range{-0.5f, 0.7f}}) {
      const QuantSpec s = spec_of(bits, false, true);
      const double raw = raw_mse(v, s, r);
      EXPECT_NEAR(histogram_quant_mse(h, params_from_range(s, {r.lo}, {r.hi})), raw, 0.02 * raw)
          << bits << " bits [" << r.lo << ", " << r.hi << "]";
    }
}

TEST(Observer, MseSymmetricNearBruteForceAndBetterThanMinMax) {
  std::mt19937 rng(9);
  // Outliers cost more to clip than they add in rounding noise at 8 bits, so only 4 bits gains a lot.
  const std::vector<float> v = laplace_with_outliers(rng, 6000, 1.0f, 2);
  for (int bits : {4, 8}) {
    const QuantSpec spec = spec_of(bits, true, true);
    auto obs = make_observer("mse", spec);
    obs->observe(as_tensor(v));
    const Range chosen = obs->range();
    EXPECT_EQ(chosen.lo, -chosen.hi);
    // Brute force over the same candidates ±amax·k/K on the raw data.
    const auto* ho = dynamic_cast<const HistogramObserver*>(obs.get());
    const int K = ho->histogram().num_bins();
    float amax = 0.0f;
    for (float x : v) amax = std::max(amax, std::fabs(x));
    double best = INFINITY;
    for (int k = 1; k <= K; ++k) {
      const float t = static_cast<float>(static_cast<double>(amax) * k / K);
      best = std::min(best, raw_mse(v, spec, {-t, t}));
    }
    const double got = raw_mse(v, spec, chosen);
    const double minmax = raw_mse(v, spec, {-amax, amax});
    EXPECT_LE(got, best * 1.03) << bits << " bits";
    EXPECT_LT(got, (bits == 4 ? 0.5 : 1.01) * minmax) << bits << " bits";
  }
}

TEST(Observer, MseAsymmetricNearBruteForce) {
  std::mt19937 rng(10);
  // One-sided (ReLU of heavy-tailed data): the lower end stays 0, the upper is searched exhaustively.
  std::vector<float> relu = laplace_with_outliers(rng, 5000, 1.0f, 2);
  for (float& x : relu) x = std::max(x, 0.0f);
  const float mx = *std::max_element(relu.begin(), relu.end());
  for (int bits : {4, 8}) {
    const QuantSpec u = spec_of(bits, false, false);
    auto obs = make_observer("mse", u);
    obs->observe(as_tensor(relu));
    const Range r = obs->range();
    EXPECT_EQ(r.lo, 0.0f);
    double best = INFINITY;
    for (int k = 1; k <= 2048; ++k)
      best = std::min(best, raw_mse(relu, u, {0.0f, static_cast<float>(mx * k / 2048.0)}));
    EXPECT_LE(raw_mse(relu, u, r), best * 1.03) << bits << " bits";
    EXPECT_LT(raw_mse(relu, u, r), (bits == 4 ? 0.75 : 1.01) * raw_mse(relu, u, {0.0f, mx}))
        << bits << " bits";
  }

  // Two-sided skewed data: never worse than a coarse exhaustive grid over both ends.
  std::vector<float> v = laplace_with_outliers(rng, 3000, 1.0f, 3);
  for (float& x : v) x = x > 0 ? 2.0f * x : 0.5f * x;
  const QuantSpec s4 = spec_of(4, false, true);
  auto obs2 = make_observer("mse", s4);
  obs2->observe(as_tensor(v));
  const float lo0 = std::min(0.0f, *std::min_element(v.begin(), v.end()));
  const float hi0 = *std::max_element(v.begin(), v.end());
  double coarse = INFINITY;
  for (int a = 0; a <= 2048; a += 32)
    for (int b = 32; b <= 2048; b += 32)
      coarse = std::min(
          coarse,
          raw_mse(v, s4, {static_cast<float>(lo0 * a / 2048.0), static_cast<float>(hi0 * b / 2048.0)}));
  EXPECT_LE(raw_mse(v, s4, obs2->range()), coarse * 1.03);
}

TEST(Observer, KlClipsHeavyTailsButNotUniformData) {
  std::mt19937 rng(12);
  const std::vector<float> heavy = laplace_with_outliers(rng, 20000, 1.0f, 20);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  std::vector<float> flat(20000);
  for (float& x : flat) x = u(rng);
  for (bool sym : {true, false}) {
    const QuantSpec s = spec_of(8, sym, true);
    auto kh = make_observer("kl", s);
    kh->observe(as_tensor(heavy));
    float amax = 0.0f;
    for (float x : heavy) amax = std::max(amax, std::fabs(x));
    EXPECT_LT(kh->range().hi, 0.5f * amax) << "symmetric " << sym;
    EXPECT_GT(kh->range().hi, 3.0f) << "symmetric " << sym;  // well beyond the bulk of a Laplace(1)
    auto ku = make_observer("kl", s);
    ku->observe(as_tensor(flat));
    float fmax = 0.0f;  // max |x|: the symmetric range covers both signs
    for (float x : flat) fmax = std::max(fmax, std::fabs(x));
    EXPECT_GT(ku->range().hi, 0.9f * fmax) << "symmetric " << sym;
    EXPECT_LE(ku->range().hi, fmax);
    EXPECT_LT(ku->range().lo, -0.9f * fmax);
  }
}

TEST(Observer, KlMatchesDirectEntropyComputation) {
  // 16 bins of |x|, 3-bit symmetric → 4 levels: every window i = 4..16 computed directly.
  std::mt19937 rng(13);
  std::vector<float> v = laplace_with_outliers(rng, 2000, 1.0f, 10);
  Histogram h(16);
  h.add(v, true);
  const std::vector<uint64_t>& c = h.bins();
  auto smooth = [](std::vector<double> d) {
    double z = 0;
    for (double x : d) z += x == 0.0;
    const double take = 1e-4 * z / (static_cast<double>(d.size()) - z);
    for (double& x : d) x = x == 0.0 ? 1e-4 : x - take;
    return d;
  };
  double best_kl = INFINITY;
  int best_i = 0;
  for (int i = 16; i >= 4; --i) {
    std::vector<double> p(c.begin(), c.begin() + i), q(static_cast<size_t>(i), 0.0);
    const int m = i / 4;
    for (int g = 0; g < 4; ++g) {
      const int s = g * m, e = g == 3 ? i : s + m;
      double sum = 0, nz = 0;
      for (int t = s; t < e; ++t) sum += p[static_cast<size_t>(t)], nz += p[static_cast<size_t>(t)] > 0;
      for (int t = s; t < e; ++t)
        if (p[static_cast<size_t>(t)] > 0) q[static_cast<size_t>(t)] = sum / nz;
    }
    for (int t = i; t < 16; ++t) p.back() += static_cast<double>(c[static_cast<size_t>(t)]);
    p = smooth(p);
    q = smooth(q);
    double sp = 0, sq = 0, kl = 0;
    for (int t = 0; t < i; ++t) sp += p[static_cast<size_t>(t)], sq += q[static_cast<size_t>(t)];
    for (int t = 0; t < i; ++t)
      kl += p[static_cast<size_t>(t)] / sp *
            std::log((p[static_cast<size_t>(t)] / sp) / (q[static_cast<size_t>(t)] / sq));
    if (kl < best_kl) best_kl = kl, best_i = i;
  }
  const Range r = kl_optimal_range(h, spec_of(3, true, true));
  EXPECT_FLOAT_EQ(r.hi, static_cast<float>(std::min(h.bin_lo(best_i), static_cast<double>(h.max()))));
  EXPECT_EQ(r.lo, -r.hi);
  Histogram signed_hist(16);
  signed_hist.add(v);
  EXPECT_THROW(kl_optimal_range(signed_hist, spec_of(3, true, true)), Error);
}

TEST(Observer, FactoryAndErrors) {
  for (const std::string& m : observer_methods()) {
    auto o = make_observer(m, spec_of(8, false, false));
    EXPECT_EQ(o->method(), m);
    EXPECT_THROW(o->range(), Error);  // nothing observed yet
    EXPECT_THROW(o->observe(Tensor::from_vector<int64_t>({1}, {1})), Error);
    EXPECT_THROW(o->observe(as_tensor({1.0f, std::nanf("")})), Error);
    // All zeros give the zero range.
    auto z = make_observer(m, spec_of(8, m == "kl", true));
    z->observe(as_tensor({0.0f, 0.0f}));
    EXPECT_EQ(z->range().lo, 0.0f);
    EXPECT_EQ(z->range().hi, 0.0f);
  }
  try {
    make_observer("entropy", spec_of(8, true, true));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("minmax, ema, percentile, mse, kl"), std::string::npos) << e.what();
  }
  QuantSpec per_channel = spec_of(8, true, true);
  per_channel.axis = 1;
  EXPECT_THROW(make_observer("minmax", per_channel), UnsupportedError);
  ObserverOptions bad;
  bad.ema_momentum = 1.0;
  EXPECT_THROW(make_observer("ema", spec_of(8, true, true), bad), Error);
  bad = {};
  bad.percentile = 20.0;
  EXPECT_THROW(make_observer("percentile", spec_of(8, true, true), bad), Error);
  EXPECT_THROW(make_observer("mse", spec_of(20, true, true)), Error);
}

}  // namespace
}  // namespace qs
