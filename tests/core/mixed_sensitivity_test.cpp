// Mixed-precision sensitivity (core/algo/mixed/sensitivity.h) against the plain definition: the whole
// fake-quant simulation with only one tensor quantized (SimulatedModel with `only`), on every sample, with
// the plan entry at that width made by calibrating at that width. The table's downstream-only runs must
// give the same numbers. Then the problem built from the table: pins, budgets and the plan written back.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/algo/mixed/mixed_plan.h"
#include "core/common/error.h"
#include "core/common/parallel.h"
#include "core/quant/calibrate.h"
#include "core/quant/simulate.h"
#include "core/runtime/executor.h"
#include "tests/core/algo_test_util.h"

namespace qs {
namespace {

using testing::empty_graph;
using testing::make_node;
using testing::normal;
using testing::NpyDataset;

// x [N,1,6,6] → conv1 3×3 → Relu → conv2 3×3 ─┐
//        └──→ conv3 3×3 (shortcut) ──────────── Add → Relu → Flatten → fc (Gemm, transB) → y [N,3]
// conv2's downstream reads the shortcut's value computed upstream of it, so the cut is not one value.
Graph branchy(std::mt19937& rng) {
  Graph g = empty_graph({1, 1, 6, 6});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.initializers["w1"] = normal({4, 1, 3, 3}, rng, 0.6f);
  g.initializers["b1"] = normal({4}, rng, 0.1f);
  g.initializers["w2"] = normal({4, 4, 3, 3}, rng, 0.25f);
  g.initializers["b2"] = normal({4}, rng, 0.1f);
  g.initializers["w3"] = normal({4, 1, 3, 3}, rng, 0.5f);
  g.initializers["w4"] = normal({3, 144}, rng, 0.2f);
  g.initializers["b4"] = normal({3}, rng, 0.1f);
  const auto pads = Attribute::of_ints({1, 1, 1, 1});
  g.nodes = {make_node("conv1", "Conv", {"x", "w1", "b1"}, {"c1"}, {{"pads", pads}}),
             make_node("relu1", "Relu", {"c1"}, {"r1"}),
             make_node("conv2", "Conv", {"r1", "w2", "b2"}, {"c2"}, {{"pads", pads}}),
             make_node("conv3", "Conv", {"x", "w3"}, {"c3"}, {{"pads", pads}}),
             make_node("add", "Add", {"c2", "c3"}, {"s"}),
             make_node("relu2", "Relu", {"s"}, {"r2"}),
             make_node("flat", "Flatten", {"r2"}, {"f"}),
             make_node("fc", "Gemm", {"f", "w4", "b4"}, {"y"}, {{"transB", Attribute::of_int(1)}})};
  return g;
}

struct Fixture {
  std::mt19937 rng{17};
  Graph g = branchy(rng);
  NpyDataset data{normal({24, 1, 6, 6}, rng, 1.f)};
  CalibrationOptions calib = [] {
    CalibrationOptions c;
    c.weight_method = "mse";
    c.batch = 8;
    return c;
  }();
  QuantPlan plan = calibrate(g, *data, calib);
  QuantPoints points = quant_points_for(g, data->sample_shape());
};

// Σ_k w_k NMSE_k of the whole simulation with only `tensor` quantized, `entry` taken from a plan
// calibrated at that width.
double reference_loss(Fixture& f, const std::string& tensor, int bits,
                      const std::map<std::string, double>& observe, int64_t batch) {
  CalibrationOptions c = f.calib;
  const PlanEntry* base = f.plan.find(tensor);
  (base->kind == TensorKind::Weight ? c.weight_bits : c.act_bits) = bits;
  const QuantPlan at = calibrate(f.g, *f.data, c);
  QuantPlan plan = f.plan;
  *plan.find(tensor) = *at.find(tensor);
  SimOptions so;
  so.only = std::set<std::string>{tensor};
  SimulatedModel sim(f.g, plan, f.points, so);
  Executor fex(f.g);
  std::vector<std::string> fetch;
  for (const auto& [k, w] : observe) fetch.push_back(k);
  std::map<std::string, double> num, den;
  for (int64_t b0 = 0; b0 < f.data->size(); b0 += batch) {
    Batch b = f.data->read(b0, std::min(batch, f.data->size() - b0));
    auto fv = fex.run({{"x", b.images}}, fetch);
    auto qv = sim.run({{"x", b.images}}, fetch);
    for (const auto& k : fetch) {
      const auto x = fv.at(k).to_vector<float>(), y = qv.at(k).to_vector<float>();
      for (size_t i = 0; i < x.size(); ++i) {
        num[k] += (static_cast<double>(y[i]) - x[i]) * (static_cast<double>(y[i]) - x[i]);
        den[k] += static_cast<double>(x[i]) * x[i];
      }
    }
  }
  double loss = 0;
  for (const auto& [k, w] : observe) loss += w * num[k] / den[k];
  return loss;
}

void expect_table_matches_reference(Fixture& f, const SensitivityTable& t,
                                    const std::map<std::string, double>& observe) {
  for (const auto& row : t.rows)
    for (size_t i = 0; i < row.bits.size(); ++i) {
      const double want = reference_loss(f, row.tensor, row.bits[i], observe, 8);
      EXPECT_NEAR(row.loss[i], want, 1e-9 + 1e-6 * want) << row.tensor << " at " << row.bits[i] << " bits";
    }
}

TEST(MixedSensitivity, OutputDistortionEqualsTheFullSimulation) {
  Fixture f;
  SensitivityOptions o;
  o.weight_bits = {2, 4, 8};
  o.batch = 8;
  const SensitivityTable t = compute_sensitivity(f.g, *f.data, f.plan, f.points, o);
  ASSERT_EQ(t.rows.size(), 4u);  // w1..w4, no activations
  EXPECT_EQ(t.samples, 24);
  EXPECT_EQ(t.observe, (std::map<std::string, double>{{"y", 1.0}}));
  expect_table_matches_reference(f, t, {{"y", 1.0}});
  // Every width of every layer changes the output a little, and 2 bits more than 8.
  for (const auto& row : t.rows) {
    EXPECT_GT(row.loss_at(8), 0) << row.tensor;
    EXPECT_GT(row.loss_at(2), row.loss_at(8)) << row.tensor;
  }
  // Only the downstream nodes ran: conv1 reaches 7 of the 8 nodes, fc only itself.
  EXPECT_LT(t.nodes_run, t.runs * t.model_nodes);
  EXPECT_THROW(t.rows[0].loss_at(3), Error);
}

// Mean over samples of KL(softmax(float y) ‖ softmax(quantized y)) with only `tensor` quantized at `bits`,
// computed directly from the two models' outputs.
double reference_kl(Fixture& f, const std::string& tensor, int bits) {
  QuantPlan plan = f.plan;
  *plan.find(tensor) = with_bits(*f.plan.find(tensor), f.g, bits);
  SimOptions so;
  so.only = std::set<std::string>{tensor};
  SimulatedModel sim(f.g, plan, f.points, so);
  Executor fex(f.g);
  Batch b = f.data->read(0, f.data->size());
  const auto x = fex.run({{"x", b.images}}, {"y"}).at("y"), y = sim.run({{"x", b.images}}, {"y"}).at("y");
  const int64_t n = x.shape()[0], c = x.shape()[1];
  double kl = 0;
  for (int64_t i = 0; i < n; ++i) {
    double zx = 0, zy = 0;
    for (int64_t k = 0; k < c; ++k) {
      zx += std::exp(static_cast<double>(x.data<float>()[i * c + k]));
      zy += std::exp(static_cast<double>(y.data<float>()[i * c + k]));
    }
    for (int64_t k = 0; k < c; ++k) {
      const double px = std::exp(static_cast<double>(x.data<float>()[i * c + k])) / zx;
      const double py = std::exp(static_cast<double>(y.data<float>()[i * c + k])) / zy;
      kl += px * std::log(px / py);
    }
  }
  return kl / static_cast<double>(n);
}

TEST(MixedSensitivity, SoftmaxKlOfTheOutputEqualsTheDirectComputation) {
  Fixture f;
  SensitivityOptions o;
  o.weight_bits = {2, 8};
  o.batch = 8;
  o.output_kl = true;
  const SensitivityTable t = compute_sensitivity(f.g, *f.data, f.plan, f.points, o);
  ASSERT_EQ(t.rows.size(), 4u);
  for (const auto& row : t.rows)
    for (int bits : {2, 8}) {
      const double want = reference_kl(f, row.tensor, bits);
      EXPECT_GT(want, 0) << row.tensor;
      EXPECT_NEAR(row.loss_at(bits), want, 1e-9 + 1e-6 * want) << row.tensor << " at " << bits << " bits";
    }
  // An output without a class axis is refused by name.
  Fixture h;
  h.g.nodes.push_back(make_node("sum", "ReduceSum", {"y"}, {"z"}, {{"keepdims", Attribute::of_int(0)}}));
  h.g.outputs = {{"z", DType::Float32, std::nullopt}};
  h.points = quant_points_for(h.g, h.data->sample_shape());
  try {
    compute_sensitivity(h.g, *h.data, h.plan, h.points, o);
    ADD_FAILURE() << "a 1-D output was accepted for KL";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'z'"), std::string::npos) << e.what();
  }
}

// A plan with one weight quantized, measured whole, is that weight's row of the table: the joint
// measurement and the single-tensor sensitivity are the same quantity when only one tensor differs.
TEST(MixedSensitivity, MeasuredPlanDistortionOfOneTensorIsItsSensitivity) {
  Fixture f;
  for (bool kl : {false, true}) {
    SensitivityOptions o;
    o.weight_bits = {3, 6};
    o.batch = 8;
    o.output_kl = kl;
    const SensitivityTable t = compute_sensitivity(f.g, *f.data, f.plan, f.points, o);
    for (const auto& row : t.rows)
      for (int bits : {3, 6}) {
        QuantPlan one = f.plan;
        for (auto& e : one.entries) e.quantize = false;
        *one.find(row.tensor) = with_bits(*f.plan.find(row.tensor), f.g, bits);
        const double got = measure_distortion(f.g, *f.data, one, f.points, t, 5);
        // KL of nearly equal float32 outputs loses digits to the order of the float operations.
        EXPECT_NEAR(got, row.loss_at(bits), 1e-9 + (kl ? 1e-4 : 1e-6) * got)
            << row.tensor << " at " << bits << (kl ? " (KL)" : "");
      }
    // Two weights at once measure more than either alone (their errors do not cancel on this model).
    QuantPlan two = f.plan;
    for (auto& e : two.entries) e.quantize = false;
    *two.find("w1") = with_bits(*f.plan.find("w1"), f.g, 3);
    *two.find("w4") = with_bits(*f.plan.find("w4"), f.g, 3);
    const double both = measure_distortion(f.g, *f.data, two, f.points, t, 8);
    EXPECT_GT(both, std::max(t.find("w1")->loss_at(3), t.find("w4")->loss_at(3)));
  }
}

TEST(MixedSensitivity, WeightedIntermediateTensorsAndActivationWidths) {
  Fixture f;
  SensitivityOptions o;
  o.weight_bits = {3, 6};
  o.act_bits = {4, 8};
  o.observe = {{"y", 1.0}, {"r1", 0.5}, {"s", 2.0}, {"c3", 0.0}, {"x", 0.25}};
  o.batch = 8;
  const SensitivityTable t = compute_sensitivity(f.g, *f.data, f.plan, f.points, o);
  EXPECT_EQ(t.observe.count("c3"), 0u);  // weight 0: not observed
  size_t acts = 0;
  for (const auto& r : t.rows) acts += r.kind == TensorKind::Activation;
  EXPECT_EQ(acts, f.points.activations.size());
  expect_table_matches_reference(f, t, {{"y", 1.0}, {"r1", 0.5}, {"s", 2.0}, {"x", 0.25}});
  // The input is observed too: only its own quantization changes it.
  EXPECT_GT(t.find("x")->nmse[0].at("x"), 0);
  EXPECT_EQ(t.find("w1")->nmse[0].count("x"), 0u);
}

TEST(MixedSensitivity, ChunkingAndThreadsDoNotChangeTheNumbers) {
  Fixture f;
  SensitivityOptions o;
  o.weight_bits = {2, 5};
  o.observe = {{"y", 1.0}, {"r2", 0.3}};
  o.batch = 8;
  const SensitivityTable a = compute_sensitivity(f.g, *f.data, f.plan, f.points, o);
  o.cache_bytes = 1;  // one batch of samples held at a time
  const int threads = num_threads();
  set_num_threads(1);
  const SensitivityTable b = compute_sensitivity(f.g, *f.data, f.plan, f.points, o);
  set_num_threads(threads);
  ASSERT_EQ(a.rows.size(), b.rows.size());
  for (size_t r = 0; r < a.rows.size(); ++r) EXPECT_EQ(a.rows[r].loss, b.rows[r].loss) << a.rows[r].tensor;
}

TEST(MixedSensitivity, BadOptionsAreRefusedByName) {
  Fixture f;
  SensitivityOptions o;
  o.weight_bits = {1};
  EXPECT_THROW(compute_sensitivity(f.g, *f.data, f.plan, f.points, o), Error);
  o.weight_bits = {4};
  o.observe = {{"nope", 1.0}};
  try {
    compute_sensitivity(f.g, *f.data, f.plan, f.points, o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos) << e.what();
  }
  o.observe.clear();
  o.bits_for = {{"w9", {4}}};
  EXPECT_THROW(compute_sensitivity(f.g, *f.data, f.plan, f.points, o), Error);
  o.bits_for.clear();
  o.progress = [](int64_t, int64_t) { return false; };
  EXPECT_THROW(compute_sensitivity(f.g, *f.data, f.plan, f.points, o), CancelledError);
}

TEST(MixedPlan, WithBitsEqualsCalibratingAtThatWidth) {
  Fixture f;
  for (int bits : {2, 3, 5}) {
    CalibrationOptions c = f.calib;
    c.weight_bits = bits;
    const QuantPlan want = calibrate(f.g, *f.data, c);
    for (const auto& e : f.plan.entries) {
      if (e.kind != TensorKind::Weight) continue;
      const PlanEntry got = with_bits(e, f.g, bits);
      const PlanEntry& w = *want.find(e.tensor);
      EXPECT_EQ(got.spec.bits, bits);
      EXPECT_EQ(got.lo, w.lo) << e.tensor;
      EXPECT_EQ(got.hi, w.hi) << e.tensor;
      EXPECT_EQ(got.params.scale, w.params.scale) << e.tensor;
    }
  }
  for (int bits : {4, 16}) {
    CalibrationOptions c = f.calib;
    c.act_bits = bits;
    const QuantPlan want = calibrate(f.g, *f.data, c);
    for (const auto& e : f.plan.entries) {
      if (e.kind != TensorKind::Activation) continue;
      const PlanEntry got = with_bits(e, f.g, bits), back = with_bits(got, f.g, 8);
      const PlanEntry& w = *want.find(e.tensor);
      EXPECT_EQ(got.spec.symmetric, w.spec.symmetric) << e.tensor << " at " << bits;
      EXPECT_EQ(got.spec.is_signed, w.spec.is_signed) << e.tensor << " at " << bits;
      EXPECT_EQ(got.params.scale, w.params.scale) << e.tensor << " at " << bits;
      EXPECT_EQ(got.params.zero_point, w.params.zero_point) << e.tensor << " at " << bits;
      EXPECT_EQ(back.params.scale, e.params.scale) << e.tensor;
      EXPECT_EQ(back.params.zero_point, e.params.zero_point) << e.tensor;
    }
  }
  EXPECT_FALSE(with_bits(f.plan.entries[0], f.g, kFloatBits).quantize);
}

TEST(MixedPlan, PinsBudgetAndPlanWrittenBack) {
  Fixture f;
  SensitivityOptions o;
  o.weight_bits = {2, 4, 8};
  o.batch = 8;
  MixedSetup setup;
  setup.pins[resolve_pin(f.plan, "conv2")] = kFloatBits;  // a layer name resolves to its weight
  setup.pins[resolve_pin(f.plan, "w4")] = 4;
  EXPECT_EQ(resolve_pin(f.plan, "conv2"), "w2");
  for (const auto& [t, b] : setup.pins) o.bits_for[t] = {b};
  const SensitivityTable t = compute_sensitivity(f.g, *f.data, f.plan, f.points, o);
  MixedProblem p = build_problem(f.g, f.plan, f.points, t, setup, f.data->sample_shape());
  ASSERT_EQ(p.groups.size(), f.plan.entries.size());
  // The uniform 4-bit size (the float pin counted at 4 bits): infeasible, since w2 alone at 32 bits is
  // more than its share.
  double uniform4 = 0;
  for (const auto& e : f.plan.entries)
    if (e.kind == TensorKind::Weight) uniform4 += f.g.initializer(e.tensor)->numel() * 0.5;
  p.budget.weight_bytes = uniform4;
  const MixedSolution bad = solve_mixed(p);
  ASSERT_FALSE(bad.feasible);
  // Smallest feasible: w2 float, w4 at 4, the rest at 2 bits.
  const double smallest = 144 * 4.0 + 36 * 0.25 + 36 * 0.25 + 432 * 0.5;
  ASSERT_TRUE(bad.min_weight_bytes.has_value());
  EXPECT_DOUBLE_EQ(*bad.min_weight_bytes, smallest);

  p.budget.weight_bytes = smallest + 100;
  const MixedSolution s = solve_mixed(p);
  ASSERT_TRUE(s.feasible);
  const QuantPlan mixed = apply_choice(f.g, f.plan, p, s.choice);
  EXPECT_FALSE(mixed.find("w2")->quantize);
  EXPECT_EQ(mixed.find("w4")->spec.bits, 4);
  EXPECT_DOUBLE_EQ(mixed.weight_bytes(f.g), s.costs.weight_bytes);
  EXPECT_LE(mixed.weight_bytes(f.g), smallest + 100);
  EXPECT_NO_THROW(validate_plan(mixed, f.g, f.points));
  // The predicted loss is the table's: the sum over the chosen widths.
  double loss = 0;
  for (size_t i = 0; i < p.groups.size(); ++i) {
    const int bits = p.groups[i].options[static_cast<size_t>(s.choice[i])].bits;
    if (p.groups[i].kind == TensorKind::Weight && bits != kFloatBits)
      loss += t.find(p.groups[i].tensor)->loss_at(bits);
  }
  EXPECT_NEAR(s.costs.loss, loss, 1e-12);
  // BOPs: MACs per sample · weight bits · input activation bits (8), with w2's float at 32.
  const double macs1 = 4 * 36 * 9, macs2 = 4 * 36 * 36, macs3 = 4 * 36 * 9, macs4 = 3 * 144;
  auto wbits = [&](const std::string& w) { return mixed.find(w)->quantize ? mixed.find(w)->spec.bits : 32; };
  EXPECT_DOUBLE_EQ(s.costs.bops, 8 * (macs1 * wbits("w1") + macs2 * 32 + macs3 * wbits("w3") + macs4 * 4));

  // The uniform allocation: every weight with a choice at 4 bits, pins kept; none at a width not measured.
  const std::vector<int> uni = uniform_choice(p, 4);
  ASSERT_EQ(uni.size(), p.groups.size());
  for (size_t i = 0; i < p.groups.size(); ++i) {
    const MixedGroup& grp = p.groups[i];
    const int bits = grp.options[static_cast<size_t>(uni[i])].bits;
    if (grp.tensor == "w2") {
      EXPECT_EQ(bits, kFloatBits);
    } else if (grp.kind == TensorKind::Weight) {
      EXPECT_EQ(bits, 4) << grp.tensor;
    }
  }
  EXPECT_TRUE(uniform_choice(p, 3).empty());

  EXPECT_THROW(resolve_pin(f.plan, "conv9"), Error);
  EXPECT_EQ(parse_pin("a.b=float"), (std::pair<std::string, int>{"a.b", kFloatBits}));
  EXPECT_EQ(parse_pin("x=y=3"), (std::pair<std::string, int>{"x=y", 3}));
  EXPECT_THROW(parse_pin("conv1"), Error);
  EXPECT_THROW(parse_pin("conv1=four"), Error);
  setup.pins["w1"] = 1;
  EXPECT_THROW(build_problem(f.g, f.plan, f.points, t, setup, f.data->sample_shape()), Error);
}

// The check against uniform measures both plans whole (as measure_distortion does, recomputed here) and
// takes the uniform allocation only when it measures smaller: an all-2-bit allocation loses to uniform
// 4 bits at the 4-bit budget; the ILP's own allocation is kept when it measures no worse.
TEST(MixedPlan, CheckAgainstUniformKeepsTheAllocationThatMeasuresBetter) {
  Fixture f;
  SensitivityOptions o;
  o.weight_bits = {2, 4, 8};
  o.batch = 8;
  const SensitivityTable t = compute_sensitivity(f.g, *f.data, f.plan, f.points, o);
  MixedProblem p = build_problem(f.g, f.plan, f.points, t, MixedSetup{}, f.data->sample_shape());
  double uniform4 = 0;
  for (const auto& e : f.plan.entries)
    if (e.kind == TensorKind::Weight) uniform4 += f.g.initializer(e.tensor)->numel() * 0.5;
  p.budget.weight_bytes = uniform4;
  const std::vector<int> uni4 = uniform_choice(p, 4), uni2 = uniform_choice(p, 2);
  auto measured = [&](const std::vector<int>& choice) {
    return measure_distortion(f.g, *f.data, apply_choice(f.g, f.plan, p, choice), f.points, t, 8);
  };

  MixedSolution worse;
  worse.feasible = true;
  worse.choice = uni2;
  worse.costs = evaluate(p, uni2);
  const UniformCheck c = check_against_uniform(f.g, *f.data, f.plan, f.points, t, p, worse, {2, 4, 8}, 8);
  EXPECT_EQ(c.uniform_bits, 4);  // 8 bits does not fit the budget
  EXPECT_DOUBLE_EQ(c.ilp, measured(uni2));
  EXPECT_DOUBLE_EQ(c.uniform, measured(uni4));
  EXPECT_GT(c.ilp, c.uniform);
  EXPECT_TRUE(c.kept_uniform);
  EXPECT_EQ(worse.choice, uni4);
  EXPECT_DOUBLE_EQ(worse.costs.weight_bytes, uniform4);

  MixedSolution s = solve_mixed(p);
  ASSERT_TRUE(s.feasible);
  const std::vector<int> ilp = s.choice;
  const UniformCheck d = check_against_uniform(f.g, *f.data, f.plan, f.points, t, p, s, {2, 4, 8}, 8);
  if (ilp == uni4) {
    EXPECT_EQ(d.uniform_bits, 0);  // nothing to compare
  } else {
    EXPECT_EQ(d.kept_uniform, d.uniform < d.ilp);
    EXPECT_EQ(s.choice, d.kept_uniform ? uni4 : ilp);
  }
}

}  // namespace
}  // namespace qs
