// Channels-last values in the integer engine (int_ops.h, ChannelsLastKernel): MobileNet-style chains of
// 1×1 and depthwise convolutions pass their values as [N, H, W, C]. The results must equal the simulation
// and the engine with every value NCHW, element for element, for every fetched value too; which nodes take
// the layout follows the rule in engine.cpp.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>

#include "core/int/int_tensor.h"
#include "tests/core/int_test_util.h"

namespace qs {
namespace {

using testing::Calibrated;
using testing::ints;
using testing::make_node;

struct Block {
  int64_t C, k, stride, dilation, size;
  bool act_signed;
  int wbits;
};

Dim known(int64_t v) { return Dim{v, ""}; }

// x [N, 3, S, S] → stem Conv 3×3 (3 → C) + Clip(0, 6) → dw k×k (stride, dilation) + Clip → pw 1×1 (C → C)
// → Add with the stem (stride 1) → expand 1×1 (C → 2C) + Relu → dw 3×3 (2C) + Relu → project 1×1 (2C → C)
// → GlobalAveragePool → Flatten → Gemm → y [N, 5]. The depthwise outputs' shapes are declared as ONNX shape
// inference leaves them when `shapes`.
Graph mobile_block(const Block& b, std::mt19937& rng, bool shapes) {
  Graph g = testing::empty_graph({1, 3, b.size, b.size});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  auto& I = g.initializers;
  const int64_t C = b.C, E = 2 * b.C, pad = (b.k - 1) / 2 * b.dilation;
  I["ws"] = testing::normal({C, 3, 3, 3}, rng, 0.4f);
  I["bs"] = testing::normal({C}, rng, 0.1f);
  I["wd1"] = testing::normal({C, 1, b.k, b.k}, rng, 0.4f);
  I["bd1"] = testing::normal({C}, rng, 0.1f);
  I["wp1"] = testing::normal({C, C, 1, 1}, rng, 0.3f);
  I["bp1"] = testing::normal({C}, rng, 0.1f);
  I["we"] = testing::normal({E, C, 1, 1}, rng, 0.3f);
  I["be"] = testing::normal({E}, rng, 0.1f);
  I["wd2"] = testing::normal({E, 1, 3, 3}, rng, 0.4f);
  I["bd2"] = testing::normal({E}, rng, 0.1f);
  I["wj"] = testing::normal({C, E, 1, 1}, rng, 0.3f);
  I["bj"] = testing::normal({C}, rng, 0.1f);
  I["fw"] = testing::normal({5, C}, rng, 0.4f);
  I["fb"] = testing::normal({5}, rng, 0.1f);
  I["zero"] = Tensor::scalar<float>(0.f);
  I["six"] = Tensor::scalar<float>(6.f);
  const std::string after_pw = b.stride == 1 ? "sum" : "p1";
  g.nodes = {
      make_node("stem", "Conv", {"x", "ws", "bs"}, {"s0"}, {{"pads", ints({1, 1, 1, 1})}}),
      make_node("stem_clip", "Clip", {"s0", "zero", "six"}, {"s"}),
      make_node("dw1", "Conv", {"s", "wd1", "bd1"}, {"d1"},
                {{"pads", ints({pad, pad, pad, pad})},
                 {"group", Attribute::of_int(C)},
                 {"strides", ints({b.stride, b.stride})},
                 {"dilations", ints({b.dilation, b.dilation})}}),
      make_node("dw1_clip", "Clip", {"d1", "zero", "six"}, {"d1c"}),
      make_node("pw1", "Conv", {"d1c", "wp1", "bp1"}, {"p1"}),
  };
  if (b.stride == 1) g.nodes.push_back(make_node("add", "Add", {"p1", "s"}, {"sum"}));
  for (Node n :
       {make_node("expand", "Conv", {after_pw, "we", "be"}, {"e0"}),
        make_node("expand_relu", "Relu", {"e0"}, {"e"}),
        make_node("dw2", "Conv", {"e", "wd2", "bd2"}, {"d2"},
                  {{"pads", ints({1, 1, 1, 1})}, {"group", Attribute::of_int(E)}}),
        make_node("dw2_relu", "Relu", {"d2"}, {"d2r"}),
        make_node("project", "Conv", {"d2r", "wj", "bj"}, {"j"}),
        make_node("gap", "GlobalAveragePool", {"j"}, {"gp"}), make_node("flat", "Flatten", {"gp"}, {"fl"}),
        make_node("fc", "Gemm", {"fl", "fw", "fb"}, {"y"}, {{"transB", Attribute::of_int(1)}})})
    g.nodes.push_back(n);
  if (shapes) {
    const int64_t ek = (b.k - 1) * b.dilation + 1, o = (b.size + 2 * pad - ek) / b.stride + 1;
    g.value_info["d1"] = {"d1", DType::Float32,
                          std::vector<Dim>{Dim{-1, "batch"}, known(C), known(o), known(o)}};
    g.value_info["d2"] = {"d2", DType::Float32,
                          std::vector<Dim>{Dim{-1, "batch"}, known(E), known(o), known(o)}};
  }
  return g;
}

std::set<std::string> channels_last_nodes(const IntegerModel& m) {
  std::set<std::string> r;
  for (const IntStepInfo& s : m.steps())
    if (s.detail.find("channels-last") != std::string::npos) r.insert(s.node);
  return r;
}

TEST(ChannelsLast, LayoutConversionsMoveEveryElement) {
  std::mt19937 rng(70);
  for (DType t : {DType::Int8, DType::UInt16})
    for (const Shape& s : std::vector<Shape>{{2, 37, 5, 7}, {3, 16, 4, 4}, {1, 3, 17, 19}, {2, 0, 3, 3}}) {
      Tensor x(t, s);
      auto* b = static_cast<unsigned char*>(x.raw());
      for (size_t i = 0; i < x.nbytes(); ++i) b[i] = static_cast<unsigned char>(rng());
      const Tensor y = to_channels_last(x);
      ASSERT_EQ(y.shape(), (Shape{s[0], s[2], s[3], s[1]}));
      const size_t es = dtype_size(t);
      for (int64_t n = 0; n < s[0]; ++n)
        for (int64_t c = 0; c < s[1]; ++c)
          for (int64_t h = 0; h < s[2]; ++h)
            for (int64_t w = 0; w < s[3]; ++w) {
              const int64_t from = ((n * s[1] + c) * s[2] + h) * s[3] + w,
                            to = ((n * s[2] + h) * s[3] + w) * s[1] + c;
              ASSERT_EQ(std::memcmp(b + from * es, static_cast<const unsigned char*>(y.raw()) + to * es, es),
                        0)
                  << dtype_name(t) << shape_str(s) << " at " << from;
            }
      const Tensor back = from_channels_last(y);
      ASSERT_EQ(back.shape(), s);
      EXPECT_EQ(std::memcmp(back.raw(), x.raw(), x.nbytes()), 0) << dtype_name(t) << shape_str(s);
    }
  EXPECT_THROW(to_channels_last(Tensor(DType::Int8, {2, 3, 4})), Error);
}

TEST(ChannelsLast, MobileBlocksEqualTheSimulationAndTheNchwEngine) {
  if (!int_isa_available(IntIsa::Avx2)) GTEST_SKIP() << "channels-last kernels need AVX2";
  const std::vector<Block> blocks = {
      {24, 3, 1, 1, 14, true, 8},   // 24 channels: a block of 16 and one of 8
      {40, 3, 2, 1, 13, false, 8},  // stride 2 from an odd size, uint8 activations
      {16, 5, 1, 1, 32, true, 8},   // 5×5 at 32 wide: two bands of output rows
      {8, 3, 1, 2, 12, true, 4},    // dilation 2, 4-bit weights
      {20, 3, 2, 1, 31, false, 8},  // 31 → 16 wide
  };
  std::mt19937 rng(71);
  for (const Block& b : blocks) {
    const std::string what = "C " + std::to_string(b.C) + " k " + std::to_string(b.k) + " stride " +
                             std::to_string(b.stride) + " dilation " + std::to_string(b.dilation) + " size " +
                             std::to_string(b.size);
    const Graph g = mobile_block(b, rng, true);
    const Tensor calib = testing::random_images(rng, 24, {3, b.size, b.size});
    const Calibrated c =
        testing::calibrate_on(g, calib, testing::calibration_options(b.wbits, 8, true, b.act_signed, 24, 8));
    const Tensor x = testing::random_images(rng, 3, {3, b.size, b.size});
    testing::expect_engine_equals_sim(g, c, x, what);

    const IntegerModel last(g, c.plan, c.points);
    IntOptions o;
    o.channels_last = false;
    const IntegerModel nchw(g, c.plan, c.points, o);
    std::set<std::string> want = {"dw1", "pw1", "expand", "dw2", "project", "gap"};
    if (b.stride == 1) want.insert("add");
    EXPECT_EQ(channels_last_nodes(last), want) << what;
    EXPECT_TRUE(channels_last_nodes(nchw).empty()) << what;
    // Values held channels-last come back NCHW, equal to the NCHW engine's.
    const std::vector<std::string> fetch = {"d1c", "p1", "e", "d2r", "j", "s"};
    const auto a = last.run({{"x", x}}, fetch), r = nchw.run({{"x", x}}, fetch);
    for (const auto& v : fetch) {
      ASSERT_EQ(a.at(v).shape(), r.at(v).shape()) << what << ": " << v;
      ASSERT_EQ(a.at(v).dtype(), r.at(v).dtype()) << what << ": " << v;
      EXPECT_EQ(std::memcmp(a.at(v).raw(), r.at(v).raw(), a.at(v).nbytes()), 0) << what << ": " << v;
    }
  }
}

// Random blocks (channels 1..48, kernel 3/5/7, stride 1/2, dilation 1/2, sizes 1..36, batch 1..3): the
// channels-last engine equals the NCHW one on the output, for shapes the fixed cases above do not reach.
// 12 cases here; QS_FUZZ_CASES=3000 runs a deeper search (12 s; all equal when this test was written).
TEST(ChannelsLast, RandomBlocksEqualTheNchwEngine) {
  if (!int_isa_available(IntIsa::Avx2)) GTEST_SKIP() << "channels-last kernels need AVX2";
  std::mt19937 rng(73);
  const int cases = std::getenv("QS_FUZZ_CASES") ? std::atoi(std::getenv("QS_FUZZ_CASES")) : 12;
  int ran = 0, laid_out = 0;
  for (int i = 0; i < cases; ++i) {
    Block b;
    b.C = 1 + static_cast<int64_t>(rng() % 48);
    b.k = std::vector<int64_t>{3, 5, 7}[rng() % 3];
    b.stride = 1 + static_cast<int64_t>(rng() % 2);
    b.dilation = 1 + static_cast<int64_t>(rng() % 2);
    b.size = 1 + static_cast<int64_t>(rng() % 36);
    b.act_signed = rng() % 2 == 0;
    b.wbits = rng() % 4 == 0 ? 4 : 8;
    const int64_t ek = (b.k - 1) * b.dilation + 1, pad = (b.k - 1) / 2 * b.dilation;
    if (b.size + 2 * pad < ek) continue;  // no output
    const std::string what = "case " + std::to_string(i) + ": C " + std::to_string(b.C) + " k " +
                             std::to_string(b.k) + " stride " + std::to_string(b.stride) + " dilation " +
                             std::to_string(b.dilation) + " size " + std::to_string(b.size);
    const Graph g = mobile_block(b, rng, true);
    const Tensor calib = testing::random_images(rng, 8, {3, b.size, b.size});
    const Calibrated c =
        testing::calibrate_on(g, calib, testing::calibration_options(b.wbits, 8, true, b.act_signed, 8, 8));
    const Tensor x = testing::random_images(rng, 1 + static_cast<int64_t>(rng() % 3), {3, b.size, b.size});
    const IntegerModel last(g, c.plan, c.points);
    IntOptions o;
    o.channels_last = false;
    const IntegerModel nchw(g, c.plan, c.points, o);
    const Tensor a = last.run({x})[0], r = nchw.run({x})[0];
    ASSERT_EQ(a.shape(), r.shape()) << what;
    EXPECT_EQ(std::memcmp(a.raw(), r.raw(), a.nbytes()), 0) << what;
    ++ran;
    laid_out += channels_last_nodes(last).count("dw2") ? 1 : 0;
  }
  EXPECT_GT(ran, cases / 2);
  EXPECT_GT(laid_out, ran / 2) << "most cases should run channels-last";
}

TEST(ChannelsLast, OnlyGroupsWithANarrowDepthwiseLayerTakeIt) {
  if (!int_isa_available(IntIsa::Avx2)) GTEST_SKIP() << "channels-last kernels need AVX2";
  std::mt19937 rng(72);
  const Block b{16, 3, 1, 1, 10, true, 8};
  const Tensor calib = testing::random_images(rng, 16, {3, 10, 10});
  const auto options = testing::calibration_options(8, 8, true, true, 16, 8);
  // Without the depthwise outputs' widths (no shape inference) the gain is unknown: every value stays NCHW.
  {
    const Graph g = mobile_block(b, rng, false);
    const Calibrated c = testing::calibrate_on(g, calib, options);
    EXPECT_TRUE(channels_last_nodes(IntegerModel(g, c.plan, c.points)).empty());
  }
  // Wide planes: on NCHW data the depthwise kernel works per plane without transposes, so nothing gains.
  {
    Graph g = mobile_block(b, rng, true);
    for (auto& [name, vi] : g.value_info) vi.shape->back() = known(64);
    const Calibrated c = testing::calibrate_on(g, calib, options);
    EXPECT_TRUE(channels_last_nodes(IntegerModel(g, c.plan, c.points)).empty());
  }
  // The reference loops and the portable kernels keep NCHW.
  {
    const Graph g = mobile_block(b, rng, true);
    const Calibrated c = testing::calibrate_on(g, calib, options);
    for (IntIsa isa : {IntIsa::Reference, IntIsa::Portable}) {
      IntOptions o;
      o.isa = isa;
      EXPECT_TRUE(channels_last_nodes(IntegerModel(g, c.plan, c.points, o)).empty()) << int_isa_name(isa);
    }
  }
  // A chain of 1×1 convolutions alone stays NCHW: the layout only pays off through a depthwise layer.
  {
    Graph g = testing::empty_graph({1, 8, 6, 6});
    g.outputs.push_back({"y", DType::Float32, std::nullopt});
    g.initializers["w1"] = testing::normal({8, 8, 1, 1}, rng, 0.3f);
    g.initializers["w2"] = testing::normal({8, 8, 1, 1}, rng, 0.3f);
    g.nodes = {make_node("c1", "Conv", {"x", "w1"}, {"a"}), make_node("r", "Relu", {"a"}, {"b"}),
               make_node("c2", "Conv", {"b", "w2"}, {"y"})};
    const Calibrated c = testing::calibrate_on(g, testing::random_images(rng, 16, {8, 6, 6}), options);
    EXPECT_TRUE(channels_last_nodes(IntegerModel(g, c.plan, c.points)).empty());
  }
}

}  // namespace
}  // namespace qs
