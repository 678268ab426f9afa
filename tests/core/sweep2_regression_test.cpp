// Regressions found by the second exporter sweep (tools/sweep_check.sh on the models
// tools/make_sweep_models.py adds after "Second sweep"). Each test builds the form in code and checks it
// against an independent reference: the same computation in an older opset's form, the simulation, the
// unfused graph.
#include <gtest/gtest.h>

#include "core/common/error.h"
#include "core/export/export.h"
#include "core/export/onnx_writer.h"
#include "core/graph/passes.h"
#include "core/int/engine.h"
#include "core/int/lowering.h"
#include "core/onnx/import.h"
#include "core/quant/simulate.h"
#include "core/runtime/executor.h"
#include "tests/core/int_test_util.h"

namespace qs {
namespace {

using testing::ints;
using testing::make_node;

// The optimized integer engine against the reference loops (IntIsa::Reference) and the simulation, every
// output on every element, after checking that each of `nodes` lowered to `kind`.
void expect_fast_equals_reference_and_sim(const Graph& g, const testing::Calibrated& c, const Tensor& x,
                                          std::initializer_list<const char*> nodes, IntKind kind) {
  IntOptions reference;
  reference.isa = IntIsa::Reference;
  const IntegerModel fast(g, c.plan, c.points), slow(g, c.plan, c.points, reference);
  for (const char* op : nodes)
    ASSERT_EQ(fast.lowering().find(op)->kind, kind) << op << ": " << fast.lowering().find(op)->reason;
  const SimulatedModel sim(g, c.plan, c.points);
  const std::vector<Tensor> got = fast.run({x}), want = slow.run({x}), simulated = sim.run({x});
  for (size_t k = 0; k < got.size(); ++k) {
    EXPECT_EQ(got[k].to_vector<float>(), want[k].to_vector<float>()) << g.outputs[k].name;
    EXPECT_EQ(got[k].to_vector<float>(), simulated[k].to_vector<float>()) << g.outputs[k].name;
  }
}

Model reload(const Graph& g) { return load_model_from_bytes(write_onnx_bytes(g), "model.onnx", "."); }

// Both exports of the plan pass ONNX's checker (export_bytes checks) and, reloaded and run in float, give
// the simulation's output within one output step (ONNX Runtime's rounding is not modelled here).
void expect_exports_match_simulation(const Graph& g, const testing::Calibrated& c, const Tensor& x,
                                     const std::string& what) {
  const SimulatedModel sim(g, c.plan, c.points);
  const Tensor s = sim.run({x})[0];
  const QuantParams& p = c.plan.find(g.outputs[0].name)->params;
  for (ExportFormat f : {ExportFormat::QDQ, ExportFormat::QOperator}) {
    std::string bytes;
    try {
      bytes = export_bytes(g, c.plan, c.points, f, WeightStorage::AsPlan);
    } catch (const Error& e) {
      FAIL() << what << ", " << export_format_name(f) << ": " << e.what();
    }
    const Model back = load_model_from_bytes(bytes, "export.onnx", ".");
    EXPECT_EQ(back.graph.opset, g.opset);
    const Tensor y = Executor(back.graph).run({x})[0];
    ASSERT_EQ(y.shape(), s.shape());
    for (int64_t i = 0; i < y.numel(); ++i)
      ASSERT_NEAR(y.data<float>()[i], s.data<float>()[i], 1.01 * p.scale[0])
          << what << ", " << export_format_name(f) << " element " << i;
  }
}

// The same computation in opset-18 forms (Split num_outputs with an uneven last chunk, Pad with axes,
// ReduceMean with axes as an input, Resize with axes) and opset-13 forms. The importer refused opset 18
// outright. Accepting it, ONNX 1.12's shape inference must not see the opset-18 nodes: it applies Pad-13,
// which reads the 8 pads (given here for axes 3, 2, 1, 0) as pads of axes 0..3, infers [4, 5, 7, 6], and
// Shape folding would bake that in: `dims` must be [1, 5, 7, 9, 7].
Graph op18_or_op13(int64_t opset) {
  Graph g = testing::fixed_graph(opset, {1, 5, 6, 6});
  for (const char* o : {"r", "dims", "c", "m"}) g.outputs.push_back({o, DType::Float32, std::nullopt});
  g.outputs[1].dtype = DType::Int64;
  g.initializers["seven"] = Tensor::from_vector<int64_t>({1}, {7});
  const bool new_form = opset >= 18;
  Node split = make_node("split", "Split", {"x"}, {"a", "b", "c"}, {{"axis", Attribute::of_int(1)}});
  if (new_form) {
    split.attrs["num_outputs"] = Attribute::of_int(3);
  } else {
    g.initializers["sizes"] = Tensor::from_vector<int64_t>({3}, {2, 2, 1});
    split.inputs.push_back("sizes");
  }
  Node pad = make_node("pad", "Pad", {"x", "pads"}, {"p"}, {{"mode", Attribute::of_string("reflect")}});
  if (new_form) {
    // Axis 3 (as −1) gets 1 before and 2 after, axis 2 gets 0 before and 1 after, axes 1 and 0 none.
    g.initializers["pads"] = Tensor::from_vector<int64_t>({8}, {1, 0, 0, 0, 2, 1, 0, 0});
    g.initializers["pad_axes"] = Tensor::from_vector<int64_t>({4}, {-1, 2, 1, 0});
    pad.inputs.insert(pad.inputs.end(), {"", "pad_axes"});
  } else {
    g.initializers["pads"] = Tensor::from_vector<int64_t>({8}, {0, 0, 0, 1, 0, 0, 1, 2});
  }
  Node mean = make_node("mean", "ReduceMean", {"x"}, {"m"}, {{"keepdims", Attribute::of_int(0)}});
  if (new_form) {
    g.initializers["mean_axes"] = Tensor::from_vector<int64_t>({1}, {2});
    mean.inputs.push_back("mean_axes");
  } else {
    mean.attrs["axes"] = ints({2});
  }
  Node resize = make_node("resize", "Resize", {"b", "", "scales"}, {"r"}, {{"mode", Attribute::of_string("nearest")}});
  if (new_form) {
    g.initializers["scales"] = Tensor::from_vector<float>({2}, {2.f, 3.f});
    resize.attrs["axes"] = ints({2, 3});
  } else {
    g.initializers["scales"] = Tensor::from_vector<float>({4}, {1.f, 1.f, 2.f, 3.f});
  }
  g.nodes = {split,
             pad,
             mean,
             make_node("shape", "Shape", {"p"}, {"s"}),
             make_node("cat", "Concat", {"s", "seven"}, {"dims"}, {{"axis", Attribute::of_int(0)}}),
             resize};
  return g;
}

TEST(Sweep2Regression, Opset18FormsComputeWhatTheirOpset13FormsDo) {
  std::mt19937 rng(21);
  const Tensor x = testing::random_images(rng, 1, {5, 6, 6});
  const Model m18 = reload(op18_or_op13(18));
  const Model m13 = reload(op18_or_op13(13));
  EXPECT_EQ(m18.graph.opset, 18);
  const std::vector<Tensor> got = Executor(m18.graph).run({x});
  const std::vector<Tensor> want = Executor(m13.graph).run({x});
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[1].to_vector<int64_t>(), (std::vector<int64_t>{1, 5, 7, 9, 7}));
  for (size_t k = 0; k < got.size(); ++k) {
    EXPECT_EQ(got[k].shape(), want[k].shape()) << k;
    if (got[k].dtype() == DType::Float32) {
      EXPECT_EQ(got[k].to_vector<float>(), want[k].to_vector<float>()) << k;
    }
  }
  EXPECT_EQ(got[0].shape(), (Shape{1, 2, 12, 18}));
  EXPECT_EQ(got[2].shape(), (Shape{1, 1, 6, 6}));  // the last, smaller chunk of ceil(5 / 3) = 2
  EXPECT_EQ(got[3].shape(), (Shape{1, 5, 6}));
}

TEST(Sweep2Regression, Opset18FormsAreCheckedAtLoad) {
  Graph g = op18_or_op13(18);
  g.nodes[0].attrs["num_outputs"] = Attribute::of_int(2);  // the node has 3 outputs
  try {
    reload(g);
    FAIL() << "num_outputs disagreeing with the outputs was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("node 'split'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("num_outputs"), std::string::npos) << e.what();
  }
  Graph g17 = op18_or_op13(18);
  g17.opset = 17;
  g17.opset_imports[""] = 17;
  try {
    reload(g17);
    FAIL() << "opset-18 forms in an opset-17 model were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("requires opset 18"), std::string::npos) << e.what();
  }
}

// A quantized model of opset 18: the engine equals the simulation and both exports pass ONNX's checker on
// everything but the nodes of opset-18 form, which the library's opset-17 schemas would refuse.
TEST(Sweep2Regression, Opset18ModelQuantizesAndExports) {
  std::mt19937 rng(22);
  Graph g = testing::empty_graph({1, 3, 8, 8});
  g.opset = 18;
  g.opset_imports[""] = 18;
  // Declared, as in every valid model file (the checker requires the main graph's output shapes): with the
  // opset-18 nodes hidden from it, shape inference cannot supply it.
  g.outputs.push_back({"y", DType::Float32, std::vector<Dim>{Dim{-1, "batch"}, Dim{5, ""}}});
  g.initializers["w1"] = testing::normal({4, 3, 3, 3}, rng, 0.5f);
  g.initializers["w2"] = testing::normal({2, 2, 3, 3}, rng, 0.5f);
  g.initializers["pads"] = Tensor::from_vector<int64_t>({4}, {1, 1, 1, 1});
  g.initializers["pad_axes"] = Tensor::from_vector<int64_t>({2}, {2, 3});
  g.initializers["axes"] = Tensor::from_vector<int64_t>({2}, {2, 3});
  g.initializers["wf"] = testing::normal({4, 5}, rng, 0.5f);
  g.nodes = {make_node("c1", "Conv", {"x", "w1"}, {"a"}, {{"pads", ints({1, 1, 1, 1})}}),
             make_node("r1", "Relu", {"a"}, {"ra"}),
             make_node("split", "Split", {"ra"}, {"s0", "s1"},
                       {{"axis", Attribute::of_int(1)}, {"num_outputs", Attribute::of_int(2)}}),
             make_node("pad", "Pad", {"s0", "pads", "", "pad_axes"}, {"p"}),
             make_node("c2", "Conv", {"p", "w2"}, {"b"}),
             make_node("cat", "Concat", {"b", "s1"}, {"cb"}, {{"axis", Attribute::of_int(1)}}),
             make_node("mean", "ReduceMean", {"cb", "axes"}, {"m"}, {{"keepdims", Attribute::of_int(0)}}),
             make_node("fc", "MatMul", {"m", "wf"}, {"y"})};
  const Model loaded = reload(g);
  const testing::Calibrated c =
      testing::calibrate_on(loaded.graph, testing::random_images(rng, 32, {3, 8, 8}), CalibrationOptions{});
  const Tensor x = testing::random_images(rng, 4, {3, 8, 8});
  const IntegerModel engine(loaded.graph, c.plan, c.points);
  const SimulatedModel sim(loaded.graph, c.plan, c.points);
  EXPECT_EQ(engine.run({x})[0].to_vector<float>(), sim.run({x})[0].to_vector<float>());
  expect_exports_match_simulation(loaded.graph, c, x, "opset 18");
}

// A Shape node reading the output of an op ONNX's library has no schema for (a custom-domain op such as
// com.microsoft's, here) crashed the importer with SIGSEGV at opset 15 and later, inside libonnx's data
// propagation, instead of reporting the unsupported node. Also an opset-18 model, whose ops of opset-18
// form the importer hides from the library, with a Shape after one of them.
TEST(Sweep2Regression, ShapeOfAnUnknownOpsOutputIsReportedNotACrash) {
  for (int64_t opset : {15, 17}) {
    Graph g = testing::fixed_graph(opset, {1, 3, 4, 4});
    g.opset_imports["com.microsoft"] = 1;
    g.outputs.push_back({"s", DType::Int64, std::vector<Dim>{Dim{4, ""}}});
    Node custom = make_node("fused", "FusedGemm", {"x"}, {"f"});
    custom.domain = "com.microsoft";
    g.nodes = {custom, make_node("shape", "Shape", {"f"}, {"s"})};
    try {
      reload(g);
      FAIL() << "an op of domain com.microsoft was accepted";
    } catch (const UnsupportedError& e) {
      EXPECT_NE(std::string(e.what()).find("node 'fused'"), std::string::npos) << e.what();
    }
  }
  Graph g = testing::fixed_graph(18, {1, 4, 4, 4});
  g.outputs.push_back({"s", DType::Int64, std::vector<Dim>{Dim{2, ""}}});
  g.initializers["axes"] = Tensor::from_vector<int64_t>({2}, {2, 3});
  g.nodes = {make_node("mean", "ReduceMean", {"x", "axes"}, {"m"}, {{"keepdims", Attribute::of_int(0)}}),
             make_node("shape", "Shape", {"m"}, {"s"})};
  const Model m = reload(g);
  EXPECT_EQ(Executor(m.graph).run({Tensor(DType::Float32, {1, 4, 4, 4})})[0].to_vector<int64_t>(),
            (std::vector<int64_t>{1, 4}));
}

// U-Net/DenseNet decoders upsample with ConvTranspose → BatchNormalization; only Conv and Gemm took the BN,
// so it stayed a float island of the integer engine. Folded (per output channel o = group·Cout_g + j of
// the weight's [Cin, Cout_g, k...] layout), the graph computes what the unfolded one does and runs integer
// only, equal to the simulation.
TEST(Sweep2Regression, BatchNormFoldsIntoConvTranspose) {
  std::mt19937 rng(23);
  for (int64_t group : {1, 2}) {
    for (bool bias : {false, true}) {
      Graph g = testing::empty_graph({1, 6, 5, 5});
      g.outputs.push_back({"y", DType::Float32, std::nullopt});
      g.initializers["w"] = testing::normal({6, 6 / group, 3, 3}, rng, 0.5f);
      std::vector<std::string> in = {"x", "w"};
      if (bias) {
        g.initializers["b"] = testing::normal({6}, rng, 0.5f);
        in.push_back("b");
      }
      std::vector<float> gamma(6), beta(6), mean(6), var(6);
      std::uniform_real_distribution<float> u(0.5f, 1.5f);
      for (int k = 0; k < 6; ++k) {
        gamma[k] = u(rng) * (k % 2 ? -1.f : 1.f);
        beta[k] = u(rng) - 1.f;
        mean[k] = u(rng) - 1.f;
        var[k] = u(rng);
      }
      g.initializers["gamma"] = Tensor::from_vector<float>({6}, gamma);
      g.initializers["beta"] = Tensor::from_vector<float>({6}, beta);
      g.initializers["mean"] = Tensor::from_vector<float>({6}, mean);
      g.initializers["var"] = Tensor::from_vector<float>({6}, var);
      g.nodes = {make_node("up", "ConvTranspose", in, {"u"},
                           {{"strides", testing::ints({2, 2})},
                            {"pads", testing::ints({1, 1, 1, 1})},
                            {"output_padding", testing::ints({1, 1})},
                            {"group", Attribute::of_int(group)}}),
                 make_node("bn", "BatchNormalization", {"u", "gamma", "beta", "mean", "var"}, {"n"}),
                 make_node("relu", "Relu", {"n"}, {"y"})};
      const std::string what = "group " + std::to_string(group) + (bias ? ", bias" : "");
      Graph folded = g;
      ASSERT_EQ(fold_batchnorm(folded), 1) << what;
      ASSERT_EQ(folded.nodes.size(), 2u) << what;
      const Tensor x = testing::random_images(rng, 3, {6, 5, 5});
      const Tensor want = Executor(g).run({x})[0], got = Executor(folded).run({x})[0];
      ASSERT_EQ(got.shape(), (Shape{3, 6, 10, 10})) << what;
      for (int64_t i = 0; i < got.numel(); ++i)
        ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-5f) << what << " element " << i;

      const testing::Calibrated c =
          testing::calibrate_on(folded, testing::random_images(rng, 16, {6, 5, 5}), CalibrationOptions{});
      const IntegerModel engine(folded, c.plan, c.points);
      EXPECT_TRUE(engine.lowering().float_islands().empty())
          << what << ": " << describe_island(*engine.lowering().float_islands()[0]);
      EXPECT_EQ(engine.run({x})[0].to_vector<float>(),
                SimulatedModel(folded, c.plan, c.points).run({x})[0].to_vector<float>())
          << what;
      expect_exports_match_simulation(folded, c, x, what);
    }
  }
}

// EfficientNet's SiLU (x · sigmoid(x)) and squeeze-excitation scale (x · s, s one value per channel) are
// integer Muls of 8-bit operands; each element went through a 64-bit requantization on int32 copies, which
// made them the slowest ops of the model (int 3× slower than float). They now look the result up in a
// table of all 256 × 256 operand pairs built with that same formula: the output must equal the reference
// loops' (IntIsa::Reference keeps them) and the simulation, for every operand layout the table handles
// (equal shapes, either operand broadcast per channel, a broadcast it does not: the generic loop).
TEST(Sweep2Regression, EightBitMulByTableEqualsTheReferenceLoops) {
  std::mt19937 rng(24);
  Graph g = testing::empty_graph({1, 3, 6, 6});
  for (const char* o : {"silu", "se", "se_left", "rows"})
    g.outputs.push_back({o, DType::Float32, std::nullopt});
  g.initializers["w"] = testing::normal({8, 3, 3, 3}, rng, 0.5f);
  g.initializers["wse"] = testing::normal({8, 8, 1, 1}, rng, 0.5f);
  g.initializers["wr"] = testing::normal({1, 8, 1, 1}, rng, 0.5f);
  g.nodes = {make_node("conv", "Conv", {"x", "w"}, {"c"}, {{"pads", ints({1, 1, 1, 1})}}),
             make_node("sig", "Sigmoid", {"c"}, {"s"}), make_node("silu_mul", "Mul", {"c", "s"}, {"silu"}),
             make_node("gap", "GlobalAveragePool", {"silu"}, {"p"}),
             make_node("fc", "Conv", {"p", "wse"}, {"e"}), make_node("gate", "Sigmoid", {"e"}, {"gs"}),
             make_node("se_mul", "Mul", {"silu", "gs"}, {"se"}),
             make_node("se_left_mul", "Mul", {"gs", "silu"}, {"se_left"}),
             // [N, 1, H, W] against [N, 8, H, W]: one value per channel column, not per row: generic loop.
             make_node("rconv", "Conv", {"silu", "wr"}, {"r"}),
             make_node("rows_mul", "Mul", {"silu", "r"}, {"rows"})};
  const testing::Calibrated c =
      testing::calibrate_on(g, testing::random_images(rng, 32, {3, 6, 6}), CalibrationOptions{});
  const Tensor x = testing::random_images(rng, 5, {3, 6, 6});
  expect_fast_equals_reference_and_sim(g, c, x, {"silu_mul", "se_mul", "se_left_mul", "rows_mul"},
                                       IntKind::Mul);
}

// A ConvNeXt block's Linear on NHWC data is MatMul + Add of the bias, then a layer-scale Mul by a
// constant vector: integer ops with a float constant operand, which took 14 ns per element in 64-bit
// arithmetic on int32 copies (the slowest ops of the model). For 8-bit data they now read a table of
// every (constant element, data byte) result built with the same formula: equal to the reference loops and
// to the simulation, for a per-channel constant along the last axis, a scalar, the constant first
// (k − x), and a constant too large for a table (the formula).
TEST(Sweep2Regression, EightBitConstantOperandByTableEqualsTheReferenceLoops) {
  std::mt19937 rng(25);
  Graph g = testing::empty_graph({1, 3, 6, 6});
  for (const char* o : {"biased", "scaled", "shifted", "flipped", "big"})
    g.outputs.push_back({o, DType::Float32, std::nullopt});
  g.initializers["w"] = testing::normal({8, 3, 3, 3}, rng, 0.5f);
  g.initializers["bias"] = testing::normal({8}, rng, 0.5f);
  g.initializers["gamma"] = testing::normal({8}, rng, 0.7f);
  g.initializers["three"] = Tensor::scalar<float>(3.f);
  g.initializers["k"] = testing::normal({1, 6, 1, 8}, rng, 0.5f);
  g.initializers["large"] = testing::normal({6, 6, 8}, rng, 0.5f);       // 288 elements: a table
  g.initializers["huge"] = testing::normal({5, 1, 6, 6, 8}, rng, 0.5f);  // 1440 elements: the formula
  g.nodes = {make_node("conv", "Conv", {"x", "w"}, {"c"}, {{"pads", ints({1, 1, 1, 1})}}),
             make_node("nhwc", "Transpose", {"c"}, {"t"}, {{"perm", ints({0, 2, 3, 1})}}),
             make_node("add_bias", "Add", {"t", "bias"}, {"biased"}),
             make_node("layer_scale", "Mul", {"biased", "gamma"}, {"scaled"}),
             make_node("shift", "Sub", {"t", "three"}, {"shifted"}),
             make_node("flip", "Sub", {"k", "t"}, {"flipped"}),
             make_node("add_large", "Add", {"t", "large"}, {"l"}),
             make_node("add_huge", "Add", {"l", "huge"}, {"big"})};
  const testing::Calibrated c =
      testing::calibrate_on(g, testing::random_images(rng, 32, {3, 6, 6}), CalibrationOptions{});
  const Tensor x = testing::random_images(rng, 1, {3, 6, 6});
  expect_fast_equals_reference_and_sim(
      g, c, x, {"add_bias", "layer_scale", "shift", "flip", "add_large", "add_huge"}, IntKind::ConstOperand);
}

// Attention's q·kᵀ and p·v are MatMuls of two activations; their integer kernel was a scalar triple loop
// walking B by columns in int64, 60% of an attention model's integer time (26× the float MatMul). It now
// accumulates contiguous int32 dot products (exact while K·|a − za|·|b − zb| < 2^31) over rows in
// parallel: equal to the reference loops and to the simulation, with broadcast batch axes and a 1-D
// operand.
TEST(Sweep2Regression, ActivationMatMulEqualsTheReferenceLoops) {
  std::mt19937 rng(26);
  Graph g = testing::empty_graph({1, 3, 6, 6});
  for (const char* o : {"scores", "mixed", "vec"}) g.outputs.push_back({o, DType::Float32, std::nullopt});
  g.initializers["wq"] = testing::normal({8, 3, 1, 1}, rng, 0.5f);
  g.initializers["wk"] = testing::normal({8, 3, 1, 1}, rng, 0.5f);
  g.initializers["shape_q"] = Tensor::from_vector<int64_t>({4}, {-1, 2, 4, 36});  // [N, heads, d, tokens]
  g.initializers["shape_k"] = Tensor::from_vector<int64_t>({3}, {-1, 4, 72});     // [N, d, 2·tokens]
  g.initializers["axis1"] = Tensor::from_vector<int64_t>({1}, {1});
  g.nodes = {make_node("q", "Conv", {"x", "wq"}, {"qc"}),
             make_node("k", "Conv", {"x", "wk"}, {"kc"}),
             make_node("qr", "Reshape", {"qc", "shape_q"}, {"q4"}),
             make_node("qt", "Transpose", {"q4"}, {"qT"}, {{"perm", ints({0, 1, 3, 2})}}),  // [N, 2, 36, 4]
             make_node("kr", "Reshape", {"kc", "shape_k"}, {"k3"}),                         // [N, 4, 72]
             make_node("ku", "Unsqueeze", {"k3", "axis1"}, {"k4"}),                         // [N, 1, 4, 72]
             make_node("vt", "Transpose", {"k4"}, {"v"}, {{"perm", ints({0, 1, 3, 2})}}),   // [N, 1, 72, 4]
             make_node("scores_mm", "MatMul", {"qT", "k4"}, {"scores"}),   // batch [N, 2] with [N, 1]
             make_node("mix_mm", "MatMul", {"scores", "v"}, {"mix_raw"}),  // K = 72
             make_node("mix_relu", "Relu", {"mix_raw"}, {"mixed"}),
             make_node("kmax", "ReduceMax", {"k3"}, {"kv"},
                       {{"axes", ints({0, 2})}, {"keepdims", Attribute::of_int(0)}}),
             make_node("vec_mm", "MatMul", {"qT", "kv"}, {"vec"})};  // a 1-D operand: [N, 2, 36]
  const testing::Calibrated c =
      testing::calibrate_on(g, testing::random_images(rng, 32, {3, 6, 6}), CalibrationOptions{});
  const Tensor x = testing::random_images(rng, 3, {3, 6, 6});
  expect_fast_equals_reference_and_sim(g, c, x, {"scores_mm", "mix_mm", "vec_mm"}, IntKind::MatMulInt);
}

}  // namespace
}  // namespace qs
