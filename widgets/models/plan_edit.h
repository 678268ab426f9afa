// Edits of one plan entry as the views offer them (bit-width, float/quantized, clip range), each producing
// a new entry with consistent params. Pure functions: PlanDocument wraps them in undo commands.
#pragma once

#include <vector>

#include "core/quant/plan.h"

namespace qs::ui {

// The "bits" value that means "keep this tensor in float" (as the CLI's --weight-bits 32).
inline constexpr int kFloatBits = 32;

// Bit-widths a view offers for a kind of tensor, float last.
std::vector<int> offeredBits(TensorKind kind);
// The bits an entry shows: its spec's, or kFloatBits when it is not quantized.
int displayBits(const PlanEntry& e);

// Returns `e` at `bits` (kFloatBits: quantize = false, spec kept). Activations at 16 bits become symmetric
// signed (TFLite's 16x8 mode, as calibrate's activation_spec); leaving 16 bits restores asymmetric with
// `act_signed` (int8 or uint8). Throws qs::Error naming the tensor for a width the kind does not allow.
PlanEntry withBits(const PlanEntry& e, int bits, bool act_signed = true);

// Returns `e` with the calibrated (clip) range [lo, hi] per channel and params re-derived. Throws qs::Error
// naming the tensor when the channel count differs or a bound is not finite or lo > hi.
PlanEntry withRange(const PlanEntry& e, const std::vector<float>& lo, const std::vector<float>& hi);

// True when two entries quantize identically (quantize flag, spec, range).
bool sameQuantization(const PlanEntry& a, const PlanEntry& b);

}  // namespace qs::ui
