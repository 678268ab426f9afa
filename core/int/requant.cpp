#include "core/int/requant.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/common/error.h"

namespace qs {

namespace {

std::string num(double v) {
  std::ostringstream s;
  s.precision(9);
  s << v;
  return s.str();
}

// |real| = mantissa · 2^-shift with mantissa in [2^30, 2^31]; returns false when |real| < 2^-32.
bool normalize(double real, int64_t* mantissa, int32_t* shift) {
  int e = 0;
  const double m = std::frexp(std::fabs(real), &e);  // |real| = m · 2^e, m in [0.5, 1)
  int64_t q = std::llround(m * 2147483648.0);        // m · 2^31, in [2^30, 2^31]
  if (q == (int64_t{1} << 31)) {
    q >>= 1;
    ++e;
  }
  *mantissa = q;
  *shift = 31 - e;
  return *shift <= 62;
}

void check_range(double real, const std::string& what) {
  if (!std::isfinite(real) || std::fabs(real) >= 1073741824.0)
    throw Error(what + ": requantization multiplier " + num(real) +
                " is out of range (|multiplier| < 2^30 is required; check the scales)");
}

}  // namespace

FixedMultiplier fixed_multiplier(double real, const std::string& what) {
  check_range(real, what);
  FixedMultiplier f;
  f.real = real;
  int64_t m = 0;
  int32_t n = 0;
  if (real == 0 || !normalize(real, &m, &n)) {
    f.m0 = 0;  // every product rounds to 0: |a · real| < 2^31 · 2^-32 = 1/2
    f.shift = 1;
    f.limit = INT32_MAX;
    return f;
  }
  f.m0 = static_cast<int32_t>(real < 0 ? -m : m);
  f.shift = n;
  // Beyond |a| = 2^17 / |real| the result is beyond ±2^17 whatever the rounding.
  const double lim = std::ceil(131072.0 / std::fabs(real)) + 1.0;
  f.limit = lim >= static_cast<double>(INT32_MAX) ? INT32_MAX : static_cast<int64_t>(lim);
  return f;
}

AddMultipliers add_multipliers(double real_a, double real_b, const std::string& what) {
  check_range(real_a, what);
  check_range(real_b, what);
  AddMultipliers r;
  r.real_a = real_a;
  r.real_b = real_b;
  const double big = std::max(std::fabs(real_a), std::fabs(real_b));
  int64_t m = 0;
  int32_t n = 62;
  if (big != 0 && !normalize(big, &m, &n)) n = 62;
  if (big == 0) n = 62;
  r.shift = n;
  // The larger ratio gets the full 31-bit mantissa; the smaller one the same step 2^-n.
  r.ma = std::llround(std::ldexp(real_a, n));
  r.mb = std::llround(std::ldexp(real_b, n));
  return r;
}

ConstAffine const_affine(const std::vector<double>& real_m, const std::vector<double>& offset,
                         const std::string& what) {
  double big = 0;
  for (double r : real_m) {
    check_range(r, what);
    big = std::max(big, std::fabs(r));
  }
  ConstAffine a;
  int64_t mantissa = 0;
  int32_t n = 40;
  if (big != 0 && normalize(big, &mantissa, &n))
    n = std::clamp(n, 1, 40);
  else
    n = 40;
  a.shift = n;
  for (double r : real_m) a.m.push_back(std::llround(std::ldexp(r, n)));
  const double bound = 131072.0 * (big + 1) + 2;
  for (double o : offset) {
    if (!std::isfinite(o)) throw Error(what + ": constant operand gives a non-finite offset " + num(o));
    a.c.push_back(std::llround(std::ldexp(std::clamp(o, -bound, bound), n)));
  }
  return a;
}

}  // namespace qs
