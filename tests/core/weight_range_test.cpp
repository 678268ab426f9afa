#include "core/quant/weight_range.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/common/error.h"

namespace qs {
namespace {

QuantSpec spec_of(int bits, bool symmetric, bool is_signed, int axis) {
  QuantSpec s;
  s.bits = bits;
  s.symmetric = symmetric;
  s.is_signed = is_signed;
  s.axis = axis;
  return s;
}

Tensor random_weight(std::mt19937& rng, const Shape& shape, bool heavy) {
  std::normal_distribution<float> nd(0.0f, 0.1f);
  std::student_t_distribution<float> st(2.0f);
  std::vector<float> v(static_cast<size_t>(numel(shape)));
  for (float& x : v) x = heavy ? 0.05f * st(rng) : nd(rng);
  return Tensor::from_vector<float>(shape, v);
}

// The elements of channel c along `axis` (all elements for -1), by explicit index arithmetic.
std::vector<float> channel_values(const Tensor& w, int axis, int64_t c) {
  const std::vector<float> v = w.to_vector<float>();
  if (axis < 0) return v;
  const std::vector<int64_t> st = strides_of(w.shape());
  std::vector<float> out;
  for (int64_t i = 0; i < w.numel(); ++i)
    if ((i / st[static_cast<size_t>(axis)]) % w.dim(axis) == c) out.push_back(v[static_cast<size_t>(i)]);
  return out;
}

double brute_sq_error(const std::vector<float>& v, const QuantSpec& spec, float lo, float hi) {
  QuantSpec one = spec;
  one.axis = -1;
  const QuantParams p = params_from_range(one, {lo}, {hi});
  double s = 0.0;
  for (float x : v) {
    const float q =
        std::min(std::max(std::nearbyint(x / p.scale[0]) + p.zero_point[0], static_cast<float>(p.qmin)),
                 static_cast<float>(p.qmax));
    const double d = static_cast<double>(x) - (q - p.zero_point[0]) * p.scale[0];
    s += d * d;
  }
  return s;
}

TEST(WeightRange, MinMaxPerChannelAndPerTensor) {
  std::mt19937 rng(1);
  const Tensor w = random_weight(rng, {4, 3, 2, 2}, false);
  for (int axis : {-1, 0, 1, 3}) {
    const ChannelRanges r = weight_minmax(w, axis);
    const int64_t channels = axis < 0 ? 1 : w.dim(axis);
    ASSERT_EQ(static_cast<int64_t>(r.lo.size()), channels);
    for (int64_t c = 0; c < channels; ++c) {
      const std::vector<float> v = channel_values(w, axis, c);
      EXPECT_EQ(r.lo[static_cast<size_t>(c)], *std::min_element(v.begin(), v.end()));
      EXPECT_EQ(r.hi[static_cast<size_t>(c)], *std::max_element(v.begin(), v.end()));
    }
  }
}

TEST(WeightRange, MseNeverWorseThanMinMaxAndMatchesBruteForce) {
  std::mt19937 rng(2);
  struct Case {
    Shape shape;
    int axis;
  };
  const std::vector<Case> cases = {{{8, 4, 3, 3}, 0}, {{16, 10}, 1}, {{6, 5}, 0}, {{3, 4, 5}, -1}};
  for (int trial = 0; trial < 3; ++trial)
    for (const Case& k : cases)
      for (const QuantSpec& spec : {spec_of(4, true, true, k.axis), spec_of(3, false, true, k.axis),
                                    spec_of(8, true, false, k.axis), spec_of(2, false, false, k.axis)}) {
        const Tensor w = random_weight(rng, k.shape, trial % 2 == 1);
        const ChannelRanges mm = weight_minmax(w, k.axis);
        const ChannelRanges ms = weight_mse_range(w, spec);
        const std::vector<double> e_mm = weight_quant_sq_error(w, params_from_range(spec, mm.lo, mm.hi));
        const std::vector<double> e_ms = weight_quant_sq_error(w, params_from_range(spec, ms.lo, ms.hi));
        for (size_t c = 0; c < e_mm.size(); ++c) {
          EXPECT_LE(e_ms[c], e_mm[c]) << "channel " << c;
          // Independent search over α = 1 − 0.8·k/99 on the channel's raw values.
          const std::vector<float> v = channel_values(w, k.axis, static_cast<int64_t>(c));
          double best = INFINITY;
          for (int s = 0; s < 100; ++s) {
            const float a = 1.0f - 0.8f * static_cast<float>(s) / 99.0f;
            best = std::min(best, brute_sq_error(v, spec, a * mm.lo[c], a * mm.hi[c]));
          }
          EXPECT_NEAR(e_ms[c], best, 1e-9 * (best + 1e-12)) << "channel " << c;
        }
      }
}

TEST(WeightRange, MseShrinksHeavyTailedChannels) {
  std::mt19937 rng(3);
  const Tensor w = random_weight(rng, {4, 256}, true);
  const QuantSpec spec = spec_of(4, true, true, 0);
  const ChannelRanges mm = weight_minmax(w, 0);
  const ChannelRanges ms = weight_mse_range(w, spec);
  const std::vector<double> e_mm = weight_quant_sq_error(w, params_from_range(spec, mm.lo, mm.hi));
  const std::vector<double> e_ms = weight_quant_sq_error(w, params_from_range(spec, ms.lo, ms.hi));
  for (size_t c = 0; c < 4; ++c) {
    EXPECT_LT(ms.hi[c] - ms.lo[c], mm.hi[c] - mm.lo[c]);
    EXPECT_LT(e_ms[c], e_mm[c]);
  }
}

TEST(WeightRange, Errors) {
  const Tensor w = Tensor::from_vector<float>({2, 2}, {1.0f, -1.0f, std::nanf(""), 0.5f});
  EXPECT_THROW(weight_minmax(w, 0), Error);
  const Tensor ok = Tensor::from_vector<float>({2, 2}, {1.0f, -1.0f, 0.25f, 0.5f});
  EXPECT_THROW(weight_minmax(ok, 2), Error);
  EXPECT_THROW(weight_minmax(ok.cast(DType::Int32), 0), Error);
  EXPECT_THROW(weight_range(ok, spec_of(8, true, true, 0), "kl"), Error);
  EXPECT_EQ(weight_range(ok, spec_of(8, true, true, 0), "minmax").hi, (std::vector<float>{1.0f, 0.5f}));
  WeightMseOptions bad;
  bad.min_shrink = 0.0f;
  EXPECT_THROW(weight_mse_range(ok, spec_of(8, true, true, 0), bad), Error);
}

}  // namespace
}  // namespace qs
