// A quantized layer (Conv, ConvTranspose, Gemm, MatMul with a constant operand) prepared for the integer
// kernels: integer weights, the int32 bias, and per output channel the fixed-point multiplier from the
// accumulator to the output grid. One preparation for the reference and the optimized kernels, and for
// the simulation (which recovers accumulators with acc_scale and requantizes them with mult).
//
// Per output channel c with weight channel wc (= c, or c mod Cout/group for ConvTranspose):
//   acc  = bias[c] + Σ (x - x_zp) · (w - w_zp[c])              exact, int32 (int64 when it could overflow)
//   y    = clamp(out_zp + R(acc, mult[c]), lo, hi)             R: core/int/requant.h
//   bias[c] = clamp_int32(round_half_even(b[c] / float(s_in · s_w[wc])))   (as the simulation's bias)
//   mult[c] ≈ s_in · s_w[wc] / s_out
// [lo, hi] is [qmin, qmax] of the output, narrowed by a fused Relu/Clip to the quantized bounds.
#pragma once

#include <string>
#include <vector>

#include "core/graph/graph.h"
#include "core/int/lowering.h"
#include "core/int/requant.h"
#include "core/quant/quantizer.h"

namespace qs {

struct LayerQuant {
  std::string where;           // "node 'conv1' (Conv)" for messages
  int64_t out_channels = 0;    // channels of the output
  Shape wshape;                // the ONNX weight's shape
  std::vector<int32_t> w;      // quantized weight, ONNX layout
  std::vector<int32_t> w_zp;   // per output channel
  std::vector<int32_t> bias;   // per output channel (0 without bias)
  std::vector<double> acc_scale;      // s_in · s_w[wc]: the real value of one accumulator step
  std::vector<FixedMultiplier> mult;  // per output channel
  QuantParams in, out;         // activation points of the input and of the result
  int32_t lo = 0, hi = 0;      // output clamp
  int32_t max_abs_x = 0;       // max |x - x_zp| over the input grid
  int32_t max_abs_w = 0;       // max |w - w_zp|
  int64_t max_abs_bias = 0;

  int32_t finish(int64_t acc, int64_t c) const {
    return clamp_q(static_cast<int64_t>(out.zero_point[0]) + requantize(acc, mult[static_cast<size_t>(c)]), lo, hi);
  }
  // True when every partial sum of K products plus the bias fits int32 (the optimized kernels accumulate
  // in int32), and x - x_zp and w - w_zp fit int16 (they pack operands as int16).
  bool int32_safe(int64_t K) const;
};

// The clamp [lo, hi] of output params `p` narrowed by a Relu/Clip with float bounds [a_lo, a_hi].
void activation_clamp(const QuantParams& p, float a_lo, float a_hi, int32_t* lo, int32_t* hi);

// The arithmetic of a ConstOperand node `ln` of `L` (requant.h, ConstAffine) with its constant `k`: m and c
// per element of k, or one value where they do not vary. Shared by the engine and the simulation.
ConstAffine const_operand_affine(const LoweredNode& ln, const Lowering& L, const Tensor& k);

// `ln` must be a Layer of `L` lowered from `g` and `plan`.
LayerQuant prepare_layer(const Graph& g, const LoweredNode& ln, const QuantPlan& plan, const Lowering& L);

}  // namespace qs
