// Fake-quantized inference of a whole model under a plan: weights are replaced by dequantize(quantize(w))
// and biases by their int32 quantization with scale s_in·s_w[c]; activations at the plan's points are
// fake-quantized as they are produced, with exactly the rounding and clamping of quantizer.h. Entries can
// be enabled selectively (per-layer analysis).
//
// Where the integer engine (core/int/engine.h) computes a point with integer arithmetic, the simulation
// models that arithmetic instead of rounding the float value: the float kernel's result is turned back
// into the exact integer accumulator (a layer's Σ(x−z_x)(w−z_w)+bias, recovered as round(y / (s_in·s_w));
// a pool's window sum, round(y·divisor / s_in)) or, for Add/Sub/Mul/Concat and unfused activations,
// computed from the operands' grid levels, and then requantized with the engine's fixed-point multipliers
// and rounding (core/int/requant.h). The nodes this applies to, and everything else, follow the one
// lowering of core/int/lowering.h, so simulation and engine agree element for element. Recovering an
// accumulator is exact while the float kernel's rounding error stays below half a unit of s_in·s_w,
// i.e. ~10^6 times the accumulator's relative precision needed in practice.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/quant/plan.h"
#include "core/quant/quant_points.h"
#include "core/runtime/executor.h"

namespace qs {

struct SimOptions {
  // When set, only these tensors' entries are applied (others stay float), e.g. one layer for "isolated".
  std::optional<std::set<std::string>> only;
  bool quantize_bias = true;
};

class SimulatedModel {
 public:
  SimulatedModel(const Graph& g, const QuantPlan& plan, const QuantPoints& points, const SimOptions& options = {});

  // As Executor::run; the caller's tap/rewrite in `options` see the fake-quantized values.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, const RunOptions& options = {}) const;
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& feeds, const std::vector<std::string>& fetch,
                                    const RunOptions& options = {}) const;
  const Executor& executor() const { return ex_; }

 private:
  RunOptions wrap(const RunOptions& options) const;
  std::map<std::string, QuantParams> act_params_;
  Executor ex_;
  struct IntegerArithmetic;  // the models of integer nodes (simulate.cpp)
  std::shared_ptr<const IntegerArithmetic> int_;
};

// The graph with the plan's weights (and biases) fake-quantized.
Graph quantize_weights(const Graph& g, const QuantPlan& plan, const QuantPoints& points, const SimOptions& options);

}  // namespace qs
