#include "core/quant/quantizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/common/error.h"

namespace qs {
namespace {

QuantSpec spec_of(int bits, bool symmetric, bool is_signed, int axis = -1) {
  QuantSpec s;
  s.bits = bits;
  s.symmetric = symmetric;
  s.is_signed = is_signed;
  s.axis = axis;
  return s;
}

// The grid value nearest to x (a brute-force reference for fake quantization away from ties).
float nearest_on_grid(const std::vector<float>& grid, float x) {
  float best = grid[0];
  for (float g : grid)
    if (std::fabs(g - x) < std::fabs(best - x)) best = g;
  return best;
}

TEST(Quantizer, RoundsHalfToEvenAfterDividing) {
  // x / scale lands exactly on .5: 2.5 → 2, 3.5 → 4, -2.5 → -2, -3.5 → -4, 0.5 → 0, 1.5 → 2.
  EXPECT_EQ(quantize_value(2.5f, 1.0f, 0, -127, 127), 2);
  EXPECT_EQ(quantize_value(3.5f, 1.0f, 0, -127, 127), 4);
  EXPECT_EQ(quantize_value(-2.5f, 1.0f, 0, -127, 127), -2);
  EXPECT_EQ(quantize_value(-3.5f, 1.0f, 0, -127, 127), -4);
  EXPECT_EQ(quantize_value(0.5f, 1.0f, 0, -127, 127), 0);
  EXPECT_EQ(quantize_value(1.5f, 1.0f, 0, -127, 127), 2);
  // 1.25 / 0.5 = 2.5 → 2; the zero point is added after rounding: 2 + 3 = 5 (not round(5.5) = 6).
  EXPECT_EQ(quantize_value(1.25f, 0.5f, 3, -128, 127), 5);
  EXPECT_EQ(quantize_value(1.75f, 0.5f, 3, -128, 127), 7);
  // Division, not multiplication by the reciprocal: 0.3 / 0.1 rounds to 3 either way, but
  // 0.45 / 0.1 = 4.4999995 in float and must give 4.
  EXPECT_EQ(quantize_value(0.45f, 0.1f, 0, -127, 127), static_cast<int32_t>(std::nearbyint(0.45f / 0.1f)));
}

TEST(Quantizer, SaturatesAndHandlesNonFinite) {
  EXPECT_EQ(quantize_value(1000.0f, 0.1f, 0, -127, 127), 127);
  EXPECT_EQ(quantize_value(-1000.0f, 0.1f, 0, -127, 127), -127);
  EXPECT_EQ(quantize_value(1000.0f, 0.1f, 10, 0, 255), 255);
  EXPECT_EQ(quantize_value(-1000.0f, 0.1f, 10, 0, 255), 0);
  EXPECT_EQ(quantize_value(std::numeric_limits<float>::infinity(), 0.1f, 3, -128, 127), 127);
  EXPECT_EQ(quantize_value(-std::numeric_limits<float>::infinity(), 0.1f, 3, -128, 127), -128);
  EXPECT_EQ(quantize_value(std::nanf(""), 0.1f, 3, -128, 127), 3);
  EXPECT_EQ(fake_quantize_value(std::nanf(""), 0.1f, 3, -128, 127), 0.0f);
  EXPECT_FLOAT_EQ(fake_quantize_value(1000.0f, 0.1f, 0, -127, 127), 12.7f);
}

TEST(Quantizer, IntegerRangesFollowTheConventions) {
  EXPECT_EQ(spec_qmin(spec_of(8, true, true)), -127);  // narrow
  EXPECT_EQ(spec_qmax(spec_of(8, true, true)), 127);
  EXPECT_EQ(spec_qmin(spec_of(8, false, true)), -128);
  EXPECT_EQ(spec_qmax(spec_of(8, false, true)), 127);
  EXPECT_EQ(spec_qmin(spec_of(8, false, false)), 0);
  EXPECT_EQ(spec_qmax(spec_of(8, false, false)), 255);
  EXPECT_EQ(symmetric_zero_point(spec_of(8, true, false)), 128);
  EXPECT_EQ(spec_qmin(spec_of(4, true, true)), -7);
  EXPECT_EQ(spec_qmin(spec_of(2, true, true)), -1);
  EXPECT_EQ(spec_qmax(spec_of(2, true, true)), 1);
  EXPECT_EQ(spec_qmax(spec_of(16, false, false)), 65535);
  EXPECT_THROW(spec_qmin(spec_of(1, true, true)), Error);
  EXPECT_THROW(spec_qmax(spec_of(17, true, true)), Error);
}

TEST(Quantizer, ParamsFromRangeHandComputed) {
  // Signed symmetric: scale = max|x| / 127, zero point 0.
  QuantParams p = params_from_range(spec_of(8, true, true), {-1.0f}, {2.0f});
  EXPECT_FLOAT_EQ(p.scale[0], 2.0f / 127.0f);
  EXPECT_EQ(p.zero_point[0], 0);
  EXPECT_EQ(p.qmin, -127);
  EXPECT_EQ(p.qmax, 127);
  // Signed asymmetric [-1, 3]: scale 4/255, zp = round(-128 + 63.75) = -64.
  p = params_from_range(spec_of(8, false, true), {-1.0f}, {3.0f});
  EXPECT_FLOAT_EQ(p.scale[0], 4.0f / 255.0f);
  EXPECT_EQ(p.zero_point[0], -64);
  // Unsigned asymmetric [0, 6]: zp 0.
  p = params_from_range(spec_of(8, false, false), {0.0f}, {6.0f});
  EXPECT_FLOAT_EQ(p.scale[0], 6.0f / 255.0f);
  EXPECT_EQ(p.zero_point[0], 0);
  // Unsigned symmetric: zero point 128, scale over the positive extent 127.
  p = params_from_range(spec_of(8, true, false), {-1.0f}, {2.0f});
  EXPECT_FLOAT_EQ(p.scale[0], 2.0f / 127.0f);
  EXPECT_EQ(p.zero_point[0], 128);
  // 4-bit unsigned asymmetric [-1, 2]: scale 3/15 = 0.2, zp = round(0 + 5) = 5.
  p = params_from_range(spec_of(4, false, false), {-1.0f}, {2.0f});
  EXPECT_FLOAT_EQ(p.scale[0], 0.2f);
  EXPECT_EQ(p.zero_point[0], 5);
}

TEST(Quantizer, RangesWithoutZeroAreExtendedAndZeroStaysExact) {
  // [2, 5] → [0, 5]: zp = qmin; [-5, -2] → [-5, 0]: zp = qmax.
  QuantParams p = params_from_range(spec_of(8, false, true), {2.0f}, {5.0f});
  EXPECT_EQ(p.zero_point[0], -128);
  EXPECT_FLOAT_EQ(p.scale[0], 5.0f / 255.0f);
  EXPECT_EQ(fake_quantize_value(0.0f, p.scale[0], p.zero_point[0], p.qmin, p.qmax), 0.0f);
  p = params_from_range(spec_of(8, false, true), {-5.0f}, {-2.0f});
  EXPECT_EQ(p.zero_point[0], 127);
  EXPECT_EQ(fake_quantize_value(0.0f, p.scale[0], p.zero_point[0], p.qmin, p.qmax), 0.0f);
  EXPECT_EQ(quantize_value(1.0f, p.scale[0], p.zero_point[0], p.qmin, p.qmax), 127);  // clamped above
  // Zero is exact for every random range and spec.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-10.0f, 10.0f);
  for (int t = 0; t < 200; ++t) {
    float a = u(rng), b = u(rng);
    if (a > b) std::swap(a, b);
    for (bool sym : {false, true})
      for (bool sgn : {false, true}) {
        const QuantParams q = params_from_range(spec_of(2 + t % 15, sym, sgn), {a}, {b});
        EXPECT_EQ(fake_quantize_value(0.0f, q.scale[0], q.zero_point[0], q.qmin, q.qmax), 0.0f);
        EXPECT_GE(q.zero_point[0], q.qmin);
        EXPECT_LE(q.zero_point[0], q.qmax);
      }
  }
}

TEST(Quantizer, ZeroRangeGivesUnitScale) {
  for (bool sym : {false, true}) {
    const QuantParams p = params_from_range(spec_of(8, sym, true), {0.0f}, {0.0f});
    EXPECT_EQ(p.scale[0], 1.0f);
    EXPECT_EQ(fake_quantize_value(0.0f, p.scale[0], p.zero_point[0], p.qmin, p.qmax), 0.0f);
  }
  const QuantParams tiny = params_from_range(spec_of(8, true, true), {-1e-40f}, {1e-40f});  // denormal
  EXPECT_EQ(tiny.scale[0], 1.0f);
}

TEST(Quantizer, RejectsBadRanges) {
  const QuantSpec s = spec_of(8, false, true);
  EXPECT_THROW(params_from_range(s, {1.0f}, {0.0f}), Error);
  EXPECT_THROW(params_from_range(s, {std::nanf("")}, {1.0f}), Error);
  EXPECT_THROW(params_from_range(s, {0.0f}, {std::numeric_limits<float>::infinity()}), Error);
  EXPECT_THROW(params_from_range(s, {0.0f, 1.0f}, {1.0f, 2.0f}), Error);  // per tensor, two ranges
  EXPECT_THROW(params_from_range(spec_of(8, false, true, 0), {0.0f, 1.0f}, {1.0f}), Error);
  EXPECT_THROW(params_from_range(spec_of(8, false, true, -2), {0.0f}, {1.0f}), Error);
}

TEST(Quantizer, LowBitGridsAndNearestLevel) {
  // 4-bit signed symmetric over [-1, 1]: the 15 levels k/7.
  QuantParams p = params_from_range(spec_of(4, true, true), {-1.0f}, {1.0f});
  std::vector<float> g = quant_grid(p);
  ASSERT_EQ(g.size(), 15u);
  for (int k = -7; k <= 7; ++k)
    EXPECT_FLOAT_EQ(g[static_cast<size_t>(k + 7)], static_cast<float>(k) * (1.0f / 7.0f));
  // 2-bit unsigned asymmetric over [0, 1.5]: {0, 0.5, 1, 1.5}.
  p = params_from_range(spec_of(2, false, false), {0.0f}, {1.5f});
  EXPECT_EQ(quant_grid(p), (std::vector<float>{0.0f, 0.5f, 1.0f, 1.5f}));
  // 2-bit signed symmetric: three levels {-s, 0, s}.
  p = params_from_range(spec_of(2, true, true), {-0.3f}, {0.6f});
  EXPECT_EQ(quant_grid(p), (std::vector<float>{-0.6f, 0.0f, 0.6f}));
  // Fake quantization returns the nearest level (ties are measure-zero for random inputs).
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  for (int bits : {2, 3, 4}) {
    for (bool sym : {false, true}) {
      const QuantParams q = params_from_range(spec_of(bits, sym, !sym), {-1.3f}, {2.1f});
      const std::vector<float> grid = quant_grid(q);
      EXPECT_EQ(grid.size(), static_cast<size_t>(q.qmax - q.qmin + 1));
      for (int i = 0; i < 500; ++i) {
        const float x = u(rng);
        EXPECT_FLOAT_EQ(fake_quantize_value(x, q.scale[0], q.zero_point[0], q.qmin, q.qmax),
                        nearest_on_grid(grid, x))
            << "bits " << bits << " x " << x;
      }
    }
  }
}

TEST(Quantizer, PerChannelAlongAxis1Of4D) {
  const Shape shape = {2, 3, 4, 5};
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 2.0f);
  std::vector<float> v(120);
  for (float& x : v) x = nd(rng);
  const Tensor t = Tensor::from_vector<float>(shape, v);
  const QuantParams p =
      params_from_range(spec_of(4, false, true, 1), {-1.0f, -3.0f, 0.5f}, {1.0f, 2.0f, 4.0f});
  ASSERT_EQ(p.channels(), 3);
  const Tensor fq = fake_quantize(t, p);
  const Tensor q = quantize(t, p);
  EXPECT_EQ(q.dtype(), DType::Int8);
  const Tensor dq = dequantize(q, p);
  const float* y = fq.data<float>();
  const int8_t* qi = q.data<int8_t>();
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int h = 0; h < 4; ++h)
        for (int w = 0; w < 5; ++w) {
          const int i = ((n * 3 + c) * 4 + h) * 5 + w;
          const float s = p.scale[static_cast<size_t>(c)];
          const int zp = p.zero_point[static_cast<size_t>(c)];
          const float r = std::min(std::max(std::nearbyint(v[static_cast<size_t>(i)] / s) + zp, -8.0f), 7.0f);
          EXPECT_EQ(qi[i], static_cast<int>(r)) << "element " << i;
          EXPECT_EQ(y[i], (r - static_cast<float>(zp)) * s);
          EXPECT_EQ(dq.data<float>()[i], y[i]);
        }
  // In place equals the copy; the input is untouched.
  Tensor inplace = t.clone();
  fake_quantize_inplace(inplace, p);
  EXPECT_EQ(inplace.to_vector<float>(), fq.to_vector<float>());
  EXPECT_EQ(t.to_vector<float>(), v);
  // Channel count and axis are checked against the tensor.
  QuantParams wrong = p;
  wrong.axis = 2;
  EXPECT_THROW(fake_quantize(t, wrong), Error);
  wrong.axis = 4;
  EXPECT_THROW(fake_quantize(t, wrong), Error);
}

TEST(Quantizer, PerTensorLargeTensorMatchesScalarPath) {
  // Large enough to take the parallel path.
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-4.0f, 4.0f);
  std::vector<float> v(200000);
  for (float& x : v) x = u(rng);
  const Tensor t = Tensor::from_vector<float>({400, 500}, v);
  const QuantParams p = params_from_range(spec_of(8, false, false), {-3.0f}, {3.5f});
  const std::vector<float> y = fake_quantize(t, p).to_vector<float>();
  const std::vector<uint8_t> q = quantize(t, p).to_vector<uint8_t>();
  for (size_t i = 0; i < v.size(); ++i) {
    const float r = std::min(std::max(std::nearbyint(v[i] / p.scale[0]) + p.zero_point[0], 0.0f), 255.0f);
    ASSERT_EQ(q[i], static_cast<uint8_t>(r));
    ASSERT_EQ(y[i], (r - p.zero_point[0]) * p.scale[0]);
  }
}

TEST(Quantizer, TensorPathMatchesScalarOnSpecialValues) {
  // The vectorized tensor loop and the scalar function agree on ties, saturation, NaN and inf.
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {0.0f,   -0.0f, 0.125f, 0.375f,        -0.125f, 1e30f,
                          -1e30f, inf,   -inf,   std::nanf(""), 3.0f};
  while (v.size() < 40) v.push_back(static_cast<float>(v.size()) * 0.0625f - 1.0f);  // past the vector width
  for (bool sym : {false, true}) {
    const QuantParams p = params_from_range(spec_of(8, sym, false), {-1.0f}, {1.5f});
    const std::vector<float> y = fake_quantize(Tensor::from_vector<float>({40}, v), p).to_vector<float>();
    const std::vector<uint8_t> q = quantize(Tensor::from_vector<float>({40}, v), p).to_vector<uint8_t>();
    for (size_t i = 0; i < v.size(); ++i) {
      EXPECT_EQ(y[i], fake_quantize_value(v[i], p.scale[0], p.zero_point[0], p.qmin, p.qmax)) << v[i];
      EXPECT_EQ(q[i], quantize_value(v[i], p.scale[0], p.zero_point[0], p.qmin, p.qmax)) << v[i];
    }
    EXPECT_EQ(y[9], 0.0f);  // NaN
  }
}

// The quantize loop (vectorized for AVX2 when the CPU has it) equals quantize_value on random runs of every
// length up to 70 (whole vectors and tails), values on rounding ties and past the range, int8/uint8/int16.
TEST(Quantizer, TensorQuantizeMatchesScalarOnRandomRuns) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> d(-3.0f, 3.0f);
  for (int bits : {4, 8, 12})
    for (bool sym : {false, true})
      for (int64_t n = 1; n <= 70; n += 3) {
        const QuantParams p = params_from_range(spec_of(bits, sym, true), {-1.7f}, {2.3f});
        std::vector<float> v(static_cast<size_t>(n));
        for (size_t i = 0; i < v.size(); ++i)
          v[i] = i % 5 == 0 ? (std::floor(d(rng) / p.scale[0]) + 0.5f) * p.scale[0] : d(rng);  // ties
        const Tensor q = quantize(Tensor::from_vector<float>({n}, v), p);
        for (size_t i = 0; i < v.size(); ++i)
          ASSERT_EQ(q.value_as_int(static_cast<int64_t>(i)),
                    quantize_value(v[i], p.scale[0], p.zero_point[0], p.qmin, p.qmax))
              << bits << " bits, n " << n << ", " << v[i];
      }
}

TEST(Quantizer, StorageTypesAndChecks) {
  EXPECT_EQ(storage_dtype(params_from_range(spec_of(8, true, true), {-1.0f}, {1.0f})), DType::Int8);
  EXPECT_EQ(storage_dtype(params_from_range(spec_of(8, false, false), {-1.0f}, {1.0f})), DType::UInt8);
  EXPECT_EQ(storage_dtype(params_from_range(spec_of(12, false, true), {-1.0f}, {1.0f})), DType::Int16);
  EXPECT_EQ(storage_dtype(params_from_range(spec_of(16, false, false), {-1.0f}, {1.0f})), DType::UInt16);
  const Tensor t = Tensor::from_vector<float>({3}, {-1.0f, 0.25f, 1.0f});
  const QuantParams p = params_from_range(spec_of(8, false, false), {-1.0f}, {1.0f});
  EXPECT_THROW(quantize(t, p, DType::Int8), Error);  // [0, 255] does not fit int8
  const Tensor q32 = quantize(t, p, DType::Int32);
  EXPECT_EQ(dequantize(q32, p).to_vector<float>(), fake_quantize(t, p).to_vector<float>());
  EXPECT_THROW(quantize(Tensor::from_vector<int32_t>({1}, {1}), p), Error);
  EXPECT_THROW(dequantize(Tensor::from_vector<float>({1}, {1.0f}), p), Error);
  QuantParams bad = p;
  bad.scale[0] = 0.0f;
  EXPECT_THROW(fake_quantize(t, bad), Error);
  bad = p;
  bad.zero_point[0] = 300;
  EXPECT_THROW(fake_quantize(t, bad), Error);
  EXPECT_THROW(quant_grid(p, 1), Error);
}

}  // namespace
}  // namespace qs
