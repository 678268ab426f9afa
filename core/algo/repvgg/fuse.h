// Structural re-parameterization: each block becomes one conv with bias (Ding et al., RepVGG):
//
//   per branch b:  K_b = W_b·t_b (W_b zero-padded to the main kernel, centred), c_b = (bias_b − μ_b)·t_b +
//   β_b
//                  with t_b = γ_b/√(σ²_b + ε) when the branch has a BN, else t_b = 1, c_b = bias_b (0 if
//                  none); identity: W = one-hot at [c, c mod (Cin/group), centre]
//   sum:           K = Σ K_b,  c = Σ c_b
//   post-sum BN:   K ← K·t, c ← (c − μ)·t + β
//
// computed in double and stored as float32. The fused conv reads the block's input, has the main conv's
// strides, pads and group, and produces the block's output value under its original name, so everything
// downstream (the activation, plans, reports) keeps its names.
#pragma once

#include <string>
#include <vector>

#include "core/algo/repvgg/block.h"
#include "core/data/dataset.h"
#include "core/graph/graph.h"

namespace qs::repvgg {

struct FusedKernel {
  Tensor weight;  // float32 [Cout, Cin/group, kh, kw]
  Tensor bias;    // float32 [Cout]
};

// The equivalent kernel of one branch (BN scaled in, padded to the block's kernel) and its bias.
FusedKernel branch_kernel(const Graph& g, const Block& b, const Branch& br);
// The block's fused kernel and bias. Throws Error naming the block when a parameter is missing.
FusedKernel fuse_block(const Graph& g, const Block& b);

struct FusedConv {
  std::string block;         // Block::name
  Node node;                 // the new Conv (inputs: block input, weight, bias; output: Block::output)
  std::string weight, bias;  // its initializer names
  FusedKernel kernel;
  std::vector<std::string> replaced;  // names of the nodes it replaces
};

struct FusedModel {
  Graph graph;                   // a copy of the input graph with every block fused
  std::vector<Block> blocks;     // the blocks fused
  std::vector<FusedConv> convs;  // one per block, in the order of the blocks given
};

// Fuses the given blocks (from detect_blocks on `g`). Node and initializer names of the new convs are
// fresh ("<main conv>_fused", "<main conv>_fused.weight", ".bias"); everything else keeps its name.
FusedModel fuse_graph(const Graph& g, const std::vector<Block>& blocks);

// How far the fused model is from the original on data. The relative error of a value is
// max|fused − original| / max|original| over all compared samples (the elementwise ratio means nothing
// where the value crosses zero, as a ReLU input does).
struct FusionCheck {
  int64_t samples = 0;
  std::vector<double> block_rel_error;  // per block, at Block::output
  double output_rel_error = 0;          // the largest over the graph outputs
  double max_rel_error() const;
  bool ok(double tol = 1e-4) const { return max_rel_error() <= tol; }
};

// Runs both graphs on the first `count` samples (all when <= 0), every input fed by name from `data` and
// its attached inputs (fusion keeps the inputs).
FusionCheck check_fusion(const Graph& original, const Graph& fused, const std::vector<Block>& blocks,
                         Dataset& data, int64_t count, int64_t batch, const ProgressFn& progress = nullptr);

}  // namespace qs::repvgg
