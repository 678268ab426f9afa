// Conv and ConvTranspose kernels against the plain-loop reference (core/ops/reference/conv_ref.h) over
// sweeps of channels, spatial sizes, kernels, strides, dilations, pads, auto_pad and groups (fixed seed).
// The expected output shapes and begin pads are computed here from the ONNX formulas, independently of
// the kernels' geometry code.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/common/parallel.h"
#include "core/ops/kernel.h"
#include "core/ops/reference/conv_ref.h"

namespace qs {
namespace {

struct ConvCase {
  bool transpose = false;
  int64_t N = 1, C = 1, M = 1, group = 1;
  std::vector<int64_t> in, kernel;
  std::vector<int64_t> strides, dilations, pads;  // empty: attribute omitted (defaults)
  std::string auto_pad;                           // empty: attribute omitted
  std::vector<int64_t> output_padding, output_shape;
  bool bias = true;
  bool constant_weight = true;
  bool kernel_shape_attr = false;

  std::string str() const {
    std::ostringstream o;
    auto v = [&](const char* n, const std::vector<int64_t>& x) {
      if (x.empty()) return;
      o << " " << n << "=[";
      for (size_t i = 0; i < x.size(); ++i) o << (i ? "," : "") << x[i];
      o << "]";
    };
    o << (transpose ? "ConvTranspose" : "Conv") << " N=" << N << " C=" << C << " M=" << M
      << " group=" << group;
    v("in", in);
    v("kernel", kernel);
    v("strides", strides);
    v("dilations", dilations);
    v("pads", pads);
    v("output_padding", output_padding);
    v("output_shape", output_shape);
    if (!auto_pad.empty()) o << " auto_pad=" << auto_pad;
    o << (bias ? " bias" : " no-bias") << (constant_weight ? " const-W" : " runtime-W");
    return o.str();
  }
};

Tensor random_tensor(const Shape& s, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(numel(s)));
  for (float& x : v) x = u(rng);
  return Tensor::from_vector<float>(s, v);
}

int64_t at(const std::vector<int64_t>& v, size_t i, int64_t def) { return v.empty() ? def : v[i]; }

// Output shape and begin pads per the ONNX spec, written out independently of core/ops/conv_geometry.
void expected_geometry(const ConvCase& c, Shape& y_shape, reference::ConvParams& p) {
  const size_t n = c.in.size();
  p.group = c.group;
  y_shape = {c.N, c.M};
  for (size_t i = 0; i < n; ++i) {
    const int64_t s = at(c.strides, i, 1), d = at(c.dilations, i, 1);
    const int64_t ek = (c.kernel[i] - 1) * d + 1;
    const bool same = c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER";
    const bool valid = c.auto_pad == "VALID";
    int64_t out = 0, pb = 0;
    if (!c.transpose) {
      if (same) {
        out = (c.in[i] + s - 1) / s;
        const int64_t total = std::max<int64_t>(0, (out - 1) * s + ek - c.in[i]);
        pb = c.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      } else {
        pb = valid ? 0 : at(c.pads, i, 0);
        const int64_t pe = valid ? 0 : at(c.pads, i + n, 0);
        out = (c.in[i] + pb + pe - ek) / s + 1;
      }
    } else {
      const int64_t op = at(c.output_padding, i, 0);
      const int64_t full = s * (c.in[i] - 1) + op + ek;
      if (!c.output_shape.empty() || same) {
        out = c.output_shape.empty() ? c.in[i] * s : c.output_shape[i];
        const int64_t total = full - out;
        pb = total <= 0 ? 0 : (c.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2);
      } else {
        pb = valid ? 0 : at(c.pads, i, 0);
        const int64_t pe = valid ? 0 : at(c.pads, i + n, 0);
        out = full - pb - pe;
      }
    }
    y_shape.push_back(out);
    p.strides.push_back(s);
    p.dilations.push_back(d);
    p.pad_begin.push_back(pb);
  }
}

Node make_node(const ConvCase& c) {
  Node node;
  node.name = "conv_under_test";
  node.op_type = c.transpose ? "ConvTranspose" : "Conv";
  node.inputs = {"X", "W"};
  if (c.bias) node.inputs.push_back("B");
  node.outputs = {"Y"};
  if (c.group != 1) node.attrs["group"] = Attribute::of_int(c.group);
  if (!c.strides.empty()) node.attrs["strides"] = Attribute::of_ints(c.strides);
  if (!c.dilations.empty()) node.attrs["dilations"] = Attribute::of_ints(c.dilations);
  if (!c.pads.empty()) node.attrs["pads"] = Attribute::of_ints(c.pads);
  if (!c.output_padding.empty()) node.attrs["output_padding"] = Attribute::of_ints(c.output_padding);
  if (!c.output_shape.empty()) node.attrs["output_shape"] = Attribute::of_ints(c.output_shape);
  if (c.kernel_shape_attr) node.attrs["kernel_shape"] = Attribute::of_ints(c.kernel);
  if (!c.auto_pad.empty()) {
    Attribute a;
    a.kind = Attribute::Kind::String;
    a.s = c.auto_pad;
    node.attrs["auto_pad"] = a;
  }
  return node;
}

// Creates the kernel (W and B constant when asked) and runs it once.
Tensor run_kernel(const Node& node, const Tensor& x, const Tensor& w, const Tensor* b, bool constant_weight,
                  int64_t opset = 13) {
  std::map<std::string, Tensor> constants;
  if (constant_weight) {
    constants["W"] = w;
    if (b) constants["B"] = *b;
  }
  KernelInit init{node, opset, [&](const std::string& name) -> const Tensor* {
                    auto it = constants.find(name);
                    return it == constants.end() ? nullptr : &it->second;
                  }};
  auto kernel = OpRegistry::instance().create(init);
  std::vector<const Tensor*> in{&x, &w};
  if (b) in.push_back(b);
  std::vector<Tensor> out(1);
  kernel->run(in, out);
  return out[0];
}

Shape weight_shape(const ConvCase& c) {
  Shape w = c.transpose ? Shape{c.C, c.M / c.group} : Shape{c.M, c.C / c.group};
  w.insert(w.end(), c.kernel.begin(), c.kernel.end());
  return w;
}

// Runs the case through the registry and compares with the reference; returns false on a mismatch.
void check_case(const ConvCase& c, std::mt19937& rng) {
  SCOPED_TRACE(c.str());
  Shape xs{c.N, c.C};
  xs.insert(xs.end(), c.in.begin(), c.in.end());
  const Tensor x = random_tensor(xs, rng), w = random_tensor(weight_shape(c), rng);
  const Tensor b = random_tensor({c.M}, rng);
  Shape y_shape;
  reference::ConvParams p;
  expected_geometry(c, y_shape, p);
  const Tensor* bp = c.bias ? &b : nullptr;
  const Tensor want =
      c.transpose ? reference::conv_transpose(x, w, bp, p, y_shape) : reference::conv(x, w, bp, p, y_shape);
  const Tensor got = run_kernel(make_node(c), x, w, bp, c.constant_weight);
  ASSERT_EQ(got.shape(), y_shape);
  const float* g = got.data<float>();
  const float* r = want.data<float>();
  for (int64_t i = 0; i < want.numel(); ++i)
    ASSERT_NEAR(g[i], r[i], 1e-4 * (1 + std::fabs(r[i]))) << "element " << i << " of " << shape_str(y_shape);
}

// Spatial extents of the padded input must hold the dilated kernel (Conv) for a case to be valid.
bool conv_fits(const ConvCase& c) {
  for (size_t i = 0; i < c.in.size(); ++i) {
    const int64_t ek = (c.kernel[i] - 1) * at(c.dilations, i, 1) + 1;
    if (c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER") continue;
    const int64_t pads = c.auto_pad == "VALID" ? 0 : at(c.pads, i, 0) + at(c.pads, i + c.in.size(), 0);
    if (c.in[i] + pads < ek) return false;
  }
  return true;
}

const std::vector<int64_t> kSizes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17, 31, 32, 33};

TEST(Conv, ChannelSweep2d) {
  std::mt19937 rng(1);
  for (int64_t C : kSizes)
    for (int64_t M : {1, 4, 17, 33}) {
      ConvCase c;
      c.N = 2;
      c.C = C;
      c.M = M;
      c.in = {7, 6};
      c.kernel = {3, 3};
      c.pads = {1, 1, 1, 1};
      c.bias = (C + M) % 2 == 0;
      check_case(c, rng);
    }
}

TEST(Conv, SpatialSweep2d) {
  std::mt19937 rng(2);
  for (int64_t H : kSizes)
    for (int64_t W : {1, 5, 16, 33}) {
      ConvCase c;
      c.C = 3;
      c.M = 5;
      c.in = {H, W};
      c.kernel = {3, 2};
      c.pads = {1, 0, 1, 1};
      c.strides = {1 + H % 3, 1 + W % 2};
      check_case(c, rng);
    }
}

TEST(Conv, KernelStrideDilationPadSweep2d) {
  std::mt19937 rng(3);
  const std::vector<std::vector<int64_t>> pad_sets = {{0, 0, 0, 0}, {1, 1, 1, 1}, {2, 0, 1, 3}, {0, 2, 3, 1}};
  for (int64_t k : {1, 2, 3, 5})
    for (int64_t s : {1, 2, 3})
      for (int64_t d : {1, 2})
        for (const auto& pads : pad_sets) {
          ConvCase c;
          c.N = 2;
          c.C = 4;
          c.M = 6;
          c.in = {9, 11};
          c.kernel = {k, k == 1 ? 1 : k - 1};
          c.strides = {s, s == 3 ? 1 : s + 1};
          c.dilations = {d, 3 - d};
          c.pads = pads;
          c.kernel_shape_attr = s == 2;
          if (conv_fits(c)) check_case(c, rng);
        }
}

TEST(Conv, AutoPadModes) {
  std::mt19937 rng(4);
  for (const char* mode : {"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"})
    for (int64_t k : {1, 2, 3, 4})
      for (int64_t s : {1, 2, 3})
        for (int64_t d : {1, 2})
          for (int64_t in : {5, 8}) {
            ConvCase c;
            c.C = 2;
            c.M = 3;
            c.in = {in, in + 1};
            c.kernel = {k, k};
            c.strides = {s, s};
            c.dilations = {d, d};
            c.auto_pad = mode;
            if (conv_fits(c)) check_case(c, rng);
          }
}

TEST(Conv, GroupsAndDepthwise) {
  std::mt19937 rng(5);
  struct G {
    int64_t C, M, group;
  };
  // Grouped, depthwise (group == C == M), depthwise with multiplier, and a single input channel.
  for (const G& g : std::vector<G>{{4, 6, 2},
                                   {6, 6, 3},
                                   {8, 4, 4},
                                   {9, 12, 3},
                                   {1, 5, 1},
                                   {3, 3, 3},
                                   {16, 16, 16},
                                   {17, 17, 17},
                                   {32, 32, 32},
                                   {5, 10, 5},
                                   {4, 12, 4}})
    for (int64_t s : {1, 2, 3})
      for (int64_t d : {1, 2})
        for (int64_t k : {1, 3, 5}) {
          ConvCase c;
          c.N = 2;
          c.C = g.C;
          c.M = g.M;
          c.group = g.group;
          c.in = {10, 9};
          c.kernel = {k, k};
          c.strides = {s, s};
          c.dilations = {d, d};
          c.pads = {k / 2, k / 2 + 1, k / 2, 0};
          c.bias = s != 2;
          c.constant_weight = d == 1;
          if (conv_fits(c)) check_case(c, rng);
        }
}

TEST(Conv, Conv1dAnd3d) {
  std::mt19937 rng(6);
  for (int64_t in : {1, 4, 9, 16, 17})
    for (int64_t s : {1, 2})
      for (int64_t group : {1, 2}) {
        ConvCase c;
        c.N = 2;
        c.C = 4;
        c.M = 6;
        c.group = group;
        c.in = {in};
        c.kernel = {3};
        c.strides = {s};
        c.dilations = {1 + in % 2};
        c.pads = {1, 2};
        if (conv_fits(c)) check_case(c, rng);
        ConvCase c3 = c;
        c3.in = {in, 5, 4};
        c3.kernel = {3, 2, 1};
        c3.strides = {s, 1, 2};
        c3.dilations = {1, 2, 1};
        c3.pads = {1, 0, 0, 1, 1, 1};
        if (conv_fits(c3)) check_case(c3, rng);
      }
  ConvCase same3;
  same3.C = 3;
  same3.M = 2;
  same3.in = {5, 6, 7};
  same3.kernel = {2, 3, 3};
  same3.strides = {2, 1, 3};
  same3.auto_pad = "SAME_LOWER";
  check_case(same3, rng);
}

TEST(Conv, PointwiseAndLargeTiledShapes) {
  std::mt19937 rng(7);
  // 1x1 stride 1 (columns are X itself), 1x1 stride 2, and shapes large enough to split each image into
  // several column and channel tiles.
  for (auto [C, M, H, k, s, p] : std::vector<std::array<int64_t, 6>>{{16, 64, 28, 1, 1, 0},
                                                                     {64, 24, 14, 1, 1, 0},
                                                                     {20, 40, 28, 1, 2, 0},
                                                                     {32, 48, 28, 3, 1, 1},
                                                                     {80, 80, 7, 3, 1, 1},
                                                                     {40, 80, 14, 3, 2, 1},
                                                                     {64, 40, 7, 1, 1, 0},
                                                                     {48, 256, 7, 1, 1, 0}}) {
    ConvCase c;
    c.N = 2;
    c.C = C;
    c.M = M;
    c.in = {H, H};
    c.kernel = {k, k};
    c.strides = {s, s};
    c.pads = {p, p, p, p};
    check_case(c, rng);
  }
}

TEST(Conv, DepthwiseAndGroupedEdgeShapes) {
  std::mt19937 rng(13);
  // Planes of width or height 1 and strides larger than the plane: the phase layout's corner cases.
  for (auto [H, W] : std::vector<std::array<int64_t, 2>>{{1, 1}, {5, 1}, {1, 7}, {2, 3}, {7, 7}})
    for (int64_t s : {1, 2, 3})
      for (int64_t k : {1, 2, 3})
        for (int64_t group : {1, 4}) {
          ConvCase c;
          c.N = 2;
          c.C = 4;
          c.M = 8;
          c.group = group;
          c.in = {H, W};
          c.kernel = {k, k};
          c.strides = {s, 3 - s % 3};
          c.pads = {k / 2, k - 1, k - 1, k / 2};
          if (conv_fits(c)) check_case(c, rng);
        }
}

// Convolutions exercising every path: direct depthwise (flat, with a multiplier, and channel-interleaved
// for stride 2 on narrow planes), the GEMM
// path over phase planes (3x3, strided, 1-D), pointwise through Eigen's GEMM (7x7 planes) and through the
// phase planes (28x28), grouped, and the generic path (3-D).
std::vector<ConvCase> path_cases() {
  std::vector<ConvCase> cases;
  auto add = [&](int64_t C, int64_t M, int64_t group, std::vector<int64_t> in, std::vector<int64_t> k,
                 std::vector<int64_t> s, std::vector<int64_t> p) {
    ConvCase c;
    c.N = 3;
    c.C = C;
    c.M = M;
    c.group = group;
    c.in = std::move(in);
    c.kernel = std::move(k);
    c.strides = std::move(s);
    c.pads = std::move(p);
    cases.push_back(c);
  };
  add(32, 48, 1, {28, 28}, {3, 3}, {1, 1}, {1, 1, 1, 1});
  add(80, 80, 1, {7, 7}, {3, 3}, {1, 1}, {1, 1, 1, 1});
  add(40, 80, 1, {14, 14}, {3, 3}, {2, 2}, {1, 1, 1, 1});
  add(64, 64, 64, {14, 14}, {3, 3}, {1, 1}, {1, 1, 1, 1});
  add(16, 32, 16, {28, 28}, {3, 3}, {2, 2}, {1, 1, 1, 1});
  add(20, 20, 20, {14, 13}, {3, 3}, {2, 2}, {1, 1, 1, 1});
  add(64, 256, 1, {7, 7}, {1, 1}, {1, 1}, {0, 0, 0, 0});
  add(16, 64, 1, {28, 28}, {1, 1}, {1, 1}, {0, 0, 0, 0});
  add(24, 36, 3, {9, 11}, {3, 1}, {1, 2}, {1, 0, 1, 0});
  add(8, 12, 1, {50}, {5}, {2}, {2, 2});
  add(6, 10, 2, {6, 7, 8}, {3, 3, 3}, {1, 2, 1}, {1, 1, 1, 1, 1, 1});
  return cases;
}

TEST(Conv, ResultsDoNotDependOnThreadCount) {
  std::mt19937 rng(8);
  const int saved = num_threads();
  for (const ConvCase& c : path_cases()) {
    Shape xs{c.N, c.C};
    xs.insert(xs.end(), c.in.begin(), c.in.end());
    const Tensor x = random_tensor(xs, rng), w = random_tensor(weight_shape(c), rng),
                 b = random_tensor({c.M}, rng);
    set_num_threads(1);
    const Tensor one = run_kernel(make_node(c), x, w, &b, true);
    set_num_threads(2);
    const Tensor two = run_kernel(make_node(c), x, w, &b, true);
    set_num_threads(3);
    const Tensor three = run_kernel(make_node(c), x, w, &b, false);
    set_num_threads(saved);
    EXPECT_EQ(one.to_vector<float>(), two.to_vector<float>()) << c.str();
    EXPECT_EQ(one.to_vector<float>(), three.to_vector<float>()) << c.str();
  }
}

// An image's output is bit-identical whether it is run alone or within a batch: work items group output
// positions differently, but every position is computed the same way.
TEST(Conv, ResultsDoNotDependOnBatchSize) {
  std::mt19937 rng(14);
  for (const ConvCase& c : path_cases()) {
    Shape xs{c.N, c.C};
    xs.insert(xs.end(), c.in.begin(), c.in.end());
    const Tensor x = random_tensor(xs, rng), w = random_tensor(weight_shape(c), rng),
                 b = random_tensor({c.M}, rng);
    const Tensor batch = run_kernel(make_node(c), x, w, &b, true);
    const int64_t in_size = x.numel() / c.N, out_size = batch.numel() / c.N;
    for (int64_t n = 0; n < c.N; ++n) {
      Shape one_shape = xs;
      one_shape[0] = 1;
      std::vector<float> img(x.data<float>() + n * in_size, x.data<float>() + (n + 1) * in_size);
      const Tensor alone = run_kernel(make_node(c), Tensor::from_vector<float>(one_shape, img), w, &b, true);
      const std::vector<float> want(batch.data<float>() + n * out_size,
                                    batch.data<float>() + (n + 1) * out_size);
      EXPECT_EQ(alone.to_vector<float>(), want) << c.str() << " image " << n;
    }
  }
}

TEST(ConvTranspose, Sweep2d) {
  std::mt19937 rng(9);
  for (int64_t C : {1, 2, 3, 5, 8, 16, 17})
    for (int64_t s : {1, 2, 3})
      for (int64_t d : {1, 2})
        for (int64_t k : {1, 2, 3}) {
          ConvCase c;
          c.transpose = true;
          c.N = 2;
          c.C = C;
          c.M = 1 + (C * 3 + k) % 7;
          c.in = {4 + C % 3, 5};
          c.kernel = {k, k == 1 ? 2 : k - 1};
          c.strides = {s, 1 + s % 2};
          c.dilations = {d, 1};
          c.pads = {0, 1, std::min<int64_t>(1, k - 1), 0};
          c.output_padding = {s - 1, 0};
          c.bias = k != 2;
          c.constant_weight = C % 2 == 0;
          check_case(c, rng);
        }
}

TEST(ConvTranspose, GroupsOutputShapeAutoPad1d3d) {
  std::mt19937 rng(10);
  for (int64_t group : {1, 2, 3}) {
    ConvCase c;
    c.transpose = true;
    c.N = 2;
    c.C = 6;
    c.M = 3 * group;
    c.group = group;
    c.in = {5, 4};
    c.kernel = {3, 3};
    c.strides = {2, 3};
    check_case(c, rng);
    for (const char* mode : {"SAME_UPPER", "SAME_LOWER", "VALID"}) {
      ConvCase a = c;
      a.auto_pad = mode;
      check_case(a, rng);
    }
    ConvCase o = c;  // output_shape: exact, smaller (cropped) and one larger than the natural extent
    for (auto os : std::vector<std::vector<int64_t>>{{11, 12}, {10, 10}, {12, 13}}) {
      o.output_shape = os;
      check_case(o, rng);
    }
    ConvCase one = c;
    one.in = {7};
    one.kernel = {4};
    one.strides = {3};
    one.dilations = {2};
    one.pads = {2, 1};
    one.output_padding = {1};
    check_case(one, rng);
    ConvCase three = c;
    three.in = {3, 4, 2};
    three.kernel = {2, 3, 2};
    three.strides = {2, 1, 2};
    three.pads = {0, 1, 0, 1, 0, 1};
    check_case(three, rng);
  }
  ConvCase big;  // several output-channel chunks per image
  big.transpose = true;
  big.C = 32;
  big.M = 48;
  big.in = {14, 14};
  big.kernel = {3, 3};
  big.strides = {2, 2};
  big.pads = {1, 1, 1, 1};
  big.output_padding = {1, 1};
  check_case(big, rng);
}

// Expects `f` to throw an Error whose message contains every string of `parts`.
template <typename F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST(Conv, InvalidShapesAreReported) {
  std::mt19937 rng(11);
  ConvCase c;
  c.C = 3;
  c.M = 4;
  c.in = {5, 5};
  c.kernel = {3, 3};
  const Tensor b = random_tensor({4}, rng);
  // X has 3 channels, W expects 2.
  expect_error(
      [&] {
        run_kernel(make_node(c), random_tensor({1, 3, 5, 5}, rng), random_tensor({4, 2, 3, 3}, rng), &b,
                   false);
      },
      {"3 channels", "[4, 2, 3, 3]"});
  // Group 2 does not divide the 3 input channels.
  ConvCase g = c;
  g.group = 2;
  expect_error(
      [&] {
        run_kernel(make_node(g), random_tensor({1, 3, 5, 5}, rng), random_tensor({4, 1, 3, 3}, rng), &b,
                   false);
      },
      {"not divisible by group 2"});
  // Constant W whose 4 output channels group 3 cannot divide: refused when the kernel is created.
  ConvCase g3 = c;
  g3.group = 3;
  expect_error(
      [&] {
        run_kernel(make_node(g3), random_tensor({1, 3, 5, 5}, rng), random_tensor({4, 1, 3, 3}, rng), &b,
                   true);
      },
      {"conv_under_test", "not divisible by group 3"});
  // kernel_shape disagreeing with W.
  ConvCase ks = c;
  ks.kernel_shape_attr = true;
  Node kn = make_node(ks);
  kn.attrs["kernel_shape"] = Attribute::of_ints({2, 2});
  expect_error(
      [&] {
        run_kernel(kn, random_tensor({1, 3, 5, 5}, rng), random_tensor({4, 3, 3, 3}, rng), &b, false);
      },
      {"kernel_shape [2, 2]"});
  // Bias of the wrong length, rank mismatch, window larger than the input.
  const Tensor b5 = random_tensor({5}, rng);
  expect_error(
      [&] {
        run_kernel(make_node(c), random_tensor({1, 3, 5, 5}, rng), random_tensor({4, 3, 3, 3}, rng), &b5,
                   false);
      },
      {"bias B has shape [5]"});
  expect_error(
      [&] {
        run_kernel(make_node(c), random_tensor({1, 3, 5}, rng), random_tensor({4, 3, 3, 3}, rng), &b, false);
      },
      {"rank 3", "rank 4"});
  expect_error(
      [&] {
        run_kernel(make_node(c), random_tensor({1, 3, 2, 5}, rng), random_tensor({4, 3, 3, 3}, rng), &b,
                   false);
      },
      {"larger than the padded input"});
  // ConvTranspose: W's first axis must equal X's channels.
  ConvCase t = c;
  t.transpose = true;
  expect_error(
      [&] {
        run_kernel(make_node(t), random_tensor({1, 3, 5, 5}, rng), random_tensor({2, 4, 3, 3}, rng), &b,
                   false);
      },
      {"3 channels", "[2, 4, 3, 3]"});
}

TEST(Conv, OnlyFloat32IsComputed) {
  ConvCase c;
  c.in = {3, 3};
  c.kernel = {1, 1};
  c.bias = false;
  const Tensor x = Tensor::zeros(DType::Float64, {1, 1, 3, 3}),
               w = Tensor::zeros(DType::Float64, {1, 1, 1, 1});
  EXPECT_THROW(run_kernel(make_node(c), x, w, nullptr, false), UnsupportedError);
}

TEST(Conv, RefusesInconsistentAttributesAtCreation) {
  ConvCase c;
  c.in = {5, 5};
  c.kernel = {3, 3};
  Node n = make_node(c);
  n.attrs["strides"] = Attribute::of_ints({1, 1, 1});  // 3 axes vs W's 2
  std::mt19937 rng(12);
  const Tensor w = random_tensor({1, 1, 3, 3}, rng), b = random_tensor({1}, rng);
  expect_error(
      [&] {
        run_kernel(n, random_tensor({1, 1, 5, 5}, rng), w, &b, true);
      },
      {"conv_under_test", "strides"});
  ConvCase t = c;
  t.transpose = true;
  t.strides = {2, 2};
  t.output_padding = {2, 0};  // must be < stride or dilation
  expect_error(
      [&] {
        run_kernel(make_node(t), random_tensor({1, 1, 5, 5}, rng), w, &b, true);
      },
      {"output_padding"});
}

}  // namespace
}  // namespace qs
