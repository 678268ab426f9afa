// Seeded random probes for Hutchinson trace estimators (LFH, labeled Hessian trace): reproducible from
// (seed, sample, probe, output) alone, whatever the batch split or thread count.
#pragma once

#include <cstdint>

#include "core/tensor/tensor.h"

namespace qs {

// SplitMix64: a well-mixed 64-bit hash step.
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline uint64_t probe_seed(uint64_t seed, uint64_t a, uint64_t b, uint64_t c = 0) {
  return splitmix64(splitmix64(splitmix64(splitmix64(seed) ^ a) ^ b) ^ c);
}

// A float32 tensor of independent ±1 entries (Rademacher).
inline Tensor rademacher(const Shape& shape, uint64_t seed) {
  Tensor t(DType::Float32, shape);
  float* p = t.data<float>();
  uint64_t state = seed, bits = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (i % 64 == 0) bits = splitmix64(state++);
    p[i] = (bits >> (i % 64)) & 1 ? 1.f : -1.f;
  }
  return t;
}

}  // namespace qs
