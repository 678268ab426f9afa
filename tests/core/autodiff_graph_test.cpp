// Reverse mode over whole graphs: gradients with respect to inputs, weights (initializers) and intermediate
// activations from one backward pass, seeds on several values, the straight-through fake quantization, and
// the refusal of ops without a VJP only when they lie on a gradient path.
#include <gtest/gtest.h>

#include "core/quant/quantizer.h"
#include "tests/core/autodiff_test_util.h"

namespace qs {
namespace {

using testing::randn;

Node node(const std::string& name, const std::string& op, std::vector<std::string> in,
          std::vector<std::string> out, std::map<std::string, Attribute> attrs = {}) {
  Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attrs = std::move(attrs);
  return n;
}

// x [2,1,6,6] → Conv(3x3, 3 ch) → Relu → MaxPool 2x2 → Flatten → Gemm(transB) → y [2,4]
Graph small_cnn(std::mt19937& rng) {
  Graph g;
  g.opset = 13;
  g.opset_imports[""] = 13;
  g.inputs.push_back({"x", DType::Float32, std::nullopt});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.initializers["w1"] = randn({3, 1, 3, 3}, rng, 0.5f);
  g.initializers["b1"] = randn({3}, rng, 0.1f);
  g.initializers["w2"] = randn({4, 12}, rng, 0.5f);
  g.initializers["b2"] = randn({4}, rng, 0.1f);
  g.nodes = {node("conv", "Conv", {"x", "w1", "b1"}, {"c"}), node("relu", "Relu", {"c"}, {"r"}),
             node("pool", "MaxPool", {"r"}, {"p"},
                  {{"kernel_shape", Attribute::of_ints({2, 2})}, {"strides", Attribute::of_ints({2, 2})}}),
             node("flat", "Flatten", {"p"}, {"f"}),
             node("fc", "Gemm", {"f", "w2", "b2"}, {"y"}, {{"transB", Attribute::of_int(1)}})};
  return g;
}

double dot(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += static_cast<double>(a.data<float>()[i]) * b.data<float>()[i];
  return s;
}

TEST(AutodiffGraph, InputsWeightsAndActivationsFromOnePass) {
  std::mt19937 rng(21);
  const Graph g = small_cnn(rng);
  const ReverseModel m(g, {"w1", "b1", "w2", "b2"});
  const Tensor x = randn({2, 1, 6, 6}, rng);
  const std::map<std::string, Tensor> feeds{{"x", x}};
  const Tape t = m.forward(feeds);
  // Seeds on the output and on an intermediate value: L = <u, y> + <v, r>.
  const Tensor u = randn({2, 4}, rng), v = randn(t.value("r").shape(), rng);
  const std::map<std::string, Tensor> seeds{{"y", u}, {"r", v}};
  const auto grads = m.backward(t, seeds, {"x", "w1", "b1", "w2", "b2", "c", "p"});
  auto loss = [&](const ForwardOptions& fo) {
    const Tape s = m.forward(feeds, fo);
    return dot(s.value("y"), u) + dot(s.value("r"), v);
  };
  const double eps = 1e-3;
  for (const std::string name : {"x", "w1", "b1", "w2", "b2", "c", "p"}) {
    SCOPED_TRACE(name);
    const Tensor& base = name == "x" ? x : (g.is_initializer(name) ? *g.initializer(name) : t.value(name));
    const Tensor& an = grads.at(name);
    ASSERT_EQ(an.shape(), base.shape());
    double max_err = 0, max_an = 0;
    for (int64_t i = 0; i < base.numel(); ++i) {
      double f[2];
      for (int s = 0; s < 2; ++s) {
        ForwardOptions fo;
        std::map<std::string, Tensor> fx = feeds;
        const float d = static_cast<float>(s ? -eps : eps);
        if (name == "x") {
          Tensor p = x.clone();
          p.data<float>()[i] += d;
          f[s] = [&] {
            const Tape tt = m.forward({{"x", p}});
            return dot(tt.value("y"), u) + dot(tt.value("r"), v);
          }();
          continue;
        }
        if (g.is_initializer(name)) {
          Tensor p = base.clone();
          p.data<float>()[i] += d;
          fo.params[name] = p;
        } else {
          Tensor p = Tensor::zeros(DType::Float32, base.shape());
          p.data<float>()[i] = d;
          fo.perturb[name] = p;
        }
        f[s] = loss(fo);
      }
      const double num = (f[0] - f[1]) / (2 * eps);
      max_err = std::max(max_err, std::abs(num - an.data<float>()[i]));
      max_an = std::max(max_an, std::abs(static_cast<double>(an.data<float>()[i])));
    }
    EXPECT_GT(max_an, 0.0);
    EXPECT_LE(max_err, 2e-2 * std::max(1.0, max_an));
  }
}

TEST(AutodiffGraph, FakeQuantIsStraightThroughInsideTheClampRange) {
  Graph g;
  g.opset = 13;
  g.opset_imports[""] = 13;
  g.inputs.push_back({"x", DType::Float32, std::nullopt});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.initializers["c"] = Tensor::from_vector<float>({3}, {2.f, -1.f, 0.5f});
  g.nodes = {node("q", "Relu", {"x"}, {"r"}), node("m", "Mul", {"r", "c"}, {"y"})};
  const ReverseModel m(g);
  // Range [-0.5, 0.5] in steps of 0.1 for r; the input x is quantized too, per channel (axis 1).
  QuantParams pr;
  pr.scale = {0.1f};
  pr.zero_point = {0};
  pr.qmin = -5;
  pr.qmax = 5;
  QuantParams px;
  px.scale = {0.2f, 0.2f, 0.05f};
  px.zero_point = {0, 0, 0};
  px.axis = 1;
  px.qmin = -8;
  px.qmax = 7;
  ForwardOptions fo;
  fo.fake_quant = {{"r", pr}, {"x", px}};
  const Tensor x = Tensor::from_vector<float>({2, 3}, {0.31f, 0.72f, 0.2f, 2.0f, -0.9f, 0.43f});
  const Tape t = m.forward({{"x", x}}, fo);
  const Tensor xq = fake_quantize(x, px);
  const Tensor rq = fake_quantize(t.value("r"), pr);
  for (int64_t i = 0; i < 6; ++i) {
    EXPECT_FLOAT_EQ(t.value("x").data<float>()[i], xq.data<float>()[i]);
    EXPECT_FLOAT_EQ(t.value("r").data<float>()[i], rq.data<float>()[i]);
  }
  const Tensor u = Tensor::from_vector<float>({2, 3}, {1, 1, 1, 1, 1, 1});
  const auto gr = m.backward(t, {{"y", u}}, {"x", "r"});
  // r's gradient (before its quantizer): c where round(r/0.1) is within [-5, 5], else 0.
  // xq = {0.4, 0.8, 0.2, 1.4 (10 clamped to 7), -0.8, 0.35 (8.6 → 9 clamped to 7)};
  // r = relu(xq) = {0.4, 0.8, 0.2, 1.4, 0, 0.35}: 0.8 and 1.4 are clamped by r's quantizer.
  const std::vector<float> dr = {2.f, 0.f, 0.5f, 0.f, -1.f, 0.5f};
  for (int64_t i = 0; i < 6; ++i)
    EXPECT_FLOAT_EQ(gr.at("r").data<float>()[i], dr[static_cast<size_t>(i)]) << i;
  // x's gradient: through Relu (xq > 0), then x's own quantizer, which clamped x[1,0] and x[1,2].
  const std::vector<float> dx = {2.f, 0.f, 0.5f, 0.f, 0.f, 0.f};
  for (int64_t i = 0; i < 6; ++i)
    EXPECT_FLOAT_EQ(gr.at("x").data<float>()[i], dx[static_cast<size_t>(i)]) << i;
  // fake_quantize_vjp directly: NaN gets no gradient.
  const Tensor nan = Tensor::from_vector<float>({1}, {NAN});
  EXPECT_EQ(fake_quantize_vjp(nan, pr, Tensor::from_vector<float>({1}, {1.f})).data<float>()[0], 0.f);
}

TEST(AutodiffGraph, OpsWithoutVjpAreRefusedOnlyOnAGradientPath) {
  Graph g;
  g.opset = 13;
  g.opset_imports[""] = 13;
  g.inputs.push_back({"x", DType::Float32, std::nullopt});
  g.outputs.push_back({"y1", DType::Float32, std::nullopt});
  g.outputs.push_back({"y2", DType::Float32, std::nullopt});
  g.outputs.push_back({"s", DType::Int64, std::nullopt});
  g.nodes = {node("relu", "Relu", {"x"}, {"y1"}), node("floor", "Floor", {"x"}, {"y2"}),
             node("shape", "Shape", {"x"}, {"s"})};
  const ReverseModel m(g);
  const Tensor x = Tensor::from_vector<float>({2}, {0.5f, -1.5f});
  const Tape t = m.forward({{"x", x}});
  const Tensor one = Tensor::from_vector<float>({2}, {1.f, 1.f});
  const auto gr = m.backward(t, {{"y1", one}}, {"x"});
  EXPECT_FLOAT_EQ(gr.at("x").data<float>()[0], 1.f);
  EXPECT_FLOAT_EQ(gr.at("x").data<float>()[1], 0.f);
  EXPECT_THROW(m.backward(t, {{"y2", one}}, {"x"}), UnsupportedError);
  try {
    m.backward(t, {{"y2", one}}, {"x"});
  } catch (const UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("'floor' (Floor"), std::string::npos) << e.what();
  }
  // A value the seeded one does not depend on gets zeros.
  const auto z = m.backward(t, {{"y1", one}}, {"y2"});
  EXPECT_EQ(z.at("y2").data<float>()[0], 0.f);
  // Bad seeds and names are errors naming them.
  EXPECT_THROW(m.backward(t, {{"nope", one}}, {"x"}), Error);
  EXPECT_THROW(m.backward(t, {{"y1", Tensor::from_vector<float>({3}, {1, 1, 1})}}, {"x"}), Error);
  EXPECT_THROW(m.forward({{"x", x}}, ForwardOptions{{}, {}, {{"w", x}}}), Error);
}

}  // namespace
}  // namespace qs
