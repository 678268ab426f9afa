// ONNX import: every fixture of tests/fixtures/onnx (written by tools/make_fixtures.py) through
// qs::load_model. Numeric references are numpy's (saved as .npy by the script), never our own code; error
// tests check that the message names what is at fault (file, node, value, attribute).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <set>
#include <sstream>
#include <string>

#include "core/onnx/import.h"
#include "core/runtime/executor.h"

namespace qs {
namespace {

std::string fixture(const std::string& name) { return std::string(QS_TEST_FIXTURES) + "/onnx/" + name; }

// Reads a float32, C-order .npy file (format 1.0/2.0, as numpy.save writes them).
Tensor load_npy_f32(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string b = ss.str();
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0) throw Error(path + ": not a .npy file");
  const int major = static_cast<unsigned char>(b[6]);
  const size_t len_bytes = major == 1 ? 2 : 4;
  size_t header_len = 0;
  for (size_t i = 0; i < len_bytes; ++i)
    header_len |= static_cast<size_t>(static_cast<unsigned char>(b[8 + i])) << (8 * i);
  const size_t data_start = 8 + len_bytes + header_len;
  const std::string header = b.substr(8 + len_bytes, header_len);
  if (header.find("'descr': '<f4'") == std::string::npos ||
      header.find("'fortran_order': False") == std::string::npos)
    throw Error(path + ": only little-endian float32 C-order arrays are supported: " + header);
  const size_t open = header.find('(', header.find("'shape'")), close = header.find(')', open);
  Shape shape;
  std::stringstream dims(header.substr(open + 1, close - open - 1));
  for (std::string d; std::getline(dims, d, ',');)
    if (d.find_first_not_of(' ') != std::string::npos) shape.push_back(std::stoll(d));
  Tensor t(DType::Float32, shape);
  if (b.size() != data_start + t.nbytes())
    throw Error(path + ": size does not match shape " + shape_str(shape));
  std::memcpy(t.raw(), b.data() + data_start, t.nbytes());
  return t;
}

void expect_close(const Tensor& got, const Tensor& want, float tol) {
  ASSERT_EQ(got.shape(), want.shape());
  const auto g = got.to_vector<float>(), w = want.to_vector<float>();
  for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], w[i], tol) << "element " << i;
}

// Runs `f`, expects an exception of type E, returns its message.
template <typename E = Error>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no exception thrown";
  return "";
}

void expect_mentions(const std::string& msg, std::initializer_list<const char*> words) {
  for (const char* w : words)
    EXPECT_NE(msg.find(w), std::string::npos) << "'" << w << "' missing in: " << msg;
}

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op_type == op;
  return n;
}

TEST(Import, ValidModelMatchesNumpyReference) {
  Model m = load_model(fixture("valid.onnx"));
  EXPECT_EQ(m.producer, "qs-make-fixtures");
  EXPECT_EQ(m.graph.opset, 13);
  ASSERT_EQ(m.graph.inputs.size(), 1u);
  EXPECT_EQ(m.graph.inputs[0].name, "input");
  ASSERT_EQ(m.graph.outputs.size(), 1u);
  EXPECT_EQ(m.graph.outputs[0].name, "output");
  EXPECT_EQ(m.graph.nodes.size(), 4u);
  Executor ex(std::move(m.graph));
  auto out = ex.run({load_npy_f32(fixture("valid_input.npy"))});
  ASSERT_EQ(out.size(), 1u);
  expect_close(out[0], load_npy_f32(fixture("valid_output.npy")), 1e-5f);
}

TEST(Import, ExternalDataWithRelativeLocationLoads) {
  Model ext = load_model(fixture("external_data.onnx"));
  Model inl = load_model(fixture("valid.onnx"));
  ASSERT_EQ(ext.graph.initializers.size(), inl.graph.initializers.size());
  for (const auto& [name, t] : inl.graph.initializers) {
    const Tensor* e = ext.graph.initializer(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(e->shape(), t.shape()) << name;
    EXPECT_EQ(e->to_vector<float>(), t.to_vector<float>()) << name;
  }
  Executor ex(std::move(ext.graph));
  expect_close(ex.run({load_npy_f32(fixture("valid_input.npy"))})[0],
               load_npy_f32(fixture("valid_output.npy")), 1e-5f);
}

TEST(Import, ExternalDataWithAbsoluteLocationIsRefused) {
  const std::string msg = error_of([] { load_model(fixture("external_absolute.onnx")); });
  expect_mentions(msg, {"external_absolute.onnx", "'w'", "/etc/passwd", "absolute"});
}

TEST(Import, ExternalDataEscapingTheModelFolderIsRefused) {
  const std::string msg = error_of([] { load_model(fixture("external_escape.onnx")); });
  expect_mentions(msg, {"external_escape.onnx", "'w'", "../x.bin", "escapes"});
}

TEST(Import, TruncatedFileIsRefusedNamingTheFile) {
  const std::string msg = error_of([] { load_model(fixture("truncated.onnx")); });
  expect_mentions(msg, {"truncated.onnx", "not a valid ONNX model"});
}

TEST(Import, GarbageFileIsRefusedNamingTheFile) {
  const std::string msg = error_of([] { load_model(fixture("garbage.onnx")); });
  expect_mentions(msg, {"garbage.onnx", "not a valid ONNX model"});
}

TEST(Import, MissingFileAndFolderAreRefused) {
  expect_mentions(error_of([] { load_model(fixture("no_such_model.onnx")); }),
                  {"no_such_model.onnx", "no such file"});
  expect_mentions(error_of([] { load_model(QS_TEST_FIXTURES); }), {"folder"});
  expect_mentions(error_of([] { load_model_from_bytes("", "empty.onnx", "."); }), {"empty.onnx", "empty"});
}

TEST(Import, UnsupportedModelNamesEveryOffendingNode) {
  const std::string msg = error_of<UnsupportedError>([] { load_model(fixture("unsupported.onnx")); });
  expect_mentions(msg, {"unsupported.onnx", "3 node(s)"});
  expect_mentions(msg, {"'bad_conv'", "auto_pad", "BOGUS"});
  expect_mentions(msg, {"'custom_foo'", "Foo", "com.example"});
  expect_mentions(msg, {"'det'", "Det"});
}

TEST(Import, UncheckedLoadDefersTheSameRefusalToTheExecutor) {
  LoadOptions o;
  o.check_supported = false;
  Model m = load_model(fixture("unsupported.onnx"), o);
  EXPECT_EQ(m.graph.nodes.size(), 3u);
  const std::string msg = error_of<UnsupportedError>([&] { Executor ex(std::move(m.graph)); });
  expect_mentions(msg, {"3 node(s)", "'bad_conv'", "'custom_foo'", "'det'"});
}

TEST(Import, InputOfATypeNoTensorHoldsIsRefused) {
  const std::string msg = error_of<UnsupportedError>([] { load_model(fixture("bfloat16_input.onnx")); });
  expect_mentions(msg, {"bfloat16_input.onnx", "'input_bf16'", "unsupported type"});
}

TEST(Import, NodeNamesAreMadeUniqueKeepingExplicitOnes) {
  Model m = load_model(fixture("node_names.onnx"));
  ASSERT_EQ(m.graph.nodes.size(), 5u);
  std::set<std::string> names;
  for (const Node& n : m.graph.nodes) {
    EXPECT_FALSE(n.name.empty());
    EXPECT_TRUE(names.insert(n.name).second) << "duplicate node name " << n.name;
  }
  const auto name_of_producer = [&](const std::string& v) {
    const int p = m.graph.producer(v);
    return p < 0 ? std::string() : m.graph.nodes[static_cast<size_t>(p)].name;
  };
  EXPECT_EQ(name_of_producer("a"), "Relu_2");  // explicit, unique in the file: kept
  EXPECT_EQ(name_of_producer("d"), "dup");     // first of a repeated name: kept
  EXPECT_NE(name_of_producer("c"), "Relu_2");  // generated name must avoid the explicit one
  EXPECT_NE(name_of_producer("output"), "dup");
}

TEST(Import, InputProducedByNothingNamesNodeAndValue) {
  const std::string msg = error_of([] { load_model(fixture("missing_input.onnx")); });
  expect_mentions(msg, {"missing_input.onnx", "'add_ghost'", "'ghost'"});
}

TEST(Import, CycleNamesANodeOnIt) {
  const std::string msg = error_of([] { load_model(fixture("cycle.onnx")); });
  expect_mentions(msg, {"cycle.onnx", "cycle"});
  EXPECT_TRUE(msg.find("'cycle_add'") != std::string::npos || msg.find("'cycle_relu'") != std::string::npos)
      << msg;
  EXPECT_EQ(msg.find("'out_neg'"), std::string::npos)
      << "out_neg is downstream of the cycle, not on it: " << msg;
}

TEST(Import, ChannelMismatchNamesNodeAndChannelCounts) {
  // The weight [4, 2, 3, 3] expects 2 input channels; the input has 3. Shape inference only warns, so the
  // error comes from the Conv kernel when it sees the actual input.
  Model m = load_model(fixture("shape_mismatch.onnx"));
  Executor ex(std::move(m.graph));
  std::vector<float> x(75, 1.f);
  const std::string msg = error_of([&] { ex.run({Tensor::from_vector<float>({1, 3, 5, 5}, x)}); });
  expect_mentions(msg, {"'conv_mismatch'", "Conv", "channels", "3", "2"});
}

TEST(Import, UnfusedBatchNormModelMatchesNumpyWithAndWithoutFolding) {
  const Tensor x = load_npy_f32(fixture("conv_bn_input.npy"));
  const Tensor want = load_npy_f32(fixture("conv_bn_output.npy"));
  for (bool fold : {false, true}) {
    SCOPED_TRACE(fold ? "fold_batchnorm on" : "fold_batchnorm off");
    LoadOptions o;
    o.fold_batchnorm = fold;
    Model m = load_model(fixture("conv_bn.onnx"), o);
    EXPECT_EQ(count_op(m.graph, "BatchNormalization"), fold ? 0 : 3);
    Executor ex(std::move(m.graph));
    expect_close(ex.run({x})[0], want, 1e-5f);
  }
}

TEST(Import, InputShapesOptionFixesDynamicDimensions) {
  LoadOptions o;
  o.input_shapes["input"] = {3, 3, 4, 4};
  Model m = load_model(fixture("shape_chain_dynamic.onnx"), o);
  ASSERT_TRUE(m.graph.inputs[0].shape.has_value());
  EXPECT_EQ((*m.graph.inputs[0].shape)[0].value, 3);
  // With the batch known, the Shape chain is constant and folds away (Reshape + Relu remain).
  EXPECT_EQ(count_op(m.graph, "Shape"), 0);
  EXPECT_EQ(m.graph.nodes.size(), 2u);

  LoadOptions unknown;
  unknown.input_shapes["images"] = {1, 3, 4, 4};
  expect_mentions(error_of([&] { load_model(fixture("shape_chain_dynamic.onnx"), unknown); }), {"'images'"});
  LoadOptions rank;
  rank.input_shapes["input"] = {3, 48};
  expect_mentions(error_of([&] { load_model(fixture("shape_chain_dynamic.onnx"), rank); }),
                  {"'input'", "rank"});
  LoadOptions fixed;
  fixed.input_shapes["input"] = {3, 3, 4, 5};
  expect_mentions(error_of([&] { load_model(fixture("shape_chain_static.onnx"), fixed); }),
                  {"'input'", "dimension"});
}

}  // namespace
}  // namespace qs

namespace qs {
namespace {

// torch writes an If for a shape check it could not resolve while tracing (nn.LocalResponseNorm's squeeze).
// Its condition depends on the input's shape only, so the import takes the branch it selects: the If is gone,
// the branch's nodes read the enclosing graph's values, and the model runs for any batch. An If on data
// stays, and is refused naming it.
TEST(Import, IfOnAShapeCheckIsInlinedAndIfOnDataRefused) {
  Model m = load_model(fixture("if_shape.onnx"));
  // Neither the If nor the nodes that computed its condition are left.
  for (const auto& n : m.graph.nodes) {
    EXPECT_NE(n.op_type, "If") << n.name;
    EXPECT_NE(n.op_type, "Equal") << n.name;
    EXPECT_NE(n.op_type, "Shape") << n.name;
  }
  const Executor ex(std::move(m.graph));
  for (int64_t batch : {1, 3}) {
    Tensor x(DType::Float32, {batch, 2, 3, 3});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = std::sin(0.7f * static_cast<float>(i)) * 2.f;
    const Tensor y = ex.run({x})[0];
    ASSERT_EQ(y.shape(), x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float w = (i / 9) % 2 == 0 ? 1.5f : -0.5f;  // the channel's weight
      EXPECT_FLOAT_EQ(y.data<float>()[i], std::max(x.data<float>()[i], 0.f) * w + 0.5f) << i;
    }
  }
  const std::string msg = error_of<UnsupportedError>([] { load_model(fixture("if_data.onnx")); });
  expect_mentions(msg, {"if_data.onnx", "'check'", "If"});
}

}  // namespace
}  // namespace qs
