// Every op's VJP against central finite differences of the forward kernel (one-node graphs, small shapes,
// float32 with a step of 1e-2 and inputs kept away from kinks).
#include <gtest/gtest.h>

#include "core/autodiff/vjp.h"
#include "tests/core/autodiff_test_util.h"

namespace qs {
namespace {

using testing::away_from_zero;
using testing::check_vjp;
using testing::distinct;
using testing::ints;
using testing::OpCase;
using testing::randn;
using testing::str_attr;
using testing::uniform;

TEST(AutodiffOps, ConvGroupsStridePadDilation) {
  std::mt19937 rng(1);
  // Grouped, strided, padded, with bias.
  check_vjp({"Conv",
             13,
             {{"x", randn({2, 4, 5, 5}, rng)}, {"w", randn({6, 2, 3, 3}, rng, 0.5f)}, {"b", randn({6}, rng)}},
             {},
             {"x", "w", "b"},
             1,
             {{"group", Attribute::of_int(2)},
              {"strides", Attribute::of_ints({2, 2})},
              {"pads", Attribute::of_ints({1, 0, 1, 2})}}});
  // Dilated, asymmetric kernel, no bias.
  check_vjp({"Conv",
             13,
             {{"x", randn({1, 3, 6, 7}, rng)}, {"w", randn({2, 3, 2, 3}, rng, 0.5f)}},
             {},
             {"x", "w"},
             1,
             {{"dilations", Attribute::of_ints({2, 1})}}});
  // Depthwise with a channel multiplier and SAME_UPPER padding.
  check_vjp({"Conv",
             13,
             {{"x", randn({2, 3, 5, 4}, rng)}, {"w", randn({6, 1, 3, 3}, rng, 0.5f)}},
             {},
             {"x", "w"},
             1,
             {{"group", Attribute::of_int(3)}, {"auto_pad", str_attr("SAME_UPPER")}}});
  check_vjp({"Conv",
             13,
             {{"x", randn({1, 2, 7, 6}, rng)}, {"w", randn({2, 1, 3, 2}, rng, 0.5f)}},
             {},
             {"x", "w"},
             1,
             {{"group", Attribute::of_int(2)},
              {"strides", Attribute::of_ints({2, 3})},
              {"dilations", Attribute::of_ints({2, 1})},
              {"pads", Attribute::of_ints({1, 2, 0, 1})}}});
  // 1x1, stride 1 (the column matrix is the image itself), grouped.
  check_vjp({"Conv",
             13,
             {{"x", randn({2, 4, 3, 3}, rng)}, {"w", randn({6, 2, 1, 1}, rng, 0.5f)}, {"b", randn({6}, rng)}},
             {},
             {"x", "w", "b"},
             1,
             {{"group", Attribute::of_int(2)}}});
  // 1-D and 3-D.
  check_vjp({"Conv",
             13,
             {{"x", randn({2, 2, 9}, rng)}, {"w", randn({3, 2, 4}, rng, 0.5f)}},
             {},
             {"x", "w"},
             1,
             {{"strides", Attribute::of_ints({2})}, {"pads", Attribute::of_ints({1, 2})}}});
  check_vjp({"Conv",
             13,
             {{"x", randn({1, 2, 3, 4, 3}, rng)}, {"w", randn({2, 2, 2, 2, 2}, rng, 0.5f)}},
             {},
             {"x", "w"}});
}

TEST(AutodiffOps, ConvTranspose) {
  std::mt19937 rng(2);
  check_vjp({"ConvTranspose",
             13,
             {{"x", randn({2, 4, 3, 3}, rng)}, {"w", randn({4, 3, 3, 3}, rng, 0.5f)}, {"b", randn({3}, rng)}},
             {},
             {"x", "w", "b"},
             1,
             {{"strides", Attribute::of_ints({2, 2})},
              {"pads", Attribute::of_ints({1, 1, 1, 1})},
              {"output_padding", Attribute::of_ints({1, 0})}}});
  check_vjp({"ConvTranspose",
             13,
             {{"x", randn({1, 4, 3, 2}, rng)}, {"w", randn({4, 1, 2, 3}, rng, 0.5f)}},
             {},
             {"x", "w"},
             1,
             {{"group", Attribute::of_int(2)}, {"dilations", Attribute::of_ints({2, 1})}}});
  check_vjp({"ConvTranspose",
             13,
             {{"x", randn({2, 3, 2, 3}, rng)}, {"w", randn({3, 2, 1, 1}, rng, 0.5f)}},
             {},
             {"x", "w"}});
  check_vjp({"ConvTranspose",
             13,
             {{"x", randn({1, 2, 4}, rng)}, {"w", randn({2, 3, 3}, rng, 0.5f)}},
             {},
             {"x", "w"},
             1,
             {{"strides", Attribute::of_ints({2})}}});
}

TEST(AutodiffOps, GemmTransposesAlphaBetaBroadcastC) {
  std::mt19937 rng(3);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      const Shape as = ta ? Shape{4, 3} : Shape{3, 4};
      const Shape bs = tb ? Shape{5, 4} : Shape{4, 5};
      const Shape cs = (ta + tb) % 2 ? Shape{5} : Shape{3, 1};
      check_vjp({"Gemm",
                 13,
                 {{"a", randn(as, rng)}, {"b", randn(bs, rng)}, {"c", randn(cs, rng)}},
                 {},
                 {"a", "b", "c"},
                 1,
                 {{"transA", Attribute::of_int(ta)},
                  {"transB", Attribute::of_int(tb)},
                  {"alpha", Attribute::of_float(0.7f)},
                  {"beta", Attribute::of_float(1.3f)}}});
    }
}

TEST(AutodiffOps, MatMulBatchedBroadcastAndVectors) {
  std::mt19937 rng(4);
  const std::vector<std::pair<Shape, Shape>> cases = {{{2, 3, 4}, {4, 5}},    {{2, 1, 3, 4}, {3, 4, 2}},
                                                      {{4}, {2, 4, 3}},       {{3, 4}, {4}},
                                                      {{2, 3, 4}, {2, 4, 2}}, {{3, 4}, {2, 4, 5}}};
  for (const auto& [a, b] : cases)
    check_vjp({"MatMul", 13, {{"a", randn(a, rng)}, {"b", randn(b, rng)}}, {}, {"a", "b"}});
}

TEST(AutodiffOps, BatchNormalizationInference) {
  std::mt19937 rng(5);
  check_vjp({"BatchNormalization",
             15,
             {{"x", randn({2, 3, 2, 2}, rng)},
              {"s", randn({3}, rng)},
              {"bias", randn({3}, rng)},
              {"mean", randn({3}, rng)},
              {"var", uniform({3}, rng, 0.5f, 1.5f)}},
             {},
             {"x", "s", "bias", "mean", "var"},
             1,
             {{"epsilon", Attribute::of_float(1e-3f)}}});
}

TEST(AutodiffOps, Activations) {
  std::mt19937 rng(6);
  const Shape s{2, 3, 4};
  for (const char* op : {"Relu", "Sigmoid", "Tanh", "Erf", "Softplus", "Exp", "Neg", "Abs", "Identity"})
    check_vjp({op, 13, {{"x", away_from_zero(s, rng)}}, {}, {"x"}});
  check_vjp({"LeakyRelu",
             13,
             {{"x", away_from_zero(s, rng)}},
             {},
             {"x"},
             1,
             {{"alpha", Attribute::of_float(0.2f)}}});
  check_vjp(
      {"Elu", 13, {{"x", away_from_zero(s, rng)}}, {}, {"x"}, 1, {{"alpha", Attribute::of_float(0.8f)}}});
  for (const char* op : {"Sqrt", "Log", "Reciprocal"})
    check_vjp({op, 13, {{"x", uniform(s, rng, 0.5f, 2.f)}}, {}, {"x"}});
  // HardSigmoid (kinks at ±2.5) and HardSwish (±3): values on both sides of and between the kinks.
  Tensor h = uniform({40}, rng, -4.f, 4.f);
  for (auto& v : h.span<float>())
    if (std::abs(std::abs(v) - 2.5f) < 0.05f || std::abs(std::abs(v) - 3.f) < 0.05f) v += 0.2f;
  check_vjp({"HardSigmoid", 13, {{"x", h}}, {}, {"x"}});
  check_vjp({"HardSwish", 14, {{"x", h}}, {}, {"x"}});
  check_vjp({"PRelu",
             13,
             {{"x", away_from_zero({2, 3, 2, 2}, rng)}, {"slope", randn({3, 1, 1}, rng)}},
             {},
             {"x", "slope"}});
}

TEST(AutodiffOps, ClipBoundsAsInputsAndAttributes) {
  std::mt19937 rng(7);
  Tensor x = uniform({30}, rng, -1.5f, 1.5f);
  for (auto& v : x.span<float>())
    if (std::abs(v + 0.5f) < 0.05f || std::abs(v - 0.7f) < 0.05f) v += 0.12f;
  check_vjp({"Clip",
             13,
             {{"x", x}, {"lo", Tensor::scalar<float>(-0.5f)}, {"hi", Tensor::scalar<float>(0.7f)}},
             {},
             {"x", "lo", "hi"}});
  check_vjp({"Clip",
             6,
             {{"x", x}},
             {},
             {"x"},
             1,
             {{"min", Attribute::of_float(-0.5f)}, {"max", Attribute::of_float(0.7f)}}});
  check_vjp({"Clip", 13, {{"x", x}}, {{"hi", Tensor::scalar<float>(0.7f)}}, {"x", "", "hi"}});
}

TEST(AutodiffOps, BinaryBroadcastAndVariadic) {
  std::mt19937 rng(8);
  for (const char* op : {"Add", "Sub", "Mul"})
    check_vjp({op, 13, {{"a", randn({2, 3, 4}, rng)}, {"b", randn({3, 1}, rng)}}, {}, {"a", "b"}});
  check_vjp({"Div", 13, {{"a", randn({2, 3}, rng)}, {"b", uniform({2, 1}, rng, 0.5f, 2.f)}}, {}, {"a", "b"}});
  check_vjp({"Pow",
             13,
             {{"a", uniform({2, 3}, rng, 0.5f, 2.f)}, {"b", uniform({3}, rng, 0.5f, 2.5f)}},
             {},
             {"a", "b"}});
  check_vjp({"Pow", 13, {{"a", randn({2, 3}, rng)}}, {{"two", Tensor::scalar<float>(2.f)}}, {"a", "two"}});
  check_vjp({"Sum",
             13,
             {{"a", randn({2, 3}, rng)}, {"b", randn({3}, rng)}, {"c", randn({2, 1}, rng)}},
             {},
             {"a", "b", "c"}});
  check_vjp({"Mean", 13, {{"a", randn({2, 3}, rng)}, {"b", randn({3}, rng)}}, {}, {"a", "b"}});
}

TEST(AutodiffOps, SoftmaxAndLogSoftmaxBothConventions) {
  std::mt19937 rng(9);
  check_vjp({"Softmax", 13, {{"x", randn({2, 3, 4}, rng)}}, {}, {"x"}, 1, {{"axis", Attribute::of_int(1)}}});
  check_vjp({"Softmax", 11, {{"x", randn({2, 3, 4}, rng)}}, {}, {"x"}, 1, {{"axis", Attribute::of_int(1)}}});
  check_vjp({"LogSoftmax", 13, {{"x", randn({2, 5}, rng)}}, {}, {"x"}});
  check_vjp(
      {"LogSoftmax", 11, {{"x", randn({2, 2, 3}, rng)}}, {}, {"x"}, 1, {{"axis", Attribute::of_int(1)}}});
}

TEST(AutodiffOps, LayerNormalization) {
  std::mt19937 rng(10);
  check_vjp({"LayerNormalization",
             17,
             {{"x", randn({2, 3, 4}, rng)}, {"s", randn({4}, rng)}, {"b", randn({4}, rng)}},
             {},
             {"x", "s", "b"}});
  check_vjp({"LayerNormalization",
             17,
             {{"x", randn({2, 3, 4}, rng)}, {"s", randn({3, 4}, rng)}},
             {},
             {"x", "s"},
             1,
             {{"axis", Attribute::of_int(1)}, {"epsilon", Attribute::of_float(1e-3f)}}});
}

TEST(AutodiffOps, Pooling) {
  std::mt19937 rng(11);
  check_vjp({"MaxPool",
             13,
             {{"x", distinct({2, 2, 4, 4}, rng)}},
             {},
             {"x"},
             1,
             {{"kernel_shape", Attribute::of_ints({2, 2})}, {"strides", Attribute::of_ints({2, 2})}}});
  check_vjp({"MaxPool",
             13,
             {{"x", distinct({1, 2, 5, 5}, rng)}},
             {},
             {"x"},
             1,
             {{"kernel_shape", Attribute::of_ints({3, 3})},
              {"strides", Attribute::of_ints({2, 2})},
              {"pads", Attribute::of_ints({1, 1, 1, 1})},
              {"ceil_mode", Attribute::of_int(1)}}});
  for (int cip = 0; cip < 2; ++cip)
    check_vjp({"AveragePool",
               13,
               {{"x", randn({1, 2, 5, 4}, rng)}},
               {},
               {"x"},
               1,
               {{"kernel_shape", Attribute::of_ints({3, 2})},
                {"strides", Attribute::of_ints({2, 1})},
                {"pads", Attribute::of_ints({1, 0, 1, 1})},
                {"count_include_pad", Attribute::of_int(cip)}}});
  check_vjp({"AveragePool",
             13,
             {{"x", randn({1, 1, 7}, rng)}},
             {},
             {"x"},
             1,
             {{"kernel_shape", Attribute::of_ints({3})},
              {"strides", Attribute::of_ints({2})},
              {"ceil_mode", Attribute::of_int(1)}}});
  check_vjp({"GlobalAveragePool", 13, {{"x", randn({2, 3, 3, 2}, rng)}}, {}, {"x"}});
  check_vjp({"GlobalMaxPool", 13, {{"x", distinct({2, 3, 3, 2}, rng)}}, {}, {"x"}});
}

TEST(AutodiffOps, Reductions) {
  std::mt19937 rng(12);
  check_vjp({"ReduceMean",
             13,
             {{"x", randn({2, 3, 4}, rng)}},
             {},
             {"x"},
             1,
             {{"axes", Attribute::of_ints({1})}, {"keepdims", Attribute::of_int(0)}}});
  check_vjp(
      {"ReduceMean", 18, {{"x", randn({2, 3, 4}, rng)}}, {{"axes", ints({2}, {0, -1})}}, {"x", "axes"}});
  check_vjp({"ReduceSum", 13, {{"x", randn({2, 3, 4}, rng)}}, {{"axes", ints({2}, {0, 2})}}, {"x", "axes"}});
  check_vjp(
      {"ReduceSum", 13, {{"x", randn({2, 3}, rng)}}, {}, {"x"}, 1, {{"keepdims", Attribute::of_int(0)}}});
  check_vjp({"ReduceSumSquare",
             13,
             {{"x", randn({2, 3}, rng)}},
             {},
             {"x"},
             1,
             {{"axes", Attribute::of_ints({1})}}});
  check_vjp({"ReduceL2", 13, {{"x", randn({2, 3}, rng)}}, {}, {"x"}, 1, {{"axes", Attribute::of_ints({0})}}});
  check_vjp({"ReduceMax",
             13,
             {{"x", distinct({2, 3, 2}, rng)}},
             {},
             {"x"},
             1,
             {{"axes", Attribute::of_ints({1})}}});
}

TEST(AutodiffOps, DataMovement) {
  std::mt19937 rng(13);
  check_vjp({"Reshape", 13, {{"x", randn({2, 3, 2}, rng)}}, {{"shape", ints({2}, {3, -1})}}, {"x", "shape"}});
  check_vjp({"Flatten", 13, {{"x", randn({2, 3, 2}, rng)}}, {}, {"x"}, 1, {{"axis", Attribute::of_int(2)}}});
  check_vjp({"Squeeze", 13, {{"x", randn({2, 1, 3}, rng)}}, {{"axes", ints({1}, {1})}}, {"x", "axes"}});
  check_vjp({"Unsqueeze", 13, {{"x", randn({2, 3}, rng)}}, {{"axes", ints({1}, {0})}}, {"x", "axes"}});
  check_vjp({"Transpose",
             13,
             {{"x", randn({2, 3, 4}, rng)}},
             {},
             {"x"},
             1,
             {{"perm", Attribute::of_ints({2, 0, 1})}}});
  check_vjp({"Concat",
             13,
             {{"a", randn({2, 3}, rng)}, {"b", randn({2, 2}, rng)}},
             {},
             {"a", "b"},
             1,
             {{"axis", Attribute::of_int(1)}}});
  check_vjp({"Split",
             13,
             {{"x", randn({2, 5}, rng)}},
             {{"split", ints({2}, {2, 3})}},
             {"x", "split"},
             2,
             {{"axis", Attribute::of_int(1)}}});
  check_vjp({"Slice",
             13,
             {{"x", randn({4, 5}, rng)}},
             {{"starts", ints({2}, {3, 1})},
              {"ends", ints({2}, {0, 5})},
              {"axes", ints({2}, {0, 1})},
              {"steps", ints({2}, {-1, 2})}},
             {"x", "starts", "ends", "axes", "steps"}});
  check_vjp({"Gather", 13, {{"x", randn({4, 3}, rng)}}, {{"idx", ints({2, 2}, {0, 2, 2, 3})}}, {"x", "idx"}});
  check_vjp({"Gather",
             13,
             {{"x", randn({2, 4}, rng)}},
             {{"idx", ints({3}, {1, -1, 1})}},
             {"x", "idx"},
             1,
             {{"axis", Attribute::of_int(1)}}});
  check_vjp({"Pad",
             13,
             {{"x", randn({1, 2, 2, 3}, rng)}, {"v", Tensor::scalar<float>(0.5f)}},
             {{"pads", ints({8}, {0, 0, 1, 2, 0, 0, 2, 1})}},
             {"x", "pads", "v"}});
  check_vjp({"Pad",
             13,
             {{"x", randn({1, 1, 3, 4}, rng)}},
             {{"pads", ints({8}, {0, 0, 2, 1, 0, 0, 1, 2})}},
             {"x", "pads"},
             1,
             {{"mode", str_attr("reflect")}}});
  check_vjp({"Pad",
             13,
             {{"x", randn({2, 3}, rng)}},
             {{"pads", ints({4}, {1, 2, 0, 1})}},
             {"x", "pads"},
             1,
             {{"mode", str_attr("edge")}}});
  check_vjp({"Expand", 13, {{"x", randn({3, 1}, rng)}}, {{"shape", ints({3}, {2, 3, 4})}}, {"x", "shape"}});
  check_vjp({"Tile", 13, {{"x", randn({2, 3}, rng)}}, {{"reps", ints({2}, {2, 2})}}, {"x", "reps"}});
  check_vjp({"DepthToSpace",
             13,
             {{"x", randn({1, 8, 2, 3}, rng)}},
             {},
             {"x"},
             1,
             {{"blocksize", Attribute::of_int(2)}}});
  check_vjp({"Resize",
             13,
             {{"x", randn({1, 2, 2, 3}, rng)}},
             {{"scales", Tensor::from_vector<float>({4}, {1, 1, 2, 1.5f})}},
             {"x", "", "scales"}});
}

TEST(AutodiffOps, OpWithoutVjpIsRefusedNamingTheNode) {
  OpCase c{"Floor", 13, {{"x", Tensor::from_vector<float>({2}, {0.5f, 1.5f})}}, {}, {"x"}};
  const ReverseModel m(testing::one_node_graph(c));
  const Tape t = m.forward({{"x", c.diff[0].second}});
  try {
    m.backward(t, {{"y0", Tensor::from_vector<float>({2}, {1, 1})}}, {"x"});
    FAIL() << "expected UnsupportedError";
  } catch (const UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("node 'n0' (Floor"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no gradient"), std::string::npos) << e.what();
  }
  // Resize in linear mode has a kernel but no VJP: refused at creation, reported when needed.
  EXPECT_TRUE(VjpRegistry::instance().has("Resize"));
  EXPECT_FALSE(VjpRegistry::instance().has("Floor"));
}

}  // namespace
}  // namespace qs
