// The integer-only inference engine (Jacob et al. 2017): a model and a quantization plan compiled into a
// program of integer kernels. Activations live as int8/uint8 (int16 for 16-bit points) with their zero
// points, weights as integers per output channel, biases as int32 with scale s_in·s_w, accumulators in
// int32, and every change of scale is a fixed-point requantization (core/int/requant.h). Float appears
// only at the edges — graph inputs are quantized, outputs dequantized — and around float islands, the
// nodes with no integer form, which lowering.h lists with the reason.
//
// The fake-quant simulation (core/quant/simulate.h) models this arithmetic; on models it can represent,
// the two agree on every output element (tests/core/int_engine_test.cpp).
//
// Kernels are built (weights quantized and packed, multipliers computed) once in the constructor;
// run() is const and may be called from several threads at once.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/graph/graph.h"
#include "core/int/isa.h"
#include "core/int/lowering.h"
#include "core/quant/plan.h"
#include "core/quant/quant_points.h"

namespace qs {

struct IntOptions {
  IntIsa isa = best_int_isa();  // Reference runs every layer on the plain loops (the oracle)
  // Chains of 1×1 and depthwise convolutions pass their values channels-last (int_ops.h,
  // ChannelsLastKernel) where the kernels allow; false keeps every value NCHW. Results are equal either way.
  bool channels_last = true;
};

// What the program does per node, for listings and the GUI.
struct IntStepInfo {
  std::string node, op_type;
  IntKind kind;
  std::string detail;  // kernel path ("packed avx2", "reference", ...) or the float island's reason
};

class IntegerModel {
 public:
  // Validates the plan against the model (validate_plan) and builds every kernel. Throws Error /
  // UnsupportedError naming the node or entry at fault.
  IntegerModel(const Graph& g, const QuantPlan& plan, const QuantPoints& points, const IntOptions& options = {});
  ~IntegerModel();
  IntegerModel(IntegerModel&&) noexcept;
  IntegerModel& operator=(IntegerModel&&) noexcept;

  // Float inputs in the order of the graph's inputs; float outputs (dequantized where quantized).
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const;
  // Any values by name, in the representation the program holds them: integer tensors for quantized
  // values (see params()), float otherwise.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& feeds, const std::vector<std::string>& fetch) const;

  const Graph& graph() const;
  const Lowering& lowering() const;
  // Scale/zero point of a value held as integers, nullptr for float values.
  const QuantParams* params(const std::string& value) const;
  const std::vector<IntStepInfo>& steps() const;
  IntIsa isa() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qs
