// The tuning and analysis algorithms on a model with three inputs built here: two float ones and int64
// token ids (an embedding lookup). Each result is checked against a reference computed from the arrays
// themselves, fed by name, not through the dataset's batches, so a second input ignored, or its samples
// paired with other samples of the first, changes the numbers: OBQ/GPTQ/ExactOBS layer losses are the
// quadratic forms of the layer inputs computed here; EPTQ's distillation losses are those of the fake-quant
// simulation; LFH traces are the closed forms of a one-output model (only float values get gradients: the
// token ids are fed as they are); the mixed-precision sensitivity is the simulation with one tensor
// quantized; bias correction is the per-channel mean difference of float and quantized outputs; RepVGG
// statistics are those of a block fed the sum of two inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "core/algo/eptq.h"
#include "core/algo/hessian_trace.h"
#include "core/algo/lfh.h"
#include "core/algo/mixed/mixed_plan.h"
#include "core/algo/obc/compress.h"
#include "core/data/dataset.h"
#include "core/data/npy.h"
#include "core/quant/bias_correction.h"
#include "core/quant/calibrate.h"
#include "core/quant/quantizer.h"
#include "core/quant/simulate.h"
#include "core/runtime/executor.h"
#include "tests/core/algo_test_util.h"
#include "tests/core/data_test_util.h"
#include "tests/core/repvgg_test_util.h"

namespace qs {
namespace {

using testing::make_node;
using testing::normal;

constexpr int64_t kN = 48;      // samples
constexpr int64_t kBatch = 16;  // so that batches and chunks are several

// out = Gemm(Relu(Gemm(x) + Gemm(y) + Flatten(Gather(emb, ids))), wc): x float [N, 8], y float [N, 4],
// ids int64 [N, 2] (two tokens of a 5-word vocabulary, 8 features each); out [N, K].
Graph three_input_model(std::mt19937& rng, int64_t K) {
  Graph g = testing::empty_graph({1, 8});
  g.name = "three_inputs";
  g.inputs.push_back({"y", DType::Float32, std::vector<Dim>{Dim{-1, "batch"}, Dim{4, ""}}});
  g.inputs.push_back({"ids", DType::Int64, std::vector<Dim>{Dim{-1, "batch"}, Dim{2, ""}}});
  g.outputs.push_back({"out", DType::Float32, std::nullopt});
  g.initializers["wa"] = normal({16, 8}, rng, 0.4f);
  g.initializers["ba"] = normal({16}, rng, 0.2f);
  g.initializers["wb"] = normal({16, 4}, rng, 0.6f);
  g.initializers["bb"] = normal({16}, rng, 0.2f);
  g.initializers["emb"] = normal({5, 8}, rng, 0.5f);
  g.initializers["wc"] = normal({K, 16}, rng, 0.3f);
  g.initializers["bc"] = normal({K}, rng, 0.1f);
  const auto t = std::map<std::string, Attribute>{{"transB", Attribute::of_int(1)}};
  g.nodes = {make_node("ga", "Gemm", {"x", "wa", "ba"}, {"a"}, t),
             make_node("gb", "Gemm", {"y", "wb", "bb"}, {"b"}, t),
             make_node("add1", "Add", {"a", "b"}, {"s1"}),
             make_node("gather", "Gather", {"emb", "ids"}, {"e3"}),
             make_node("flat", "Flatten", {"e3"}, {"e"}),
             make_node("add2", "Add", {"s1", "e"}, {"s"}),
             make_node("relu", "Relu", {"s"}, {"r"}),
             make_node("gc", "Gemm", {"r", "wc", "bc"}, {"out"}, t)};
  return g;
}

// The first n rows of t (any element type).
Tensor rows(const Tensor& t, int64_t n) {
  Shape s = t.shape();
  s[0] = n;
  Tensor r(t.dtype(), s);
  std::memcpy(r.raw(), t.raw(), r.nbytes());
  return r;
}

double f(const Tensor& t, int64_t i) { return static_cast<double>(t.data<float>()[i]); }

// ‖D·Xᵀ‖²/N for D [rows, cols] (a Gemm weight with transB) and X [N, cols]: a layer loss ‖WX − ŴX‖²/N
// with D = W − Ŵ, or the signal ‖WX‖²/N with D = W. Double sums.
double quad(const Tensor& d, const Tensor& x) {
  const int64_t R = d.dim(0), C = d.dim(1), N = x.dim(0);
  EXPECT_EQ(x.dim(1), C);
  double s = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t r = 0; r < R; ++r) {
      double v = 0;
      for (int64_t c = 0; c < C; ++c) v += f(d, r * C + c) * f(x, n * C + c);
      s += v * v;
    }
  return s / static_cast<double>(N);
}

Tensor minus(const Tensor& a, const Tensor& b) {
  Tensor r(DType::Float32, a.shape());
  for (int64_t i = 0; i < a.numel(); ++i) r.data<float>()[i] = a.data<float>()[i] - b.data<float>()[i];
  return r;
}

double nmse(const Tensor& ref, const Tensor& got) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    num += (f(got, i) - f(ref, i)) * (f(got, i) - f(ref, i));
    den += f(ref, i) * f(ref, i);
  }
  return num / den;
}

void expect_rel(double got, double want, double rel, const std::string& what) {
  EXPECT_NEAR(got, want, rel * std::abs(want) + 1e-12) << what;
}

class MultiInputAlgo : public testing::DataDirTest {
 protected:
  void make(int64_t K, uint32_t seed = 3, const std::vector<int64_t>& labels = {}) {
    std::mt19937 rng(seed);
    g = three_input_model(rng, K);
    x = normal({kN, 8}, rng, 1.f);
    for (float& v : x.span<float>()) v += 0.3f;  // a mean away from 0: weight errors shift the outputs
    y = normal({kN, 4}, rng, 1.5f);
    std::uniform_int_distribution<int64_t> token(0, 4);
    std::vector<int64_t> t(static_cast<size_t>(kN * 2));
    for (auto& v : t) v = token(rng);
    ids = Tensor::from_vector<int64_t>({kN, 2}, t);
    // One file per input, opened as the CLI and the desktop app open them (DataConfig::more).
    std::vector<DataConfig> configs;
    for (const auto& [in, data] : std::vector<std::pair<const ValueInfo*, const Tensor*>>{
             {&g.inputs[0], &x}, {&g.inputs[1], &y}, {&g.inputs[2], &ids}}) {
      DataConfig c;
      c.images = path(in->name + ".npy");
      write_npy(c.images, *data);
      configure_for_input(c, *in);
      configs.push_back(c);
    }
    configs[0].more = {{"y", configs[1]}, {"ids", configs[2]}};
    if (!labels.empty()) {
      configs[0].labels = path("labels.npy");
      write_npy(configs[0].labels,
                Tensor::from_vector<int64_t>({static_cast<int64_t>(labels.size())}, labels));
    }
    ds = open_dataset(configs[0]);
    points = quant_points_for(g, *ds);
  }
  // The first n samples of every input, by name, cut from the arrays.
  std::map<std::string, Tensor> feeds(int64_t n = kN) const {
    return {{"x", rows(x, n)}, {"y", rows(y, n)}, {"ids", rows(ids, n)}};
  }
  QuantPlan plan(int wbits) const {
    CalibrationOptions o;
    o.weight_bits = wbits;
    o.act_bits = 8;
    o.calib_count = kN;
    o.batch = kBatch;
    return calibrate(g, *ds, o);
  }
  const obc::LayerReport& layer(const obc::CompressResult& r, const std::string& name) const {
    for (const auto& l : r.layers)
      if (l.layer == name) return l;
    throw Error("no report for layer " + name);
  }

  Graph g;
  Tensor x, y, ids;
  std::unique_ptr<Dataset> ds;
  QuantPoints points;
};

// GPTQ from the float model's layer inputs: every layer's signal, round-to-nearest loss and GPTQ loss are
// the quadratic forms of its input over all samples, gc's input being relu(a + b + e) of the paired samples
// of the three inputs; GPTQ is not above round-to-nearest on any layer.
TEST_F(MultiInputAlgo, GptqLayerLossesAreThoseOfTheInputsActivations) {
  make(3);
  const QuantPlan p = plan(3);
  obc::CompressOptions o;
  o.quant = obc::QuantAlgo::Gptq;
  o.sequential = false;
  o.calib_count = kN;
  o.batch = kBatch;
  const obc::CompressResult r = obc::compress_model(g, *ds, p, o);
  const std::map<std::string, Tensor> inputs{
      {"ga", x}, {"gb", y}, {"gc", Executor(g).run(feeds(), {"r"}).at("r")}};
  ASSERT_EQ(r.layers.size(), 3u);
  for (const auto& l : r.layers) {
    ASSERT_TRUE(l.compressed) << l.layer << ": " << l.note;
    EXPECT_EQ(l.samples, kN) << l.layer;
    const Tensor& X = inputs.at(l.layer);
    const Tensor& w0 = *g.initializer(l.weight);
    const Tensor rtn = fake_quantize(w0, p.find(l.weight)->params);
    expect_rel(l.signal, quad(w0, X), 1e-6, l.layer + " signal");
    expect_rel(l.loss_before, quad(minus(w0, rtn), X), 1e-5, l.layer + " round-to-nearest loss");
    expect_rel(l.loss_after, quad(minus(w0, *r.graph.initializer(l.weight)), X), 1e-5,
               l.layer + " GPTQ loss");
    EXPECT_LE(l.loss_after, l.loss_before) << l.layer;
    EXPECT_GT(l.loss_before, 0) << l.layer;
  }
  EXPECT_LT(layer(r, "gc").loss_after, layer(r, "gc").loss_before);
}

// OBQ in sequential form: each layer's inputs come from the model quantized so far (activations
// fake-quantized at the plan's points, the layers before it tuned), i.e. the simulation of the result.
TEST_F(MultiInputAlgo, SequentialObqSeesTheSimulatedInputsOfEveryInput) {
  make(3);
  const QuantPlan p = plan(3);
  obc::CompressOptions o;
  o.quant = obc::QuantAlgo::Obq;
  o.calib_count = kN;
  o.batch = kBatch;
  const obc::CompressResult r = obc::compress_model(g, *ds, p, o);
  const auto sim = SimulatedModel(r.graph, r.plan, points).run(feeds(), {"x", "y", "r"});
  const std::map<std::string, Tensor> inputs{{"ga", sim.at("x")}, {"gb", sim.at("y")}, {"gc", sim.at("r")}};
  for (const auto& l : r.layers) {
    ASSERT_TRUE(l.compressed) << l.layer << ": " << l.note;
    const Tensor& X = inputs.at(l.layer);
    const Tensor& w0 = *g.initializer(l.weight);
    expect_rel(l.signal, quad(w0, X), 1e-5, l.layer + " signal");
    expect_rel(l.loss_after, quad(minus(w0, *r.graph.initializer(l.weight)), X), 1e-4, l.layer + " OBQ loss");
    EXPECT_LE(l.loss_after, l.loss_before) << l.layer;
  }
}

// ExactOBS pruning (`prune`): half of every layer's weights set to 0, the loss that of the pruned model's
// own inputs (sequential, no quantization: the float model with the layers before pruned).
TEST_F(MultiInputAlgo, PruningLossesAreThoseOfThePrunedModelsInputs) {
  make(3);
  obc::CompressOptions o;
  o.quant = obc::QuantAlgo::None;
  o.prune = obc::PruneMethod::ExactObs;
  o.prune_spec.sparsity = 0.5;
  o.calib_count = kN;
  o.batch = kBatch;
  const obc::CompressResult r = obc::compress_model(g, *ds, QuantPlan{}, o);
  const auto fl = Executor(r.graph).run(feeds(), {"r"});
  const std::map<std::string, Tensor> inputs{{"ga", x}, {"gb", y}, {"gc", fl.at("r")}};
  for (const auto& l : r.layers) {
    ASSERT_TRUE(l.pruned) << l.layer << ": " << l.note;
    EXPECT_NEAR(l.sparsity, 0.5, 1e-9) << l.layer;
    const Tensor& w0 = *g.initializer(l.weight);
    expect_rel(l.loss_after, quad(minus(w0, *r.graph.initializer(l.weight)), inputs.at(l.layer)), 1e-4,
               l.layer + " ExactOBS loss");
    EXPECT_LE(l.loss_after, l.loss_before) << l.layer << " (magnitude pruning)";
  }
}

// EPTQ: its distillation losses of round-to-nearest and of the learned rounding are those of the fake-quant
// simulation fed all three inputs, the learned rounding beats round-to-nearest there, and the objective
// falls over the iterations.
TEST_F(MultiInputAlgo, EptqLossesAreThoseOfTheSimulationAndFall) {
  make(3);
  const QuantPlan p = plan(3);
  EptqOptions o;
  o.iterations = 120;
  o.batch = kBatch;
  o.calib_count = kN;
  o.eval_count = kN;
  o.eval_every = 20;
  o.lfh.samples = 8;
  o.lfh.max_probes = 20;
  const EptqResult r = eptq(g, *ds, p, o);
  ASSERT_EQ(r.layers.size(), 3u);
  EXPECT_EQ(r.layers[0].target, "a");
  EXPECT_EQ(r.layers[1].target, "b");
  EXPECT_EQ(r.layers[2].target, "out");
  auto sim_loss = [&](const Graph& tuned, const QuantPlan& plan) {
    std::vector<std::string> fetch;
    for (const auto& l : r.layers) fetch.push_back(l.target);
    const auto zq = SimulatedModel(tuned, plan, points).run(feeds(), fetch);
    const auto zf = Executor(g).run(feeds(), fetch);
    double loss = 0;
    for (const auto& l : r.layers) {
      const Tensor &a = zq.at(l.target), &b = zf.at(l.target);
      double sq = 0;
      for (int64_t i = 0; i < a.numel(); ++i) sq += (f(a, i) - f(b, i)) * (f(a, i) - f(b, i));
      loss += l.weight_factor * sq / static_cast<double>(a.numel());
    }
    return loss;
  };
  const double rtn = sim_loss(g, p), tuned = sim_loss(r.graph, r.plan);
  expect_rel(r.rtn_eval_loss, rtn, 1e-5, "round-to-nearest");
  expect_rel(r.best_eval_loss, tuned, 1e-5, "EPTQ");
  EXPECT_LT(tuned, rtn);
  // The objective (distillation + λ·regularizer, on from the end of the warm-up) falls while the rounding
  // hardens, and the last hard rounding is below round-to-nearest.
  const size_t warm = static_cast<size_t>(std::lround(o.warmup * o.iterations));
  double first = 0, last = 0;
  for (size_t i = 0; i < 10; ++i) {
    first += r.curve[warm + i].loss;
    last += r.curve[r.curve.size() - 1 - i].loss;
  }
  EXPECT_LT(last, 0.8 * first);
  ASSERT_GE(r.curve.back().eval_loss, 0);
  EXPECT_LT(r.curve.back().eval_loss, r.rtn_eval_loss);
}

// LFH of a model with one output is exact with any probe (v = ±1), and with one sample per batch a weight's
// estimate is too. With m = wc ⊙ [s > 0] per sample: Tr for a, b, s1 is ‖m‖², for x ‖m·Wa‖², for y ‖m·Wb‖²,
// for wa ‖m‖²‖x‖², for wb ‖m‖²‖y‖², for wc ‖r‖²; the mask s > 0 pairs the samples of all three inputs. The
// token ids are no quantization point and get no gradient.
TEST_F(MultiInputAlgo, LfhEqualsTheClosedFormsOnThePairedSamples) {
  make(1);
  constexpr int64_t n = 16;
  LfhOptions o;
  o.samples = n;
  o.batch = 1;
  o.per_channel = false;
  o.max_probes = 12;
  const LfhResult r = compute_lfh(g, *ds, points, o);
  const auto v = Executor(g).run(feeds(n), {"s", "r"});
  const Tensor &s = v.at("s"), &rr = v.at("r");
  const Tensor &wa = *g.initializer("wa"), &wb = *g.initializer("wb"), &wc = *g.initializer("wc");
  std::map<std::string, double> want;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> m(16);
    double mm = 0, rr2 = 0, xx = 0, yy = 0;
    for (int64_t k = 0; k < 16; ++k) {
      m[static_cast<size_t>(k)] = f(s, i * 16 + k) > 0 ? f(wc, k) : 0.0;
      mm += m[static_cast<size_t>(k)] * m[static_cast<size_t>(k)];
      rr2 += f(rr, i * 16 + k) * f(rr, i * 16 + k);
    }
    for (int64_t j = 0; j < 8; ++j) {
      double d = 0;
      for (int64_t k = 0; k < 16; ++k) d += m[static_cast<size_t>(k)] * f(wa, k * 8 + j);
      want["x"] += d * d;
      xx += f(x, i * 8 + j) * f(x, i * 8 + j);
    }
    for (int64_t j = 0; j < 4; ++j) {
      double d = 0;
      for (int64_t k = 0; k < 16; ++k) d += m[static_cast<size_t>(k)] * f(wb, k * 4 + j);
      want["y"] += d * d;
      yy += f(y, i * 4 + j) * f(y, i * 4 + j);
    }
    want["a"] += mm;
    want["b"] += mm;
    want["s1"] += mm;
    want["wa"] += mm * xx;
    want["wb"] += mm * yy;
    want["wc"] += rr2;
  }
  for (auto& [name, t] : want) {
    const LfhTensor* got = r.find(name);
    ASSERT_NE(got, nullptr) << name;
    expect_rel(got->trace, t / n, 1e-4, name);
  }
  EXPECT_EQ(r.find("ids"), nullptr);
  EXPECT_EQ(r.find("emb"), nullptr);
}

// `sensitivity --hessian`: the labeled cross-entropy Hessian's trace for wc, where the model is linear, is
// Σ_n ‖r_n‖²·Tr(H_CE,n) / N (H_CE = diag(p) − ppᵀ of the softmax of the logits; core/algo/hessian_trace.h),
// r and p those of the paired samples; Hutchinson's estimate is within 5 standard deviations of one probe's
// variance 2(‖r‖⁴‖H‖_F² − Σ r_j⁴ Σ H_kk²).
TEST_F(MultiInputAlgo, LabeledHessianTraceOfTheLastLayerOnThePairedSamples) {
  constexpr int64_t n = 4;
  std::vector<int64_t> labels(kN);
  for (int64_t i = 0; i < kN; ++i) labels[static_cast<size_t>(i)] = (i * 5) % 3;
  make(3, 3, labels);
  const auto v = Executor(g).run(feeds(n), {"r", "out"});
  double exact = 0, var = 0;
  for (int64_t i = 0; i < n; ++i) {
    double z = 0, p[3], H[3][3], rr = 0, r4 = 0, trh = 0, h2 = 0, hd2 = 0;
    for (int k = 0; k < 3; ++k) z += std::exp(f(v.at("out"), i * 3 + k));
    for (int k = 0; k < 3; ++k) p[k] = std::exp(f(v.at("out"), i * 3 + k)) / z;
    for (int k = 0; k < 3; ++k)
      for (int l = 0; l < 3; ++l) {
        H[k][l] = (k == l ? p[k] : 0) - p[k] * p[l];
        h2 += H[k][l] * H[k][l];
      }
    for (int k = 0; k < 3; ++k) trh += H[k][k], hd2 += H[k][k] * H[k][k];
    for (int64_t j = 0; j < 16; ++j) {
      const double rj = f(v.at("r"), i * 16 + j);
      rr += rj * rj;
      r4 += rj * rj * rj * rj;
    }
    exact += rr * trh / n;
    var += 2 * (rr * rr * h2 - r4 * hd2) / (n * n);
  }
  HessianTraceOptions o;
  o.method = HessianMethod::kGaussNewton;
  o.samples = n;
  o.batch = 1;
  o.probes = 300;
  const HessianTraceResult r = labeled_hessian_trace(g, *ds, points, o);
  bool found = false;
  for (const auto& t : r.tensors) {
    EXPECT_NE(t.tensor, "ids");
    if (t.tensor != "wc") continue;
    found = true;
    EXPECT_NEAR(t.trace, exact, 5 * std::sqrt(var / o.probes) + 2e-3 * exact);
  }
  EXPECT_TRUE(found);
}

// The mixed-precision sensitivity of every weight at every width is the simulation of the model with only
// that weight quantized (at a plan calibrated at that width), fed the three inputs; the problem counts every
// layer's MACs from every input's shape; the chosen allocation respects the budget, and the distortion
// measured for it is the simulation's.
TEST_F(MultiInputAlgo, MixedPrecisionSensitivityAndBudget) {
  make(3);
  const QuantPlan p = plan(8);
  SensitivityOptions so;
  so.weight_bits = {2, 4, 8};
  so.samples = kN;
  so.batch = kBatch;
  const SensitivityTable t = compute_sensitivity(g, *ds, p, points, so);
  ASSERT_EQ(t.rows.size(), 3u);
  const Tensor yf = Executor(g).run(feeds(), {"out"}).at("out");
  for (const auto& row : t.rows)
    for (int bits : row.bits) {
      QuantPlan at = p;
      *at.find(row.tensor) = *plan(bits).find(row.tensor);
      SimOptions only;
      only.only = std::set<std::string>{row.tensor};
      const Tensor yq = SimulatedModel(g, at, points, only).run(feeds(), {"out"}).at("out");
      expect_rel(row.loss_at(bits), nmse(yf, yq), 1e-6, row.tensor + " at " + std::to_string(bits));
    }
  EXPECT_GT(t.find("wc")->loss_at(2), t.find("wc")->loss_at(8));

  MixedProblem prob = build_problem(g, p, points, t, MixedSetup{}, *ds);
  double uniform4 = 0;
  for (const auto& grp : prob.groups) {
    const std::map<std::string, int64_t> macs{{"wa", 16 * 8}, {"wb", 16 * 4}, {"wc", 3 * 16}};
    if (macs.count(grp.tensor)) {
      EXPECT_EQ(grp.macs, macs.at(grp.tensor)) << grp.tensor;
    }
    if (grp.tensor == "y") {
      EXPECT_EQ(grp.elements, 4);
    }
    if (grp.kind == TensorKind::Weight) uniform4 += static_cast<double>(grp.elements) * 0.5;
  }
  prob.budget.weight_bytes = uniform4;
  const MixedSolution s = solve_mixed(prob);
  ASSERT_TRUE(s.feasible) << s.message;
  const QuantPlan mixed = apply_choice(g, p, prob, s.choice);
  EXPECT_LE(mixed.weight_bytes(g), uniform4);
  EXPECT_NO_THROW(validate_plan(mixed, g, points));
  const Tensor ym = SimulatedModel(g, mixed, points).run(feeds(), {"out"}).at("out");
  expect_rel(measure_distortion(g, *ds, mixed, points, t, kBatch), nmse(yf, ym), 1e-6, "measured distortion");
}

// Empirical bias correction: gb's correction is the mean of y·Wbᵀ + bb minus the same with y, Wb and bb
// quantized; gc's (corrected after ga and gb) is the mean of the float output minus gc computed from the
// corrected model's simulated r, which pairs the three inputs; after correction gc's mean error is within
// half a unit of its int32 bias grid.
TEST_F(MultiInputAlgo, BiasCorrectionIsTheMeanErrorOnThePairedSamples) {
  make(3);
  const QuantPlan p = plan(3);
  BiasCorrectionOptions o;
  o.calib_count = kN;
  o.batch = kBatch;
  const BiasCorrectionResult r = correct_biases(g, g, *ds, p, o);
  auto report = [&](const std::string& name) -> const BiasCorrectionLayer& {
    for (const auto& l : r.layers)
      if (l.layer == name) return l;
    throw Error("no report for " + name);
  };
  // out[n, c] = Σ_k in[n, k]·w[c, k] + bias[c], in double; its per-channel mean difference.
  auto gemm = [](const Tensor& in, const Tensor& w, const std::vector<float>& b) {
    const int64_t N = in.dim(0), C = w.dim(0), K = w.dim(1);
    std::vector<double> out(static_cast<size_t>(N * C));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) {
        double v = b[static_cast<size_t>(c)];
        for (int64_t k = 0; k < K; ++k) v += f(in, n * K + k) * f(w, c * K + k);
        out[static_cast<size_t>(n * C + c)] = v;
      }
    return out;
  };
  auto mean_diff = [](const std::vector<double>& a, const std::vector<double>& b, int64_t C) {
    std::vector<double> m(static_cast<size_t>(C), 0.0);
    for (size_t i = 0; i < a.size(); ++i) m[i % static_cast<size_t>(C)] += a[i] - b[i];
    for (double& v : m) v /= static_cast<double>(a.size() / static_cast<size_t>(C));
    return m;
  };
  // The int32 bias grid: scale s_in·s_w[c].
  auto quant_bias = [](const std::vector<float>& b, float s_in, const QuantParams& w) {
    std::vector<float> q(b.size());
    for (size_t c = 0; c < b.size(); ++c) {
      const float s = s_in * w.scale[w.scale.size() == 1 ? 0 : c];
      q[c] = static_cast<float>(std::nearbyint(static_cast<double>(b[c]) / s) * s);
    }
    return q;
  };
  const auto b0 = g.initializer("bb")->to_vector<float>();
  const QuantParams &py = p.find("y")->params, &pwb = p.find("wb")->params;
  const auto want_b = mean_diff(
      gemm(y, *g.initializer("wb"), b0),
      gemm(fake_quantize(y, py), fake_quantize(*g.initializer("wb"), pwb), quant_bias(b0, py.scale[0], pwb)),
      16);
  const auto& rb = report("gb");
  ASSERT_EQ(rb.correction.size(), 16u);
  EXPECT_EQ(rb.pass, 1);
  for (size_t c = 0; c < 16; ++c) EXPECT_NEAR(rb.correction[c], want_b[c], 1e-5) << "gb channel " << c;

  const auto& rc = report("gc");
  EXPECT_EQ(rc.pass, 2);
  const Tensor rq = SimulatedModel(r.graph, p, points).run(feeds(), {"r"}).at("r");
  const QuantParams &pr = p.find("r")->params, &pwc = p.find("wc")->params;
  const Tensor wcq = fake_quantize(*g.initializer("wc"), pwc);
  const std::vector<double> yf = [&] {
    const Tensor t = Executor(g).run(feeds(), {"out"}).at("out");
    std::vector<double> v;
    for (int64_t i = 0; i < t.numel(); ++i) v.push_back(f(t, i));
    return v;
  }();
  const auto want_c =
      mean_diff(yf, gemm(rq, wcq, quant_bias(g.initializer("bc")->to_vector<float>(), pr.scale[0], pwc)), 3);
  ASSERT_EQ(rc.correction.size(), 3u);
  for (size_t c = 0; c < 3; ++c) EXPECT_NEAR(rc.correction[c], want_c[c], 1e-4) << "gc channel " << c;
  const auto after = mean_diff(
      yf, gemm(rq, wcq, quant_bias(r.graph.initializer("bc")->to_vector<float>(), pr.scale[0], pwc)), 3);
  for (size_t c = 0; c < 3; ++c) EXPECT_LE(std::abs(after[c]), 0.5 * pr.scale[0] * pwc.scale[c] + 1e-6);
}

// RepVGG diagnostics of a block fed x + y: the fusion check feeds both inputs to the original and the fused
// model, and the block's statistics are those of the reference block on x + y.
TEST_F(MultiInputAlgo, RepvggDiagnosticsOfABlockFedTwoInputs) {
  using namespace repvgg_test;
  std::mt19937 rng(23);
  const BlockParams bp = random_params(Spec{}, rng);
  Builder b(8, 7, 7);
  b.g.inputs.push_back(
      ValueInfo{"y", DType::Float32, std::vector<Dim>{Dim{-1, "N"}, Dim{8, ""}, Dim{7, ""}, Dim{7, ""}}});
  b.output(add_block(b, b.op("Add", {"x", "y"}), bp));
  const Tensor xs = randn({20, 8, 7, 7}, 1.f, rng), ys = randn({20, 8, 7, 7}, 0.5f, rng);
  DataConfig c, cy;
  c.images = path("x.npy");
  cy.images = path("y.npy");
  write_npy(c.images, xs);
  write_npy(cy.images, ys);
  configure_for_input(c, b.g.inputs[0]);
  configure_for_input(cy, b.g.inputs[1]);
  c.npy_layout = cy.npy_layout = NpyLayout::kNCHW;
  c.more = {{"y", cy}};
  auto data = open_dataset(c);
  repvgg::RepvggOptions o;
  o.batch = 6;
  const repvgg::RepvggReport rep = repvgg::diagnose(b.g, *data, o);
  ASSERT_EQ(rep.blocks.size(), 1u);
  EXPECT_EQ(rep.samples, 20);
  EXPECT_LE(rep.fusion.max_rel_error(), 1e-4);
  const Tensor pre = ref_block(ref_add(xs, ys), bp);
  const Stat sp = stat_of(pre), sa = stat_of(relu(pre));
  const BlockReport& br = rep.blocks[0];
  EXPECT_NEAR(br.pre_activation.mean, sp.mean, 1e-4 * sp.std);
  EXPECT_NEAR(br.pre_activation.std, sp.std, 1e-4 * sp.std);
  EXPECT_NEAR(br.activation.std, sa.std, 1e-4 * sa.std);
  EXPECT_NEAR(br.activation.max, sa.max_abs, 1e-4 * sa.max_abs);
}

}  // namespace
}  // namespace qs
