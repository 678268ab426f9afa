// Graph passes (core/graph/passes.h) on the fixtures of tests/fixtures/onnx: each pass must leave the
// model's outputs unchanged (same values, same graph output names) while removing what it claims to.
// The reference is always the same model loaded with the pass switched off, or a property computed here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/graph/passes.h"
#include "core/onnx/import.h"
#include "core/runtime/executor.h"

namespace qs {
namespace {

std::string fixture(const std::string& name) { return std::string(QS_TEST_FIXTURES) + "/onnx/" + name; }

// Deterministic, sign-changing test data.
Tensor pattern(const Shape& s, float phase = 0.f) {
  std::vector<float> v(static_cast<size_t>(numel(s)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.7f * static_cast<float>(i) + phase) * 1.5f;
  return Tensor::from_vector<float>(s, v);
}

void expect_close(const Tensor& got, const Tensor& want, float tol) {
  ASSERT_EQ(got.shape(), want.shape());
  const auto g = got.to_vector<float>(), w = want.to_vector<float>();
  for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], w[i], tol) << "element " << i;
}

int count_op(const Graph& g, const std::string& op) {
  return static_cast<int>(
      std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.op_type == op; }));
}

std::vector<std::string> output_names(const Graph& g) {
  std::vector<std::string> r;
  for (const auto& o : g.outputs) r.push_back(o.name);
  return r;
}

LoadOptions no_passes() {
  LoadOptions o;
  o.remove_identity = o.fold_constants = o.fold_batchnorm = false;
  return o;
}

TEST(Passes, FoldBatchnormMatchesTheUnfusedModel) {
  // conv_bn.onnx: Conv(bias)→BN, Conv(no bias)→BN, Gemm(transB, beta 0.5)→BN.
  Model unfused = load_model(fixture("conv_bn.onnx"), no_passes());
  ASSERT_EQ(count_op(unfused.graph, "BatchNormalization"), 3);
  Graph g = unfused.graph;
  EXPECT_EQ(fold_batchnorm(g), 3);
  EXPECT_EQ(count_op(g, "BatchNormalization"), 0);
  EXPECT_EQ(g.nodes.size(), unfused.graph.nodes.size() - 3);
  EXPECT_EQ(output_names(g), output_names(unfused.graph));
  // The original weights are left as they were (a fold writes new initializers).
  EXPECT_EQ(g.initializer("conv1.weight")->to_vector<float>(),
            unfused.graph.initializer("conv1.weight")->to_vector<float>());

  LoadOptions on;
  on.fold_batchnorm = true;
  LoadOptions off;
  off.fold_batchnorm = false;
  Model folded = load_model(fixture("conv_bn.onnx"), on);
  Model plain = load_model(fixture("conv_bn.onnx"), off);
  EXPECT_EQ(count_op(folded.graph, "BatchNormalization"), 0);
  EXPECT_EQ(count_op(plain.graph, "BatchNormalization"), 3);
  Executor a(std::move(folded.graph)), b(std::move(plain.graph)), c(std::move(g));
  for (float phase : {0.f, 1.f, 2.5f}) {
    const Tensor x = pattern({2, 3, 5, 5}, phase);
    const Tensor want = b.run({x})[0];
    expect_close(a.run({x})[0], want, 1e-5f);
    expect_close(c.run({x})[0], want, 1e-5f);
  }
}

TEST(Passes, FoldBatchnormLeavesAConvWhoseOutputIsUsedElsewhere) {
  Model m = load_model(fixture("conv_bn.onnx"), no_passes());
  Graph g = m.graph;
  // A second consumer of conv1's output "c1": folding would change what it sees.
  Node tap;
  tap.name = "tap_c1";
  tap.op_type = "Neg";
  tap.inputs = {"c1"};
  tap.outputs = {"c1_neg"};
  g.nodes.push_back(tap);
  g.outputs.push_back(ValueInfo{"c1_neg", DType::Float32, std::nullopt});
  EXPECT_EQ(fold_batchnorm(g), 2);
  EXPECT_EQ(count_op(g, "BatchNormalization"), 1);
  const int bn =
      static_cast<int>(std::find_if(g.nodes.begin(), g.nodes.end(),
                                    [](const Node& n) { return n.op_type == "BatchNormalization"; }) -
                       g.nodes.begin());
  EXPECT_EQ(g.nodes[static_cast<size_t>(bn)].name, "bn1");

  Graph ref = m.graph;
  ref.nodes.push_back(tap);
  ref.outputs = g.outputs;
  Executor a(std::move(g)), b(std::move(ref));
  const Tensor x = pattern({2, 3, 5, 5});
  const auto got = a.run({x}), want = b.run({x});
  ASSERT_EQ(got.size(), 2u);
  for (size_t i = 0; i < got.size(); ++i) expect_close(got[i], want[i], 1e-5f);
}

TEST(Passes, FoldBatchnormDoesNotMixUpConvsSharingAWeight) {
  // conv2 reuses conv1's weight (same initializer name), each with its own BN: each fold must get its
  // own folded weight.
  Model m = load_model(fixture("conv_bn.onnx"), no_passes());
  Graph g = m.graph;
  for (Node& n : g.nodes)
    if (n.name == "conv2") {
      n.inputs[1] = "conv1.weight";
      n.attrs["kernel_shape"] = Attribute::of_ints({3, 3});
      n.attrs["pads"] = Attribute::of_ints({1, 1, 1, 1});
    }
  Graph ref = g;
  EXPECT_EQ(fold_batchnorm(g), 3);
  Executor a(std::move(g)), b(std::move(ref));
  const Tensor x = pattern({2, 3, 5, 5}, 0.3f);
  expect_close(a.run({x})[0], b.run({x})[0], 1e-5f);
}

TEST(Passes, RemoveIdentityKeepsGraphOutputNames) {
  Model kept = load_model(fixture("identity_chain.onnx"), no_passes());
  ASSERT_EQ(count_op(kept.graph, "Identity"), 5);
  ASSERT_EQ(count_op(kept.graph, "Dropout"), 1);
  Graph g = kept.graph;
  EXPECT_EQ(remove_identity(g), 5);
  EXPECT_EQ(count_op(g, "Dropout"), 0);
  // The one left feeds graph output 'passthrough' straight from the graph input: there is no producer to
  // rename, so the Identity keeps that name alive.
  ASSERT_EQ(count_op(g, "Identity"), 1);
  EXPECT_EQ(output_names(g), (std::vector<std::string>{"output", "passthrough", "side"}));
  EXPECT_EQ(output_names(g), output_names(kept.graph));
  const int relu = g.producer("output");
  ASSERT_GE(relu, 0);
  EXPECT_EQ(g.nodes[static_cast<size_t>(relu)].op_type, "Relu");
  EXPECT_EQ(g.nodes[static_cast<size_t>(relu)].inputs[0], "input");

  Executor a(std::move(g)), b(std::move(kept.graph));
  const Tensor x = pattern({2, 5});
  const auto got = a.run({x}), want = b.run({x});
  ASSERT_EQ(got.size(), 3u);
  const auto xv = x.to_vector<float>();
  const auto out = got[0].to_vector<float>(), pass = got[1].to_vector<float>(),
             side = got[2].to_vector<float>();
  for (size_t i = 0; i < xv.size(); ++i) {
    EXPECT_EQ(out[i], std::max(xv[i], 0.f));
    EXPECT_EQ(pass[i], xv[i]);
    EXPECT_EQ(side[i], -xv[i]);
  }
  for (size_t i = 0; i < got.size(); ++i) expect_close(got[i], want[i], 0.f);
}

TEST(Passes, RemoveIdentityKeepsDropoutWhoseMaskIsUsed) {
  Model m = load_model(fixture("identity_chain.onnx"), no_passes());
  Graph g = m.graph;
  for (Node& n : g.nodes)
    if (n.op_type == "Dropout") n.outputs.push_back("mask");
  g.outputs.push_back(ValueInfo{"mask", DType::Bool, std::nullopt});
  EXPECT_EQ(remove_identity(g), 4);
  EXPECT_EQ(count_op(g, "Dropout"), 1);
}

TEST(Passes, FoldConstantsFoldsAStaticShapeChain) {
  LoadOptions on;
  LoadOptions off;
  off.fold_constants = false;
  Model folded = load_model(fixture("shape_chain_static.onnx"), on);
  Model plain = load_model(fixture("shape_chain_static.onnx"), off);
  EXPECT_EQ(plain.graph.nodes.size(), 6u);
  // Shape, Gather, Unsqueeze and Concat become one constant shape; Reshape and Relu remain.
  ASSERT_EQ(folded.graph.nodes.size(), 2u);
  EXPECT_EQ(folded.graph.nodes[0].op_type, "Reshape");
  EXPECT_EQ(folded.graph.nodes[1].op_type, "Relu");
  const Tensor* shape = folded.graph.initializer(folded.graph.nodes[0].inputs[1]);
  ASSERT_NE(shape, nullptr);
  EXPECT_EQ(shape->to_vector<int64_t>(), (std::vector<int64_t>{2, -1}));
  EXPECT_EQ(output_names(folded.graph), output_names(plain.graph));

  Executor a(std::move(folded.graph)), b(std::move(plain.graph));
  const Tensor x = pattern({2, 3, 4, 4});
  const Tensor got = a.run({x})[0];
  ASSERT_EQ(got.shape(), (Shape{2, 48}));
  expect_close(got, b.run({x})[0], 0.f);
  const auto xv = x.to_vector<float>(), gv = got.to_vector<float>();
  for (size_t i = 0; i < xv.size(); ++i) EXPECT_EQ(gv[i], std::max(xv[i], 0.f));
}

TEST(Passes, FoldConstantsKeepsADynamicShapeChainWorking) {
  Model m = load_model(fixture("shape_chain_dynamic.onnx"));
  EXPECT_EQ(count_op(m.graph, "Shape"), 1);
  EXPECT_EQ(m.graph.nodes.size(), 6u);
  Executor ex(std::move(m.graph));
  for (int64_t batch : {1, 3}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    const Tensor x = pattern({batch, 3, 4, 4}, static_cast<float>(batch));
    const Tensor got = ex.run({x})[0];
    ASSERT_EQ(got.shape(), (Shape{batch, 48}));
    const auto xv = x.to_vector<float>(), gv = got.to_vector<float>();
    for (size_t i = 0; i < xv.size(); ++i) EXPECT_EQ(gv[i], std::max(xv[i], 0.f));
  }
}

TEST(Passes, RemoveUnusedInitializersKeepsWhatIsUsed) {
  Model m = load_model(fixture("valid.onnx"), no_passes());
  Graph g = m.graph;
  g.initializers["orphan"] = Tensor::from_vector<float>({1}, {1.f});
  remove_unused_initializers(g);
  EXPECT_EQ(g.initializer("orphan"), nullptr);
  for (const char* w : {"conv1.weight", "conv1.bias", "fc.weight", "fc.bias"})
    EXPECT_NE(g.initializer(w), nullptr) << w;
}

}  // namespace
}  // namespace qs
