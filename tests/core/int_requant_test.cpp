// Fixed-point requantization (core/int/requant.h) against brute force: the documented formula evaluated
// with 128-bit integers, and the exact rational value a·s_in·s_w/s_out of float scales.
#include "core/int/requant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/common/error.h"

namespace qs {
namespace {

__extension__ typedef __int128 i128;

// floor(p / q) for q > 0.
i128 floor_div(i128 p, i128 q) {
  i128 d = p / q;
  if (p % q != 0 && p < 0) --d;
  return d;
}

// The documented formula with wide integers: floor((a·M0 + 2^(n-1)) / 2^n) after the clamp to ±limit.
int64_t formula(int64_t a, const FixedMultiplier& f) {
  if (a > f.limit) a = f.limit;
  if (a < -f.limit) a = -f.limit;
  const i128 x = static_cast<i128>(a) * f.m0 + (static_cast<i128>(1) << (f.shift - 1));
  return static_cast<int64_t>(floor_div(x, static_cast<i128>(1) << f.shift));
}

TEST(IntRequant, MultiplierIsNormalizedAndClose) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> e(-40, 29.9);
  for (int i = 0; i < 20000; ++i) {
    const double r = std::exp2(e(rng)) * (i % 3 == 0 ? -1 : 1);
    const FixedMultiplier f = fixed_multiplier(r, "test");
    if (std::fabs(r) < std::exp2(-32)) {
      EXPECT_EQ(f.m0, 0) << r;
      continue;
    }
    EXPECT_GE(std::abs(static_cast<int64_t>(f.m0)), int64_t{1} << 30) << r;
    EXPECT_LT(std::abs(static_cast<int64_t>(f.m0)), int64_t{1} << 31) << r;
    EXPECT_GE(f.shift, 1);
    EXPECT_LE(f.shift, 62);
    // M0 is r·2^n rounded to the nearest integer: relative error at most 2^-31.
    EXPECT_LE(std::fabs(std::ldexp(static_cast<double>(f.m0), -f.shift) - r), std::fabs(r) * std::exp2(-30.9)) << r;
  }
  EXPECT_THROW(fixed_multiplier(std::exp2(30), "x"), Error);
  EXPECT_THROW(fixed_multiplier(std::nan(""), "x"), Error);
  EXPECT_THROW(fixed_multiplier(INFINITY, "x"), Error);
}

TEST(IntRequant, RoundsHalfUpOnce) {
  const FixedMultiplier half = fixed_multiplier(0.5, "half");
  EXPECT_EQ(requantize(5, half), 3);    // 2.5 → 3
  EXPECT_EQ(requantize(-5, half), -2);  // -2.5 → -2 (toward +inf)
  EXPECT_EQ(requantize(7, half), 4);    // 3.5 → 4
  EXPECT_EQ(requantize(-7, half), -3);  // -3.5 → -3
  EXPECT_EQ(requantize(4, half), 2);
  const FixedMultiplier one = fixed_multiplier(1.0, "one");
  for (int64_t a : {-131071LL, -1000LL, -1LL, 0LL, 1LL, 99999LL, 131071LL}) EXPECT_EQ(requantize(a, one), a);
  // Beyond ±2^17 the result only has to be beyond every 16-bit range (it is clamped afterwards).
  EXPECT_GE(requantize(2147483647LL, one), 131072);
  EXPECT_LE(requantize(-2147483647LL, one), -131072);
  // 0.25: 1.5 and -1.5 → 2 and -1; a single rounding, not two (x·0.5, then ·0.5 would give 6·0.25: 3 → 1.5 → 2 twice).
  const FixedMultiplier quarter = fixed_multiplier(0.25, "q");
  EXPECT_EQ(requantize(6, quarter), 2);
  EXPECT_EQ(requantize(-6, quarter), -1);
  EXPECT_EQ(requantize(5, quarter), 1);  // 1.25
}

TEST(IntRequant, MatchesTheFormulaWithWideIntegers) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> e(-34, 12);
  std::uniform_int_distribution<int64_t> acc(INT32_MIN, INT32_MAX);
  std::uniform_int_distribution<int64_t> small(-70000, 70000);
  for (int i = 0; i < 3000; ++i) {
    const FixedMultiplier f = fixed_multiplier(std::exp2(e(rng)) * (i % 2 ? -1 : 1), "t");
    for (int k = 0; k < 50; ++k) {
      const int64_t a = k % 2 ? acc(rng) : small(rng);
      ASSERT_EQ(requantize(a, f), formula(a, f)) << "a=" << a << " m0=" << f.m0 << " n=" << f.shift;
    }
    for (int64_t a : {int64_t{INT32_MIN}, int64_t{INT32_MAX}, int64_t{0}, int64_t{-1}, int64_t{1}})
      ASSERT_EQ(requantize(a, f), formula(a, f));
  }
}

// Exact rational check: R(a) = round_half_up(a · s_in·s_w/s_out) for float scales, except where a·r lies
// within the multiplier's relative error 2^-30 of a tie; and where |a·r| is beyond 2^17, both saturate.
TEST(IntRequant, AgreesWithTheExactRationalValue) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> sd(-9.f, -1.f);
  std::uniform_int_distribution<int64_t> acc(-3000000, 3000000);
  int ties = 0, checked = 0;
  for (int i = 0; i < 400; ++i) {
    const float s_in = std::exp2(sd(rng)), s_w = std::exp2(sd(rng) - 3), s_out = std::exp2(sd(rng) + 2);
    const double r = static_cast<double>(s_in) * s_w / s_out;
    const FixedMultiplier f = fixed_multiplier(r, "t");
    // r = (m1·m2 / m3) · 2^E exactly, with 24-bit integer mantissas.
    int e1, e2, e3;
    const i128 m1 = static_cast<i128>(std::ldexp(std::frexp(s_in, &e1), 24));
    const i128 m2 = static_cast<i128>(std::ldexp(std::frexp(s_w, &e2), 24));
    const i128 m3 = static_cast<i128>(std::ldexp(std::frexp(s_out, &e3), 24));
    const int E = e1 + e2 - e3 - 24;  // 2^-48 · 2^24 from the three mantissa scalings
    for (int k = 0; k < 200; ++k) {
      const int64_t a = acc(rng);
      // v = a·m1·m2·2^E / m3; round half up = floor((2·a·m1·m2·2^E + m3) / (2·m3)).
      i128 num = static_cast<i128>(a) * m1 * m2 * 2, den = 2 * m3;
      if (E >= 0) num <<= E;
      else den <<= -E;
      const i128 exact = floor_div(num + den / 2, den);
      const int64_t got = requantize(a, f);
      if (exact > 131072 || exact < -131072) {  // saturates: both beyond every 16-bit range
        ASSERT_GE(std::llabs(got), 131071) << "a=" << a << " r=" << r;
        ++checked;
        continue;
      }
      if (static_cast<int64_t>(exact) == got) {
        ++checked;
        continue;
      }
      // Only at a near-tie: the fractional part of a·r within |a·r|·2^-30 of 1/2.
      const double v = static_cast<double>(a) * r;
      const double frac = v - std::floor(v);
      ASSERT_LE(std::fabs(frac - 0.5), std::fabs(v) * std::exp2(-29) + 1e-9) << "a=" << a << " r=" << r;
      ASSERT_LE(std::llabs(static_cast<int64_t>(exact) - got), 1);
      ++ties;
    }
  }
  EXPECT_GT(checked, 79000);
  EXPECT_LT(ties, 10);
}

TEST(IntRequant, SaturationLimitKeepsTheClampedResult) {
  // Beyond `limit` the result is beyond ±2^17, so after the clamp to any 16-bit range nothing changes.
  for (double r : {1.0, 3.7, 1000.0, 1e6, 0.25, 1e-3}) {
    const FixedMultiplier f = fixed_multiplier(r, "t");
    if (f.limit >= INT32_MAX) continue;
    for (int64_t a : {f.limit, f.limit + 1, f.limit * 2, int64_t{INT32_MAX}}) {
      EXPECT_GE(requantize(a, f), 131071) << r;
      EXPECT_LE(requantize(-a, f), -131071) << r;
    }
    // And below the limit the clamp does nothing.
    EXPECT_EQ(requantize(f.limit - 1, f), formula(f.limit - 1, f));
  }
}

TEST(IntRequant, AddMultipliersShareOneRounding) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> e(-6, 3);
  std::uniform_int_distribution<int64_t> d(-65535, 65535);
  for (int i = 0; i < 500; ++i) {
    const double ra = std::exp2(e(rng)), rb = std::exp2(e(rng)) * (i % 2 ? -1 : 1);
    const AddMultipliers m = add_multipliers(ra, rb, "t");
    EXPECT_LE(std::max(std::llabs(m.ma), std::llabs(m.mb)), int64_t{1} << 31);
    for (int k = 0; k < 100; ++k) {
      const int64_t da = d(rng), db = d(rng);
      const i128 x = static_cast<i128>(da) * m.ma + static_cast<i128>(db) * m.mb + (static_cast<i128>(1) << (m.shift - 1));
      ASSERT_EQ(add_requantize(da, db, m), static_cast<int64_t>(floor_div(x, static_cast<i128>(1) << m.shift)));
      // Within half a step plus the multipliers' rounding of the exact sum.
      const double exact = da * ra + db * rb;
      ASSERT_LE(std::fabs(static_cast<double>(add_requantize(da, db, m)) - exact),
                0.5 + (std::fabs(static_cast<double>(da)) + std::fabs(static_cast<double>(db))) * std::exp2(-m.shift) + 1e-9);
    }
  }
  // Equal scales: (3 + 4)·0.5 = 3.5 → 4, one rounding of the sum (not 2 + 2).
  const AddMultipliers h = add_multipliers(0.5, 0.5, "h");
  EXPECT_EQ(add_requantize(3, 4, h), 4);
  EXPECT_EQ(add_requantize(3, -4, h), 0);  // -0.5 → 0
}

// A constant operand's multiply-add: the wide-integer formula exactly, and within half a step (plus the
// step 2^-n of m and c) of the exact real value d·r + o; offsets far past every 16-bit range saturate on the
// side of their sign, whatever d.
TEST(IntRequant, ConstAffineIsOneRoundingOfTheRealValue) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> e(-30, 8), u(-1, 1);
  std::uniform_int_distribution<int64_t> d(-65535, 65535);
  for (int i = 0; i < 400; ++i) {
    std::vector<double> r(static_cast<size_t>(1 + i % 5)), o(static_cast<size_t>(1 + i % 3));
    for (auto& v : r) v = std::exp2(e(rng)) * (u(rng) < 0 ? -1 : 1) * (i % 17 == 0 ? 0 : 1);
    for (auto& v : o) v = u(rng) * std::exp2(e(rng) + 10);
    const ConstAffine a = const_affine(r, o, "t");
    ASSERT_GE(a.shift, 1);
    ASSERT_LE(a.shift, 40);
    for (size_t j = 0; j < r.size(); ++j) ASSERT_LE(std::llabs(a.m[j]), int64_t{1} << 31);
    for (int k = 0; k < 100; ++k) {
      const int64_t x = d(rng);
      const size_t jm = static_cast<size_t>(k) % r.size(), jc = static_cast<size_t>(k) % o.size();
      const int64_t got = affine_requantize(x, a.m[jm], a.c[jc], a.shift);
      const i128 w = static_cast<i128>(x) * a.m[jm] + a.c[jc] + (static_cast<i128>(1) << (a.shift - 1));
      ASSERT_EQ(got, static_cast<int64_t>(floor_div(w, static_cast<i128>(1) << a.shift)));
      const double exact = static_cast<double>(x) * r[jm] + o[jc];
      if (std::fabs(exact) > 131072 + 65536.0 * std::fabs(r[jm])) {  // the offset was clamped: saturates
        ASSERT_GE(got * (exact > 0 ? 1 : -1), 131071) << exact;
        continue;
      }
      ASSERT_LE(std::fabs(static_cast<double>(got) - exact), 0.5 + (65536.0 + 1) * std::exp2(-a.shift) + 1e-6)
          << "x=" << x << " r=" << r[jm] << " o=" << o[jc];
    }
  }
  // Ties round up: 3·0.5 + 1 = 2.5 → 3, −3·0.5 + 0 = −1.5 → −1.
  const ConstAffine h = const_affine({0.5}, {1.0, 0.0}, "h");
  EXPECT_EQ(affine_requantize(3, h.m[0], h.c[0], h.shift), 3);
  EXPECT_EQ(affine_requantize(-3, h.m[0], h.c[1], h.shift), -1);
  EXPECT_THROW(const_affine({1.0}, {std::nan("")}, "nan"), Error);
}

}  // namespace
}  // namespace qs
