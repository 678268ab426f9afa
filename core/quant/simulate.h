// Fake-quantized inference of a whole model under a plan: weights are replaced by dequantize(quantize(w))
// and biases by their int32 quantization with scale s_in·s_w[c]; activations at the plan's points are
// fake-quantized as they are produced, with exactly the rounding and clamping of quantizer.h. Entries can
// be enabled selectively (per-layer analysis).
#pragma once

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
};

// The graph with the plan's weights (and biases) fake-quantized.
Graph quantize_weights(const Graph& g, const QuantPlan& plan, const QuantPoints& points, const SimOptions& options);

}  // namespace qs
