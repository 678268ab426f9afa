// Empirical bias correction (core/quant/bias_correction.h) against a brute-force computation: plain loops
// for Conv/Gemm with the quantizer's scalar functions applied by hand at the plan's points (first layer), and
// for later layers the same loops fed the layer input the simulation produces (the sequential form's
// definition); after OBQ, the same loops with the tuned weights. Properties: after correction every corrected
// channel's mean output error on the calibration data is ~0 (at most half a unit of the int32 bias grid); a
// layer without bias gets one, and it travels through the plan's weights model.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "core/algo/obc/compress.h"
#include "core/algo/obc/weights_model.h"
#include "core/common/error.h"
#include "core/onnx/save.h"
#include "core/quant/bias_correction.h"
#include "core/quant/calibrate.h"
#include "core/quant/simulate.h"
#include "core/runtime/executor.h"
#include "tests/core/algo_test_util.h"

namespace qs {
namespace {

using testing::NpyDataset;
namespace fs = std::filesystem;

constexpr int64_t kN = 40;      // calibration images
constexpr int64_t kBatch = 16;  // 16 + 16 + 8: a partial last batch

QuantPlan make_plan(const Graph& g, Dataset& ds, int wbits) {
  CalibrationOptions o;
  o.weight_bits = wbits;
  o.act_bits = 8;
  o.calib_count = ds.size();
  return calibrate(g, ds, o);
}

BiasCorrectionOptions options(bool sequential = true) {
  BiasCorrectionOptions o;
  o.calib_count = kN;
  o.batch = kBatch;
  o.sequential = sequential;
  return o;
}

std::vector<float> fake_quant(const Tensor& t, const QuantParams& p, int64_t channel_stride = 0,
                              int64_t channels = 1) {
  std::vector<float> v = t.to_vector<float>();
  for (size_t i = 0; i < v.size(); ++i) {
    const size_t c =
        p.scale.size() == 1 ? 0 : static_cast<size_t>((static_cast<int64_t>(i) / channel_stride) % channels);
    v[i] = fake_quantize_value(v[i], p.scale[c], p.zero_point[c], p.qmin, p.qmax);
  }
  return v;
}

// The int32 bias grid: scale s_in·s_w[c].
std::vector<float> quant_bias(const std::vector<float>& b, float s_in, const QuantParams& w) {
  std::vector<float> q(b.size());
  for (size_t c = 0; c < b.size(); ++c) {
    const float s = s_in * w.scale[w.scale.size() == 1 ? 0 : c];
    q[c] = static_cast<float>(std::nearbyint(static_cast<double>(b[c]) / s) * s);
  }
  return q;
}

// 3x3 convolution, stride 1, pad 1, on [n, ci, 6, 6].
std::vector<double> conv3x3(const std::vector<float>& x, int64_t n, int64_t ci, const std::vector<float>& w,
                            const std::vector<float>& b, int64_t co) {
  const int64_t H = 6, W = 6;
  std::vector<double> y(static_cast<size_t>(n * co * H * W));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < co; ++o)
      for (int64_t r = 0; r < H; ++r)
        for (int64_t c = 0; c < W; ++c) {
          double s = b.empty() ? 0.0 : b[static_cast<size_t>(o)];
          for (int64_t k = 0; k < ci; ++k)
            for (int64_t dr = -1; dr <= 1; ++dr)
              for (int64_t dc = -1; dc <= 1; ++dc) {
                const int64_t rr = r + dr, cc = c + dc;
                if (rr < 0 || rr >= H || cc < 0 || cc >= W) continue;
                s += static_cast<double>(x[static_cast<size_t>(((i * ci + k) * H + rr) * W + cc)]) *
                     w[static_cast<size_t>(((o * ci + k) * 3 + dr + 1) * 3 + dc + 1)];
              }
          y[static_cast<size_t>(((i * co + o) * H + r) * W + c)] = s;
        }
  return y;
}

// fc of the fixture (Gemm transB=1, 36 → 3) on [n, 36] inputs x with weights w [3, 36] and bias b, in double.
std::vector<double> fc36x3(const std::vector<float>& x, const std::vector<float>& w,
                           const std::vector<float>& b, int64_t n) {
  std::vector<double> y(static_cast<size_t>(n * 3));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < 3; ++o) {
      double s = b[static_cast<size_t>(o)];
      for (int64_t k = 0; k < 36; ++k)
        s += static_cast<double>(x[static_cast<size_t>(i * 36 + k)]) * w[static_cast<size_t>(o * 36 + k)];
      y[static_cast<size_t>(i * 3 + o)] = s;
    }
  return y;
}

// Per-channel mean of a − b over [n, C, inner].
std::vector<double> mean_diff(const std::vector<double>& a, const std::vector<double>& b, int64_t n,
                              int64_t C, int64_t inner) {
  std::vector<double> m(static_cast<size_t>(C), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t k = 0; k < inner; ++k) {
        const size_t e = static_cast<size_t>((i * C + c) * inner + k);
        m[static_cast<size_t>(c)] += a[e] - b[e];
      }
  for (double& v : m) v /= static_cast<double>(n * inner);
  return m;
}

std::vector<double> to_double(const Tensor& t) {
  const auto v = t.to_vector<float>();
  return {v.begin(), v.end()};
}

const BiasCorrectionLayer& report(const BiasCorrectionResult& r, const std::string& layer) {
  for (const auto& l : r.layers)
    if (l.layer == layer) return l;
  throw Error("no report for " + layer);
}

std::string bias_of(const Graph& g, const std::string& layer) {
  for (const auto& n : g.nodes)
    if (n.name == layer) return n.has_input(2) ? n.inputs[2] : "";
  return "";
}

// A value of the simulated model for all calibration images.
Tensor simulated(const Graph& g, const QuantPlan& plan, const Tensor& images, const std::string& value) {
  const QuantPoints pts = quant_points_for(g, {1, 6, 6});
  const SimulatedModel sim(g, plan, pts);
  return sim.run({{"x", images}}, {value}).at(value);
}

struct Fixture {
  std::mt19937 rng{7};
  Graph g;
  Tensor images;
  std::unique_ptr<NpyDataset> ds;
  explicit Fixture(bool conv1_bias = true) {
    g = testing::tiny_cnn(rng);
    if (!conv1_bias) {
      g.nodes[0].inputs.resize(2);
      g.initializers.erase("b1");
    }
    images = testing::normal({kN, 1, 6, 6}, rng, 1.f);
    for (float& v : images.span<float>()) v += 0.3f;  // a mean away from 0: weight errors then shift outputs
    ds = std::make_unique<NpyDataset>(images);
  }
};

// conv1 by hand: inputs quantized at the graph input's point, W4 per-channel weights, int32-grid bias.
std::vector<double> conv1_error(const Fixture& f, const QuantPlan& plan, const std::vector<float>& bias) {
  const PlanEntry& xin = *plan.find("x");
  const PlanEntry& w = *plan.find("w1");
  const std::vector<float> xq = fake_quant(f.images, xin.params);
  const std::vector<float> wq = fake_quant(*f.g.initializer("w1"), w.params, 9, 4);
  const std::vector<float> b_float =
      f.g.is_initializer("b1") ? f.g.initializer("b1")->to_vector<float>() : std::vector<float>(4, 0.f);
  const auto yf =
      conv3x3(f.images.to_vector<float>(), kN, 1, f.g.initializer("w1")->to_vector<float>(), b_float, 4);
  const auto yq = conv3x3(xq, kN, 1, wq, quant_bias(bias, xin.params.scale[0], w.params), 4);
  return mean_diff(yf, yq, kN, 4, 36);
}

TEST(BiasCorrection, FirstLayerMatchesBruteForceAndLeavesNoMeanError) {
  Fixture f;
  const QuantPlan plan = make_plan(f.g, **f.ds, 4);
  const BiasCorrectionResult r = correct_biases(f.g, f.g, **f.ds, plan, options());
  const auto& rep = report(r, "conv1");
  ASSERT_TRUE(rep.skipped.empty()) << rep.skipped;
  EXPECT_FALSE(rep.created);
  EXPECT_EQ(rep.pass, 1);
  const std::vector<double> expected = conv1_error(f, plan, f.g.initializer("b1")->to_vector<float>());
  ASSERT_EQ(rep.correction.size(), 4u);
  double largest = 0;
  for (size_t c = 0; c < 4; ++c) {
    EXPECT_NEAR(rep.correction[c], expected[c], 1e-5) << "channel " << c;
    largest = std::max(largest, std::abs(expected[c]));
  }
  const std::vector<float> b0 = f.g.initializer("b1")->to_vector<float>();
  const std::vector<float> b1 = r.graph.initializer("b1")->to_vector<float>();
  // The correction starts from the bias on its int32 grid, the one the measurement used.
  const std::vector<float> bq0 = quant_bias(b0, plan.find("x")->params.scale[0], plan.find("w1")->params);
  for (size_t c = 0; c < 4; ++c) EXPECT_NEAR(b1[c], bq0[c] + expected[c], 1e-5);

  // After correction: the mean error is within half a unit of the int32 bias grid.
  const std::vector<double> after = conv1_error(f, plan, b1);
  const float s_in = plan.find("x")->params.scale[0];
  double grid = 0;
  for (size_t c = 0; c < 4; ++c) {
    const double half = 0.5 * s_in * plan.find("w1")->params.scale[c];
    grid = std::max(grid, half);
    EXPECT_LE(std::abs(after[c]), half + 1e-6) << "channel " << c;
  }
  EXPECT_GT(largest, 10 * grid) << "the fixture must have a visible mean error before correction";
}

// conv2 and fc measured on the simulated model whose upstream layers are already corrected; after correction
// their mean error is ~0 too.
TEST(BiasCorrection, SequentialLaterLayersMatchBruteForceOnSimulatedInputs) {
  Fixture f;
  const QuantPlan plan = make_plan(f.g, **f.ds, 4);
  const BiasCorrectionResult r = correct_biases(f.g, f.g, **f.ds, plan, options());
  EXPECT_EQ(r.passes, 3);
  EXPECT_EQ(report(r, "conv2").pass, 2);
  EXPECT_EQ(report(r, "fc").pass, 3);

  const Executor ex(f.g);
  const auto fl = ex.run({{"x", f.images}}, {"c2", "y"});
  // conv2: input r1 from the simulation of the corrected model (conv2's own bias does not reach r1).
  const Tensor r1 = simulated(r.graph, plan, f.images, "r1");
  const float s1 = plan.find("r1")->params.scale[0];
  const PlanEntry& w2 = *plan.find("w2");
  const std::vector<float> w2q = fake_quant(*f.g.initializer("w2"), w2.params, 36, 4);
  auto conv2_error = [&](const std::vector<float>& b) {
    return mean_diff(to_double(fl.at("c2")),
                     conv3x3(r1.to_vector<float>(), kN, 4, w2q, quant_bias(b, s1, w2.params), 4), kN, 4, 36);
  };
  const auto expected2 = conv2_error(f.g.initializer("b2")->to_vector<float>());
  const auto& rep2 = report(r, "conv2");
  for (size_t c = 0; c < 4; ++c) EXPECT_NEAR(rep2.correction[c], expected2[c], 1e-4) << "channel " << c;
  const auto after2 = conv2_error(r.graph.initializer("b2")->to_vector<float>());
  for (size_t c = 0; c < 4; ++c) EXPECT_LE(std::abs(after2[c]), 0.5 * s1 * w2.params.scale[c] + 1e-5);

  // fc (Gemm transB=1, 36→3): input f (the Flatten of the pooled r2) from the corrected model's simulation.
  const Tensor fin = simulated(r.graph, plan, f.images, "f");
  const float s2 = plan.find("r2")->params.scale[0];
  const PlanEntry& w3 = *plan.find("w3");
  const std::vector<float> w3q = fake_quant(*f.g.initializer("w3"), w3.params, 36, 3);
  auto fc_error = [&](const std::vector<float>& b) {
    return mean_diff(to_double(fl.at("y")),
                     fc36x3(fin.to_vector<float>(), w3q, quant_bias(b, s2, w3.params), kN), kN, 3, 1);
  };
  const auto expected3 = fc_error(f.g.initializer("b3")->to_vector<float>());
  const auto& rep3 = report(r, "fc");
  for (size_t c = 0; c < 3; ++c) EXPECT_NEAR(rep3.correction[c], expected3[c], 1e-4) << "channel " << c;
  const auto after3 = fc_error(r.graph.initializer("b3")->to_vector<float>());
  for (size_t c = 0; c < 3; ++c) EXPECT_LE(std::abs(after3[c]), 0.5 * s2 * w3.params.scale[c] + 1e-5);
}

// Non-sequential: one pass, every layer measured in the uncorrected quantized model.
TEST(BiasCorrection, NonSequentialMeasuresTheUncorrectedModel) {
  Fixture f;
  const QuantPlan plan = make_plan(f.g, **f.ds, 4);
  const BiasCorrectionResult seq = correct_biases(f.g, f.g, **f.ds, plan, options(true));
  const BiasCorrectionResult par = correct_biases(f.g, f.g, **f.ds, plan, options(false));
  EXPECT_EQ(par.passes, 1);
  EXPECT_EQ(report(par, "conv1").correction, report(seq, "conv1").correction);

  const Executor ex(f.g);
  const Tensor c2 = ex.run({{"x", f.images}}, {"c2"}).at("c2");
  const Tensor r1 = simulated(f.g, plan, f.images, "r1");  // conv1 uncorrected
  const PlanEntry& w2 = *plan.find("w2");
  const auto yq = conv3x3(
      r1.to_vector<float>(), kN, 4, fake_quant(*f.g.initializer("w2"), w2.params, 36, 4),
      quant_bias(f.g.initializer("b2")->to_vector<float>(), plan.find("r1")->params.scale[0], w2.params), 4);
  const auto expected = mean_diff(to_double(c2), yq, kN, 4, 36);
  for (size_t c = 0; c < 4; ++c) EXPECT_NEAR(report(par, "conv2").correction[c], expected[c], 1e-4);
}

// A Conv without bias gets one (the correction itself), and it reaches whoever applies the plan's weights
// model: the model written next to the plan, applied to the original graph, simulates identically.
TEST(BiasCorrection, LayerWithoutBiasGetsOneThroughTheWeightsModel) {
  Fixture f(false);
  const QuantPlan plan0 = make_plan(f.g, **f.ds, 4);
  const BiasCorrectionResult r = correct_biases(f.g, f.g, **f.ds, plan0, options());
  const auto& rep = report(r, "conv1");
  ASSERT_TRUE(rep.skipped.empty()) << rep.skipped;
  EXPECT_TRUE(rep.created);
  const std::string b = bias_of(r.graph, "conv1");
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b, rep.bias);
  EXPECT_FALSE(f.g.is_initializer(b));
  const Tensor& bias = *r.graph.initializer(b);
  EXPECT_EQ(bias.shape(), (Shape{4}));
  const std::vector<double> expected = conv1_error(f, plan0, std::vector<float>(4, 0.f));
  for (size_t c = 0; c < 4; ++c) EXPECT_NEAR(bias.to_vector<float>()[c], expected[c], 1e-5);
  const auto after = conv1_error(f, plan0, bias.to_vector<float>());
  for (size_t c = 0; c < 4; ++c)
    EXPECT_LE(std::abs(after[c]),
              0.5 * plan0.find("x")->params.scale[0] * plan0.find("w1")->params.scale[c] + 1e-6);

  const fs::path dir = fs::temp_directory_path() / ("qs_bias_corr_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  save_model(r.graph, "", (dir / "w.onnx").string());
  QuantPlan plan = plan0;
  plan.weights_model = "w.onnx";
  Graph g = f.g;
  obc::apply_weights_model(g, plan, (dir / "plan.json").string());
  fs::remove_all(dir);
  ASSERT_EQ(bias_of(g, "conv1"), b);
  EXPECT_EQ(g.initializer(b)->to_vector<float>(), bias.to_vector<float>());
  EXPECT_EQ(g.initializer("b2")->to_vector<float>(), r.graph.initializer("b2")->to_vector<float>());
  const Tensor y1 = simulated(g, plan, f.images, "y");
  const Tensor y2 = simulated(r.graph, plan, f.images, "y");
  EXPECT_EQ(y1.to_vector<float>(), y2.to_vector<float>());
}

// Gemm with beta ≠ 1 (its bias then stays float in the simulation): the correction enters divided by beta,
// leaving no mean error; a Tanh (float island) between the layers.
TEST(BiasCorrection, GemmBetaAndTransB0) {
  std::mt19937 rng(3);
  Graph g = testing::tiny_mlp(rng, 3);
  g.nodes[1].attrs["beta"] = Attribute::of_float(0.5f);
  Tensor images = testing::normal({kN, 1, 2, 2}, rng, 1.f);
  for (float& v : images.span<float>()) v += 0.5f;
  NpyDataset ds{images};
  const QuantPlan plan = make_plan(g, *ds, 3);
  const BiasCorrectionResult r = correct_biases(g, g, *ds, plan, options());
  const auto& rep = report(r, "fc1");
  ASSERT_TRUE(rep.skipped.empty()) << rep.skipped;
  const PlanEntry& xin = *plan.find("x");
  const PlanEntry& w = *plan.find("w1");
  const std::vector<float> x = images.to_vector<float>();
  const std::vector<float> xq = fake_quant(images, xin.params);
  const std::vector<float> w1 = g.initializer("w1")->to_vector<float>();
  const std::vector<float> w1q = fake_quant(*g.initializer("w1"), w.params, 1, 5);  // [4, 5], axis 1
  auto gemm = [&](const std::vector<float>& a, const std::vector<float>& b, const std::vector<float>& c) {
    std::vector<double> y(static_cast<size_t>(kN * 5));
    for (int64_t i = 0; i < kN; ++i)
      for (int64_t o = 0; o < 5; ++o) {
        double s = 0.5 * c[static_cast<size_t>(o)];
        for (int64_t k = 0; k < 4; ++k)
          s += static_cast<double>(a[static_cast<size_t>(i * 4 + k)]) * b[static_cast<size_t>(k * 5 + o)];
        y[static_cast<size_t>(i * 5 + o)] = s;
      }
    return y;
  };
  const std::vector<float> b0 = g.initializer("b1")->to_vector<float>();
  const auto expected = mean_diff(gemm(x, w1, b0), gemm(xq, w1q, b0), kN, 5, 1);
  for (size_t c = 0; c < 5; ++c) EXPECT_NEAR(rep.correction[c], expected[c], 1e-5);
  const auto after =
      mean_diff(gemm(x, w1, b0), gemm(xq, w1q, r.graph.initializer("b1")->to_vector<float>()), kN, 5, 1);
  for (size_t c = 0; c < 5; ++c) EXPECT_NEAR(after[c], 0.0, 1e-5);
  EXPECT_TRUE(report(r, "fc2").skipped.empty());
  EXPECT_EQ(report(r, "fc2").pass, 2);
}

TEST(BiasCorrection, ProgressCancelsAndFloatWeightsAreSkipped) {
  Fixture f;
  const QuantPlan plan = make_plan(f.g, **f.ds, 4);
  BiasCorrectionOptions o = options();
  int64_t last = -1, total = 0;
  o.progress = [&](int64_t done, int64_t all) {
    EXPECT_GE(done, last);
    last = done;
    total = all;
    return true;
  };
  correct_biases(f.g, f.g, **f.ds, plan, o);
  EXPECT_EQ(total, 3 * kN);  // three passes
  EXPECT_EQ(last, total);
  o.progress = [](int64_t done, int64_t) { return done < kBatch; };
  EXPECT_THROW(correct_biases(f.g, f.g, **f.ds, plan, o), CancelledError);

  QuantPlan fp = plan;
  fp.find("w2")->quantize = false;  // same weights as the float model: nothing to correct
  const BiasCorrectionResult r = correct_biases(f.g, f.g, **f.ds, fp, options());
  EXPECT_FALSE(report(r, "conv2").skipped.empty());
  EXPECT_EQ(*r.graph.initializer("b2")->data<float>(), *f.g.initializer("b2")->data<float>());
  EXPECT_EQ(report(r, "fc").pass, 2);  // fc waits only for conv1 now
}

// OBC's pipeline, `quantize --algo obq --bias-correction`: correcting OBQ-tuned weights measures those
// weights (not the float ones rounded to nearest) against the float model, changes only biases, and leaves
// no mean error in the first and the last layer (brute force with the tuned weights, as above).
TEST(BiasCorrection, AfterObqMeasuresTheTunedWeights) {
  Fixture f;
  const QuantPlan plan0 = make_plan(f.g, **f.ds, 3);
  obc::CompressOptions co;
  co.quant = obc::QuantAlgo::Obq;
  co.calib_count = kN;
  co.batch = kBatch;
  const obc::CompressResult tuned = obc::compress_model(f.g, **f.ds, plan0, co);
  const QuantPlan& plan = tuned.plan;
  const std::vector<float> w1t = tuned.graph.initializer("w1")->to_vector<float>();
  const std::vector<float> w3t = tuned.graph.initializer("w3")->to_vector<float>();
  // Otherwise the test could not tell tuned weights from round-to-nearest.
  ASSERT_NE(w1t, fake_quant(*f.g.initializer("w1"), plan.find("w1")->params, 9, 4));
  ASSERT_NE(w3t, fake_quant(*f.g.initializer("w3"), plan.find("w3")->params, 36, 3));

  const BiasCorrectionResult r = correct_biases(f.g, tuned.graph, **f.ds, plan, options());
  for (const char* w : {"w1", "w2", "w3"})
    EXPECT_EQ(r.graph.initializer(w)->to_vector<float>(), tuned.graph.initializer(w)->to_vector<float>())
        << w;

  const PlanEntry& xin = *plan.find("x");
  const PlanEntry& w1 = *plan.find("w1");
  const std::vector<float> xq = fake_quant(f.images, xin.params);
  const auto y1 = conv3x3(f.images.to_vector<float>(), kN, 1, f.g.initializer("w1")->to_vector<float>(),
                          f.g.initializer("b1")->to_vector<float>(), 4);
  auto conv1_err = [&](const std::vector<float>& b) {
    return mean_diff(y1, conv3x3(xq, kN, 1, w1t, quant_bias(b, xin.params.scale[0], w1.params), 4), kN, 4,
                     36);
  };
  const auto expected1 = conv1_err(tuned.graph.initializer("b1")->to_vector<float>());
  const auto after1 = conv1_err(r.graph.initializer("b1")->to_vector<float>());
  double largest = 0, grid = 0;
  for (size_t c = 0; c < 4; ++c) {
    EXPECT_NEAR(report(r, "conv1").correction[c], expected1[c], 1e-5) << "channel " << c;
    const double half = 0.5 * xin.params.scale[0] * w1.params.scale[c];
    EXPECT_LE(std::abs(after1[c]), half + 1e-6) << "channel " << c;
    largest = std::max(largest, std::abs(expected1[c]));
    grid = std::max(grid, half);
  }
  EXPECT_GT(largest, 10 * grid) << "OBQ's weights must leave a visible mean error before correction";

  // fc: input from the corrected tuned model's simulation.
  const Tensor y = Executor(f.g).run({{"x", f.images}}, {"y"}).at("y");
  const Tensor fin = simulated(r.graph, plan, f.images, "f");
  const float s2 = plan.find("r2")->params.scale[0];
  const PlanEntry& w3 = *plan.find("w3");
  auto fc_err = [&](const std::vector<float>& b) {
    return mean_diff(to_double(y), fc36x3(fin.to_vector<float>(), w3t, quant_bias(b, s2, w3.params), kN), kN,
                     3, 1);
  };
  const auto expected3 = fc_err(tuned.graph.initializer("b3")->to_vector<float>());
  const auto after3 = fc_err(r.graph.initializer("b3")->to_vector<float>());
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_NEAR(report(r, "fc").correction[c], expected3[c], 1e-4) << "channel " << c;
    EXPECT_LE(std::abs(after3[c]), 0.5 * s2 * w3.params.scale[c] + 1e-5) << "channel " << c;
  }
}

}  // namespace
}  // namespace qs
