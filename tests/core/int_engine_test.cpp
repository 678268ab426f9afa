// The integer engine against the fake-quant simulation that models it, on small models built in the test
// with plans calibrated by the real pipeline: every output element equal (the documented contract: the
// simulation models the engine's requantization, pooling and rescaling exactly), for every kernel path
// (reference loops, portable, AVX2), for several plan kinds (int8/uint8 activations, per-channel/per-tensor
// 8- and 4-bit weights, 6-bit and 16-bit activations, plans with entries left in float).
#include "core/int/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/common/error.h"
#include "core/int/int_tensor.h"
#include "core/quant/simulate.h"
#include "core/runtime/executor.h"
#include "tests/core/int_test_util.h"

namespace qs {
namespace {

using testing::Calibrated;

using testing::expect_engine_equals_sim;

CalibrationOptions options(int wbits, int abits, bool per_channel, bool act_signed) {
  return testing::calibration_options(wbits, abits, per_channel, act_signed);
}

TEST(IntEngine, CnnAgreesWithSimulationOnEveryElement) {
  std::mt19937 rng(10);
  const Graph g = testing::int_cnn(rng);
  const Tensor calib = testing::random_images(rng, 64, {1, 10, 10});
  const Tensor x = testing::random_images(rng, 37, {1, 10, 10});
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(8, 8, true, true)), x, "W8A8 int8");
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(8, 8, false, false)), x,
                           "W8A8 uint8 per tensor");
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(4, 6, true, true)), x, "W4A6");
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(8, 16, true, true)), x, "W8A16");
}

// GlobalAveragePool over planes longer than its exact int32 partial sums (2^15 values) at 16-bit
// activations: the chunked sums equal the simulation.
TEST(IntEngine, GlobalAveragePoolOverLongPlanesAgreesWithSimulation) {
  std::mt19937 rng(12);
  Graph g = testing::empty_graph({1, 1, 190, 190});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.initializers["w"] = testing::normal({2, 1, 1, 1}, rng, 0.5f);
  g.nodes = {testing::make_node("conv", "Conv", {"x", "w"}, {"a"}),
             testing::make_node("relu", "Relu", {"a"}, {"r"}),
             testing::make_node("gap", "GlobalAveragePool", {"r"}, {"y"})};
  const Tensor calib = testing::random_images(rng, 4, {1, 190, 190});
  const Tensor x = testing::random_images(rng, 2, {1, 190, 190});
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(8, 16, true, false)), x,
                           "W8A16 uint16");
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(8, 16, true, true)), x, "W8A16 int16");
}

TEST(IntEngine, CnnHasNoFloatIslandAndFusesActivations) {
  std::mt19937 rng(10);
  const Graph g = testing::int_cnn(rng);
  const Calibrated c =
      testing::calibrate_on(g, testing::random_images(rng, 32, {1, 10, 10}), options(8, 8, true, true));
  const IntegerModel m(g, c.plan, c.points);
  EXPECT_TRUE(m.lowering().float_islands().empty());
  std::map<std::string, IntKind> kind;
  for (const auto& s : m.steps()) kind[s.node] = s.kind;
  EXPECT_EQ(kind.at("conv1"), IntKind::Layer);
  EXPECT_EQ(kind.at("relu1"), IntKind::Fused);
  EXPECT_EQ(kind.at("clip"), IntKind::Fused);
  EXPECT_EQ(kind.at("relu3"), IntKind::Fused);  // fused into the Add
  EXPECT_EQ(kind.at("pool1"), IntKind::Movement);
  EXPECT_EQ(kind.at("cat"), IntKind::Concat);
  EXPECT_EQ(kind.at("avg"), IntKind::AveragePool);
  EXPECT_EQ(kind.at("gap"), IntKind::GlobalAveragePool);
  // Intermediate values are integers on the plan's grid.
  std::mt19937 r2(3);
  const Tensor x = testing::random_images(r2, 2, {1, 10, 10});
  const auto v = m.run({{"x", x}}, {"r1", "p1", "cat", "y"});
  EXPECT_EQ(v.at("r1").dtype(), DType::Int8);
  EXPECT_EQ(v.at("p1").dtype(), DType::Int8);
  const QuantParams& pr = *m.params("r1");
  for (int32_t q : to_int32(v.at("r1"))) EXPECT_GE(q, pr.zero_point[0]);  // the fused ReLU's clamp
}

// Add, Sub and Mul with a float constant operand (a bias added by its own node, an embedding, a scale):
// integer nodes of their own, in either operand order, with broadcasting (also to a larger output), a fused
// Relu, negative and zero constants; equal to the simulation on every element. Div by a constant too, when
// its quotient is a point (read by an integer op); one read only by a float island stays in float.
TEST(IntEngine, ConstantOperandsAreIntegerAndAgreeWithSimulation) {
  std::mt19937 rng(21);
  Graph g = testing::empty_graph({1, 3, 6, 6});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.outputs.push_back({"wide", DType::Float32, std::nullopt});
  g.initializers["w"] = testing::normal({4, 3, 3, 3}, rng, 0.5f);
  g.initializers["kb"] = testing::normal({4, 1, 1}, rng, 0.7f);
  g.initializers["ks"] = Tensor::scalar<float>(0.37f);
  g.initializers["kv"] = testing::normal({6}, rng, 0.3f);
  g.initializers["kk"] = testing::normal({1, 4, 1, 1}, rng, 1.0f);
  Tensor kn = testing::normal({4, 1, 1}, rng, 2.0f);
  kn.data<float>()[1] = 0.f;
  kn.data<float>()[2] = -std::fabs(kn.data<float>()[2]);
  g.initializers["kn"] = kn;
  g.initializers["kw"] = testing::normal({2, 1, 1, 1, 1}, rng, 1.0f);
  g.initializers["kd"] = testing::normal({4, 1, 1}, rng, 2.0f);
  g.outputs.push_back({"y2", DType::Float32, std::nullopt});
  g.outputs.push_back({"sg", DType::Float32, std::nullopt});
  using testing::ints;
  using testing::make_node;
  g.nodes = {make_node("conv", "Conv", {"x", "w"}, {"a"}, {{"pads", ints({1, 1, 1, 1})}}),
             make_node("bias", "Add", {"a", "kb"}, {"b"}),
             make_node("relu", "Relu", {"b"}, {"r"}),
             make_node("scale", "Mul", {"ks", "r"}, {"m"}),
             make_node("shift", "Sub", {"m", "kv"}, {"s1"}),
             make_node("flip", "Sub", {"kk", "s1"}, {"s2"}),
             make_node("gain", "Mul", {"s2", "kn"}, {"y"}),
             make_node("widen", "Add", {"kw", "s2"}, {"wide"}),
             make_node("div", "Div", {"s2", "kd"}, {"q"}),
             make_node("relu2", "Relu", {"q"}, {"y2"}),
             make_node("div2", "Div", {"s2", "kd"}, {"q2"}),
             make_node("sig", "Sigmoid", {"q2"}, {"sg"})};
  const Tensor calib = testing::random_images(rng, 48, {3, 6, 6});
  const Tensor x = testing::random_images(rng, 7, {3, 6, 6});
  const Calibrated c = testing::calibrate_on(g, calib, options(8, 8, true, true));
  const IntegerModel m(g, c.plan, c.points);
  std::vector<std::string> islands;
  for (const LoweredNode* n : m.lowering().float_islands()) islands.push_back(n->node->name);
  EXPECT_EQ(islands, (std::vector<std::string>{"div2"}));  // Sigmoid then sees only float values
  std::map<std::string, IntKind> kind;
  for (const auto& st : m.steps()) kind[st.node] = st.kind;
  for (const char* n : {"bias", "scale", "shift", "flip", "gain", "widen", "div"})
    EXPECT_EQ(kind.at(n), IntKind::ConstOperand) << n;
  EXPECT_EQ(kind.at("relu"), IntKind::Fused);
  expect_engine_equals_sim(g, c, x, "constants W8A8");
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(8, 8, false, false)), x,
                           "constants uint8");
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(4, 6, true, true)), x,
                           "constants W4A6");
  // And the integer result is the float one within the output grid's rounding (plus the input's).
  const std::vector<Tensor> yi = m.run({x});
  const Executor ex(g);
  const std::vector<Tensor> yf = ex.run({x});
  const float so = c.plan.active("y")->params.scale[0];
  float worst = 0;
  for (int64_t i = 0; i < yf[0].numel(); ++i)
    worst = std::max(worst, std::fabs(yi[0].data<float>()[i] - yf[0].data<float>()[i]));
  EXPECT_LT(worst, 8 * so);
}

// Elementwise ops of one 8-bit input whose result is a point (SiLU's Sigmoid, Tanh, Erf, HardSwish, Exp,
// Pow by a constant) are tables over the input's levels: integer nodes, equal to the simulation (which
// runs them as float islands) on every element and kernel path, each entry the exact function of its
// level rounded to the output grid. A Mul of x and a table of x (SiLU) is one lookup per element; the
// reference path computes it from both operands. At 16-bit activations they stay float islands.
TEST(IntEngine, OneInputElementwiseIslandsAreTables) {
  std::mt19937 rng(23);
  Graph g = testing::empty_graph({1, 3, 6, 6});
  g.opset = 14;  // HardSwish
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.outputs.push_back({"z", DType::Float32, std::nullopt});
  g.initializers["w"] = testing::normal({4, 3, 3, 3}, rng, 0.5f);
  g.initializers["two"] = Tensor::scalar<float>(2.f);
  using testing::ints;
  using testing::make_node;
  g.nodes = {make_node("conv", "Conv", {"x", "w"}, {"a"}, {{"pads", ints({1, 1, 1, 1})}}),
             make_node("sig", "Sigmoid", {"a"}, {"s"}),
             make_node("silu", "Mul", {"a", "s"}, {"m"}),
             make_node("tanh", "Tanh", {"m"}, {"t"}),
             make_node("erf", "Erf", {"a"}, {"e"}),
             make_node("gate", "Mul", {"e", "t"}, {"g"}),
             make_node("hswish", "HardSwish", {"g"}, {"h"}),
             make_node("exp", "Exp", {"a"}, {"ex"}),
             make_node("xexp", "Mul", {"ex", "a"}, {"xe"}),
             make_node("sq", "Pow", {"a", "two"}, {"p"}),
             make_node("sum", "Add", {"h", "xe"}, {"y"}),
             make_node("relu", "Relu", {"p"}, {"z"})};
  const Tensor calib = testing::random_images(rng, 48, {3, 6, 6});
  const Tensor x = testing::random_images(rng, 7, {3, 6, 6});
  const Calibrated c = testing::calibrate_on(g, calib, options(8, 8, true, true));
  const IntegerModel m(g, c.plan, c.points);
  EXPECT_TRUE(m.lowering().float_islands().empty());
  std::map<std::string, IntKind> kind;
  for (const auto& st : m.steps()) kind[st.node] = st.kind;
  for (const char* n : {"sig", "tanh", "erf", "hswish", "exp", "sq"})
    EXPECT_EQ(kind.at(n), IntKind::Table) << n;
  expect_engine_equals_sim(g, c, x, "tables W8A8");
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(8, 8, false, false)), x,
                           "tables uint8");
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(4, 6, true, true)), x, "tables W4A6");

  // Each table entry against the function computed here in double: the same level, or (where float32 and
  // double straddle a rounding boundary) the next one.
  const auto v = m.run({{"x", x}}, {"a", "s", "e", "ex"});
  const QuantParams& pa = *m.params("a");
  const std::vector<int32_t> qa = to_int32(v.at("a"));
  const std::vector<std::pair<const char*, double (*)(double)>> fns = {
      {"s", [](double u) { return 1 / (1 + std::exp(-u)); }},
      {"e", [](double u) { return std::erf(u); }},
      {"ex", [](double u) { return std::exp(u); }}};
  for (const auto& [name, f] : fns) {
    const QuantParams& po = *m.params(name);
    const std::vector<int32_t> qo = to_int32(v.at(name));
    int64_t off = 0;
    for (size_t i = 0; i < qa.size(); ++i) {
      const double u = (qa[i] - pa.zero_point[0]) * static_cast<double>(pa.scale[0]);
      const double want = std::clamp(std::nearbyint(f(u) / po.scale[0]) + po.zero_point[0],
                                     static_cast<double>(po.qmin), static_cast<double>(po.qmax));
      EXPECT_LE(std::fabs(qo[i] - want), 1) << name << " at level " << qa[i];
      off += qo[i] != want;
    }
    EXPECT_LE(off, static_cast<int64_t>(qa.size()) / 100) << name;
  }

  // 16-bit activations: no tables, the same ops as float islands, still equal to the simulation.
  const Calibrated c16 = testing::calibrate_on(g, calib, options(8, 16, true, true));
  const IntegerModel m16(g, c16.plan, c16.points);
  std::vector<std::string> islands;
  for (const LoweredNode* n : m16.lowering().float_islands()) {
    islands.push_back(n->node->name);
    EXPECT_NE(n->reason.find("int16"), std::string::npos) << n->reason;
  }
  EXPECT_EQ(islands, (std::vector<std::string>{"sig", "tanh", "erf", "hswish", "exp", "sq"}));
  expect_engine_equals_sim(g, c16, x, "islands W8A16");
}

// torch's x.mean((2, 3)) exports as ReduceMean over the trailing axes: a global average pool (keepdims 1)
// or one then flattened (keepdims 0), integer like GlobalAveragePool; a mean over another axis stays float.
TEST(IntEngine, ReduceMeanOverTrailingAxesIsAGlobalAveragePool) {
  std::mt19937 rng(22);
  Graph g = testing::empty_graph({1, 3, 6, 6});
  g.outputs.push_back({"z", DType::Float32, std::nullopt});
  g.outputs.push_back({"c", DType::Float32, std::nullopt});
  g.initializers["w"] = testing::normal({4, 3, 3, 3}, rng, 0.5f);
  using testing::ints;
  using testing::make_node;
  const std::vector<Dim> nchw = {Dim{-1, "batch"}, Dim{4, ""}, Dim{6, ""}, Dim{6, ""}};
  g.value_info["r"] = {"r", DType::Float32, nchw};
  g.value_info["y"] = {"y", DType::Float32, nchw};
  g.nodes = {make_node("conv", "Conv", {"x", "w"}, {"a"}, {{"pads", ints({1, 1, 1, 1})}}),
             make_node("relu", "Relu", {"a"}, {"r"}),
             make_node("se", "ReduceMean", {"r"}, {"m"}, {{"axes", ints({2, 3})}}),
             make_node("scale", "Mul", {"r", "m"}, {"y"}),
             make_node("head", "ReduceMean", {"y"}, {"z"},
                       {{"axes", ints({-1, -2})}, {"keepdims", Attribute::of_int(0)}}),
             make_node("chan", "ReduceMean", {"y"}, {"c"}, {{"axes", ints({1})}})};
  const Tensor calib = testing::random_images(rng, 48, {3, 6, 6});
  const Tensor x = testing::random_images(rng, 7, {3, 6, 6});
  const Calibrated c = testing::calibrate_on(g, calib, options(8, 8, true, true));
  const IntegerModel m(g, c.plan, c.points);
  std::map<std::string, IntKind> kind;
  for (const auto& st : m.steps()) kind[st.node] = st.kind;
  EXPECT_EQ(kind.at("se"), IntKind::GlobalAveragePool);
  EXPECT_EQ(kind.at("head"), IntKind::GlobalAveragePool);
  EXPECT_NE(kind.at("chan"), IntKind::GlobalAveragePool);  // over the channels: not a pool
  const std::vector<Tensor> yi = m.run({x});
  EXPECT_EQ(yi[0].shape(), (Shape{7, 4}));
  expect_engine_equals_sim(g, c, x, "ReduceMean W8A8");
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(8, 8, false, false)), x,
                           "ReduceMean uint8");
  // Brute force: z is the mean of the quantized y over each plane, rounded once to z's grid.
  const SimulatedModel sim(g, c.plan, c.points);
  const Tensor y = sim.run({{"x", x}}, {"y"}).at("y");
  const QuantParams& pz = c.plan.active("z")->params;
  const double so = pz.scale[0], lo = (pz.qmin - pz.zero_point[0]) * so,
               hi = (pz.qmax - pz.zero_point[0]) * so;
  for (int64_t p = 0; p < 7 * 4; ++p) {
    double mean = 0;
    for (int64_t k = 0; k < 36; ++k) mean += y.data<float>()[p * 36 + k];
    mean = std::clamp(mean / 36, lo, hi);  // the test images may leave the calibrated range
    EXPECT_NEAR(yi[0].data<float>()[p], mean, 0.5 * so + 1e-6) << "plane " << p;
  }
}

TEST(IntEngine, MixedOpsAndFloatIslandsAgreeWithSimulation) {
  std::mt19937 rng(20);
  const Graph g = testing::int_mix(rng);
  const Tensor calib = testing::random_images(rng, 48, {3, 6, 6});
  const Tensor x = testing::random_images(rng, 9, {3, 6, 6});
  const Calibrated c = testing::calibrate_on(g, calib, options(8, 8, true, true));
  const IntegerModel m(g, c.plan, c.points);
  std::set<std::string> islands;
  for (const LoweredNode* n : m.lowering().float_islands()) islands.insert(n->node->name);
  EXPECT_EQ(islands, (std::set<std::string>{"soft"}));
  std::map<std::string, IntKind> kind;
  for (const auto& s : m.steps()) kind[s.node] = s.kind;
  EXPECT_EQ(kind.at("sig"), IntKind::Table);
  EXPECT_EQ(kind.at("sub"), IntKind::Sub);
  EXPECT_EQ(kind.at("mul"), IntKind::Mul);
  EXPECT_EQ(kind.at("leaky"), IntKind::Activation);
  EXPECT_EQ(kind.at("prelu"), IntKind::Activation);
  EXPECT_EQ(kind.at("relu"), IntKind::Activation);
  EXPECT_EQ(kind.at("pad"), IntKind::Movement);
  EXPECT_EQ(kind.at("mm2"), IntKind::MatMulInt);
  EXPECT_EQ(kind.at("convt"), IntKind::Layer);
  EXPECT_EQ(kind.at("left"), IntKind::Layer);
  expect_engine_equals_sim(g, c, x, "mixed W8A8");
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(4, 8, false, false)), x,
                           "mixed W4A8 uint8");
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(8, 16, true, true)), x, "mixed W8A16");
}

TEST(IntEngine, EntriesLeftInFloatBecomeListedIslands) {
  std::mt19937 rng(30);
  const Graph g = testing::int_cnn(rng);
  const Tensor calib = testing::random_images(rng, 48, {1, 10, 10});
  Calibrated c = testing::calibrate_on(g, calib, options(8, 8, true, true));
  c.plan.find("p1") ? void() : void();
  // The pool output carries r1's grid; disable the depthwise layer's output point and the pw weight.
  c.plan.find("r2")->quantize = false;
  c.plan.find("wp")->quantize = false;
  const IntegerModel m(g, c.plan, c.points);
  std::set<std::string> islands;
  for (const LoweredNode* n : m.lowering().float_islands()) islands.insert(n->node->name);
  EXPECT_TRUE(islands.count("dw")) << "its output point is disabled";
  EXPECT_TRUE(islands.count("pw")) << "its input and weight are float";
  EXPECT_FALSE(islands.count("conv1"));
  expect_engine_equals_sim(g, c, testing::random_images(rng, 11, {1, 10, 10}), "partial plan");
}

TEST(IntEngine, RefusesBadInputsNamingThem) {
  std::mt19937 rng(40);
  const Graph g = testing::int_cnn(rng);
  const Calibrated c =
      testing::calibrate_on(g, testing::random_images(rng, 16, {1, 10, 10}), options(8, 8, true, true));
  const IntegerModel m(g, c.plan, c.points);
  try {
    m.run({Tensor::zeros(DType::Float32, {1, 2, 10, 10})});
    FAIL() << "a wrong input shape was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(m.run({Tensor::zeros(DType::Int32, {1, 1, 10, 10})}), Error);
  EXPECT_THROW(m.run({{"nope", Tensor::zeros(DType::Float32, {1, 1, 10, 10})}}, {"y"}), Error);
  // A plan naming a tensor the model does not have is refused at construction.
  QuantPlan bad = c.plan;
  bad.entries[0].tensor = "no_such_weight";
  EXPECT_THROW(IntegerModel(g, bad, c.points), Error);
}

// A MaxPool that is the only reader of a layer's result runs inside the layer's step (int_ops.h,
// MaxPoolFusingKernel): conv a's 2×2 stride-2 pooling of a 12×12 grid is taken as the grid is copied out;
// conv b's (ceil_mode over 5×5, whose windows pass the grid) is declined at run time and runs after it;
// conv c's result is also a graph output, so its pooling is not fused. Every path equals the simulation,
// a run that fetches a fused layer's own result gets it, and the pooled value equals its definition.
TEST(IntEngine, MaxPoolFusedIntoTheLayerBeforeIt) {
  std::mt19937 rng(60);
  Graph g = testing::empty_graph({1, 3, 13, 13});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.outputs.push_back({"c", DType::Float32, std::nullopt});
  auto& I = g.initializers;
  I["wa"] = testing::normal({6, 3, 4, 4}, rng, 0.4f);
  I["ba"] = testing::normal({6}, rng, 0.1f);
  I["wb"] = testing::normal({5, 6, 2, 2}, rng, 0.4f);
  I["wc"] = testing::normal({4, 5, 2, 2}, rng, 0.4f);
  const auto pool = [](int64_t ceil) {
    std::map<std::string, Attribute> a = {{"kernel_shape", testing::ints({2, 2})},
                                          {"strides", testing::ints({2, 2})}};
    if (ceil) a["ceil_mode"] = Attribute::of_int(1);
    return a;
  };
  g.nodes = {
      testing::make_node("conv_a", "Conv", {"x", "wa", "ba"}, {"a"}, {{"pads", testing::ints({1, 1, 1, 1})}}),
      testing::make_node("relu_a", "Relu", {"a"}, {"ra"}),
      testing::make_node("pool_a", "MaxPool", {"ra"}, {"pa"}, pool(0)),
      testing::make_node("conv_b", "Conv", {"pa", "wb"}, {"b"}),
      testing::make_node("pool_b", "MaxPool", {"b"}, {"pb"}, pool(1)),
      testing::make_node("conv_c", "Conv", {"pb", "wc"}, {"c"}, {{"pads", testing::ints({1, 1, 1, 1})}}),
      testing::make_node("pool_c", "MaxPool", {"c"}, {"y"}, pool(0)),
  };
  const Tensor calib = testing::random_images(rng, 32, {3, 13, 13});
  const Tensor x = testing::random_images(rng, 7, {3, 13, 13});
  for (bool act_signed : {true, false}) {
    const Calibrated c = testing::calibrate_on(g, calib, options(8, 8, true, act_signed));
    expect_engine_equals_sim(g, c, x, act_signed ? "int8" : "uint8");
    const IntegerModel m(g, c.plan, c.points);
    std::map<std::string, std::string> detail;
    for (const auto& s : m.steps()) detail[s.node] = s.detail;
    if (int_isa_available(IntIsa::Avx2)) {
      EXPECT_NE(detail.at("conv_a").find("writes the MaxPool after it"), std::string::npos)
          << detail.at("conv_a");
      EXPECT_NE(detail.at("pool_a").find("fused into the layer before it"), std::string::npos);
      EXPECT_NE(detail.at("conv_b").find("writes the MaxPool after it"), std::string::npos);
      EXPECT_EQ(detail.at("conv_c").find("MaxPool"), std::string::npos);
    }
    const auto alone = m.run({{"x", x}}, {"pa", "pb"});
    const auto with = m.run({{"x", x}}, {"ra", "pa", "b", "pb"});
    EXPECT_EQ(to_int32(alone.at("pa")), to_int32(with.at("pa")));
    EXPECT_EQ(to_int32(alone.at("pb")), to_int32(with.at("pb")));
    const Shape rs = with.at("ra").shape(), ps = with.at("pa").shape();
    ASSERT_EQ(rs, (Shape{7, 6, 12, 12}));
    ASSERT_EQ(ps, (Shape{7, 6, 6, 6}));
    const std::vector<int32_t> r = to_int32(with.at("ra")), p = to_int32(with.at("pa"));
    for (int64_t pl = 0; pl < 7 * 6; ++pl)
      for (int64_t i = 0; i < 6; ++i)
        for (int64_t j = 0; j < 6; ++j) {
          int32_t want = r[static_cast<size_t>((pl * 12 + 2 * i) * 12 + 2 * j)];
          for (int64_t a = 0; a < 2; ++a)
            for (int64_t b = 0; b < 2; ++b)
              want = std::max(want, r[static_cast<size_t>((pl * 12 + 2 * i + a) * 12 + 2 * j + b)]);
          ASSERT_EQ(p[static_cast<size_t>((pl * 6 + i) * 6 + j)], want) << pl << " " << i << " " << j;
        }
    // conv_b's 5×5 grid pools to 3×3 with ceil_mode.
    EXPECT_EQ(with.at("pb").shape(), (Shape{7, 5, 3, 3}));
  }
}

TEST(IntEngine, ResultsDoNotDependOnBatchOrThreads) {
  std::mt19937 rng(50);
  const Graph g = testing::int_cnn(rng);
  const Calibrated c =
      testing::calibrate_on(g, testing::random_images(rng, 32, {1, 10, 10}), options(8, 8, true, true));
  const IntegerModel m(g, c.plan, c.points);
  const Tensor x = testing::random_images(rng, 5, {1, 10, 10});
  const std::vector<float> all = m.run({x})[0].to_vector<float>();
  for (int64_t i = 0; i < 5; ++i) {
    Tensor one(DType::Float32, {1, 1, 10, 10});
    std::copy(x.data<float>() + i * 100, x.data<float>() + (i + 1) * 100, one.data<float>());
    const std::vector<float> y = m.run({one})[0].to_vector<float>();
    for (int64_t k = 0; k < 10; ++k)
      ASSERT_EQ(y[static_cast<size_t>(k)], all[static_cast<size_t>(i * 10 + k)]);
  }
}

}  // namespace
}  // namespace qs
