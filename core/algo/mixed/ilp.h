// Mixed-precision bit allocation as an integer linear program (HAWQ-V3; MCT's "mixed precision search"),
// solved exactly with COIN-OR CBC (branch and cut).
//
// Every quantizable tensor is a group with a few options (bit-widths). One binary x[g][o] per option,
//   Σ_o x[g][o] = 1                                    exactly one option per group
//   minimize    Σ x[g][o] · loss[g][o]                 predicted loss, assumed additive over groups
//   subject to  Σ_weights x · elements · bits / 8 ≤ budget.weight_bytes
//               Σ_layers  macs · w_bits · a_bits ≤ budget.bops     (BOPs; a_bits: the layer's input point)
//               elements · bits / 8 ≤ budget.act_bytes for every activation group   (the largest tensor)
// When both a layer's weight and its input activation have several options, the product w_bits·a_bits is
// linearized with one continuous z per pair of options, z ≥ x_w + x_a − 1, z ≥ 0 (exact at integral x,
// and the only lower bound a ≤ constraint needs). A pin is a group with a single option. A float tensor
// counts 32 bits (kFloatBits).
//
// Budgets are checked exactly on the returned choice (evaluate()); when the solver's feasibility tolerance
// lets a solution exceed a budget by a rounding error, the row is tightened and the problem solved again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/quant/plan.h"

namespace qs {

inline constexpr int kFloatBits = 32;

struct MixedOption {
  int bits = 8;     // 2..16, or kFloatBits for float
  double loss = 0;  // predicted loss of choosing this option (>= 0)
};

struct MixedGroup {
  std::string tensor;  // ONNX value name
  TensorKind kind = TensorKind::Weight;
  int64_t elements = 0;  // weights: elements of the tensor; activations: elements per sample
  int64_t macs = 0;      // weights: multiply-accumulates per sample of the layer(s) using it (for BOPs)
  int input = -1;        // weights: index of the group of the layer's input activation, -1 when none
  int input_bits = kFloatBits;       // weights: bits of the input activation when input == -1
  std::vector<MixedOption> options;  // at least one
};

struct MixedBudget {
  std::optional<double> weight_bytes;  // Σ over weight groups of elements·bits/8
  std::optional<double> bops;          // Σ over weight groups of macs·w_bits·a_bits
  std::optional<double> act_bytes;     // max over activation groups of elements·bits/8 (per sample)
};

struct MixedProblem {
  std::vector<MixedGroup> groups;
  MixedBudget budget;
};

struct MixedCosts {
  double loss = 0;
  double weight_bytes = 0;
  double bops = 0;
  double act_bytes = 0;
};

// The costs of `choice` (one option index per group). Throws Error on a bad choice.
MixedCosts evaluate(const MixedProblem& p, const std::vector<int>& choice);
// True when `c` is within every budget of `p`.
bool within_budget(const MixedProblem& p, const MixedCosts& c);

struct MixedSolution {
  bool feasible = false;
  std::vector<int> choice;  // option index per group (empty when infeasible)
  MixedCosts costs;
  double seconds = 0;  // wall time of the solver (all solves, including the minimum-budget ones)
  // When infeasible: the smallest value of each resource that some choice reaches while meeting the other
  // budgets (nullopt when the other budgets cannot be met either, or the resource is unconstrained).
  std::optional<double> min_weight_bytes, min_bops, min_act_bytes;
  std::string message;  // why it is infeasible, naming the budgets and the smallest feasible ones
};

// Solves p to optimality. Throws Error when p is malformed (a group without options, bad bits, a bad input
// index, negative loss).
MixedSolution solve_mixed(const MixedProblem& p);

// The smallest and largest weight bytes any choice can have (every group at its fewest / most bits).
double min_weight_bytes(const MixedProblem& p);
double max_weight_bytes(const MixedProblem& p);

struct ParetoPoint {
  double budget = 0;  // the weight-byte budget this point was solved for
  MixedSolution solution;
};

// Solves p for `points` (>= 2) weight-byte budgets evenly spaced from min_weight_bytes to
// max_weight_bytes (the other budgets of p apply). Points whose optimal choice repeats the previous
// point's are dropped, so the result is the distinct allocations in increasing size.
std::vector<ParetoPoint> pareto_sweep(const MixedProblem& p, int points);

}  // namespace qs
