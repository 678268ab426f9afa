// The packed integer ConvTranspose (PackedConvTranspose: GEMM into int32 columns, col2im, requantization)
// against the reference scatter loops (conv_transpose_ref), element for element: sweeps of kernel 1..4,
// stride 1..3, dilation 1..2, symmetric and asymmetric pads, output_padding, output_shape, groups 1, 2 and
// depthwise, batch 1..3, channel counts off 8/16, 1-D and 2-D, int8/uint8/int16 inputs, every output type,
// per-channel and per-tensor weight zero points, 4-bit weights, operands at their extremes near the int32
// bound, 1 and 2 threads, the portable and (when the CPU has it) the AVX2 kernels. Then the integer engine
// against the fake-quant simulation on a small model with ConvTranspose + folded BatchNorm + Relu.
#include <gtest/gtest.h>

#include <random>

#include "core/common/parallel.h"
#include "core/graph/passes.h"
#include "core/int/engine.h"
#include "core/int/int_tensor.h"
#include "core/int/layer_kernels.h"
#include "core/int/ref_kernels.h"
#include "core/ops/conv_geometry.h"
#include "core/quant/simulate.h"
#include "tests/core/int_test_util.h"

namespace qs {
namespace {

using testing::make_node;

std::vector<IntIsa> fast_isas() {
  std::vector<IntIsa> r = {IntIsa::Portable};
  if (int_isa_available(IntIsa::Avx2)) r.push_back(IntIsa::Avx2);
  return r;
}

struct Case {
  int64_t C = 1, M = 1, group = 1, H = 1, W = 1, k = 1, stride = 1, dil = 1;
  int64_t pad0 = 0, pad1 = 0, out_pad = 0;
  bool one_d = false;
  int64_t batch = 1;
  std::vector<int64_t> output_shape;  // empty: absent
};

std::string describe(const Case& c) {
  std::ostringstream o;
  o << (c.one_d ? "1-D" : "2-D") << " C=" << c.C << " M=" << c.M << " group=" << c.group << " in=" << c.H
    << "x" << c.W << " k=" << c.k << " stride=" << c.stride << " dil=" << c.dil << " pads=" << c.pad0 << ","
    << c.pad1 << " out_pad=" << c.out_pad << " batch=" << c.batch;
  if (!c.output_shape.empty()) o << " output_shape=" << shape_str(c.output_shape);
  return o.str();
}

Node convt_node(const Case& c) {
  Node n;
  n.name = "convt";
  n.op_type = "ConvTranspose";
  n.inputs = {"x", "w"};
  n.outputs = {"y"};
  const size_t r = c.one_d ? 1 : 2;
  n.attrs["group"] = Attribute::of_int(c.group);
  n.attrs["strides"] = Attribute::of_ints(std::vector<int64_t>(r, c.stride));
  n.attrs["dilations"] = Attribute::of_ints(std::vector<int64_t>(r, c.dil));
  n.attrs["pads"] = Attribute::of_ints(c.one_d ? std::vector<int64_t>{c.pad0, c.pad1}
                                               : std::vector<int64_t>{c.pad0, c.pad1, c.pad1, c.pad0});
  n.attrs["output_padding"] = Attribute::of_ints(std::vector<int64_t>(r, c.out_pad));
  if (!c.output_shape.empty()) n.attrs["output_shape"] = Attribute::of_ints(c.output_shape);
  return n;
}

// Weights: 8-bit (per-channel zero points when `w_zp`, else 0) or 4-bit [-8, 7]. `extremes`: every operand
// at an end of its grid; `aligned`: every operand at its grid's top (with zero points 0, each output's sum
// is then the largest the bound allows for its number of products).
struct LayerOptions {
  bool four_bit = false, w_zp = false, extremes = false, aligned = false;
};

LayerQuant make_layer(std::mt19937& rng, const Case& c, const QuantParams& in, const QuantParams& out,
                      const LayerOptions& lo) {
  LayerQuant q;
  q.where = "node 'convt' (ConvTranspose)";
  q.out_channels = c.M;
  const int64_t Mg = c.M / c.group;
  q.wshape = c.one_d ? Shape{c.C, Mg, c.k} : Shape{c.C, Mg, c.k, c.k};
  q.in = in;
  q.out = out;
  const int32_t wmin = lo.four_bit ? -8 : (lo.w_zp ? 0 : -127),
                wmax = lo.four_bit ? 7 : (lo.w_zp ? 255 : 127);
  std::uniform_int_distribution<int32_t> w(wmin, wmax), zp(wmin + 1, wmax - 1), b(-30000, 30000), pick(0, 1);
  std::uniform_real_distribution<double> e(-14, -2);
  // The weight's zero point is per weight channel (output channel mod Mg), as prepare_layer sets it.
  std::vector<int32_t> wzp(static_cast<size_t>(Mg), 0);
  if (lo.w_zp)
    for (auto& z : wzp) z = zp(rng);
  q.w.resize(static_cast<size_t>(numel(q.wshape)));
  for (auto& v : q.w) v = lo.aligned ? wmax : lo.extremes ? (pick(rng) ? wmax : wmin) : w(rng);
  q.max_abs_w = 0;
  for (int64_t m = 0; m < c.M; ++m) {
    const int32_t z = wzp[static_cast<size_t>(m % Mg)];
    q.w_zp.push_back(z);
    q.max_abs_w = std::max({q.max_abs_w, std::abs(wmin - z), std::abs(wmax - z)});
    q.bias.push_back(b(rng));
    q.acc_scale.push_back(1);
    double r = std::exp2(e(rng));
    if (m % 7 == 3) r *= 2000;  // saturating
    if (m % 5 == 1) r = -r;
    q.mult.push_back(fixed_multiplier(r, "test"));
  }
  q.lo = out.qmin + 1;  // a fused clamp
  q.hi = out.qmax - (c.C % 2);
  q.max_abs_x = std::max(std::abs(in.qmin - in.zero_point[0]), std::abs(in.qmax - in.zero_point[0]));
  q.max_abs_bias = 30000;
  return q;
}

template <typename T>
void fill_act(std::mt19937& rng, Tensor& t, const QuantParams& p, const LayerOptions& lo) {
  std::uniform_int_distribution<int32_t> d(p.qmin, p.qmax), pick(0, 1);
  for (auto& v : t.span<T>())
    v = static_cast<T>(lo.aligned ? p.qmax : lo.extremes ? (pick(rng) ? p.qmax : p.qmin) : d(rng));
}

Tensor random_act(std::mt19937& rng, DType t, const Shape& s, const QuantParams& p, const LayerOptions& lo) {
  Tensor x(t, s);
  dispatch_act(t, "test", [&](auto tag) { fill_act<decltype(tag)>(rng, x, p, lo); });
  return x;
}

// Runs the case on every fast ISA and compares with the reference loops (a fatal failure on the first
// difference).
void check(std::mt19937& rng, const Case& c, DType xt, int32_t zx, DType yt, const LayerOptions& lo) {
  const QuantParams in = testing::act_params(xt, zx, 0.02f);
  const QuantParams out = testing::act_params(yt, yt == DType::Int8 ? -3 : 5, 0.05f);
  const LayerQuant q = make_layer(rng, c, in, out, lo);
  const int64_t KS = c.one_d ? c.k : c.k * c.k;
  ASSERT_TRUE(q.int32_safe(c.C / c.group * KS)) << describe(c);
  const Node n = convt_node(c);
  const KernelInit init{n, 13, nullptr};
  const ConvAttrs attrs = read_conv_attrs(init, true);
  const Shape xs = c.one_d ? Shape{c.batch, c.C, c.W} : Shape{c.batch, c.C, c.H, c.W};
  const ConvGeometry g = conv_transpose_geometry(attrs, xs, q.wshape, nullptr);
  ASSERT_TRUE(PackedConvTranspose::supports(g));
  const Tensor x = random_act(rng, xt, xs, in, lo);
  std::vector<int32_t> want(static_cast<size_t>(numel(g.y_shape)));
  const std::vector<int32_t> xv = to_int32(x);
  conv_transpose_ref(g, xv.data(), q, want.data());
  const PackedConvTranspose packed(q, c.group);
  for (IntIsa isa : fast_isas()) {
    Tensor y(yt, g.y_shape);
    packed.run(isa, g, x, y);
    const std::vector<int32_t> got = to_int32(y);
    ASSERT_EQ(got.size(), want.size());
    int64_t diff = 0, first = -1;
    for (size_t i = 0; i < got.size(); ++i)
      if (got[i] != want[i]) {
        if (first < 0) first = static_cast<int64_t>(i);
        ++diff;
      }
    ASSERT_EQ(diff, 0) << int_isa_name(isa) << " " << describe(c) << " " << dtype_name(xt) << " zp " << zx
                       << " → " << dtype_name(yt) << (lo.four_bit ? " 4-bit" : "") << (lo.w_zp ? " w_zp" : "")
                       << (lo.extremes ? " extremes" : "") << (lo.aligned ? " aligned" : "") << ": " << diff
                       << " of " << got.size() << " differ, first at " << first << " ("
                       << got[static_cast<size_t>(first)] << " vs " << want[static_cast<size_t>(first)]
                       << ")";
  }
}

// Every (kernel 1..4, stride 1..3, dilation 1..2) in 2-D and 1-D, the other parameters drawn per case:
// pads below the dilated kernel's extent (asymmetric too), output_padding below the stride or dilation,
// groups 1, 2 or depthwise, channel counts off 8 and 16, batch 1..3, input and output types in turn.
TEST(IntConvTranspose, PackedMatchesReferenceOverGeometrySweep) {
  std::mt19937 rng(31);
  const std::vector<std::pair<DType, int32_t>> inputs = {{DType::Int8, -128}, {DType::UInt8, 0},
                                                         {DType::Int8, 7},    {DType::UInt8, 255},
                                                         {DType::Int16, 0},   {DType::Int8, 127}};
  const std::vector<DType> outs = {DType::Int8, DType::UInt8, DType::Int16, DType::UInt16};
  const int saved = num_threads();
  int i = 0;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (bool one_d : {false, true})
      for (int64_t k = 1; k <= 4; ++k)
        for (int64_t s = 1; s <= 3; ++s)
          for (int64_t d = 1; d <= 2; ++d) {
            if (one_d && (k + s + d + threads) % 2 == 0) continue;  // half of the 1-D cases suffice
            Case c;
            c.one_d = one_d;
            c.k = k;
            c.stride = s;
            c.dil = d;
            const int64_t extent = (k - 1) * d + 1;
            std::uniform_int_distribution<int64_t> pad(0, extent - 1), op(0, std::max(s, d) - 1), batch(1, 3),
                hw(1, 9);
            c.pad0 = pad(rng);
            c.pad1 = i % 3 == 0 ? pad(rng) : c.pad0;
            c.out_pad = op(rng);
            c.batch = batch(rng);
            c.H = one_d ? 1 : hw(rng);
            c.W = one_d ? 3 * hw(rng) : hw(rng);
            switch (i % 4) {
              case 0:  // group 1, odd channel counts
                c.C = 5 + i % 13;
                c.M = 3 + i % 19;
                break;
              case 1:  // two groups
                c.group = 2;
                c.C = 2 * (1 + i % 9);
                c.M = 2 * (2 + i % 7);
                break;
              case 2:  // depthwise
                c.C = c.M = c.group = 3 + i % 15;
                break;
              default:  // depthwise with a channel multiplier, a single input channel per group
                c.group = 2 + i % 3;
                c.C = c.group;
                c.M = 3 * c.group;
                break;
            }
            // The output must not be empty (pads may eat a small one).
            const int64_t natural = s * ((one_d ? c.W : std::min(c.H, c.W)) - 1) + c.out_pad + extent;
            if (natural - c.pad0 - c.pad1 < 1) c.pad0 = c.pad1 = 0;
            const auto [xt, zx] = inputs[static_cast<size_t>(i) % inputs.size()];
            LayerOptions lo;
            lo.w_zp = i % 3 == 1 && xt != DType::Int16;  // 16-bit inputs: within the int32 bound
            lo.four_bit = i % 5 == 2;
            lo.extremes = i % 7 == 4;
            SCOPED_TRACE(describe(c));
            check(rng, c, xt, zx, outs[static_cast<size_t>(i) % outs.size()], lo);
            if (::testing::Test::HasFatalFailure()) {
              set_num_threads(saved);
              return;
            }
            ++i;
          }
  }
  set_num_threads(saved);
}

// The shapes of U-Net decoders and the paths of the blocking: 2× upsampling (k 2 s 2, k 3 s 2 p 1 op 1, k 4 s
// 2 p 1), several column blocks per GEMM and several blocks of output channels (a large output with one
// image: accumulators past the block size; two threads: blocks for each thread), output_shape (trailing
// outputs that take only the bias), stride 1 (no phase interleave; planes that are the output, or not
// quite), and operands at their extremes with as
// many 16-bit-input products per output as int32 allows.
TEST(IntConvTranspose, PackedMatchesReferenceOnDecoderShapesBlocksAndBounds) {
  std::mt19937 rng(32);
  auto up = [](int64_t C, int64_t M, int64_t H, int64_t k, int64_t s, int64_t p, int64_t op, int64_t batch,
               int64_t group = 1) {
    Case c;
    c.C = C;
    c.M = M;
    c.H = c.W = H;
    c.k = k;
    c.stride = s;
    c.pad0 = c.pad1 = p;
    c.out_pad = op;
    c.batch = batch;
    c.group = group;
    return c;
  };
  Case shaped = up(6, 5, 5, 3, 2, 1, 0, 2);
  shaped.output_shape = {12, 11};
  // Stride 1, dilation 2, output_padding 1 taken back by one pad on each axis (at the start of rows, the end
  // of columns): the output is as wide as the accumulator planes but starts one row into them.
  Case dilated = up(7, 5, 6, 3, 1, 0, 1, 2);
  dilated.dil = 2;
  dilated.pad0 = 1;
  // No input positions: the output (k − s = 2 wide) holds only the bias.
  Case empty = up(3, 4, 1, 3, 1, 0, 0, 2);
  empty.one_d = true;
  empty.W = 0;
  Case shaped1 = up(4, 3, 1, 4, 3, 0, 0, 1);
  shaped1.one_d = true;
  shaped1.W = 7;
  shaped1.output_shape = {25};
  const std::vector<Case> cases = {up(32, 16, 8, 2, 2, 0, 0, 1, 2),
                                   up(16, 8, 16, 3, 2, 1, 1, 1),
                                   up(24, 13, 40, 2, 2, 0, 0, 1),
                                   up(130, 4, 40, 3, 2, 1, 1, 1),  // 130 channels: several blocks of
                                   up(130, 4, 32, 2, 2, 0, 0, 1),  // input rows, with and without gaps
                                   up(9, 14, 26, 4, 2, 1, 0, 2),
                                   up(20, 7, 12, 3, 1, 1, 0, 3),
                                   up(17, 17, 33, 3, 1, 1, 0, 1, 17),
                                   up(3, 40, 6, 3, 3, 0, 2, 1),
                                   shaped,
                                   shaped1,
                                   dilated,
                                   empty};
  const int saved = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    int i = 0;
    for (const Case& c : cases) {
      SCOPED_TRACE(describe(c));
      LayerOptions lo;
      lo.w_zp = i % 2 == 1;
      check(rng, c, i % 2 ? DType::UInt8 : DType::Int8, i % 2 ? 128 : -128,
            i % 3 ? DType::Int8 : DType::UInt8, lo);
      ++i;
    }
    // 16-bit inputs at 32767 against 8-bit weights at 127: 128 input channels × 2×2 taps overlapping at
    // stride 1 sum to 512 · 32767 · 127 + bias ≈ 2^31 − 2^24 in the interior outputs (a wrapped int32 sum
    // would requantize to the other end of the grid); then random signs, at stride 2.
    LayerOptions top;
    top.aligned = true;
    check(rng, up(128, 6, 5, 2, 1, 0, 0, 1), DType::Int16, 0, DType::Int16, top);
    LayerOptions ext;
    ext.extremes = true;
    check(rng, up(128, 7, 4, 2, 2, 0, 1, 2), DType::Int16, 0, DType::UInt16, ext);
  }
  set_num_threads(saved);
}

// --- the integer engine on a model ---

using testing::expect_engine_equals_sim;

CalibrationOptions options(int wbits, int abits, bool per_channel, bool act_signed) {
  return testing::calibration_options(wbits, abits, per_channel, act_signed, 32, 8);
}

// x [N,3,6,6] → Conv 3×3 + Relu → ConvTranspose 3×3 s2 p1 op1 → BatchNormalization → Relu → depthwise
// ConvTranspose 3×3 dilation 2 + Clip(0, 6) → grouped ConvTranspose 2×2 s2 → y [N,4,24,24]; a side output
// through a 1-D view: Reshape to [N,6,144] → ConvTranspose 1-D k4 s3 p1 → z.
Graph convt_model(std::mt19937& rng) {
  Graph g = testing::empty_graph({1, 3, 6, 6});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.outputs.push_back({"z", DType::Float32, std::nullopt});
  auto& I = g.initializers;
  I["w0"] = testing::normal({8, 3, 3, 3}, rng, 0.5f);
  I["b0"] = testing::normal({8}, rng, 0.1f);
  I["w1"] = testing::normal({8, 6, 3, 3}, rng, 0.4f);
  I["b1"] = testing::normal({6}, rng, 0.1f);
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  std::vector<float> gamma(6), beta(6), mean(6), var(6);
  for (int k = 0; k < 6; ++k) {
    gamma[static_cast<size_t>(k)] = u(rng) * (k % 3 == 2 ? -1.f : 1.f);
    beta[static_cast<size_t>(k)] = u(rng) - 1.f;
    mean[static_cast<size_t>(k)] = u(rng) - 1.f;
    var[static_cast<size_t>(k)] = u(rng);
  }
  I["gamma"] = Tensor::from_vector<float>({6}, gamma);
  I["beta"] = Tensor::from_vector<float>({6}, beta);
  I["mean"] = Tensor::from_vector<float>({6}, mean);
  I["var"] = Tensor::from_vector<float>({6}, var);
  I["wd"] = testing::normal({6, 1, 3, 3}, rng, 0.5f);
  I["bd"] = testing::normal({6}, rng, 0.1f);
  I["wg"] = testing::normal({6, 2, 2, 2}, rng, 0.5f);
  I["bg"] = testing::normal({4}, rng, 0.1f);
  I["w1d"] = testing::normal({6, 5, 4}, rng, 0.4f);
  I["zero"] = Tensor::scalar<float>(0.f);
  I["six"] = Tensor::scalar<float>(6.f);
  I["flat"] = Tensor::from_vector<int64_t>({3}, {0, 6, -1});
  using testing::ints;
  g.nodes = {
      make_node("conv", "Conv", {"x", "w0", "b0"}, {"c0"}, {{"pads", ints({1, 1, 1, 1})}}),
      make_node("relu0", "Relu", {"c0"}, {"r0"}),
      make_node("up", "ConvTranspose", {"r0", "w1", "b1"}, {"u"},
                {{"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}, {"output_padding", ints({1, 1})}}),
      make_node("bn", "BatchNormalization", {"u", "gamma", "beta", "mean", "var"}, {"n"}),
      make_node("relu1", "Relu", {"n"}, {"r1"}),
      make_node("dw", "ConvTranspose", {"r1", "wd", "bd"}, {"d"},
                {{"group", Attribute::of_int(6)}, {"dilations", ints({2, 2})}, {"pads", ints({2, 2, 2, 2})}}),
      make_node("clip", "Clip", {"d", "zero", "six"}, {"cl"}),
      make_node("grp", "ConvTranspose", {"cl", "wg", "bg"}, {"y"},
                {{"group", Attribute::of_int(2)}, {"strides", ints({2, 2})}}),
      make_node("view", "Reshape", {"r1", "flat"}, {"v"}),
      make_node("up1d", "ConvTranspose", {"v", "w1d"}, {"z"},
                {{"strides", ints({3})}, {"pads", ints({1, 1})}}),
  };
  return g;
}

TEST(IntConvTranspose, EngineWithFoldedBatchNormAgreesWithSimulation) {
  std::mt19937 rng(33);
  Graph g = convt_model(rng);
  ASSERT_EQ(fold_batchnorm(g), 1);
  const Tensor calib = testing::random_images(rng, 32, {3, 6, 6});
  const Tensor x = testing::random_images(rng, 5, {3, 6, 6});
  const std::map<std::string, std::string> packed = {
      {"up", "packed"}, {"dw", "packed"}, {"grp", "packed"}, {"up1d", "packed"}};
  {
    const testing::Calibrated c = testing::calibrate_on(g, calib, options(8, 8, true, true));
    const IntegerModel m(g, c.plan, c.points);
    EXPECT_TRUE(m.lowering().float_islands().empty());
    std::map<std::string, IntKind> kind;
    for (const auto& s : m.steps()) kind[s.node] = s.kind;
    EXPECT_EQ(kind.at("up"), IntKind::Layer);
    EXPECT_EQ(kind.at("relu1"), IntKind::Fused);
    EXPECT_EQ(kind.at("clip"), IntKind::Fused);
    expect_engine_equals_sim(g, c, x, "W8A8 int8 per channel", packed);
  }
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(8, 8, false, false)), x,
                           "W8A8 uint8 per tensor", packed);
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(4, 8, true, false)), x, "W4A8 uint8",
                           packed);
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(8, 16, true, true)), x, "W8A16",
                           packed);
  // Batch 1 fixed by the model: the engine runs the 5 images in chunks, spread over the threads.
  Graph fixed = g;
  fixed.inputs[0].shape->at(0) = Dim{1, ""};
  const int saved = num_threads();
  set_num_threads(2);
  expect_engine_equals_sim(fixed, testing::calibrate_on(fixed, calib, options(8, 8, true, true)), x,
                           "W8A8 fixed batch 1, 2 threads", packed);
  set_num_threads(saved);
}

// A ConvTranspose whose int32 accumulators could overflow (16-bit activations, 64 input channels × 3×3
// taps) stays on the reference loops, and still equals the simulation.
TEST(IntConvTranspose, LayersBeyondTheInt32BoundRunTheReferenceLoops) {
  std::mt19937 rng(34);
  Graph g = testing::empty_graph({1, 64, 4, 4});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.outputs.push_back({"z", DType::Float32, std::nullopt});
  g.initializers["w"] = testing::normal({64, 3, 3, 3}, rng, 0.3f);
  g.initializers["b"] = testing::normal({3}, rng, 0.1f);
  g.initializers["ws"] = testing::normal({64, 2, 2, 2}, rng, 0.3f);
  g.nodes = {make_node("big", "ConvTranspose", {"x", "w", "b"}, {"y"},
                       {{"strides", testing::ints({2, 2})}, {"pads", testing::ints({1, 1, 1, 1})}}),
             make_node("safe", "ConvTranspose", {"x", "ws"}, {"z"},
                       {{"strides", testing::ints({2, 2})}, {"group", Attribute::of_int(32)}})};
  const Tensor calib = testing::random_images(rng, 16, {64, 4, 4});
  const Tensor x = testing::random_images(rng, 2, {64, 4, 4});
  expect_engine_equals_sim(g, testing::calibrate_on(g, calib, options(8, 16, true, true)), x, "W8A16",
                           {{"big", "reference"}, {"safe", "packed"}});
}

}  // namespace
}  // namespace qs
