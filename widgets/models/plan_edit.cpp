#include "widgets/models/plan_edit.h"

#include <cmath>

#include "core/common/error.h"

namespace qs::ui {

std::vector<int> offeredBits(TensorKind kind) {
  if (kind == TensorKind::Weight) return {2, 3, 4, 5, 6, 7, 8, kFloatBits};
  return {4, 5, 6, 7, 8, 16, kFloatBits};
}

int displayBits(const PlanEntry& e) { return e.quantize ? e.spec.bits : kFloatBits; }

PlanEntry withBits(const PlanEntry& e, int bits, bool act_signed) {
  PlanEntry r = e;
  if (bits == kFloatBits) {
    r.quantize = false;
    return r;
  }
  const bool weight = e.kind == TensorKind::Weight;
  if (weight ? !weight_bits_allowed(bits) : !activation_bits_allowed(bits))
    throw Error("'" + e.tensor + "': " + std::to_string(bits) + " bits is not allowed for " +
                (weight ? "weights (2–8)" : "activations (4–8 or 16)"));
  QuantSpec s = e.spec;
  s.bits = bits;
  if (!weight) {
    if (bits == 16) {
      s.symmetric = true;
      s.is_signed = true;
    } else if (e.spec.bits == 16) {
      s.symmetric = false;
      s.is_signed = act_signed;
    }
  }
  r.quantize = true;
  r.set_spec(s);
  return r;
}

PlanEntry withRange(const PlanEntry& e, const std::vector<float>& lo, const std::vector<float>& hi) {
  if (lo.size() != e.lo.size() || hi.size() != e.hi.size())
    throw Error("'" + e.tensor + "': " + std::to_string(lo.size()) + " ranges given, the entry has " +
                std::to_string(e.lo.size()));
  for (size_t c = 0; c < lo.size(); ++c)
    if (!std::isfinite(lo[c]) || !std::isfinite(hi[c]) || lo[c] > hi[c])
      throw Error("'" + e.tensor + "': range [" + std::to_string(lo[c]) + ", " + std::to_string(hi[c]) +
                  "] of channel " + std::to_string(c) + " is not a finite interval");
  PlanEntry r = e;
  r.lo = lo;
  r.hi = hi;
  r.params = params_from_range(r.spec, r.lo, r.hi);
  return r;
}

bool sameQuantization(const PlanEntry& a, const PlanEntry& b) {
  return a.quantize == b.quantize && a.spec.bits == b.spec.bits && a.spec.symmetric == b.spec.symmetric &&
         a.spec.is_signed == b.spec.is_signed && a.spec.axis == b.spec.axis && a.lo == b.lo && a.hi == b.hi;
}

}  // namespace qs::ui
