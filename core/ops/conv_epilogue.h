// A clamp applied to a convolution's outputs as they are written: the executor fuses a Conv with the
// Clip or Relu that is its only consumer (when nothing observes the Conv's own output), saving a pass
// over the activations and their allocation.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>

#include "core/ops/kernel.h"

namespace qs {

struct ConvClamp {
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
};

// Exactly the Clip kernel's formula (NaN passes through both comparisons), so fused results are
// bit-identical to Conv then Clip. Relu (x < 0 ? 0 : x) is the clamp [0, +inf) under this formula.
inline float clamp_value(float x, float lo, float hi) {
  const float v = x < lo ? lo : x;
  return v > hi ? hi : v;
}

inline void clamp_run(float* y, int64_t n, const ConvClamp* c) {
  if (!c) return;
  const float lo = c->lo, hi = c->hi;
  for (int64_t i = 0; i < n; ++i) y[i] = clamp_value(y[i], lo, hi);
}

// A Conv kernel for `init` (a Conv node) whose outputs are clamped to [clamp.lo, clamp.hi].
std::unique_ptr<Kernel> make_conv_clamped(const KernelInit& init, ConvClamp clamp);

}  // namespace qs
