// graph/opset_upgrade.h: graphs of opsets 9–12 rewritten in opset-13 form compute the same values (the
// float executor implements each opset's semantics separately: Softmax-11's coercion to 2-D, Upsample's
// and Resize-10's nearest rounding, attribute forms) and pass ONNX's checker at opset 13; the quantized
// export, which needs opset 13, takes an opset-11 model.
#include "core/graph/opset_upgrade.h"

#include <gtest/gtest.h>

#include "core/common/error.h"
#include "core/export/export.h"
#include "core/export/onnx_writer.h"
#include "core/runtime/executor.h"
#include "tests/core/int_test_util.h"

namespace qs {
namespace {

using testing::ints;
using testing::make_node;

// Every output of the upgraded graph equals the original's, element for element, and the upgraded graph
// is a valid opset-13 model.
void expect_same_values(const Graph& g, const Tensor& x) {
  Graph up = g;
  upgrade_to_opset13(up);
  EXPECT_EQ(up.opset, 13);
  const std::vector<Tensor> want = Executor(g).run({x});
  const std::vector<Tensor> got = Executor(up).run({x});
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) {
    ASSERT_EQ(got[k].shape(), want[k].shape()) << g.outputs[k].name;
    EXPECT_EQ(got[k].to_vector<float>(), want[k].to_vector<float>()) << g.outputs[k].name;
  }
  for (const auto& o : g.outputs) EXPECT_GE(up.producer(o.name), 0) << o.name << " keeps its name";
  // The checker wants declared output shapes (the importer has them from the file).
  for (size_t k = 0; k < want.size(); ++k) {
    std::vector<Dim> dims;
    for (int64_t d : want[k].shape()) dims.push_back(Dim{d, ""});
    up.outputs[k].shape = dims;
  }
  EXPECT_NO_THROW(check_onnx_bytes(write_onnx_bytes(up), "the upgraded graph"));
}

TEST(OpsetUpgrade, Opset9AttributeFormsUpsampleAndSoftmaxCoercion) {
  std::mt19937 rng(1);
  Graph g = testing::fixed_graph(9, {2, 3, 4, 4});
  for (const char* o : {"y", "y2"}) g.outputs.push_back({o, DType::Float32, std::nullopt});
  g.initializers["up"] = Tensor::from_vector<float>({4}, {1.f, 1.f, 2.f, 2.f});
  g.initializers["up3"] = Tensor::from_vector<float>({4}, {1.f, 1.f, 1.5f, 3.f});
  g.nodes = {
      make_node("upsample", "Upsample", {"x", "up"}, {"u"}, {{"mode", Attribute::of_string("nearest")}}),
      make_node("clip", "Clip", {"u"}, {"c"},
                {{"min", Attribute::of_float(-0.5f)}, {"max", Attribute::of_float(0.7f)}}),
      make_node("pad", "Pad", {"c"}, {"p"},
                {{"pads", ints({0, 0, 1, 1, 0, 0, 1, 1})}, {"value", Attribute::of_float(0.25f)}}),
      make_node("slice", "Slice", {"p"}, {"s"},
                {{"starts", ints({1})}, {"ends", ints({7})}, {"axes", ints({2})}}),
      make_node("softmax", "Softmax", {"s"}, {"y"}, {{"axis", Attribute::of_int(1)}}),  // over C·H·W
      make_node("upsample_lin", "Upsample", {"x", "up3"}, {"y2"}, {{"mode", Attribute::of_string("linear")}}),
  };
  expect_same_values(g, testing::random_images(rng, 2, {3, 4, 4}));
}

TEST(OpsetUpgrade, Resize10ShrinkingAndGrowingKeepTheirNearestRounding) {
  std::mt19937 rng(2);
  Graph g = testing::fixed_graph(10, {1, 2, 7, 5});
  for (const char* o : {"down", "up"}) g.outputs.push_back({o, DType::Float32, std::nullopt});
  g.initializers["half"] = Tensor::from_vector<float>({4}, {1.f, 1.f, 0.6f, 0.5f});
  g.initializers["grow"] = Tensor::from_vector<float>({4}, {1.f, 1.f, 1.7f, 2.5f});
  g.nodes = {make_node("down", "Resize", {"x", "half"}, {"down"}, {{"mode", Attribute::of_string("nearest")}}),
             make_node("up", "Resize", {"x", "grow"}, {"up"}, {{"mode", Attribute::of_string("nearest")}})};
  expect_same_values(g, testing::random_images(rng, 1, {2, 7, 5}));
}

TEST(OpsetUpgrade, Opset11AxesAndSplitAttributesBecomeInputs) {
  std::mt19937 rng(3);
  Graph g = testing::fixed_graph(11, {1, 3, 4, 4});
  for (const char* o : {"a", "b", "l", "s"}) g.outputs.push_back({o, DType::Float32, std::nullopt});
  g.initializers["lo"] = Tensor::scalar<float>(-0.2f);
  g.nodes = {
      make_node("split", "Split", {"x"}, {"p", "q"},
                {{"axis", Attribute::of_int(1)}, {"split", ints({1, 2})}}),
      make_node("unsq", "Unsqueeze", {"p"}, {"pu"}, {{"axes", ints({0, 3})}}),
      make_node("sq", "Squeeze", {"pu"}, {"a"}, {{"axes", ints({0, 3})}}),
      make_node("sum", "ReduceSum", {"q"}, {"b"}, {{"axes", ints({1})}, {"keepdims", Attribute::of_int(1)}}),
      make_node("logsm", "LogSoftmax", {"x"}, {"l"}, {{"axis", Attribute::of_int(-1)}}),
      make_node("clip", "Clip", {"x", "lo"}, {"cx"}),  // Clip-11 already takes inputs
      make_node("sm", "Softmax", {"cx"}, {"s"}, {{"axis", Attribute::of_int(2)}}),  // over H·W
  };
  expect_same_values(g, testing::random_images(rng, 1, {3, 4, 4}));
}

TEST(OpsetUpgrade, RefusesFormsWithoutAnOpset13EquivalentNamingTheNode) {
  Graph g = testing::fixed_graph(11, {1, 1, 4, 4});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.initializers["scales"] = Tensor::from_vector<float>({4}, {1.f, 1.f, 2.f, 2.f});
  Node n = make_node("tfnn", "Resize", {"x", "", "scales"}, {"y"},
                     {{"coordinate_transformation_mode", Attribute::of_string("tf_half_pixel_for_nn")}});
  g.nodes = {n};
  try {
    upgrade_to_opset13(g);
    FAIL() << "tf_half_pixel_for_nn was accepted";
  } catch (const UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("'tfnn'"), std::string::npos) << e.what();
  }
}

// The quantized export used to refuse every model below opset 13 ("convert the model first"); an opset-11
// model with a Clip-11 and an opset-10 one with attribute Clips now export, valid under ONNX's checker.
TEST(OpsetUpgrade, QuantizedExportTakesOpset10And11Models) {
  for (int64_t opset : {10, 11}) {
    std::mt19937 rng(4);
    Graph g = testing::int_cnn(rng);
    g.opset = opset;
    g.opset_imports[""] = opset;
    if (opset < 11)
      for (auto& n : g.nodes)
        if (n.op_type == "Clip") {
          n.inputs.resize(1);
          n.attrs["min"] = Attribute::of_float(0.f);
          n.attrs["max"] = Attribute::of_float(6.f);
        }
    const testing::Calibrated c =
        testing::calibrate_on(g, testing::random_images(rng, 32, {1, 10, 10}), CalibrationOptions{});
    for (ExportFormat f : {ExportFormat::QDQ, ExportFormat::QOperator})
      EXPECT_NO_THROW(export_bytes(g, c.plan, c.points, f)) << "opset " << opset;  // checks the bytes
  }
}

}  // namespace
}  // namespace qs
