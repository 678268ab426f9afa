// Mixed precision on a quantization plan: from a calibrated plan and its sensitivity table to the ILP of
// ilp.h (one group per plan entry), and from the ILP's choice back to a plan.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/algo/mixed/ilp.h"
#include "core/algo/mixed/sensitivity.h"
#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/quant/plan.h"
#include "core/quant/quant_points.h"

namespace qs {

struct MixedSetup {
  // Pinned tensors, by plan tensor name → bits (kFloatBits keeps the tensor in float). Use resolve_pin
  // for names a user typed.
  std::map<std::string, int> pins;
  MixedBudget budget;
};

// "NAME=BITS" or "NAME=float" → (NAME, bits or kFloatBits). Throws Error naming the text.
std::pair<std::string, int> parse_pin(const std::string& text);
// The plan tensor a user's name refers to: a tensor of the plan, or a layer (node name) whose weight is in
// the plan. Throws Error naming the unknown name.
std::string resolve_pin(const QuantPlan& plan, const std::string& name);

// The entry at `bits`: for a weight, the range is estimated again with the entry's method at the new width
// (an MSE clip depends on it; a method we cannot re-run keeps its range); for an activation the calibrated
// range is kept (16 bits symmetric, narrower asymmetric, as calibrate() makes them). kFloatBits sets
// quantize = false.
PlanEntry with_bits(const PlanEntry& e, const Graph& g, int bits);

// One group per plan entry, in plan order. Weights: the widths measured in `table` (or the pin alone);
// activations: the widths measured in `table` when there are any, else the plan's own width (a float
// activation counts 32 bits), or the pin. Losses come from the table (0 for float, and for a width the
// table lacks only when the group has a single option). Element counts of activations and the MACs of
// the layers come from a dry run on one zero sample of every input (batch 1), of the shapes in
// `sample_shapes` (by input name). Throws Error for a pin the plan lacks, a weight the table lacks, a pin of
// a disallowed width, or an input without a shape.
MixedProblem build_problem(const Graph& g, const QuantPlan& plan, const QuantPoints& points,
                           const SensitivityTable& table, const MixedSetup& setup,
                           const std::map<std::string, Shape>& sample_shapes);
// The same with the shapes of the inputs a dataset feeds (its own to the first input, its attached ones by
// name),
MixedProblem build_problem(const Graph& g, const QuantPlan& plan, const QuantPoints& points,
                           const SensitivityTable& table, const MixedSetup& setup, const Dataset& data);
// or, for a model with one input, of that input's samples (UnsupportedError for a model with several).
MixedProblem build_problem(const Graph& g, const QuantPlan& plan, const QuantPoints& points,
                           const SensitivityTable& table, const MixedSetup& setup, const Shape& sample_shape);

// The plan with every group at its chosen width (p must come from build_problem on this plan).
QuantPlan apply_choice(const Graph& g, const QuantPlan& plan, const MixedProblem& p,
                       const std::vector<int>& choice);

// Every weight group with a choice at `bits` (pinned and other single-option groups keep theirs); empty when
// such a group lacks that width or an activation group has a choice. The uniform plan a mixed one must beat.
std::vector<int> uniform_choice(const MixedProblem& p, int bits);

// The ILP adds single-tensor sensitivities; this checks its allocation against the widest uniform one in
// `widths` that fits the same budget: both plans are measured whole (measure_distortion) and `s` takes the
// uniform allocation when it measures smaller. uniform_bits is 0 when no uniform allocation fits or it is
// the ILP's own (nothing measured).
struct UniformCheck {
  int uniform_bits = 0;
  double ilp = 0, uniform = 0;  // measured distortions
  bool kept_uniform = false;
};
UniformCheck check_against_uniform(const Graph& g, Dataset& data, const QuantPlan& plan,
                                   const QuantPoints& points, const SensitivityTable& table,
                                   const MixedProblem& p, MixedSolution& s, std::vector<int> widths,
                                   int64_t batch);

std::string solution_to_json(const MixedProblem& p, const MixedSolution& s);
std::string pareto_to_json(const MixedProblem& p, const std::vector<ParetoPoint>& points);

}  // namespace qs
