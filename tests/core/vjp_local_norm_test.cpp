// VJPs of LRN, InstanceNormalization, GroupNormalization, MeanVarianceNormalization, LpNormalization,
// ImageScaler, Mish, TopK, CumSum, Hardmax and NonMaxSuppression (core/autodiff/vjp_local.cpp) against
// central finite differences of the forward kernels, and LFH on a model that uses several of them against
// the exact trace from full finite-difference Jacobians.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/algo/lfh.h"
#include "core/autodiff/vjp.h"
#include "core/quant/calibrate.h"
#include "tests/core/algo_test_util.h"
#include "tests/core/autodiff_test_util.h"

namespace qs {
namespace {

using testing::away_from_zero;
using testing::check_graph_vjp;
using testing::check_vjp;
using testing::distinct;
using testing::exact_trace;
using testing::ints;
using testing::OpCase;
using testing::randn;
using testing::uniform;

Attribute f_attr(float v) { return Attribute::of_float(v); }
Attribute i_attr(int64_t v) { return Attribute::of_int(v); }

TEST(VjpLocalNorm, Lrn) {
  std::mt19937 rng(101);
  // Defaults (alpha 1e-4: nearly the identity) and strong normalization with an odd and an even window
  // (even: one more channel after than before), so the cross-channel term is well above the tolerance.
  check_vjp({"LRN", 13, {{"x", randn({2, 5, 3, 2}, rng)}}, {}, {"x"}, 1, {{"size", i_attr(3)}}});
  check_vjp({"LRN",
             13,
             {{"x", randn({2, 5, 3, 2}, rng, 1.5f)}},
             {},
             {"x"},
             1,
             {{"size", i_attr(3)}, {"alpha", f_attr(1.f)}, {"beta", f_attr(0.75f)}, {"bias", f_attr(1.f)}}});
  check_vjp({"LRN",
             13,
             {{"x", randn({1, 6, 4}, rng, 1.5f)}},
             {},
             {"x"},
             1,
             {{"size", i_attr(4)}, {"alpha", f_attr(2.f)}, {"beta", f_attr(0.6f)}, {"bias", f_attr(1.5f)}}});
  // A window wider than the channels (every channel sees all of them).
  check_vjp({"LRN",
             1,
             {{"x", randn({1, 3, 2, 2}, rng)}},
             {},
             {"x"},
             1,
             {{"size", i_attr(7)}, {"alpha", f_attr(3.f)}, {"beta", f_attr(0.9f)}, {"bias", f_attr(2.f)}}});
}

TEST(VjpLocalNorm, InstanceNormalization) {
  std::mt19937 rng(102);
  check_vjp({"InstanceNormalization",
             6,
             {{"x", randn({2, 3, 4, 3}, rng)}, {"s", randn({3}, rng)}, {"b", randn({3}, rng)}},
             {},
             {"x", "s", "b"}});
  check_vjp({"InstanceNormalization",
             6,
             {{"x", randn({2, 2, 7}, rng, 2.f)}, {"s", randn({2}, rng)}, {"b", randn({2}, rng)}},
             {},
             {"x", "s", "b"},
             1,
             {{"epsilon", f_attr(1e-2f)}}});
}

TEST(VjpLocalNorm, GroupNormalization) {
  std::mt19937 rng(103);
  // Scale and bias per group (opset 18's definition).
  check_vjp({"GroupNormalization",
             18,
             {{"x", randn({2, 6, 3, 2}, rng)}, {"s", randn({3}, rng)}, {"b", randn({3}, rng)}},
             {},
             {"x", "s", "b"},
             1,
             {{"num_groups", i_attr(3)}}});
  // Per channel (opset 21's form), one group, and as many groups as channels.
  check_vjp({"GroupNormalization",
             18,
             {{"x", randn({2, 6, 2, 2}, rng)}, {"s", randn({6}, rng)}, {"b", randn({6}, rng)}},
             {},
             {"x", "s", "b"},
             1,
             {{"num_groups", i_attr(2)}}});
  check_vjp({"GroupNormalization",
             18,
             {{"x", randn({1, 4, 5}, rng)}, {"s", randn({1}, rng)}, {"b", randn({1}, rng)}},
             {},
             {"x", "s", "b"},
             1,
             {{"num_groups", i_attr(1)}, {"epsilon", f_attr(1e-3f)}}});
  check_vjp({"GroupNormalization",
             18,
             {{"x", randn({2, 4, 3}, rng)}, {"s", randn({4}, rng)}, {"b", randn({4}, rng)}},
             {},
             {"x", "s", "b"},
             1,
             {{"num_groups", i_attr(4)}}});
}

TEST(VjpLocalNorm, GroupNormalizationWithOneGroupPerChannelMatchesInstanceNormalization) {
  std::mt19937 rng(104);
  const Tensor x = randn({2, 3, 2, 3}, rng), s = randn({3}, rng), b = randn({3}, rng);
  std::map<std::string, Tensor> grads[2];
  for (int k = 0; k < 2; ++k) {
    OpCase c{
        k ? "GroupNormalization" : "InstanceNormalization",
        18,
        {{"x", x}, {"s", s}, {"b", b}},
        {},
        {"x", "s", "b"},
        1,
        k ? std::map<std::string, Attribute>{{"num_groups", i_attr(3)}} : std::map<std::string, Attribute>{}};
    const ReverseModel m(testing::one_node_graph(c));
    const Tape t = m.forward({{"x", x}, {"s", s}, {"b", b}});
    std::mt19937 r2(5);
    grads[k] = m.backward(t, {{"y0", randn(x.shape(), r2)}}, {"x", "s", "b"});
  }
  for (const char* name : {"x", "s", "b"}) {
    SCOPED_TRACE(name);
    const auto a = grads[0].at(name).to_vector<float>(), c = grads[1].at(name).to_vector<float>();
    ASSERT_EQ(a.size(), c.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], c[i], 1e-5f * (1 + std::abs(a[i])));
  }
}

TEST(VjpLocalNorm, MeanVarianceNormalization) {
  std::mt19937 rng(105);
  check_vjp({"MeanVarianceNormalization", 13, {{"x", randn({2, 3, 3, 2}, rng)}}, {}, {"x"}});
  check_vjp({"MeanVarianceNormalization",
             13,
             {{"x", randn({3, 4, 2}, rng, 2.f)}},
             {},
             {"x"},
             1,
             {{"axes", Attribute::of_ints({1})}}});
  check_vjp({"MeanVarianceNormalization",
             9,
             {{"x", randn({2, 2, 3, 3}, rng)}},
             {},
             {"x"},
             1,
             {{"axes", Attribute::of_ints({-2, -1})}}});
}

TEST(VjpLocalNorm, LpNormalization) {
  std::mt19937 rng(106);
  check_vjp({"LpNormalization", 1, {{"x", randn({3, 5}, rng)}}, {}, {"x"}});
  check_vjp({"LpNormalization",
             1,
             {{"x", randn({2, 4, 3}, rng)}},
             {},
             {"x"},
             1,
             {{"axis", i_attr(1)}, {"p", i_attr(2)}}});
  // p = 1: |x| has a kink at 0, so inputs stay away from it.
  check_vjp({"LpNormalization",
             1,
             {{"x", away_from_zero({2, 3, 4}, rng)}},
             {},
             {"x"},
             1,
             {{"axis", i_attr(-2)}, {"p", i_attr(1)}}});
}

TEST(VjpLocalNorm, ImageScalerAndMish) {
  std::mt19937 rng(107);
  check_vjp({"ImageScaler",
             9,
             {{"x", randn({2, 3, 2, 2}, rng)}},
             {},
             {"x"},
             1,
             {{"scale", f_attr(0.7f)}, {"bias", Attribute::of_floats({0.1f, -0.2f, 0.3f})}}});
  // Mish over its whole shape: the negative tail, the minimum near −1.19 and the near-linear side.
  check_vjp({"Mish", 18, {{"x", uniform({4, 6}, rng, -6.f, 6.f)}}, {}, {"x"}});
  check_vjp({"Mish", 18, {{"x", randn({3, 5}, rng, 0.5f)}}, {}, {"x"}});
}

// TopK's indices are int64 (no gradient, no seed): the generic checker seeds the values only.
Graph topk_graph(int64_t opset, std::map<std::string, Attribute> attrs, bool with_indices, int64_t k) {
  OpCase c{"TopK", opset, {{"x", Tensor()}}, {}, {"x"}, 2, std::move(attrs)};
  if (opset >= 10) {
    c.consts["k"] = ints({1}, {k});
    c.inputs.push_back("k");
  } else {
    c.attrs["k"] = i_attr(k);
  }
  Graph g = testing::one_node_graph(c);
  g.outputs.resize(1);
  if (!with_indices) g.nodes[0].outputs[1] = "";
  return g;
}

TEST(VjpLocalNorm, TopK) {
  std::mt19937 rng(108);
  // Distinct values 0.1 apart: no ties within the finite-difference step.
  const Tensor x = distinct({2, 5, 3}, rng);
  for (bool with_indices : {true, false}) {
    SCOPED_TRACE(with_indices ? "indices from the tape" : "indices output omitted");
    check_graph_vjp(topk_graph(11, {{"axis", i_attr(1)}}, with_indices, 3), {{"x", x}}, {"y0"});
    check_graph_vjp(topk_graph(11, {{"largest", i_attr(0)}}, with_indices, 2), {{"x", x}}, {"y0"});
  }
  check_graph_vjp(topk_graph(1, {{"axis", i_attr(2)}}, true, 2), {{"x", x}}, {"y0"});
  // Exactly a scatter: the K selected positions get the values' gradient, the others 0.
  const Graph g = topk_graph(11, {{"axis", i_attr(-1)}}, true, 2);
  const ReverseModel m(g);
  const Tensor row = Tensor::from_vector<float>({1, 4}, {0.5f, 2.f, -1.f, 1.f});
  const Tape t = m.forward({{"x", row}});
  const auto gx = m.backward(t, {{"y0", Tensor::from_vector<float>({1, 2}, {3.f, 7.f})}}, {"x"}).at("x");
  EXPECT_EQ(gx.to_vector<float>(), (std::vector<float>{0.f, 3.f, 0.f, 7.f}));
}

TEST(VjpLocalNorm, CumSum) {
  std::mt19937 rng(109);
  for (int64_t exclusive : {0, 1})
    for (int64_t reverse : {0, 1}) {
      SCOPED_TRACE("exclusive " + std::to_string(exclusive) + " reverse " + std::to_string(reverse));
      check_vjp({"CumSum",
                 14,
                 {{"x", randn({2, 4, 3}, rng)}},
                 {{"axis", ints({}, {1})}},
                 {"x", "axis"},
                 1,
                 {{"exclusive", i_attr(exclusive)}, {"reverse", i_attr(reverse)}}});
    }
  check_vjp({"CumSum",
             11,
             {{"x", randn({3, 5}, rng)}},
             {{"axis", Tensor::from_vector<int32_t>({1}, {-1})}},
             {"x", "axis"},
             1,
             {{"reverse", i_attr(1)}}});
}

TEST(VjpLocalNorm, HardmaxHasZeroGradient) {
  std::mt19937 rng(110);
  for (int64_t opset : {11, 13}) {
    SCOPED_TRACE("opset " + std::to_string(opset));
    // Alone: the gradient is zero (as are the finite differences away from ties).
    OpCase c{"Hardmax", opset, {{"x", distinct({2, 3, 4}, rng)}}, {}, {"x"}, 1, {{"axis", i_attr(1)}}};
    const Graph g1 = testing::one_node_graph(c);
    check_graph_vjp(g1, {{"x", c.diff[0].second}}, {"y0"}, {"x"});
    const ReverseModel m(g1);
    const auto gx = m.backward(m.forward({{"x", c.diff[0].second}}), {{"y0", randn({2, 3, 4}, rng)}}, {"x"});
    for (float v : gx.at("x").span<float>()) EXPECT_EQ(v, 0.f);
    // On a path that also carries x: x·Hardmax(x) differentiates to the one-hot mask times the seed.
    Graph g2 = g1;
    g2.nodes.push_back(testing::make_node("mul", "Mul", {"x", "y0"}, {"z"}));
    g2.outputs = {{"z", DType::Float32, std::nullopt}};
    check_graph_vjp(g2, {{"x", c.diff[0].second}}, {"z"});
  }
}

// boxes, scores → NonMaxSuppression → selected box ids → Gather of the scores: the scores of the kept boxes
// reach the output; the int64 selection carries no gradient, so the boxes get zeros (without an error).
TEST(VjpLocalNorm, NonMaxSuppressionPassesNoGradientAndDoesNotThrow) {
  Graph g;
  g.opset = 13;
  g.opset_imports[""] = 13;
  g.inputs = {{"boxes", DType::Float32, std::nullopt}, {"scores", DType::Float32, std::nullopt}};
  g.initializers["max_out"] = ints({1}, {3});
  g.initializers["iou"] = Tensor::from_vector<float>({1}, {0.5f});
  g.initializers["col"] = ints({}, {2});
  g.initializers["flat"] = ints({1}, {-1});
  g.nodes = {testing::make_node("nms", "NonMaxSuppression", {"boxes", "scores", "max_out", "iou"}, {"sel"}),
             testing::make_node("col", "Gather", {"sel", "col"}, {"ids"}, {{"axis", i_attr(1)}}),
             testing::make_node("flat", "Reshape", {"scores", "flat"}, {"s1"}),
             testing::make_node("pick", "Gather", {"s1", "ids"}, {"y"}, {{"axis", i_attr(0)}})};
  g.outputs = {{"y", DType::Float32, std::nullopt}};
  // Box 1 overlaps box 0 with IoU 0.9 (suppressed), box 3 overlaps nothing, box 2 overlaps box 3 by 0:
  // no IoU near the threshold and scores 0.1 apart, so steps of 1e-2 change no decision.
  const Tensor boxes =
      Tensor::from_vector<float>({1, 4, 4}, {0, 0, 1, 1, 0, 0, 1, 0.9f, 2, 2, 3, 3, 5, 5, 6, 7});
  const Tensor scores = Tensor::from_vector<float>({1, 1, 4}, {0.9f, 0.8f, 0.3f, 0.6f});
  const ReverseModel m(g);
  const Tape t = m.forward({{"boxes", boxes}, {"scores", scores}});
  EXPECT_EQ(t.value("ids").to_vector<int64_t>(), (std::vector<int64_t>{0, 3, 2}));
  const auto gr =
      m.backward(t, {{"y", Tensor::from_vector<float>({3}, {1.f, 2.f, 4.f})}}, {"boxes", "scores"});
  EXPECT_EQ(gr.at("scores").to_vector<float>(), (std::vector<float>{1.f, 0.f, 4.f, 2.f}));
  for (float v : gr.at("boxes").span<float>()) EXPECT_EQ(v, 0.f);
  check_graph_vjp(g, {{"boxes", boxes}, {"scores", scores}}, {"y"}, {"boxes"});
}

// ---- LFH end to end ----

TEST(VjpLocalNorm, LfhThroughLrnInstanceNormAndMishMatchesTheExactTrace) {
  std::mt19937 rng(111);
  // x [N,1,5,5] → Conv(1→4, 3×3, pad 1) → LRN(3) → Conv(4→3, 3×3, pad 1) → InstanceNormalization → Mish →
  // Flatten → Gemm(75→3) → y
  Graph g = testing::fixed_graph(18, {1, 1, 5, 5});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.initializers["w1"] = testing::normal({4, 1, 3, 3}, rng, 0.6f);
  g.initializers["b1"] = testing::normal({4}, rng, 0.1f);
  g.initializers["w2"] = testing::normal({3, 4, 3, 3}, rng, 0.3f);
  g.initializers["b2"] = testing::normal({3}, rng, 0.1f);
  g.initializers["s"] = testing::normal({3}, rng, 1.f);
  g.initializers["bn"] = testing::normal({3}, rng, 0.3f);
  g.initializers["w3"] = testing::normal({3, 75}, rng, 0.2f);
  g.initializers["b3"] = testing::normal({3}, rng, 0.1f);
  const auto pads = Attribute::of_ints({1, 1, 1, 1});
  g.nodes = {testing::make_node("conv1", "Conv", {"x", "w1", "b1"}, {"c1"}, {{"pads", pads}}),
             testing::make_node("lrn", "LRN", {"c1"}, {"l"},
                                {{"size", i_attr(3)}, {"alpha", f_attr(1.f)}, {"beta", f_attr(0.75f)}}),
             testing::make_node("conv2", "Conv", {"l", "w2", "b2"}, {"c2"}, {{"pads", pads}}),
             testing::make_node("inorm", "InstanceNormalization", {"c2", "s", "bn"}, {"n"}),
             testing::make_node("mish", "Mish", {"n"}, {"m"}),
             testing::make_node("flat", "Flatten", {"m"}, {"f"}),
             testing::make_node("fc", "Gemm", {"f", "w3", "b3"}, {"y"}, {{"transB", i_attr(1)}})};
  const int64_t n = 2;
  const Tensor images = testing::normal({n, 1, 5, 5}, rng, 1.f);
  testing::NpyDataset ds(images);
  const QuantPoints points = quant_points_for(g, ds->sample_shape());
  LfhOptions o;
  o.samples = n;
  o.batch = 1;
  o.min_probes = 300;
  o.max_probes = 300;
  o.seed = 3;
  o.per_channel = false;
  const LfhResult r = compute_lfh(g, *ds, points, o);
  for (const char* w : {"w1", "w2"}) ASSERT_NE(r.find(w), nullptr) << w;
  for (const auto& t : r.tensors) {
    SCOPED_TRACE(t.tensor);
    EXPECT_TRUE(std::isfinite(t.trace));
    EXPECT_GT(t.trace, 0);
    double exact = 0, var = 0;
    for (int64_t i = 0; i < n; ++i) {
      Shape s = images.shape();
      s[0] = 1;
      Tensor one(DType::Float32, s);
      std::copy(images.data<float>() + i * 25, images.data<float>() + (i + 1) * 25, one.data<float>());
      const testing::ExactTrace e = exact_trace(g, one, t.tensor);
      exact += e.trace / n;
      var += e.sigma2 / o.max_probes / (n * n);
    }
    EXPECT_GT(exact, 0);
    // Within 5 standard deviations of the estimator, plus the finite-difference error of the reference.
    EXPECT_NEAR(t.trace, exact, 5 * std::sqrt(var) + 3e-3 * exact) << "sd " << std::sqrt(var);
  }
}

}  // namespace
}  // namespace qs
