// LFH against the exact trace of JᵀJ from full Jacobians (built column by column with central finite
// differences of the forward pass — no VJP involved), the Hutchinson stopping rule, per-channel sums,
// log-normalization and determinism.
#include <gtest/gtest.h>

#include <cmath>

#include "core/algo/hessian_trace.h"
#include "core/algo/lfh.h"
#include "core/algo/probes.h"
#include "core/autodiff/reverse.h"
#include "core/quant/calibrate.h"
#include "tests/core/algo_test_util.h"
#include "tests/core/autodiff_test_util.h"

namespace qs {
namespace {

using testing::exact_trace;
using testing::NpyDataset;

Tensor sample(const Tensor& all, int64_t i) {
  const int64_t per = all.numel() / all.dim(0);
  Shape s = all.shape();
  s[0] = 1;
  Tensor t(DType::Float32, s);
  std::copy(all.data<float>() + i * per, all.data<float>() + (i + 1) * per, t.data<float>());
  return t;
}

TEST(Lfh, ConvergesToTheExactTraceFromFullJacobians) {
  std::mt19937 rng(31);
  const Graph g = testing::tiny_mlp(rng, 3);
  const int64_t n = 3;
  const Tensor images = testing::normal({n, 1, 2, 2}, rng, 1.f);
  NpyDataset ds(images);
  const QuantPoints points = quant_points_for(g, ds->sample_shape());
  LfhOptions o;
  o.samples = n;
  o.batch = 1;
  o.min_probes = 400;
  o.max_probes = 400;
  o.seed = 5;
  const LfhResult r = compute_lfh(g, *ds, points, o);
  // Every weight and activation point: w1, w2, x, h (fc1 output), t (Tanh output, consumed by fc2), y.
  ASSERT_EQ(r.tensors.size(), 6u);
  for (const auto& t : r.tensors) {
    SCOPED_TRACE(t.tensor);
    double exact = 0, var = 0;
    for (int64_t i = 0; i < n; ++i) {
      const testing::ExactTrace e = exact_trace(g, sample(images, i), t.tensor);
      exact += e.trace / n;
      var += e.sigma2 / o.max_probes / (n * n);
    }
    EXPECT_EQ(t.probes, 400);
    EXPECT_GT(exact, 0);
    // Within 5 standard deviations of the estimator, plus the finite-difference error of the reference.
    EXPECT_NEAR(t.trace, exact, 5 * std::sqrt(var) + 2e-3 * exact) << "sd " << std::sqrt(var);
    // J = I for the output itself: every probe gives ‖v‖² = K exactly.
    if (t.tensor == "y") {
      EXPECT_NEAR(t.trace, 3.0, 1e-9);
    }
  }
}

TEST(Lfh, OneOutputIsExactAndStopsAtTheMinimumProbes) {
  std::mt19937 rng(32);
  const Graph g = testing::tiny_mlp(rng, 1);
  const Tensor images = testing::normal({4, 1, 2, 2}, rng, 1.f);
  NpyDataset ds(images);
  LfhOptions o;
  o.samples = 4;
  o.batch = 1;
  const LfhResult r = compute_lfh(g, *ds, quant_points_for(g, ds->sample_shape()), o);
  for (const auto& t : r.tensors) {
    SCOPED_TRACE(t.tensor);
    // v = ±1 on a single output: every probe gives ‖J‖² exactly, the running mean never moves.
    EXPECT_EQ(t.probes, o.min_probes);
    double exact = 0;
    for (int64_t i = 0; i < 4; ++i) exact += exact_trace(g, sample(images, i), t.tensor).trace / 4;
    EXPECT_NEAR(t.trace, exact, 2e-3 * exact);
  }
}

TEST(Lfh, StoppingRuleAndCap) {
  std::mt19937 rng(33);
  const Graph g = testing::tiny_mlp(rng, 4);
  const Tensor images = testing::normal({1, 1, 2, 2}, rng, 1.f);
  NpyDataset ds(images);
  const QuantPoints points = quant_points_for(g, ds->sample_shape());
  LfhOptions o;
  o.samples = 1;
  o.batch = 1;
  o.min_probes = 10;
  o.max_probes = 300;
  o.tol = 0.01;
  o.seed = 9;
  o.per_channel = false;
  const LfhResult r = compute_lfh(g, *ds, points, o);
  // Replay the probes (same seeds) and apply the rule: stop at the first k >= min_probes where every
  // tensor's running mean moved by at most tol·|mean|.
  const ReverseModel m(g);
  const Tape tape = m.forward({{"x", images}});
  std::vector<std::string> names;
  for (const auto& t : r.tensors) names.push_back(t.tensor);
  std::vector<double> sum(names.size(), 0.0), prev(names.size(), 0.0);
  int stop = o.max_probes;
  std::vector<double> at_stop;
  for (int k = 1; k <= o.max_probes; ++k) {
    const auto gr = m.backward(
        tape, {{"y", rademacher({1, 4}, probe_seed(o.seed, 0, static_cast<uint64_t>(k - 1), 0))}}, names);
    bool ok = k >= o.min_probes;
    for (size_t t = 0; t < names.size(); ++t) {
      double s = 0;
      for (float v : gr.at(names[t]).span<float>()) s += static_cast<double>(v) * v;
      sum[t] += s;
      const double mean = sum[t] / k;
      ok = ok && k >= 2 && std::abs(mean - prev[t]) <= o.tol * std::abs(mean);
      prev[t] = mean;
    }
    if (ok) {
      stop = k;
      break;
    }
  }
  ASSERT_GT(stop, o.min_probes);  // the rule, not the minimum, decided here
  ASSERT_LT(stop, o.max_probes);
  for (size_t t = 0; t < names.size(); ++t) {
    EXPECT_EQ(r.tensors[t].probes, stop);
    EXPECT_NEAR(r.tensors[t].trace, prev[t], 1e-9 * prev[t]);
  }
  // A tolerance no estimate can meet runs to the cap.
  o.tol = 1e-12;
  o.max_probes = 37;
  const LfhResult capped = compute_lfh(g, *ds, points, o);
  for (const auto& t : capped.tensors) EXPECT_EQ(t.probes, 37);
}

TEST(Lfh, PerChannelSumsNormalizationDeterminismAndErrors) {
  std::mt19937 rng(34);
  const Graph g = testing::tiny_cnn(rng);
  const Tensor images = testing::normal({6, 1, 6, 6}, rng, 1.f);
  NpyDataset ds(images);
  const QuantPoints points = quant_points_for(g, ds->sample_shape());
  LfhOptions o;
  o.samples = 5;  // batches of 2, 2, 1
  o.batch = 2;
  o.max_probes = 20;
  int64_t last_done = -1;
  o.progress = [&](int64_t done, int64_t total) {
    EXPECT_EQ(total, 5);
    EXPECT_GE(done, last_done);
    last_done = done;
    return true;
  };
  const LfhResult a = compute_lfh(g, *ds, points, o);
  EXPECT_EQ(last_done, 5);
  double min_w = 1e300, min_a = 1e300;
  for (const auto& t : a.tensors) {
    SCOPED_TRACE(t.tensor);
    ASSERT_FALSE(t.per_channel.empty());
    double s = 0;
    for (double c : t.per_channel) s += c;
    EXPECT_NEAR(s, t.trace, 1e-9 * t.trace);
    if (t.kind == TensorKind::Weight) {
      EXPECT_EQ(t.per_channel.size(),
                static_cast<size_t>(g.initializer(t.tensor)->dim(0)));  // Conv axis 0, Gemm transB axis 0
      min_w = std::min(min_w, t.trace);
    } else {
      min_a = std::min(min_a, t.trace);
    }
  }
  for (const auto& t : a.tensors)
    EXPECT_NEAR(t.normalized, std::log10(t.trace) - std::log10(t.kind == TensorKind::Weight ? min_w : min_a),
                1e-12);
  // Same seed, same numbers; another seed, other numbers.
  o.progress = nullptr;
  const LfhResult b = compute_lfh(g, *ds, points, o);
  o.seed = 1;
  const LfhResult c = compute_lfh(g, *ds, points, o);
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    EXPECT_EQ(a.tensors[i].trace, b.tensors[i].trace);
    if (a.tensors[i].tensor != "y") {
      EXPECT_NE(a.tensors[i].trace, c.tensors[i].trace) << a.tensors[i].tensor;
    }
  }
  // Cancel and bad options.
  o.progress = [](int64_t, int64_t) { return false; };
  EXPECT_THROW(compute_lfh(g, *ds, points, o), CancelledError);
  o.progress = nullptr;
  o.max_probes = 5;  // below min_probes
  EXPECT_THROW(compute_lfh(g, *ds, points, o), Error);
}

// ---- the labeled Hessian LFH is compared with (core/algo/hessian_trace.h) ----

// x [N,1,2,2] → Flatten → Gemm(4→5) → Relu → Gemm(5→3) → y: downstream of the Relu output t and of W2 the
// model is linear, so the cross-entropy Hessian has a closed form there (H_CE = diag(p) − ppᵀ):
//   wrt t:  W2 H_CE W2ᵀ;   wrt W2 (t ⊗ I): (t tᵀ) ⊗ H_CE, trace ‖t‖² Tr(H_CE).
TEST(HessianTrace, BothMethodsMatchTheClosedFormWhereTheModelIsLinear) {
  std::mt19937 rng(35);
  Graph g = testing::empty_graph({1, 1, 2, 2});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.initializers["w1"] = testing::normal({4, 5}, rng, 0.8f);
  g.initializers["b1"] = testing::normal({5}, rng, 0.5f);
  g.initializers["w2"] = testing::normal({5, 3}, rng, 0.8f);
  g.nodes = {testing::make_node("flat", "Flatten", {"x"}, {"f"}),
             testing::make_node("fc1", "Gemm", {"f", "w1", "b1"}, {"h"}),
             testing::make_node("relu", "Relu", {"h"}, {"t"}),
             testing::make_node("fc2", "MatMul", {"t", "w2"}, {"y"})};
  const int64_t n = 2;
  const Tensor images = testing::normal({n, 1, 2, 2}, rng, 1.f);
  NpyDataset ds(images, {0, 2});
  const QuantPoints points = quant_points_for(g, ds->sample_shape());
  const ReverseModel m(g);
  const Tensor& w2 = *g.initializer("w2");
  // Closed forms and the variance of one Rademacher probe, 2(‖H‖_F² − Σ H_ii²), per sample.
  double t_exact = 0, t_var = 0, w_exact = 0, w_var = 0;
  for (int64_t s = 0; s < n; ++s) {
    const Tape tape = m.forward({{"x", sample(images, s)}});
    const Tensor& y = tape.value("y");
    const Tensor& t = tape.value("t");
    double z = 0, p[3];
    for (int k = 0; k < 3; ++k) z += std::exp(static_cast<double>(y.data<float>()[k]));
    for (int k = 0; k < 3; ++k) p[k] = std::exp(static_cast<double>(y.data<float>()[k])) / z;
    double H[3][3];
    for (int k = 0; k < 3; ++k)
      for (int l = 0; l < 3; ++l) H[k][l] = (k == l ? p[k] : 0) - p[k] * p[l];
    double A[5][5] = {};
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 5; ++j)
        for (int k = 0; k < 3; ++k)
          for (int l = 0; l < 3; ++l)
            A[i][j] += w2.data<float>()[i * 3 + k] * H[k][l] * w2.data<float>()[j * 3 + l];
    double fro = 0, diag = 0;
    for (int i = 0; i < 5; ++i) {
      t_exact += A[i][i] / n;
      diag += A[i][i] * A[i][i];
      for (int j = 0; j < 5; ++j) fro += A[i][j] * A[i][j];
    }
    t_var += 2 * (fro - diag) / (n * n);
    double tt = 0, t4 = 0, trh = 0, h2 = 0, hd2 = 0;
    for (int i = 0; i < 5; ++i) {
      const double v = t.data<float>()[i];
      tt += v * v;
      t4 += v * v * v * v;
    }
    for (int k = 0; k < 3; ++k) {
      trh += H[k][k];
      hd2 += H[k][k] * H[k][k];
      for (int l = 0; l < 3; ++l) h2 += H[k][l] * H[k][l];
    }
    w_exact += tt * trh / n;
    w_var += 2 * (tt * tt * h2 - t4 * hd2) / (n * n);
  }
  for (HessianMethod method : {HessianMethod::kGradientDifferences, HessianMethod::kGaussNewton}) {
    HessianTraceOptions o;
    o.method = method;
    o.samples = n;
    o.batch = 1;
    o.probes = 500;
    const HessianTraceResult r = labeled_hessian_trace(g, *ds, points, o);
    for (const auto& t : r.tensors) {
      SCOPED_TRACE(t.tensor + (method == HessianMethod::kGaussNewton ? " (Gauss-Newton)" : " (gradients)"));
      if (t.tensor == "t") {
        EXPECT_NEAR(t.trace, t_exact, 5 * std::sqrt(t_var / o.probes) + 2e-3 * t_exact);
      }
      if (t.tensor == "w2") {
        EXPECT_NEAR(t.trace, w_exact, 5 * std::sqrt(w_var / o.probes) + 2e-3 * w_exact);
      }
    }
  }
  // Without labels it is refused.
  NpyDataset unlabeled(images);
  EXPECT_THROW(labeled_hessian_trace(g, *unlabeled, points, {}), Error);
}

TEST(HessianTrace, SpearmanRanksWithTies) {
  EXPECT_DOUBLE_EQ(spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  // Ranks (1, 2.5, 2.5, 4) vs (1, 2, 3, 4): Pearson of ranks = 4.5 / sqrt(4.5 · 5).
  EXPECT_NEAR(spearman({1, 5, 5, 7}, {1, 2, 3, 4}), 4.5 / std::sqrt(4.5 * 5.0), 1e-12);
  EXPECT_TRUE(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));
  EXPECT_THROW(spearman({1, 2}, {1}), Error);
}

}  // namespace
}  // namespace qs
