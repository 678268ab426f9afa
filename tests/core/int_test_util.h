// Small models built in code for the integer engine and export tests, and plans calibrated on random data
// with the real pipeline (calibrate()).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "core/int/engine.h"
#include "core/quant/calibrate.h"
#include "core/quant/simulate.h"
#include "tests/core/algo_test_util.h"

namespace qs::testing {

inline Attribute ints(std::vector<int64_t> v) { return Attribute::of_ints(std::move(v)); }

// x [N,1,10,10] → Conv 3x3 + Relu → MaxPool → depthwise Conv + Clip(0, 6) → Conv 1x1 → Add (residual) + Relu
// → Concat with a 1x1 branch → AveragePool 3x3 (pad 1, count_include_pad 0) → GlobalAveragePool → Flatten →
// Gemm + Relu → Gemm → y [N,10]. Every node has an integer form.
inline Graph int_cnn(std::mt19937& rng) {
  Graph g = empty_graph({1, 1, 10, 10});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  auto& I = g.initializers;
  I["w1"] = normal({8, 1, 3, 3}, rng, 0.5f);
  I["b1"] = normal({8}, rng, 0.1f);
  I["wd"] = normal({8, 1, 3, 3}, rng, 0.5f);
  I["bd"] = normal({8}, rng, 0.1f);
  I["wp"] = normal({8, 8, 1, 1}, rng, 0.4f);
  I["bp"] = normal({8}, rng, 0.1f);
  I["wb"] = normal({4, 8, 1, 1}, rng, 0.4f);
  I["f1"] = normal({16, 12}, rng, 0.4f);
  I["c1"] = normal({16}, rng, 0.1f);
  I["f2"] = normal({16, 10}, rng, 0.4f);
  I["c2"] = normal({10}, rng, 0.1f);
  I["zero"] = Tensor::scalar<float>(0.f);
  I["six"] = Tensor::scalar<float>(6.f);
  g.nodes = {
      make_node("conv1", "Conv", {"x", "w1", "b1"}, {"a1"}, {{"pads", ints({1, 1, 1, 1})}}),
      make_node("relu1", "Relu", {"a1"}, {"r1"}),
      make_node("pool1", "MaxPool", {"r1"}, {"p1"}, {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}}),
      make_node("dw", "Conv", {"p1", "wd", "bd"}, {"a2"}, {{"pads", ints({1, 1, 1, 1})}, {"group", Attribute::of_int(8)}}),
      make_node("clip", "Clip", {"a2", "zero", "six"}, {"r2"}),
      make_node("pw", "Conv", {"r2", "wp", "bp"}, {"a3"}),
      make_node("add", "Add", {"a3", "p1"}, {"s"}),
      make_node("relu3", "Relu", {"s"}, {"r3"}),
      make_node("branch", "Conv", {"p1", "wb"}, {"a4"}),
      make_node("cat", "Concat", {"r3", "a4"}, {"cat"}, {{"axis", Attribute::of_int(1)}}),
      make_node("avg", "AveragePool", {"cat"}, {"avg"},
                {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}, {"count_include_pad", Attribute::of_int(0)}}),
      make_node("gap", "GlobalAveragePool", {"avg"}, {"gap"}),
      make_node("flat", "Flatten", {"gap"}, {"flat"}),
      make_node("fc1", "Gemm", {"flat", "f1", "c1"}, {"h"}, {{"transB", Attribute::of_int(1)}}),
      make_node("relu4", "Relu", {"h"}, {"r4"}),
      make_node("fc2", "Gemm", {"r4", "f2", "c2"}, {"y"}),
  };
  return g;
}

// x [N,3,6,6] → two Convs → Sub → Mul → LeakyRelu → PRelu → AveragePool (ceil_mode, count_include_pad) →
// Transpose → Relu → Sigmoid (float island) → Pad → Conv → Reshape → MatMul (constant right) → MatMul of
// two activations → Softmax (float island) → y; side outputs: ConvTranspose (u), MatMul with a constant
// left operand (v), the MatMul of activations (z).
inline Graph int_mix(std::mt19937& rng) {
  Graph g = empty_graph({1, 3, 6, 6});
  for (const char* o : {"y", "u", "v", "z"}) g.outputs.push_back({o, DType::Float32, std::nullopt});
  auto& I = g.initializers;
  I["wa"] = normal({4, 3, 3, 3}, rng, 0.4f);
  I["ba"] = normal({4}, rng, 0.1f);
  I["wb"] = normal({4, 3, 3, 3}, rng, 0.4f);
  I["slope"] = normal({4, 1, 1}, rng, 0.3f);
  I["wc"] = normal({3, 4, 3, 3}, rng, 0.3f);
  I["bc"] = normal({3}, rng, 0.1f);
  I["shape"] = Tensor::from_vector<int64_t>({3}, {0, 3, -1});
  I["wm"] = normal({9, 5}, rng, 0.4f);
  I["perm_w"] = normal({4, 3}, rng, 0.5f);
  I["wt"] = normal({4, 2, 2, 2}, rng, 0.4f);
  I["bt"] = normal({2}, rng, 0.1f);
  g.nodes = {
      make_node("ca", "Conv", {"x", "wa", "ba"}, {"ca"}, {{"pads", ints({1, 1, 1, 1})}}),
      make_node("cb", "Conv", {"x", "wb"}, {"cb"}, {{"pads", ints({1, 1, 1, 1})}}),
      make_node("sub", "Sub", {"ca", "cb"}, {"sub"}),
      make_node("mul", "Mul", {"sub", "ca"}, {"mul"}),
      make_node("leaky", "LeakyRelu", {"mul"}, {"leaky"}, {{"alpha", Attribute::of_float(0.1f)}}),
      make_node("prelu", "PRelu", {"leaky", "slope"}, {"prelu"}),
      make_node("avg", "AveragePool", {"prelu"}, {"avg"},
                {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"ceil_mode", Attribute::of_int(1)},
                 {"count_include_pad", Attribute::of_int(1)}}),
      make_node("tr", "Transpose", {"avg"}, {"tr"}, {{"perm", ints({0, 1, 3, 2})}}),
      make_node("relu", "Relu", {"tr"}, {"relu"}),
      make_node("sig", "Sigmoid", {"relu"}, {"sig"}),
      make_node("pad", "Pad", {"sig", "padv"}, {"pad"}),
      make_node("cc", "Conv", {"pad", "wc", "bc"}, {"cc"}, {{"pads", ints({0, 0, 0, 0})}}),
      make_node("rs", "Reshape", {"cc", "shape"}, {"rs"}),
      make_node("mm", "MatMul", {"rs", "wm"}, {"mm"}),
      make_node("mt", "Transpose", {"mm"}, {"mt"}, {{"perm", ints({0, 2, 1})}}),
      make_node("mm2", "MatMul", {"mm", "mt"}, {"z"}),
      make_node("soft", "Softmax", {"z"}, {"y"}, {{"axis", Attribute::of_int(-1)}}),
      make_node("convt", "ConvTranspose", {"prelu", "wt", "bt"}, {"u"}, {{"strides", ints({2, 2})}}),
      make_node("left", "MatMul", {"perm_w", "z"}, {"v"}),
  };
  I["padv"] = Tensor::from_vector<int64_t>({8}, {0, 0, 1, 1, 0, 0, 1, 1});
  return g;
}

// `n` random images [n, C, H, W] in roughly [-1, 1].
inline Tensor random_images(std::mt19937& rng, int64_t n, const Shape& chw) {
  Shape s = chw;
  s.insert(s.begin(), n);
  Tensor t(DType::Float32, s);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (auto& v : t.span<float>()) v = d(rng);
  return t;
}

struct Calibrated {
  QuantPlan plan;
  QuantPoints points;
};

inline Calibrated calibrate_on(const Graph& g, const Tensor& images, const CalibrationOptions& o) {
  NpyDataset ds(images);
  Calibrated c;
  c.plan = calibrate(g, *ds, o);
  c.points = quant_points_for(g, ds->sample_shape());
  return c;
}

// Per-tensor activation parameters spanning the whole range of storage type t (int16: symmetric).
inline QuantParams act_params(DType t, int32_t zp, float scale) {
  QuantParams p;
  p.scale = {scale};
  p.zero_point = {zp};
  p.axis = -1;
  switch (t) {
    case DType::Int8:
      p.qmin = -128;
      p.qmax = 127;
      break;
    case DType::UInt8:
      p.qmin = 0;
      p.qmax = 255;
      break;
    case DType::Int16:
      p.qmin = -32767;
      p.qmax = 32767;
      break;
    default:
      p.qmin = 0;
      p.qmax = 65535;
      break;
  }
  return p;
}

// The kernel paths of this machine: reference loops, portable, and AVX2 where the CPU has it.
inline std::vector<IntIsa> all_int_isas() {
  std::vector<IntIsa> r = {IntIsa::Reference, IntIsa::Portable};
  if (int_isa_available(IntIsa::Avx2)) r.push_back(IntIsa::Avx2);
  return r;
}

inline CalibrationOptions calibration_options(int wbits, int abits, bool per_channel, bool act_signed,
                                              int64_t count = 64, int64_t batch = 16) {
  CalibrationOptions o;
  o.weight_bits = wbits;
  o.act_bits = abits;
  o.per_channel = per_channel;
  o.act_signed = act_signed;
  o.calib_count = count;
  o.batch = batch;
  return o;
}

// Every output of the engine equals the simulation's, element for element, on every kernel path. `detail`
// maps node names to "packed" or "reference": the path each must report (the reference ISA always runs the
// reference loops).
inline void expect_engine_equals_sim(const Graph& g, const Calibrated& c, const Tensor& x,
                                     const std::string& what,
                                     const std::map<std::string, std::string>& detail = {}) {
  const SimulatedModel sim(g, c.plan, c.points);
  const std::vector<Tensor> ys = sim.run({x});
  for (IntIsa isa : all_int_isas()) {
    IntOptions o;
    o.isa = isa;
    const IntegerModel m(g, c.plan, c.points, o);
    for (const IntStepInfo& s : m.steps()) {
      auto it = detail.find(s.node);
      if (it == detail.end()) continue;
      const std::string want = isa == IntIsa::Reference || it->second != "packed"
                                   ? "reference (int64 accumulators)"
                                   : std::string("packed ") + int_isa_name(isa);
      EXPECT_EQ(s.detail, want) << what << ": node " << s.node;
    }
    const std::vector<Tensor> yi = m.run({x});
    ASSERT_EQ(yi.size(), ys.size());
    for (size_t k = 0; k < ys.size(); ++k) {
      ASSERT_EQ(yi[k].shape(), ys[k].shape()) << what << " output " << k;
      const float* a = yi[k].data<float>();
      const float* b = ys[k].data<float>();
      int64_t diff = 0;
      for (int64_t i = 0; i < ys[k].numel(); ++i) diff += a[i] != b[i];
      EXPECT_EQ(diff, 0) << what << " (" << int_isa_name(isa) << "): " << diff << " of " << ys[k].numel()
                         << " elements of output '" << g.outputs[k].name << "' differ";
    }
  }
}

}  // namespace qs::testing
