// Fixed-point requantization: the one rounding mode of the integer engine (Jacob et al. 2017, §2.2),
// stated here once. The fake-quant simulation (core/quant/simulate.cpp) models exactly this.
//
// A real multiplier r (e.g. s_in·s_w / s_out) is held as an int32 M0 and a right shift n:
//     r ≈ M0 · 2^-n,   |M0| in [2^30, 2^31)  (or M0 = 0 when |r| < 2^-32, whose products all round to 0)
// and an int32 (or int64) accumulator a becomes
//     R(a) = floor((a · M0 + 2^(n-1)) / 2^n)
// computed exactly in int64: ONE rounding, round half up (toward +∞), e.g. 2.5 → 3, -2.5 → -2. This is
// TFLite's "single rounding" mode; gemmlowp's SaturatingRoundingDoublingHighMul + RoundingDivideByPOT
// rounds twice and is not used. ONNX Runtime requantizes in float with round half to even, so exports
// agree with ORT within 1 LSB, not bit for bit.
//
// Saturation without overflow: |a| is first clamped to `limit`, the smallest magnitude whose result is
// beyond ±2^17 (outside every integer range the engine stores, at most 16 bits), so a·M0 < 2^62 always
// fits int64 and the clamped result equals the unclamped one after the final clamp to [qmin, qmax].
//
// Multipliers are refused (Error) when |r| ≥ 2^30 or r is not finite: no realistic pair of scales gives
// them, and n would drop below 1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qs {

struct FixedMultiplier {
  int32_t m0 = 0;             // |m0| in [2^30, 2^31), or 0
  int32_t shift = 31;         // n in [1, 62]
  int64_t limit = INT32_MAX;  // |a| clamped to this before multiplying (see above)
  double real = 0;            // the multiplier it stands for (reports and tests)
};

// M0 and n for `real` (any sign). `what` names the op/tensor in errors.
FixedMultiplier fixed_multiplier(double real, const std::string& what);

// R(a) for one accumulator (int32 or the int64 products of Mul).
inline int32_t requantize(int64_t acc, const FixedMultiplier& f) {
  if (acc > f.limit) acc = f.limit;
  if (acc < -f.limit) acc = -f.limit;
  const int64_t x = acc * static_cast<int64_t>(f.m0);
  return static_cast<int32_t>((x + (int64_t{1} << (f.shift - 1))) >> f.shift);
}

// Two multipliers with a common shift, for Add/Sub: out = zp + floor((da·ma + db·mb + 2^(n-1)) / 2^n) with
// da = qa - za, db = qb - zb; |ma|, |mb| ≤ 2^31 so for 16-bit inputs the sum stays below 2^49.
// Sub is an Add with mb negated. One rounding, the same mode as requantize().
struct AddMultipliers {
  int64_t ma = 0, mb = 0;
  int32_t shift = 31;
  double real_a = 0, real_b = 0;
};
AddMultipliers add_multipliers(double real_a, double real_b, const std::string& what);

inline int64_t add_requantize(int64_t da, int64_t db, const AddMultipliers& m) {
  const int64_t x = da * m.ma + db * m.mb;
  return (x + (int64_t{1} << (m.shift - 1))) >> m.shift;
}

// Add, Sub or Mul of a quantized x and a float constant k (any shape that broadcasts with x), e.g. a
// MatMul's bias added by its own node, a positional embedding, an attention scale: per element e of k,
//     y − zy = floor((d·m[e] + c[e] + 2^(n-1)) / 2^n),   d = x − zx,
// with m[e] ≈ r_e·2^n and c[e] ≈ o_e·2^n for the real multiplier r_e and offset o_e in output units:
//     Add  r = sx/sy,        o_e = k_e/sy          Sub x − k: o_e = −k_e/sy;  k − x: r = −sx/sy, o_e = k_e/sy
//     Mul  r_e = k_e·sx/sy,  o = 0                   Div x / k: r_e = sx/(k_e·sy), o = 0
// One rounding, the mode of requantize(); the constant is never rounded to a grid of its own. The shift n
// is common to all elements (the largest |r_e| gets a 31-bit m, the others the same step) and at most 40,
// and offsets are clamped to ±(2^17·(max|r| + 1) + 2), beyond which every result saturates anyway, so
// with |d| < 2^17 nothing overflows int64. m and c hold one value when they do not vary.
struct ConstAffine {
  int32_t shift = 40;
  std::vector<int64_t> m, c;
  // y − zy for d = x − zx at element e of the constant.
  int64_t at(int64_t d, size_t e) const;
};
ConstAffine const_affine(const std::vector<double>& real_m, const std::vector<double>& offset,
                         const std::string& what);
inline int64_t affine_requantize(int64_t d, int64_t m, int64_t c, int32_t shift) {
  return (d * m + c + (int64_t{1} << (shift - 1))) >> shift;
}
inline int64_t ConstAffine::at(int64_t d, size_t e) const {
  return affine_requantize(d, m[m.size() > 1 ? e : 0], c[c.size() > 1 ? e : 0], shift);
}

// Clamps v to [lo, hi] and narrows.
inline int32_t clamp_q(int64_t v, int32_t lo, int32_t hi) {
  return static_cast<int32_t>(v < lo ? lo : (v > hi ? hi : v));
}

}  // namespace qs
