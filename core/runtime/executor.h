// Float executor: runs a Graph with the registered kernels. Kernels are created (validated, weights
// packed) once in the constructor; run() is const and may be called from several threads at once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/graph/graph.h"
#include "core/ops/kernel.h"

namespace qs {

struct RunOptions {
  // Observes values as they are produced (graph inputs first, then each node's outputs in topological
  // order). When empty nothing is observed and nothing is kept longer than needed. A tap that copies the
  // Tensor (cheap, shared buffer) may keep it.
  std::function<void(const std::string& name, const Tensor& value)> tap;
  // Replaces values as they are produced (graph inputs too), before taps and consumers see them: the
  // fake-quant simulation quantizes activations here. It must assign a new Tensor to `value`, never write
  // into the buffer it holds (which may be the caller's input or shared with another value).
  std::function<void(const std::string& name, Tensor& value)> rewrite;
};

class Executor {
 public:
  // Throws UnsupportedError listing every node that cannot run.
  explicit Executor(Graph graph);
  ~Executor();
  Executor(Executor&&) noexcept;
  Executor& operator=(Executor&&) noexcept;

  const Graph& graph() const { return graph_; }

  // Inputs in the order of graph().inputs; returns graph().outputs in order. Throws Error naming the input
  // whose type or shape does not fit the model, or the node whose computation failed.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, const RunOptions& options = {}) const;
  // Feeds by name; returns the requested values (graph outputs or any intermediate value, by name).
  //
  // A model exported with a fixed batch size B (every input's first dimension B, common with batch 1) is
  // run on any number of samples n: the feeds are cut into chunks of B along dimension 0, the last one
  // padded by repeating its last sample, and the fetched values whose first dimension is B are joined
  // back to n rows (values without a batch dimension come from the first chunk). Taps and rewrites see
  // each chunk, padding included.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& feeds,
                                    const std::vector<std::string>& fetch,
                                    const RunOptions& options = {}) const;
  // The fixed batch size of the model's inputs, or 0 when it is free (or the inputs disagree).
  int64_t fixed_batch() const { return fixed_batch_; }

 private:
  std::map<std::string, Tensor> run_once(const std::map<std::string, Tensor>& feeds,
                                         const std::vector<std::string>& fetch,
                                         const RunOptions& options) const;
  struct Step;
  struct Profile;
  void print_profile() const;
  void fuse_activations();
  void check_input(const ValueInfo& vi, const Tensor& t) const;
  Graph graph_;
  std::vector<Step> steps_;
  std::map<std::string, int> slot_of_;
  std::vector<Tensor> constants_;  // by slot; undefined where the slot is computed
  size_t num_slots_ = 0;
  int64_t fixed_batch_ = 0;
  std::unique_ptr<Profile> profile_;  // set when QS_PROFILE is in the environment
};

// Element type and shape of every value for the given feeds, from one run (a dry run on zeros of the
// right shapes will do).
struct ValueMeta {
  DType dtype = DType::Undefined;
  Shape shape;
};
std::map<std::string, ValueMeta> probe_values(const Executor& ex, const std::map<std::string, Tensor>& feeds);
std::map<std::string, DType> value_types(const std::map<std::string, ValueMeta>& meta);

}  // namespace qs
