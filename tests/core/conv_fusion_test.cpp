// Conv + Clip/Relu fusion in the executor, and the channel-interleaved depthwise kernel.
//
// Fusion: the fused run must give the same bits as the unfused one, and every observer (a tap, a
// rewrite, a fetch of the Conv's output) must see the Conv's own, unclamped output. The expected values
// come from the Conv kernel alone and the Clip formula written here, or from the plain-loop reference.
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/common/parallel.h"
#include "core/ops/conv_depthwise.h"
#include "core/ops/conv_geometry.h"
#include "core/ops/reference/conv_ref.h"
#include "core/runtime/executor.h"

namespace qs {
namespace {

Tensor random_tensor(const Shape& s, std::mt19937& rng, float scale = 1.f) {
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(static_cast<size_t>(numel(s)));
  for (float& x : v) x = u(rng);
  return Tensor::from_vector<float>(s, v);
}

ValueInfo float_input(const std::string& name, const Shape& s) {
  ValueInfo vi;
  vi.name = name;
  vi.dtype = DType::Float32;
  std::vector<Dim> dims;
  for (int64_t d : s) dims.push_back(Dim{d, ""});
  vi.shape = dims;
  return vi;
}

ValueInfo output(const std::string& name) {
  ValueInfo vi;
  vi.name = name;
  return vi;
}

Node conv_node(const std::string& name, const std::string& x, const std::string& w, const std::string& b,
               const std::string& y, int64_t group, int64_t stride) {
  Node n;
  n.name = name;
  n.op_type = "Conv";
  n.inputs = {x, w, b};
  n.outputs = {y};
  n.attrs["group"] = Attribute::of_int(group);
  n.attrs["pads"] = Attribute::of_ints({1, 1, 1, 1});
  n.attrs["strides"] = Attribute::of_ints({stride, stride});
  return n;
}

Node constant_float(const std::string& y, float v) {
  Node n;
  n.name = y + "_node";
  n.op_type = "Constant";
  n.outputs = {y};
  n.attrs["value_float"] = Attribute::of_float(v);
  return n;
}

float clip_formula(float x, float lo, float hi) {
  const float v = x < lo ? lo : x;
  return v > hi ? hi : v;
}

// X -> Conv(3x3) -> a -> Clip(lo from a Constant node, hi from an initializer) -> b
//   -> depthwise Conv -> c -> Relu -> d -> Conv 1x1 -> e -> Clip (no bounds given: identity) -> y
// Every Conv output has one consumer, so each pair is fused when nothing observes it.
struct Model {
  Graph graph;
  Tensor x;
  float lo = -0.25f, hi = 0.5f;
};

Model make_model(std::mt19937& rng) {
  Model m;
  Graph& g = m.graph;
  g.opset = 13;
  const int64_t N = 2, C = 5, M = 12;
  g.inputs = {float_input("X", {N, C, 9, 9})};
  g.initializers["W1"] = random_tensor({M, C, 3, 3}, rng);
  g.initializers["B1"] = random_tensor({M}, rng);
  g.initializers["W2"] = random_tensor({M, 1, 3, 3}, rng);
  g.initializers["B2"] = random_tensor({M}, rng);
  g.initializers["W3"] = random_tensor({7, M, 1, 1}, rng);
  g.initializers["B3"] = random_tensor({7}, rng);
  g.initializers["hi"] = Tensor::scalar<float>(m.hi);
  g.nodes.push_back(conv_node("conv1", "X", "W1", "B1", "a", 1, 1));
  g.nodes.push_back(constant_float("lo", m.lo));
  Node clip1;
  clip1.name = "clip1";
  clip1.op_type = "Clip";
  clip1.inputs = {"a", "lo", "hi"};
  clip1.outputs = {"b"};
  g.nodes.push_back(clip1);
  g.nodes.push_back(conv_node("conv2", "b", "W2", "B2", "c", M, 2));
  Node relu;
  relu.name = "relu";
  relu.op_type = "Relu";
  relu.inputs = {"c"};
  relu.outputs = {"d"};
  g.nodes.push_back(relu);
  Node conv3 = conv_node("conv3", "d", "W3", "B3", "e", 1, 1);
  conv3.attrs["pads"] = Attribute::of_ints({0, 0, 0, 0});
  g.nodes.push_back(conv3);
  Node clip2;
  clip2.name = "clip2";
  clip2.op_type = "Clip";
  clip2.inputs = {"e"};
  clip2.outputs = {"y"};
  g.nodes.push_back(clip2);
  g.outputs = {output("y")};
  m.x = random_tensor({N, C, 9, 9}, rng, 2.f);
  return m;
}

// The graph's values computed one node at a time with single-node executors: the unfused truth.
std::map<std::string, Tensor> stepwise(const Model& m) {
  std::map<std::string, Tensor> v{{"X", m.x}};
  auto conv = [&](const char* node_name, const std::string& in) {
    for (const Node& n : m.graph.nodes)
      if (n.name == node_name) {
        Graph g;
        g.opset = m.graph.opset;
        g.nodes = {n};
        g.inputs = {float_input(in, v.at(in).shape())};
        for (const char* w : {"W1", "B1", "W2", "B2", "W3", "B3"})
          g.initializers[w] = m.graph.initializers.at(w);
        g.outputs = {output(n.outputs[0])};
        return Executor(g).run({v.at(in)})[0];
      }
    ADD_FAILURE() << "no node " << node_name;
    return Tensor();
  };
  auto clamp = [](const Tensor& t, float lo, float hi) {
    std::vector<float> r = t.to_vector<float>();
    for (float& x : r) x = clip_formula(x, lo, hi);
    return Tensor::from_vector<float>(t.shape(), r);
  };
  const float inf = std::numeric_limits<float>::infinity();
  v["a"] = conv("conv1", "X");
  v["b"] = clamp(v["a"], m.lo, m.hi);
  v["c"] = conv("conv2", "b");
  v["d"] = clamp(v["c"], 0.f, inf);
  v["e"] = conv("conv3", "d");
  v["y"] = v["e"];
  return v;
}

int count_outside(const Tensor& t, float lo, float hi) {
  int n = 0;
  for (float x : t.to_vector<float>()) n += x < lo || x > hi;
  return n;
}

TEST(ConvFusion, FusedRunEqualsUnfusedComputation) {
  std::mt19937 rng(3);
  const Model m = make_model(rng);
  const auto want = stepwise(m);
  // The test is only meaningful when the clamps change something.
  ASSERT_GT(count_outside(want.at("a"), m.lo, m.hi), 10);
  ASSERT_GT(count_outside(want.at("c"), 0.f, std::numeric_limits<float>::infinity()), 10);
  const Executor ex(m.graph);
  for (int threads : {1, 2}) {
    const int saved = num_threads();
    set_num_threads(threads);
    const Tensor y = ex.run({m.x})[0];
    set_num_threads(saved);
    EXPECT_EQ(y.to_vector<float>(), want.at("y").to_vector<float>()) << threads << " thread(s)";
  }
}

TEST(ConvFusion, TapsSeeEveryUnfusedValue) {
  std::mt19937 rng(4);
  const Model m = make_model(rng);
  const auto want = stepwise(m);
  const Executor ex(m.graph);
  std::map<std::string, Tensor> seen;
  RunOptions o;
  o.tap = [&](const std::string& name, const Tensor& t) { seen[name] = t; };
  const Tensor y = ex.run({m.x}, o)[0];
  for (const char* name : {"a", "b", "c", "d", "e", "y"}) {
    ASSERT_TRUE(seen.count(name)) << name << " was not observed";
    EXPECT_EQ(seen[name].to_vector<float>(), want.at(name).to_vector<float>()) << name;
  }
  EXPECT_EQ(y.to_vector<float>(), want.at("y").to_vector<float>());
}

TEST(ConvFusion, RewritesApplyToTheConvOutput) {
  // A rewrite of the Conv's output (as the fake-quant simulation does) must feed the Clip: with it the
  // pair cannot be fused. Here the rewrite doubles "a", so b = clip(2a).
  std::mt19937 rng(5);
  const Model m = make_model(rng);
  const auto want = stepwise(m);
  const Executor ex(m.graph);
  std::map<std::string, Tensor> seen;
  RunOptions o;
  o.rewrite = [](const std::string& name, Tensor& t) {
    if (name != "a") return;
    std::vector<float> v = t.to_vector<float>();
    for (float& x : v) x *= 2.f;
    t = Tensor::from_vector<float>(t.shape(), v);
  };
  o.tap = [&](const std::string& name, const Tensor& t) { seen[name] = t; };
  ex.run({m.x}, o);
  std::vector<float> b = want.at("a").to_vector<float>();
  for (float& x : b) x = clip_formula(2.f * x, m.lo, m.hi);
  EXPECT_EQ(seen.at("b").to_vector<float>(), b);
}

TEST(ConvFusion, FetchedIntermediateIsUnclamped) {
  std::mt19937 rng(6);
  const Model m = make_model(rng);
  const auto want = stepwise(m);
  const Executor ex(m.graph);
  const auto r = ex.run({{"X", m.x}}, {"a", "c", "y"});
  EXPECT_EQ(r.at("a").to_vector<float>(), want.at("a").to_vector<float>());
  EXPECT_EQ(r.at("c").to_vector<float>(), want.at("c").to_vector<float>());
  EXPECT_EQ(r.at("y").to_vector<float>(), want.at("y").to_vector<float>());
  // Fetching only the final output afterwards still fuses and agrees.
  EXPECT_EQ(ex.run({{"X", m.x}}, {"y"}).at("y").to_vector<float>(), want.at("y").to_vector<float>());
}

TEST(ConvFusion, ConvWithTwoConsumersIsNotFused) {
  // a feeds both the Clip and an Add: the Add must see the unclamped a.
  std::mt19937 rng(7);
  Model m = make_model(rng);
  Node add;
  add.name = "add";
  add.op_type = "Add";
  add.inputs = {"a", "b"};
  add.outputs = {"s"};
  m.graph.nodes.insert(m.graph.nodes.begin() + 3, add);
  m.graph.outputs.push_back(output("s"));
  const auto want = stepwise(m);
  const auto out = Executor(m.graph).run({m.x});
  std::vector<float> s = want.at("a").to_vector<float>();
  const std::vector<float> b = want.at("b").to_vector<float>();
  for (size_t i = 0; i < s.size(); ++i) s[i] += b[i];
  EXPECT_EQ(out[1].to_vector<float>(), s);
  EXPECT_EQ(out[0].to_vector<float>(), want.at("y").to_vector<float>());
}

// The depthwise kernel on the shapes of MobileNet-like blocks, both of its paths (flat phase planes and
// channel-interleaved for narrow planes), channel counts that are not whole packets and widths that are
// not whole transpose blocks: every output is bias + the taps in (kh, kw) order with multiply-adds, so it
// equals that loop exactly (fused multiply-adds when Eigen uses them), and the plain-loop reference closely.
TEST(DepthwiseConv, BothPathsEqualTheTapOrderLoop) {
  struct Case {
    int64_t C, H, W, stride;
  };
  const Case cases[] = {{13, 7, 7, 1}, {16, 7, 7, 1},  {9, 14, 14, 1}, {24, 14, 14, 2}, {11, 28, 28, 2},
                        {8, 5, 11, 1}, {17, 13, 6, 2}, {3, 3, 3, 1},   {20, 28, 28, 1}};
  std::mt19937 rng(11);
  for (const Case& c : cases) {
    const int64_t N = 2, K = 3;
    const Tensor x = random_tensor({N, c.C, c.H, c.W}, rng), w = random_tensor({c.C, 1, K, K}, rng),
                 b = random_tensor({c.C}, rng);
    const int64_t OH = (c.H + 2 - K) / c.stride + 1, OW = (c.W + 2 - K) / c.stride + 1;
    ConvGeometry g;
    g.batch = N;
    g.in_channels = c.C;
    g.out_channels = c.C;
    g.group = c.C;
    g.in = {c.H, c.W};
    g.out = {OH, OW};
    g.kernel = {K, K};
    g.strides = {c.stride, c.stride};
    g.dilations = {1, 1};
    g.pad_begin = {1, 1};
    g.pad_end = {1, 1};  // pads [1, 1, 1, 1], as conv_geometry gives them
    g.y_shape = {N, c.C, OH, OW};
    Tensor y(DType::Float32, g.y_shape);
    for (int64_t n = 0; n < N; ++n)
      depthwise_conv2d(g, x.data<float>() + n * c.C * c.H * c.W, c.C, 1, w.data<float>(), b.data<float>(),
                       y.data<float>() + n * c.C * OH * OW);
    const std::string what = "C=" + std::to_string(c.C) + " " + std::to_string(c.H) + "x" +
                             std::to_string(c.W) + " stride " + std::to_string(c.stride);
    const float* xd = x.data<float>();
    const float* wd = w.data<float>();
    const float* yd = y.data<float>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t ch = 0; ch < c.C; ++ch)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            float acc = b.data<float>()[ch];
            for (int64_t kh = 0; kh < K; ++kh)
              for (int64_t kw = 0; kw < K; ++kw) {
                const int64_t ih = oh * c.stride - 1 + kh, iw = ow * c.stride - 1 + kw;
                const float xv = ih < 0 || ih >= c.H || iw < 0 || iw >= c.W
                                     ? 0.f
                                     : xd[((n * c.C + ch) * c.H + ih) * c.W + iw];
#if defined(EIGEN_VECTORIZE_FMA)
                acc = std::fma(wd[ch * K * K + kh * K + kw], xv, acc);
#else
                acc = wd[ch * K * K + kh * K + kw] * xv + acc;
#endif
              }
            const float got = yd[((n * c.C + ch) * OH + oh) * OW + ow];
#if defined(EIGEN_VECTORIZE_FMA)
            ASSERT_EQ(got, acc) << what << " at " << n << "," << ch << "," << oh << "," << ow;
#else
            ASSERT_NEAR(got, acc, 1e-5f) << what;
#endif
          }
    reference::ConvParams p;
    p.group = c.C;
    p.strides = {c.stride, c.stride};
    p.dilations = {1, 1};
    p.pad_begin = {1, 1};
    const Tensor r = reference::conv(x, w, &b, p, g.y_shape);
    const std::vector<float> rv = r.to_vector<float>(), yv = y.to_vector<float>();
    for (size_t i = 0; i < rv.size(); ++i) ASSERT_NEAR(yv[i], rv[i], 1e-5f * (1 + std::fabs(rv[i]))) << what;
  }
}

}  // namespace
}  // namespace qs
