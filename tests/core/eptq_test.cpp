// EPTQ on a tiny CNN at 3-bit weights: the learned rounding lowers the distillation loss below
// round-to-nearest — measured independently with the fake-quant simulation (SimulatedModel) — every tuned
// weight lies on the plan's grid one step at most from RTN, and a cancel keeps the best rounding so far.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "core/algo/eptq.h"
#include "core/quant/calibrate.h"
#include "core/quant/simulate.h"
#include "core/runtime/executor.h"
#include "tests/core/algo_test_util.h"

namespace qs {
namespace {

using testing::NpyDataset;

// Σ_l w_l · mean((z_l^sim − z_l^float)²) over the first `count` images, by the fake-quant simulation.
double sim_loss(const Graph& tuned, const QuantPlan& plan, const Graph& g, const Tensor& images,
                int64_t count, const std::vector<EptqLayer>& layers) {
  const QuantPoints points = quant_points_for(g, {images.dim(1), images.dim(2), images.dim(3)});
  const SimulatedModel sim(tuned, plan, points);
  const Executor fl(g);
  Shape s = images.shape();
  s[0] = count;
  Tensor x(DType::Float32, s);
  std::copy(images.data<float>(), images.data<float>() + x.numel(), x.data<float>());
  std::vector<std::string> fetch;
  for (const auto& l : layers) fetch.push_back(l.target);
  const auto zq = sim.run({{"x", x}}, fetch);
  const auto zf = fl.run({{"x", x}}, fetch);
  double loss = 0;
  for (const auto& l : layers) {
    const Tensor& a = zq.at(l.target);
    const Tensor& b = zf.at(l.target);
    double sq = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      const double d = static_cast<double>(a.data<float>()[i]) - b.data<float>()[i];
      sq += d * d;
    }
    loss += l.weight_factor * sq / static_cast<double>(a.numel());
  }
  return loss;
}

struct EptqSetup {
  std::mt19937 rng{41};
  Graph g = testing::tiny_cnn(rng);
  Tensor images = testing::normal({48, 1, 6, 6}, rng, 1.f);
  NpyDataset ds{images};
  QuantPlan plan;
  EptqSetup() {
    CalibrationOptions c;
    c.weight_bits = 3;
    c.act_bits = 8;
    c.calib_count = 48;
    plan = calibrate(g, *ds, c);
  }
  EptqOptions options() const {
    EptqOptions o;
    o.iterations = 150;
    o.batch = 16;
    o.calib_count = 48;
    o.eval_count = 32;
    o.eval_every = 25;
    o.lfh.samples = 8;
    o.lfh.max_probes = 20;
    return o;
  }
};

TEST(Eptq, BeatsRoundToNearestOnTheGrid) {
  EptqSetup s;
  int calls = 0;
  EptqOptions o = s.options();
  o.progress = [&](const EptqStep& st) {
    ++calls;
    EXPECT_EQ(st.iteration, calls);
    EXPECT_TRUE(std::isfinite(st.loss));
    return true;
  };
  const EptqResult r = eptq(s.g, *s.ds, s.plan, o);
  EXPECT_EQ(calls, o.iterations);
  EXPECT_EQ(r.iterations_run, o.iterations);
  EXPECT_FALSE(r.cancelled);
  ASSERT_EQ(r.layers.size(), 3u);
  EXPECT_EQ(r.curve.size(), static_cast<size_t>(o.iterations));
  // Targets: the fused Relu outputs for the convolutions, the logits for the Gemm.
  EXPECT_EQ(r.layers[0].target, "r1");
  EXPECT_EQ(r.layers[1].target, "r2");
  EXPECT_EQ(r.layers[2].target, "y");
  // LFH weights (scaled to mean 1) are not uniform.
  double mean = 0;
  for (const auto& l : r.layers) mean += l.weight_factor / 3;
  EXPECT_NEAR(mean, 1.0, 1e-12);
  EXPECT_NE(r.layers[0].weight_factor, r.layers[1].weight_factor);

  std::cout << "EPTQ: RTN loss " << r.rtn_eval_loss << ", best " << r.best_eval_loss << " at iteration "
            << r.best_iteration << "\n";
  EXPECT_LT(r.best_eval_loss, 0.95 * r.rtn_eval_loss) << "RTN " << r.rtn_eval_loss;
  EXPECT_GT(r.best_iteration, 0);
  // The simulation of the tuned model under the plan agrees with EPTQ's own evaluation, and so does RTN.
  const double sim_rtn = sim_loss(s.g, s.plan, s.g, s.images, o.eval_count, r.layers);
  const double sim_tuned = sim_loss(r.graph, r.plan, s.g, s.images, o.eval_count, r.layers);
  EXPECT_NEAR(sim_rtn, r.rtn_eval_loss, 1e-5 * sim_rtn);
  EXPECT_NEAR(sim_tuned, r.best_eval_loss, 1e-5 * sim_rtn);
  // On images not used for the evaluation, too (all 48 include the 16 others).
  EXPECT_LT(sim_loss(r.graph, r.plan, s.g, s.images, 48, r.layers),
            sim_loss(s.g, s.plan, s.g, s.images, 48, r.layers));

  // Every tuned weight is a grid point (q − zp)·s with q in [qmin, qmax], within one step of RTN.
  int64_t changed = 0;
  for (const auto& l : r.layers) {
    const PlanEntry* e = r.plan.find(l.weight);
    const Tensor& w = *r.graph.initializer(l.weight);
    const Tensor& w0 = *s.g.initializer(l.weight);
    const ChannelLayout cl = channel_layout(w.shape(), e->params.axis);
    int64_t ch = 0;
    for (int64_t i = 0; i < w.numel(); ++i) {
      const int64_t c = cl.channels == 1 ? 0 : (i / cl.inner) % cl.channels;
      const float sc = e->params.scale[static_cast<size_t>(c)];
      const double q = static_cast<double>(w.data<float>()[i]) / sc;
      ASSERT_NEAR(q, std::round(q), 1e-4) << l.weight << "[" << i << "]";
      EXPECT_GE(std::round(q), e->params.qmin);
      EXPECT_LE(std::round(q), e->params.qmax);
      const int32_t rtn = quantize_value(w0.data<float>()[i], sc, 0, e->params.qmin, e->params.qmax);
      EXPECT_LE(std::abs(std::round(q) - rtn), 1.0);
      ch += std::round(q) != rtn;
    }
    EXPECT_EQ(ch, l.changed);
    changed += ch;
  }
  EXPECT_GT(changed, 0);
  // Biases are untouched without learn_bias.
  const std::vector<float> b_tuned = r.graph.initializer("b1")->to_vector<float>();
  EXPECT_EQ(b_tuned, s.g.initializer("b1")->to_vector<float>());
}

TEST(Eptq, UniformWeightsCancelAndErrors) {
  EptqSetup s;
  EptqOptions o = s.options();
  o.lfh_weights = false;
  o.iterations = 60;
  o.eval_every = 10;
  o.progress = [](const EptqStep& st) { return st.iteration < 30; };
  const EptqResult r = eptq(s.g, *s.ds, s.plan, o);
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.iterations_run, 30);
  for (const auto& l : r.layers) EXPECT_EQ(l.weight_factor, 1.0);
  EXPECT_LE(r.best_eval_loss, r.rtn_eval_loss);
  EXPECT_LE(r.best_iteration, 30);
  EXPECT_NEAR(sim_loss(r.graph, r.plan, s.g, s.images, o.eval_count, r.layers), r.best_eval_loss,
              1e-5 * r.rtn_eval_loss);
  // Zero iterations: round-to-nearest itself.
  o.iterations = 0;
  o.progress = nullptr;
  const EptqResult z = eptq(s.g, *s.ds, s.plan, o);
  EXPECT_EQ(z.best_eval_loss, z.rtn_eval_loss);
  for (const auto& l : z.layers) EXPECT_EQ(l.changed, 0);
  // A plan without quantized weights, bad options.
  QuantPlan none = s.plan;
  for (auto& e : none.entries)
    if (e.kind == TensorKind::Weight) e.quantize = false;
  EXPECT_THROW(eptq(s.g, *s.ds, none, o), Error);
  o.lr = 0;
  EXPECT_THROW(eptq(s.g, *s.ds, s.plan, o), Error);
}

TEST(Eptq, LearnedBiasesAndScalesStayConsistentWithThePlan) {
  EptqSetup s;
  EptqOptions o = s.options();
  o.iterations = 100;
  o.learn_bias = true;
  o.learn_scales = true;
  const EptqResult r = eptq(s.g, *s.ds, s.plan, o);
  EXPECT_LE(r.best_eval_loss, r.rtn_eval_loss);
  validate_plan(r.plan, s.g, quant_points_for(s.g, s.ds->sample_shape()));
  // Tuned weights are on the (possibly rescaled) grid of the returned plan.
  for (const auto& l : r.layers) {
    const PlanEntry* e = r.plan.find(l.weight);
    const Tensor& w = *r.graph.initializer(l.weight);
    const ChannelLayout cl = channel_layout(w.shape(), e->params.axis);
    for (int64_t i = 0; i < w.numel(); ++i) {
      const int64_t c = cl.channels == 1 ? 0 : (i / cl.inner) % cl.channels;
      const double q = static_cast<double>(w.data<float>()[i]) / e->params.scale[static_cast<size_t>(c)];
      ASSERT_NEAR(q, std::round(q), 1e-4);
    }
  }
  if (r.best_iteration > 0) {  // the simulation quantizes the learned biases to int32: nearly the same loss
    EXPECT_NEAR(sim_loss(r.graph, r.plan, s.g, s.images, o.eval_count, r.layers), r.best_eval_loss,
                0.05 * r.rtn_eval_loss);
  }
}

}  // namespace
}  // namespace qs
