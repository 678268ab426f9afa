// Reverse mode over a Graph: a forward pass that keeps every value (the tape), then backward passes that
// carry the gradient of a scalar — Σ_v <seed_v, v> over any seeded values — to any set of values: graph
// inputs, weights (initializers) and intermediate activations, all from one pass.
//
//   ReverseModel m(graph);
//   Tape t = m.forward({{"input", x}});
//   auto g = m.backward(t, {{"logits", v}}, {"input", "conv1.weight", "relu1_out"});
//
// The forward pass runs the float runtime's kernels (core/ops), exactly as Executor does; gradients come
// from the VJPs of core/autodiff/vjp.h. Only nodes on a path from a requested value to a seeded value are
// differentiated, so ops without a VJP elsewhere in the graph (shape arithmetic, ...) do no harm; an op on
// such a path without a VJP is an UnsupportedError naming the node.
//
// Fake quantization: ForwardOptions::fake_quant quantizes values as they are produced, exactly as
// SimulatedModel does (core/quant/simulate.h), and the backward pass treats the rounding as the identity
// inside the clamp range and stops the gradient outside it (straight-through estimator). The gradient
// reported for a fake-quantized value is the one of the value before quantization (what its producer
// computed).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/graph/graph.h"
#include "core/quant/quantizer.h"

namespace qs {

struct ForwardOptions {
  // Values (graph inputs or node outputs) fake-quantized as they are produced.
  std::map<std::string, QuantParams> fake_quant;
  // Added to values as they are produced (before fake_quant); for finite differences. Same shapes.
  std::map<std::string, Tensor> perturb;
  // New values for initializers named as parameters of the ReverseModel.
  std::map<std::string, Tensor> params;
};

class Tape {
 public:
  // The value as consumers saw it (after perturbation and fake quantization).
  const Tensor& value(const std::string& name) const;
  bool has(const std::string& name) const;

 private:
  friend class ReverseModel;
  const std::map<std::string, int>* slot_of_ = nullptr;
  std::vector<Tensor> values_;    // by slot
  std::vector<Tensor> raw_;       // by slot, where modified: what the kernel produced
  std::vector<Tensor> prequant_;  // by slot, where fake-quantized: the quantizer's input
  std::vector<std::shared_ptr<const QuantParams>> quant_;  // by slot: fake-quant parameters, or null
};

class ReverseModel {
 public:
  // `params`: initializers whose values forward() may replace (ForwardOptions::params); kernels do not
  // pre-pack them. Throws UnsupportedError listing the nodes the float runtime cannot run.
  explicit ReverseModel(Graph graph, const std::set<std::string>& params = {});
  ~ReverseModel();
  ReverseModel(ReverseModel&&) noexcept;

  const Graph& graph() const { return graph_; }

  // Runs the model on `feeds` (every graph input by name), keeping every value. Thread-safe.
  Tape forward(const std::map<std::string, Tensor>& feeds, const ForwardOptions& options = {}) const;

  // Gradient of L = Σ_v <seeds[v], v> with respect to each name in `wrt` (graph inputs, initializers,
  // node outputs). Seeds must be float32 values of the tape with matching shapes. A value L does not
  // depend on gets zeros. Thread-safe (several backward passes may share a tape).
  std::map<std::string, Tensor> backward(const Tape& tape, const std::map<std::string, Tensor>& seeds,
                                         const std::vector<std::string>& wrt) const;

 private:
  struct Step;
  Graph graph_;
  std::set<std::string> params_;
  std::vector<Step> steps_;
  std::map<std::string, int> slot_of_;
  std::vector<Tensor> constants_;
  std::vector<int> input_slots_;
};

// Straight-through VJP of fake_quantize(x, p): g where round(x/scale) + zero_point falls inside
// [qmin, qmax] (per channel along p.axis), 0 elsewhere and for NaN.
Tensor fake_quantize_vjp(const Tensor& x, const QuantParams& p, const Tensor& g);

}  // namespace qs
