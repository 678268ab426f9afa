// Re-parameterizable (RepVGG-style) blocks in an imported graph.
//
// A block is a sum of branches that all read the same input x, optionally followed by a BatchNormalization
// of the sum, then (optionally) an activation:
//
//     x ─┬─ Conv k×k ─[BN]─┐
//        ├─ Conv 1×1 ─[BN]─┼─ Add/Add (or Sum) ─[BN post-sum]─ activation
//        └─────────── [BN]─┘  (identity: only when Cin == Cout and stride 1)
//
// covering RepVGG (BN on every branch), QARepVGG (BN-free 1×1 and identity, BN after the sum), and both as
// an exporter writes them with each Conv+BN already folded into a Conv with bias (then a branch is a bare
// Conv, and the identity's BN, having no conv to fold into, is still a node). Grouped convs are supported
// (every conv branch must use the same group count). Generally: any number of conv branches whose odd
// kernels are centred in the largest one (k×k with k > 1 on some axis, e.g. 3×3 with 1×1, or ACNet's 1×3
// and 3×1), at most one identity branch; every conv with stride s, dilation 1 and pads p_b = p_main −
// (k_main − k_b)/2 per side, so all branches see the same output grid.
//
// To be fusable, every value inside the block (branch outputs, partial sums, the sum before a post-sum BN)
// must have the block as its only consumer and not be a graph output; weights, biases and BN parameters must
// be float32 initializers; BatchNormalization must be in inference form (no training_mode, one output).
// Candidates that share an input but break one of these rules are listed in `skipped` with the reason.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/graph/graph.h"

namespace qs::repvgg {

enum class BranchKind { Conv, Identity };

struct Branch {
  BranchKind kind = BranchKind::Conv;
  std::string conv;             // Conv node name ("" for identity)
  std::string weight;           // Conv weight initializer ("" for identity)
  std::string bias;             // Conv bias initializer ("" when none)
  std::vector<int64_t> kernel;  // {kh, kw}; identity: {1, 1}
  std::string bn;               // BatchNormalization node on the branch ("" when none)
  std::string output;           // the value the sum adds

  // "3x3+BN", "1x1", "identity+BN", ...
  std::string label() const;
};

struct Block {
  std::string name;   // the main (largest-kernel) conv's node name: how the block is known in reports
  std::string input;  // x, the value every branch reads
  std::vector<Branch>
      branches;  // conv branches by decreasing kernel area (the main one first), identity last
  std::vector<std::string> adds;  // Add/Sum nodes forming the sum
  std::string sum;                // the sum's value
  std::string post_bn;            // BatchNormalization node after the sum ("" when none)
  std::string output;             // value the fused conv will produce: the post-sum BN's output, else `sum`
  std::string activation_node;    // the activation consuming `output` ("" when none)
  std::string activation_op;      // its op type ("" when none)
  std::string activation;         // the activation's output, or `output` when there is none

  int64_t in_channels = 0, out_channels = 0, group = 1;
  std::vector<int64_t> kernel;         // fused kernel {kh, kw}
  std::vector<int64_t> strides, pads;  // of the main conv (pads: begin h, w, end h, w)

  bool has_identity() const;
  // True when no branch carries a BatchNormalization node but a conv has a bias: the exporter folded them.
  bool bn_folded() const;
  // "RepVGG" (no post-sum BN) or "QARepVGG" (post-sum BN).
  std::string variant() const;
  // "3x3+BN, 1x1+BN, identity+BN" (+ ", post-sum BN").
  std::string structure() const;
  // Every node the fused conv replaces (branch convs and BNs, the adds, the post-sum BN), graph order.
  std::vector<std::string> replaced_nodes(const Graph& g) const;
};

struct SkippedCandidate {
  std::string node;    // the Add/Sum node at the root of the sum
  std::string reason;  // why it is not a re-parameterizable block
};

struct Detection {
  std::vector<Block> blocks;  // in graph order of their sums
  std::vector<SkippedCandidate> skipped;
};

// Finds every block. Never throws on a well-formed Graph; candidates it cannot use go to `skipped`.
Detection detect_blocks(const Graph& g);

}  // namespace qs::repvgg
