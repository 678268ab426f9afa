// Kernels of the integer engine, one per lowered node (core/int/lowering.h). They implement the Kernel
// interface of core/ops/kernel.h: inputs in the node's input order (quantized values as integer tensors,
// other values as they are), outputs in the node's output order, except that a fused activation's output
// replaces outputs[0].
//
// Arithmetic per kind (q: stored integers, z: zero points, R: requantize of requant.h, every result
// clamped to the output's [qmin, qmax], narrowed further by a Relu/Clip):
//   Layer          see layer_quant.h
//   MatMulInt      y = z_y + R(Σ (a − z_a)(b − z_b); s_a·s_b/s_y)
//   Add / Sub      y = z_y + add_requantize(a − z_a, ±(b − z_b); s_a/s_y, s_b/s_y)
//   Mul            y = z_y + R((a − z_a)(b − z_b); s_a·s_b/s_y)
//   Concat         y = z_y + R(x_i − z_i; s_i/s_y) for the slice of input i
//   AveragePool    y = z_y + R(Σ_window (x − z_x); s_x/(s_y·divisor))           (pool_int.h)
//   Activation     y = z_y + R(x − z_x; s_x/s_y) for x ≥ z_x, R(x − z_x; α·s_x/s_y) below (α = 1 for
//                  Relu/Clip, whose bounds are a clamp; LeakyRelu's alpha; PRelu's slope element)
//   Table          y = table[x − qmin], the float island's result per input level (level_table.h)
//   Movement       the float kernel run on the integers (same scale and zero point)
#pragma once

#include <memory>

#include "core/graph/graph.h"
#include "core/int/isa.h"
#include "core/int/lowering.h"
#include "core/ops/kernel.h"
#include "core/ops/window.h"
#include "core/quant/plan.h"

namespace qs {

struct IntNodeContext {
  const Graph& g;          // the model as loaded (float weights)
  const LoweredNode& ln;   // its node points into g
  const Lowering& L;
  const QuantPlan& plan;
  int64_t opset = 0;
  IntIsa isa = IntIsa::Portable;
};

// An integer kernel that can also run on channels-last data: 4-D values held as [N, H, W, C] instead of
// [N, C, H, W] (the engine decides which, core/int/engine.cpp). The packed 1×1 and depthwise 2-D
// convolutions with 8-bit input and output on AVX2 can, and GlobalAveragePool, which ends a group:
// MobileNet-style chains of them then pass their activations on without transposing each depthwise
// layer's input and output (its kernel works on 16 channels of one position per vector).
class ChannelsLastKernel {
 public:
  virtual ~ChannelsLastKernel() = default;
  virtual bool can_run_channels_last() const = 0;
  // Whether the layer itself runs faster so, at this output width (< 0: unknown), not only its neighbours:
  // the depthwise layers narrow enough that on NCHW data their kernel transposes into and out of the
  // channel-interleaved order (PackedConv::interleaves).
  virtual bool gains_from_channels_last(int64_t out_width) const = 0;
  // From now on the input (and the output, if output_channels_last()) is channels-last. Precondition:
  // can_run_channels_last().
  virtual void set_channels_last() = 0;
  // False for kernels that read channels-last but write NCHW (GlobalAveragePool: [N, C, 1, 1] is the same
  // in both layouts); these end a group of channels-last nodes instead of linking it.
  virtual bool output_channels_last() const { return true; }
};

// An integer layer that can write the max pooling of its result instead of the result: a MaxPool with 2×2
// windows of stride 2 inside the grid (LeNet's and VGG's), which then costs no pass of its own — the packed
// 2-D convolutions take it as they copy their grid rows out (PackedConv::run_max_pooled). Max needs no
// arithmetic, so the values are the MaxPool's exactly. The engine fuses a MaxPool that is the only reader
// of a layer's result (make_fused_max_pool_kernel), unless a run fetches that result.
class MaxPoolFusingKernel {
 public:
  virtual ~MaxPoolFusingKernel() = default;
  // Runs the layer on `in` and sets out[0] to the MaxPool `pool` (the node `where`) of its result; false,
  // doing nothing, unless that pooling has 2×2 windows of stride 2 and dilation 1, no padding before the
  // data, and output extents ⌊OH/2⌋, ⌊OW/2⌋ of at least 1, and the layer's kernel path can pool.
  virtual bool run_max_pooled(std::span<const Tensor* const> in, std::span<Tensor> out,
                              const WindowAttrs& pool, const std::string& where) const = 0;
};

// A MaxPool node (`c`, without an Indices output) run together with the layer before it, whose result it
// alone reads: `layer` writes the pooled values where it can (MaxPoolFusingKernel), else `layer_kernel`
// and `pool` run one after the other. Inputs: the layer's; output: the MaxPool's. The kernels must outlive
// the result.
std::unique_ptr<Kernel> make_fused_max_pool_kernel(const IntNodeContext& c, const MaxPoolFusingKernel& layer,
                                                   const Kernel& layer_kernel, const Kernel& pool);

// The kernel of an integer node (every kind but Fused, FloatIsland and Float). Throws UnsupportedError
// naming the node when it cannot be built.
std::unique_ptr<Kernel> make_int_layer_kernel(const IntNodeContext& c);       // Layer, MatMulInt
std::unique_ptr<Kernel> make_int_elementwise_kernel(const IntNodeContext& c);  // Add, Sub, Mul, ConstOperand,
                                                                               // Concat, Activation, Table
std::unique_ptr<Kernel> make_int_pool_kernel(const IntNodeContext& c);         // AveragePool, GlobalAveragePool,
                                                                               // MaxPool/GlobalMaxPool on int16
// Movement and Meta: the float kernel on integers (Pad's constant replaced by its level on the grid).
std::unique_ptr<Kernel> make_int_movement_kernel(const IntNodeContext& c);

}  // namespace qs
