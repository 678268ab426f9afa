// RepVGG block detection, re-parameterization, statistics and verdicts on synthetic blocks built here.
// References are independent of core/algo/repvgg: branch outputs come from the plain-loop reference conv
// (core/ops/reference) and BN/add/ReLU loops written below; statistics are computed directly from those.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>

#include "core/algo/repvgg/block.h"
#include "core/algo/repvgg/diagnose.h"
#include "core/algo/repvgg/export.h"
#include "core/algo/repvgg/fuse.h"
#include "core/common/error.h"
#include "core/data/dataset.h"
#include "core/data/npy.h"
#include "core/onnx/import.h"
#include "core/onnx/save.h"
#include "core/ops/reference/conv_ref.h"
#include "core/runtime/executor.h"

namespace qs {
namespace {

namespace fs = std::filesystem;
using repvgg::Block;
using repvgg::BlockReport;

Tensor randn(const Shape& s, float std, std::mt19937& r) {
  std::normal_distribution<float> d(0.f, std);
  Tensor t(DType::Float32, s);
  for (float& v : t.span<float>()) v = d(r);
  return t;
}
Tensor filled(const Shape& s, float v) {
  Tensor t(DType::Float32, s);
  for (float& x : t.span<float>()) x = v;
  return t;
}
Tensor uniform(const Shape& s, float lo, float hi, std::mt19937& r) {
  std::uniform_real_distribution<float> d(lo, hi);
  Tensor t(DType::Float32, s);
  for (float& v : t.span<float>()) v = d(r);
  return t;
}

struct BnParams {
  Tensor gamma, beta, mean, var;
  float eps = 1e-5f;
};
BnParams random_bn(int64_t c, std::mt19937& r) {
  return {uniform({c}, 0.5f, 1.5f, r), randn({c}, 0.2f, r), randn({c}, 0.2f, r), uniform({c}, 0.5f, 2.f, r)};
}
// γ = a, β = 0, μ = 0, σ² = 1 − ε: exactly y = a·x (up to float rounding of √1).
BnParams scale_bn(int64_t c, float a) {
  BnParams p{filled({c}, a), filled({c}, 0.f), filled({c}, 0.f), filled({c}, 1.f - 1e-5f)};
  return p;
}

// ---- graph building ----
struct Builder {
  Graph g;
  int counter = 0;
  Builder(int64_t c, int64_t h, int64_t w) {
    g.name = "repvgg_test";  // ONNX's checker requires a graph name
    g.opset = 13;
    g.opset_imports[""] = 13;
    g.inputs.push_back(
        ValueInfo{"x", DType::Float32, std::vector<Dim>{Dim{-1, "N"}, Dim{c, ""}, Dim{h, ""}, Dim{w, ""}}});
  }
  std::string fresh(const std::string& base) { return base + "_" + std::to_string(counter++); }
  std::string conv(const std::string& in, const Tensor& w, const std::optional<Tensor>& b, int64_t stride,
                   int64_t pad, int64_t group) {
    Node n;
    n.name = fresh("conv");
    n.op_type = "Conv";
    g.initializers[n.name + ".w"] = w;
    n.inputs = {in, n.name + ".w"};
    if (b) {
      g.initializers[n.name + ".b"] = *b;
      n.inputs.push_back(n.name + ".b");
    }
    n.outputs = {n.name + ".y"};
    n.attrs["kernel_shape"] = Attribute::of_ints({w.dim(2), w.dim(3)});
    n.attrs["strides"] = Attribute::of_ints({stride, stride});
    n.attrs["pads"] = Attribute::of_ints({pad, pad, pad, pad});
    n.attrs["group"] = Attribute::of_int(group);
    g.nodes.push_back(n);
    return n.outputs[0];
  }
  std::string bn(const std::string& in, const BnParams& p) {
    Node n;
    n.name = fresh("bn");
    n.op_type = "BatchNormalization";
    const char* names[] = {".gamma", ".beta", ".mean", ".var"};
    const Tensor* ts[] = {&p.gamma, &p.beta, &p.mean, &p.var};
    n.inputs = {in};
    for (int k = 0; k < 4; ++k) {
      g.initializers[n.name + names[k]] = *ts[k];
      n.inputs.push_back(n.name + names[k]);
    }
    n.outputs = {n.name + ".y"};
    n.attrs["epsilon"] = Attribute::of_float(p.eps);
    g.nodes.push_back(n);
    return n.outputs[0];
  }
  std::string op(const std::string& type, const std::vector<std::string>& ins) {
    Node n;
    n.name = fresh(type);
    n.op_type = type;
    n.inputs = ins;
    n.outputs = {n.name + ".y"};
    g.nodes.push_back(n);
    return n.outputs[0];
  }
  void output(const std::string& v) { g.outputs.push_back(ValueInfo{v, DType::Float32, std::nullopt}); }
};

// ---- reference semantics (plain loops) ----
Tensor ref_conv(const Tensor& x, const Tensor& w, const Tensor* b, int64_t stride, int64_t pad,
                int64_t group) {
  reference::ConvParams p;
  p.group = group;
  p.strides = {stride, stride};
  p.dilations = {1, 1};
  p.pad_begin = {pad, pad};
  const int64_t oh = (x.dim(2) + 2 * pad - w.dim(2)) / stride + 1,
                ow = (x.dim(3) + 2 * pad - w.dim(3)) / stride + 1;
  return reference::conv(x, w, b, p, {x.dim(0), w.dim(0), oh, ow});
}
Tensor ref_bn(const Tensor& x, const BnParams& p) {
  Tensor y(DType::Float32, x.shape());
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.numel() / (n * c);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < c; ++k)
      for (int64_t j = 0; j < hw; ++j) {
        const int64_t e = (i * c + k) * hw + j;
        const double v = (static_cast<double>(x.data<float>()[e]) - p.mean.data<float>()[k]) /
                             std::sqrt(static_cast<double>(p.var.data<float>()[k]) + p.eps) *
                             p.gamma.data<float>()[k] +
                         p.beta.data<float>()[k];
        y.data<float>()[e] = static_cast<float>(v);
      }
  return y;
}
Tensor ref_add(const Tensor& a, const Tensor& b) {
  Tensor y(DType::Float32, a.shape());
  for (int64_t i = 0; i < a.numel(); ++i) y.data<float>()[i] = a.data<float>()[i] + b.data<float>()[i];
  return y;
}
double rel_err(const Tensor& ref, const Tensor& got) {
  EXPECT_EQ(ref.shape(), got.shape());
  double d = 0, m = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    d = std::max(d, std::fabs(static_cast<double>(ref.data<float>()[i]) - got.data<float>()[i]));
    m = std::max(m, std::fabs(static_cast<double>(ref.data<float>()[i])));
  }
  return d / m;
}
struct Stat {
  double mean = 0, std = 0, max_abs = 0;
};
Stat stat_of(const Tensor& t) {
  double s = 0, s2 = 0, m = 0;
  for (float v : t.span<float>()) {
    s += v;
    s2 += static_cast<double>(v) * v;
    m = std::max(m, std::fabs(static_cast<double>(v)));
  }
  const double n = static_cast<double>(t.numel());
  return {s / n, std::sqrt(s2 / n - (s / n) * (s / n)), m};
}

// ---- a configurable block, with its reference forward ----
struct Spec {
  int64_t cin = 8, cout = 8, stride = 1, group = 1;
  bool bn3 = true;       // BN after the 3×3 (else the conv has a bias: "folded")
  bool one = true;       // 1×1 branch
  bool bn1 = true;       // BN after the 1×1
  bool bias1 = false;    // 1×1 conv bias
  bool identity = true;  // identity branch (only when cin == cout and stride 1)
  bool id_bn = true;     // BN on the identity branch
  bool post_bn = false;  // BN after the sum (QARepVGG)
  bool relu = true;
  float w_std = 0.3f;
};
struct BlockParams {
  Spec s;
  Tensor w3, b3, w1, b1;
  BnParams bn3, bn1, idbn, post;
};
BlockParams random_params(const Spec& s, std::mt19937& r) {
  BlockParams p;
  p.s = s;
  p.w3 = randn({s.cout, s.cin / s.group, 3, 3}, s.w_std, r);
  p.b3 = randn({s.cout}, 0.1f, r);
  p.w1 = randn({s.cout, s.cin / s.group, 1, 1}, s.w_std, r);
  p.b1 = randn({s.cout}, 0.1f, r);
  p.bn3 = random_bn(s.cout, r);
  p.bn1 = random_bn(s.cout, r);
  p.idbn = random_bn(s.cout, r);
  p.post = random_bn(s.cout, r);
  return p;
}
// Adds the block to `b` reading `in`; returns its last value (the ReLU's output when s.relu).
std::string add_block(Builder& b, const std::string& in, const BlockParams& p) {
  const Spec& s = p.s;
  std::string y3 = b.conv(in, p.w3, s.bn3 ? std::nullopt : std::optional<Tensor>(p.b3), s.stride, 1, s.group);
  if (s.bn3) y3 = b.bn(y3, p.bn3);
  std::string sum = y3;
  if (s.one) {
    std::string y1 =
        b.conv(in, p.w1, s.bias1 ? std::optional<Tensor>(p.b1) : std::nullopt, s.stride, 0, s.group);
    if (s.bn1) y1 = b.bn(y1, p.bn1);
    sum = b.op("Add", {sum, y1});
  }
  if (s.identity) sum = b.op("Add", {sum, s.id_bn ? b.bn(in, p.idbn) : in});
  if (s.post_bn) sum = b.bn(sum, p.post);
  return s.relu ? b.op("Relu", {sum}) : sum;
}
// The block's output before the activation, from the reference ops; `branches` receives each branch output.
Tensor ref_block(const Tensor& x, const BlockParams& p, std::vector<Tensor>* branches = nullptr) {
  const Spec& s = p.s;
  Tensor y3 = ref_conv(x, p.w3, s.bn3 ? nullptr : &p.b3, s.stride, 1, s.group);
  if (s.bn3) y3 = ref_bn(y3, p.bn3);
  std::vector<Tensor> br{y3};
  if (s.one) {
    Tensor y1 = ref_conv(x, p.w1, s.bias1 ? &p.b1 : nullptr, s.stride, 0, s.group);
    if (s.bn1) y1 = ref_bn(y1, p.bn1);
    br.push_back(y1);
  }
  if (s.identity) br.push_back(s.id_bn ? ref_bn(x, p.idbn) : x);
  Tensor sum = br[0];
  for (size_t i = 1; i < br.size(); ++i) sum = ref_add(sum, br[i]);
  if (s.post_bn) sum = ref_bn(sum, p.post);
  if (branches) *branches = br;
  return sum;
}
Tensor relu(const Tensor& t) {
  Tensor y = t.clone();
  for (float& v : y.span<float>()) v = std::max(v, 0.f);
  return y;
}

Builder single_block(const BlockParams& p, int64_t hw = 7) {
  Builder b(p.s.cin, hw, hw);
  b.output(add_block(b, "x", p));
  return b;
}

// ---- temporary files and data ----
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("qs_repvgg_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};
std::unique_ptr<Dataset> dataset_of(const Tensor& x, const TempDir& d) {
  const std::string p = d.file("data.npy");
  write_npy(p, x);
  DataConfig c;
  c.images = p;
  c.npy_layout = NpyLayout::kNCHW;
  return open_dataset(c);
}

// ======================= detection =======================

TEST(RepvggDetect, TrainingFormWithEveryBranchBn) {
  std::mt19937 r(1);
  const auto p = random_params(Spec{}, r);
  Builder b = single_block(p);
  const auto d = repvgg::detect_blocks(b.g);
  ASSERT_EQ(d.blocks.size(), 1u);
  const Block& k = d.blocks[0];
  EXPECT_EQ(k.structure(), "3x3+BN, 1x1+BN, identity+BN");
  EXPECT_EQ(k.variant(), "RepVGG");
  EXPECT_FALSE(k.bn_folded());
  EXPECT_EQ(k.input, "x");
  EXPECT_EQ(k.activation_op, "Relu");
  EXPECT_EQ(k.activation, b.g.outputs[0].name);
  EXPECT_EQ(k.out_channels, 8);
  EXPECT_EQ(k.group, 1);
  EXPECT_EQ(k.replaced_nodes(b.g).size(), 7u);  // 2 convs, 3 BNs, 2 adds
  EXPECT_TRUE(d.skipped.empty());
}

TEST(RepvggDetect, DownsampleBlockHasNoIdentity) {
  std::mt19937 r(2);
  Spec s;
  s.cin = 4;
  s.cout = 8;
  s.stride = 2;
  s.identity = false;
  const auto d = repvgg::detect_blocks(single_block(random_params(s, r), 8).g);
  ASSERT_EQ(d.blocks.size(), 1u);
  EXPECT_EQ(d.blocks[0].structure(), "3x3+BN, 1x1+BN");
  EXPECT_FALSE(d.blocks[0].has_identity());
  EXPECT_EQ(d.blocks[0].strides, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(d.blocks[0].in_channels, 4);
}

TEST(RepvggDetect, QaRepvggBnFreeBranchesAndPostSumBn) {
  std::mt19937 r(3);
  Spec s;
  s.bn1 = false;
  s.id_bn = false;
  s.post_bn = true;
  Builder b = single_block(random_params(s, r));
  const auto d = repvgg::detect_blocks(b.g);
  ASSERT_EQ(d.blocks.size(), 1u);
  EXPECT_EQ(d.blocks[0].structure(), "3x3+BN, 1x1, identity, post-sum BN");
  EXPECT_EQ(d.blocks[0].variant(), "QARepVGG");
  EXPECT_FALSE(d.blocks[0].post_bn.empty());
  EXPECT_NE(d.blocks[0].output, d.blocks[0].sum);
}

TEST(RepvggDetect, BnFoldedByTheExporter) {
  std::mt19937 r(4);
  Spec s;
  s.bn3 = false;
  s.bn1 = false;
  s.bias1 = true;
  const auto d = repvgg::detect_blocks(single_block(random_params(s, r)).g);
  ASSERT_EQ(d.blocks.size(), 1u);
  EXPECT_EQ(d.blocks[0].structure(), "3x3(bias), 1x1(bias), identity+BN");
  EXPECT_TRUE(d.blocks[0].bn_folded());
}

TEST(RepvggDetect, GroupedBlock) {
  std::mt19937 r(5);
  Spec s;
  s.group = 4;
  const auto d = repvgg::detect_blocks(single_block(random_params(s, r)).g);
  ASSERT_EQ(d.blocks.size(), 1u);
  EXPECT_EQ(d.blocks[0].group, 4);
}

TEST(RepvggDetect, ChainOfBlocks) {
  std::mt19937 r(6);
  Spec down;
  down.cin = 3;
  down.stride = 2;
  down.identity = false;
  Spec qa;
  qa.bn1 = qa.id_bn = false;
  qa.post_bn = true;
  Builder b(3, 8, 8);
  std::string v = add_block(b, "x", random_params(down, r));
  const std::string a1 = v;
  v = add_block(b, v, random_params(Spec{}, r));
  v = add_block(b, v, random_params(qa, r));
  b.output(v);
  const auto d = repvgg::detect_blocks(b.g);
  ASSERT_EQ(d.blocks.size(), 3u);
  EXPECT_EQ(d.blocks[0].input, "x");
  EXPECT_EQ(d.blocks[1].input, a1);
  EXPECT_EQ(d.blocks[2].input, d.blocks[1].activation);
  EXPECT_EQ(d.blocks[2].variant(), "QARepVGG");
}

TEST(RepvggDetect, ResNetBlocksAreNotReparameterizable) {
  std::mt19937 r(7);
  Builder b(8, 6, 6);
  // Basic block: relu(bn(conv(relu(bn(conv x)))) + x): the summed conv does not read x.
  std::string y =
      b.op("Relu", {b.bn(b.conv("x", randn({8, 8, 3, 3}, 0.3f, r), std::nullopt, 1, 1, 1), random_bn(8, r))});
  y = b.bn(b.conv(y, randn({8, 8, 3, 3}, 0.3f, r), std::nullopt, 1, 1, 1), random_bn(8, r));
  const std::string out1 = b.op("Relu", {b.op("Add", {y, "x"})});
  // Downsample block: the 3×3 reads a ReLU output, the 1×1 shortcut reads the block input.
  std::string z = b.op(
      "Relu", {b.bn(b.conv(out1, randn({8, 8, 3, 3}, 0.3f, r), std::nullopt, 1, 1, 1), random_bn(8, r))});
  z = b.bn(b.conv(z, randn({8, 8, 3, 3}, 0.3f, r), std::nullopt, 1, 1, 1), random_bn(8, r));
  const std::string sc =
      b.bn(b.conv(out1, randn({8, 8, 1, 1}, 0.3f, r), std::nullopt, 1, 0, 1), random_bn(8, r));
  b.output(b.op("Relu", {b.op("Add", {z, sc})}));
  const auto d = repvgg::detect_blocks(b.g);
  EXPECT_TRUE(d.blocks.empty());
  EXPECT_TRUE(d.skipped.empty());
}

TEST(RepvggDetect, BranchUsedOutsideTheBlockIsSkippedWithTheReason) {
  std::mt19937 r(8);
  Builder b = single_block(random_params(Spec{}, r));
  // Expose the 1×1 branch's BN output (bn_3.y in build order) as a second graph output.
  std::string one_bn;
  for (const auto& n : b.g.nodes)
    if (n.op_type == "BatchNormalization" &&
        b.g.nodes[static_cast<size_t>(b.g.producer(n.inputs[0]))].op_type == "Conv" &&
        b.g.initializer(b.g.nodes[static_cast<size_t>(b.g.producer(n.inputs[0]))].inputs[1])->dim(2) == 1)
      one_bn = n.outputs[0];
  ASSERT_FALSE(one_bn.empty());
  b.output(one_bn);
  const auto d = repvgg::detect_blocks(b.g);
  EXPECT_TRUE(d.blocks.empty());
  ASSERT_EQ(d.skipped.size(), 1u);
  EXPECT_NE(d.skipped[0].reason.find(one_bn), std::string::npos) << d.skipped[0].reason;
}

TEST(RepvggDetect, GroupMismatchIsSkipped) {
  std::mt19937 r(9);
  Builder b(8, 6, 6);
  const std::string y3 =
      b.bn(b.conv("x", randn({8, 4, 3, 3}, 0.3f, r), std::nullopt, 1, 1, 2), random_bn(8, r));
  const std::string y1 =
      b.bn(b.conv("x", randn({8, 8, 1, 1}, 0.3f, r), std::nullopt, 1, 0, 1), random_bn(8, r));
  b.output(b.op("Relu", {b.op("Add", {y3, y1})}));
  const auto d = repvgg::detect_blocks(b.g);
  EXPECT_TRUE(d.blocks.empty());
  ASSERT_EQ(d.skipped.size(), 1u);
  EXPECT_NE(d.skipped[0].reason.find("group"), std::string::npos) << d.skipped[0].reason;
}

// ======================= fusion =======================

struct FuseCase {
  const char* name;
  Spec spec;
};
std::vector<FuseCase> fuse_cases() {
  std::vector<FuseCase> c;
  c.push_back({"repvgg", Spec{}});
  Spec down;
  down.cin = 4;
  down.stride = 2;
  down.identity = false;
  c.push_back({"downsample", down});
  Spec qa;
  qa.bn1 = qa.id_bn = false;
  qa.post_bn = true;
  c.push_back({"qarepvgg", qa});
  Spec folded;
  folded.bn3 = folded.bn1 = false;
  folded.bias1 = true;
  c.push_back({"folded", folded});
  Spec grouped;
  grouped.group = 2;
  c.push_back({"grouped", grouped});
  Spec gqa = qa;
  gqa.group = 4;
  gqa.bias1 = true;
  c.push_back({"grouped_qarepvgg", gqa});
  Spec dw = Spec{};
  dw.group = 8;  // depthwise
  c.push_back({"depthwise", dw});
  return c;
}

TEST(RepvggFuse, FusedKernelReproducesTheBlockExactly) {
  std::mt19937 r(10);
  for (const auto& fc : fuse_cases()) {
    SCOPED_TRACE(fc.name);
    const BlockParams p = random_params(fc.spec, r);
    Builder b = single_block(p, 9);
    const auto d = repvgg::detect_blocks(b.g);
    ASSERT_EQ(d.blocks.size(), 1u);
    const auto k = repvgg::fuse_block(b.g, d.blocks[0]);
    const Tensor x = randn({2, fc.spec.cin, 9, 9}, 1.f, r);
    const Tensor want = ref_block(x, p);
    const Tensor got = ref_conv(x, k.weight, &k.bias, fc.spec.stride, 1, fc.spec.group);
    EXPECT_LT(rel_err(want, got), 1e-5);

    // The fused graph: one Conv, no BN/Add, same output as the original graph on the executor.
    const auto fm = repvgg::fuse_graph(b.g, d.blocks);
    int convs = 0, others = 0;
    for (const auto& n : fm.graph.nodes) (n.op_type == "Conv" ? convs : others) += n.op_type != "Relu";
    EXPECT_EQ(convs, 1);
    EXPECT_EQ(others, 0);
    const Tensor yo = Executor(b.g).run({x})[0];
    const Tensor yf = Executor(fm.graph).run({x})[0];
    EXPECT_LT(rel_err(yo, yf), 1e-5);
    EXPECT_LT(rel_err(relu(want), yo), 1e-5);
  }
}

TEST(RepvggFuse, IdentityLandsOnTheCentreTapOfItsOwnChannel) {
  // Only an identity branch with BN y = a·x and a zero 3×3/1×1: the kernel is a·one-hot at
  // [c, c mod (Cin/group), 1, 1], the bias 0.
  std::mt19937 r(11);
  Spec s;
  s.group = 2;
  BlockParams p = random_params(s, r);
  p.w3 = filled(p.w3.shape(), 0.f);
  p.w1 = filled(p.w1.shape(), 0.f);
  p.bn3 = p.bn1 = scale_bn(8, 1.f);
  p.idbn = scale_bn(8, 2.5f);
  Builder b = single_block(p);
  const auto d = repvgg::detect_blocks(b.g);
  ASSERT_EQ(d.blocks.size(), 1u);
  const auto k = repvgg::fuse_block(b.g, d.blocks[0]);
  ASSERT_EQ(k.weight.shape(), (Shape{8, 4, 3, 3}));
  for (int64_t o = 0; o < 8; ++o)
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t t = 0; t < 9; ++t) {
        const float want = (i == o % 4 && t == 4) ? 2.5f : 0.f;
        EXPECT_NEAR(k.weight.data<float>()[(o * 4 + i) * 9 + t], want, 1e-6f);
      }
  for (float v : k.bias.span<float>()) EXPECT_NEAR(v, 0.f, 1e-6f);
}

TEST(RepvggFuse, CheckFusionMeasuresTheDifference) {
  std::mt19937 r(12);
  TempDir tmp;
  const BlockParams p = random_params(Spec{}, r);
  Builder b = single_block(p);
  auto data = dataset_of(randn({20, 8, 7, 7}, 1.f, r), tmp);
  const auto d = repvgg::detect_blocks(b.g);
  auto fm = repvgg::fuse_graph(b.g, d.blocks);
  const auto ok = repvgg::check_fusion(b.g, fm.graph, d.blocks, *data, 0, 8);
  EXPECT_EQ(ok.samples, 20);
  EXPECT_TRUE(ok.ok(1e-4)) << ok.max_rel_error();
  // A corrupted fused bias must be caught: +1% of the output's range on one channel.
  Tensor& bias = fm.graph.initializers.at(fm.convs[0].bias);
  bias = bias.clone();
  bias.data<float>()[3] +=
      0.01f * static_cast<float>(stat_of(ref_block(randn({4, 8, 7, 7}, 1.f, r), p)).max_abs);
  const auto bad = repvgg::check_fusion(b.g, fm.graph, d.blocks, *data, 0, 8);
  EXPECT_GT(bad.max_rel_error(), 1e-3);
  EXPECT_FALSE(bad.ok(1e-4));
}

TEST(RepvggFuse, ExportWritesACheckedModelAndNeverTheSource) {
  std::mt19937 r(13);
  TempDir tmp;
  Spec qa;
  qa.bn1 = qa.id_bn = false;
  qa.post_bn = true;
  Spec first;
  first.cin = 3;
  first.identity = false;
  Builder b(3, 8, 8);
  std::string v = add_block(b, "x", random_params(first, r));
  v = add_block(b, v, random_params(qa, r));
  b.output(v);
  const std::string src = tmp.file("model.onnx");
  save_model(b.g, "", src);
  LoadOptions lo;
  lo.fold_batchnorm = false;
  const Model m = load_model(src, lo);
  auto data = dataset_of(randn({16, 3, 8, 8}, 1.f, r), tmp);
  const auto d = repvgg::detect_blocks(m.graph);
  ASSERT_EQ(d.blocks.size(), 2u);
  const auto fm = repvgg::fuse_graph(m.graph, d.blocks);

  const std::string out = tmp.file("fused.onnx");
  const auto c = repvgg::export_fused(m.graph, fm, src, out, *data);
  EXPECT_TRUE(c.ok(1e-4));
  const Model back = load_model(out, lo);
  for (const auto& w : back.warnings) EXPECT_EQ(w.rfind("ONNX checker:", 0), std::string::npos) << w;
  int bns = 0, convs = 0;
  for (const auto& n : back.graph.nodes) {
    bns += n.op_type == "BatchNormalization";
    convs += n.op_type == "Conv";
  }
  EXPECT_EQ(bns, 0);
  EXPECT_EQ(convs, 2);
  const Tensor x = randn({3, 3, 8, 8}, 1.f, r);
  EXPECT_LT(rel_err(Executor(m.graph).run({x})[0], Executor(back.graph).run({x})[0]), 1e-5);
  for (const auto& e : fs::directory_iterator(tmp.path))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();

  // Refuses to write over the source, which stays as it was.
  const auto before = fs::file_size(src);
  EXPECT_THROW(repvgg::export_fused(m.graph, fm, src, src, *data), Error);
  EXPECT_EQ(fs::file_size(src), before);
  EXPECT_EQ(load_model(src, lo).graph.nodes.size(), m.graph.nodes.size());
}

// ======================= statistics =======================

// A block whose branch statistics are known by construction: 1×1 = c·I (output c·x), identity BN
// y = a·x, 3×3 random with BN y = t·conv; x ~ N(0, 1) with channel 0 scaled by 3.
TEST(RepvggStats, BranchAndKernelStatisticsMatchDirectComputation) {
  std::mt19937 r(14);
  TempDir tmp;
  const float c1 = 0.5f, a = 2.f;
  BlockParams p = random_params(Spec{}, r);
  p.w1 = filled({8, 8, 1, 1}, 0.f);
  for (int64_t o = 0; o < 8; ++o) p.w1.data<float>()[o * 8 + o] = c1;
  p.bn1 = scale_bn(8, 1.f);
  p.idbn = scale_bn(8, a);
  Builder b = single_block(p);
  Tensor x = randn({24, 8, 7, 7}, 1.f, r);
  for (int64_t n = 0; n < 24; ++n)
    for (int64_t j = 0; j < 49; ++j) x.data<float>()[n * 8 * 49 + j] *= 3.f;
  auto data = dataset_of(x, tmp);
  repvgg::RepvggOptions o;
  o.batch = 5;  // batches that do not divide the count
  const auto rep = repvgg::diagnose(b.g, *data, o);
  ASSERT_EQ(rep.blocks.size(), 1u);
  const BlockReport& br = rep.blocks[0];
  EXPECT_EQ(rep.samples, 24);
  EXPECT_LE(rep.fusion.max_rel_error(), 1e-4);

  std::vector<Tensor> branches;
  const Tensor pre = ref_block(x, p, &branches);
  const Stat sx = stat_of(x);
  ASSERT_EQ(br.branches.size(), 3u);
  EXPECT_EQ(br.branches[1].label, "1x1+BN");
  EXPECT_EQ(br.branches[2].label, "identity+BN");
  // Closed forms: std(c·x) = c·std(x), std(a·x) = a·std(x).
  EXPECT_NEAR(br.branches[1].out.std, c1 * sx.std, 1e-4 * sx.std);
  EXPECT_NEAR(br.branches[2].out.std, a * sx.std, 1e-4 * sx.std);
  EXPECT_NEAR(br.branches[2].out.max_abs, a * sx.max_abs, 1e-4 * sx.max_abs);
  // The 3×3 branch and the pre-activation sum against the reference ops.
  const Stat s3 = stat_of(branches[0]), sp = stat_of(pre);
  EXPECT_NEAR(br.branches[0].out.std, s3.std, 1e-4 * s3.std);
  EXPECT_NEAR(br.branches[0].out.mean, s3.mean, 1e-4 * s3.std);
  EXPECT_NEAR(br.pre_activation.std, sp.std, 1e-4 * sp.std);
  const Stat sa = stat_of(relu(pre));
  EXPECT_NEAR(br.activation.std, sa.std, 1e-4 * sa.std);
  EXPECT_NEAR(br.activation.max, sa.max_abs, 1e-4 * sa.max_abs);
  EXPECT_EQ(br.activation.count, relu(pre).numel());

  // Fused kernel: built here from the parts (3×3·t3 + c·I at the centre + a·I at the centre).
  Tensor k = p.w3.clone();
  for (int64_t o = 0; o < 8; ++o) {
    const double t3 =
        p.bn3.gamma.data<float>()[o] / std::sqrt(static_cast<double>(p.bn3.var.data<float>()[o]) + 1e-5);
    for (int64_t j = 0; j < 72; ++j)
      k.data<float>()[o * 72 + j] = static_cast<float>(k.data<float>()[o * 72 + j] * t3);
    k.data<float>()[o * 72 + o * 9 + 4] += c1 + a;
  }
  const Stat sk = stat_of(k);
  EXPECT_NEAR(br.kernel_std, sk.std, 1e-5);
  EXPECT_NEAR(br.kernel_max_abs, sk.max_abs, 1e-5);
  ASSERT_EQ(br.channels.size(), 8u);
  int centre_max = 0;
  double zero4_sum = 0;
  for (int64_t o = 0; o < 8; ++o) {
    double m = 0, s = 0, s2 = 0;
    int64_t arg = 0;
    for (int64_t j = 0; j < 72; ++j) {
      const double v = k.data<float>()[o * 72 + j];
      if (std::fabs(v) > m) {
        m = std::fabs(v);
        arg = j;
      }
      s += v;
      s2 += v * v;
    }
    const double sd = std::sqrt(s2 / 72 - (s / 72) * (s / 72));
    int z8 = 0, z4 = 0;  // |w| / (max/qmax) rounds (half to even) to 0 ⇔ |w| ≤ half a step
    for (int64_t j = 0; j < 72; ++j) {
      const double v = std::fabs(k.data<float>()[o * 72 + j]);
      z8 += std::nearbyint(v / (m / 127)) == 0;
      z4 += std::nearbyint(v / (m / 7)) == 0;
    }
    const auto& cs = br.channels[static_cast<size_t>(o)];
    EXPECT_NEAR(cs.max_abs, m, 1e-6);
    EXPECT_NEAR(cs.std, sd, 1e-5);
    EXPECT_NEAR(cs.max_over_std, m / sd, 1e-3);
    EXPECT_DOUBLE_EQ(cs.zero_share_w8, z8 / 72.0);
    EXPECT_DOUBLE_EQ(cs.zero_share_w4, z4 / 72.0);
    EXPECT_EQ(cs.max_at_centre, arg % 9 == 4);
    centre_max += arg % 9 == 4;
    zero4_sum += z4 / 72.0;
  }
  EXPECT_EQ(br.channels_max_at_centre, centre_max);
  EXPECT_NEAR(br.zero_share_w4_per_channel, zero4_sum / 8, 1e-12);

  // W8 per-tensor isolated error of the fused conv: fake-quantize the kernel here and run the reference conv.
  const auto* w8 = br.weight_error("w8_per_tensor");
  ASSERT_NE(w8, nullptr);
  Tensor kq = k.clone();
  const double step = sk.max_abs / 127;
  for (float& v : kq.span<float>()) v = static_cast<float>(std::nearbyint(v / step) * step);
  const auto fk = repvgg::fuse_block(b.g, br.block);
  const Tensor yf = ref_conv(x, k, &fk.bias, 1, 1, 1), yq = ref_conv(x, kq, &fk.bias, 1, 1, 1);
  double sx2 = 0, sd2 = 0;
  for (int64_t i = 0; i < yf.numel(); ++i) {
    const double u = yf.data<float>()[i], v = yq.data<float>()[i];
    sx2 += u * u;
    sd2 += (u - v) * (u - v);
  }
  EXPECT_NEAR(w8->output.sqnr_db, 10 * std::log10(sx2 / sd2), 0.05);

  // A8 per-tensor error of the activation: asymmetric int8 over [min(0, lo), max(0, hi)].
  const Tensor act = relu(pre);
  const double lo = 0, hi = sa.max_abs, scale = (hi - lo) / 255;
  const double zp = std::clamp(std::nearbyint(-128 - lo / scale), -128.0, 127.0);
  double ax2 = 0, ad2 = 0;
  for (float v : act.span<float>()) {
    const double q = std::clamp(std::nearbyint(v / scale) + zp, -128.0, 127.0);
    const double back = (q - zp) * scale;
    ax2 += static_cast<double>(v) * v;
    ad2 += (v - back) * (v - back);
  }
  EXPECT_NEAR(br.act_per_tensor.sqnr_db, 10 * std::log10(ax2 / ad2), 0.05);
}

// ======================= verdicts =======================

// Zeroes the 3×3 and 1×1 weights reading input channel `c` (group 1).
void ignore_input_channel(BlockParams& p, int64_t c) {
  const int64_t cin = p.w3.dim(1);
  for (int64_t o = 0; o < p.w3.dim(0); ++o) {
    for (int64_t t = 0; t < 9; ++t) p.w3.data<float>()[(o * cin + c) * 9 + t] = 0.f;
    p.w1.data<float>()[o * cin + c] = 0.f;
  }
}

repvgg::RepvggReport diagnose_block(const BlockParams& p, const Tensor& x, const TempDir& tmp) {
  Builder b = single_block(p, x.dim(2));
  auto data = dataset_of(x, tmp);
  return repvgg::diagnose(b.g, *data, {});
}

TEST(RepvggVerdict, HealthyBlockPassesEveryCondition) {
  std::mt19937 r(15);
  TempDir tmp;
  BlockParams p = random_params(Spec{}, r);
  p.idbn = scale_bn(8, 0.3f);
  const auto rep = diagnose_block(p, randn({32, 8, 8, 8}, 1.f, r), tmp);
  ASSERT_EQ(rep.blocks.size(), 1u);
  const auto& v = rep.blocks[0].verdict;
  EXPECT_TRUE(v.weights_ok) << v.weights;
  EXPECT_TRUE(v.activations_ok) << v.activations;
  EXPECT_TRUE(v.low_bit_ok) << v.low_bit;
  EXPECT_FALSE(v.flagged());
}

TEST(RepvggVerdict, HugeTapsOnADeadInputChannelFailTheWeightCondition) {
  // Input channel 1 is always 0, so the 3×3 taps reading it (set to 50) change nothing in the output,
  // but they set the per-tensor INT8 scale and every other weight rounds to zero: condition 1 fails, the
  // activation (unchanged) passes.
  std::mt19937 r(16);
  TempDir tmp;
  Spec s;
  s.identity = false;
  BlockParams p = random_params(s, r);
  p.bn3 = scale_bn(8, 1.f);
  for (int64_t o = 0; o < 8; ++o) p.w3.data<float>()[(o * 8 + 1) * 9 + 4] = 50.f;
  Tensor x = randn({32, 8, 8, 8}, 1.f, r);
  for (int64_t n = 0; n < 32; ++n)
    for (int64_t j = 0; j < 64; ++j) x.data<float>()[(n * 8 + 1) * 64 + j] = 0.f;
  const auto rep = diagnose_block(p, x, tmp);
  ASSERT_EQ(rep.blocks.size(), 1u);
  const auto& v = rep.blocks[0].verdict;
  EXPECT_FALSE(v.weights_ok) << v.weights;
  EXPECT_TRUE(v.activations_ok) << v.activations;
  EXPECT_NE(v.weights.find("custom L2"), std::string::npos) << v.weights;
}

TEST(RepvggVerdict, OutliersThroughTheIdentityFailTheActivationCondition) {
  // x ~ N(0, 1) plus one value of 200 (input channel 0) that only the bare identity branch carries to the
  // activation (the convs do not read channel 0): the INT8 range is ~90x the activation's rms, so the
  // bulk of the values falls on a few levels. The kernel itself is well-behaved.
  std::mt19937 r(17);
  TempDir tmp;
  Spec s;
  s.id_bn = false;
  s.w_std = 0.2f;
  BlockParams p = random_params(s, r);
  ignore_input_channel(p, 0);
  Tensor x = randn({32, 8, 8, 8}, 1.f, r);
  x.data<float>()[10] = 200.f;  // sample 0, channel 0
  const auto rep = diagnose_block(p, x, tmp);
  ASSERT_EQ(rep.blocks.size(), 1u);
  const auto& v = rep.blocks[0].verdict;
  EXPECT_TRUE(v.weights_ok) << v.weights;
  EXPECT_FALSE(v.activations_ok) << v.activations;
  EXPECT_NE(v.activations.find("no BN on the identity"), std::string::npos) << v.activations;
}

TEST(RepvggVerdict, BothConditionsFailTogether) {
  // The two constructions above in one block: huge taps on the dead input channel 1, and one outlier on
  // input channel 0 that only the identity carries.
  std::mt19937 r(18);
  TempDir tmp;
  Spec s;
  s.id_bn = false;
  s.w_std = 0.2f;
  BlockParams p = random_params(s, r);
  p.bn3 = scale_bn(8, 1.f);
  ignore_input_channel(p, 0);
  for (int64_t o = 0; o < 8; ++o) p.w3.data<float>()[(o * 8 + 1) * 9 + 4] = 50.f;
  Tensor x = randn({32, 8, 8, 8}, 1.f, r);
  for (int64_t n = 0; n < 32; ++n)
    for (int64_t j = 0; j < 64; ++j) x.data<float>()[(n * 8 + 1) * 64 + j] = 0.f;
  x.data<float>()[10] = 200.f;  // sample 0, channel 0
  const auto rep = diagnose_block(p, x, tmp);
  ASSERT_EQ(rep.blocks.size(), 1u);
  const auto& v = rep.blocks[0].verdict;
  EXPECT_FALSE(v.weights_ok) << v.weights;
  EXPECT_FALSE(v.activations_ok) << v.activations;
}

TEST(RepvggVerdict, DominantIdentityTapFailsAtFourBitsOnly) {
  // Small 3×3/1×1 taps (σ = 0.03) under an identity of weight 1: at INT8 the kernel is fine, at 4 bits
  // per channel the centre tap sets each channel's scale (1/7) and nearly every other tap rounds to 0.
  std::mt19937 r(19);
  TempDir tmp;
  Spec s;
  s.cin = s.cout = 6;  // (4 channels would be read as RGBA by the data loader)
  s.w_std = 0.03f;
  BlockParams p = random_params(s, r);
  p.bn3 = p.bn1 = scale_bn(6, 1.f);
  p.idbn = scale_bn(6, 1.f);
  const auto rep = diagnose_block(p, randn({32, 6, 8, 8}, 1.f, r), tmp);
  ASSERT_EQ(rep.blocks.size(), 1u);
  const auto& b = rep.blocks[0];
  EXPECT_TRUE(b.verdict.weights_ok) << b.verdict.weights;
  EXPECT_TRUE(b.verdict.activations_ok) << b.verdict.activations;
  EXPECT_FALSE(b.verdict.low_bit_ok) << b.verdict.low_bit;
  EXPECT_EQ(b.channels_max_at_centre, 6);
  EXPECT_GT(b.zero_share_w4_per_channel, 0.8);
  EXPECT_NE(b.verdict.low_bit.find("OBQ"), std::string::npos);
}

TEST(RepvggVerdict, JsonHasOneBlockEntryPerBlock) {
  std::mt19937 r(20);
  TempDir tmp;
  Builder b(3, 8, 8);
  Spec first;
  first.cin = 3;
  first.identity = false;
  std::string v = add_block(b, "x", random_params(first, r));
  v = add_block(b, v, random_params(Spec{}, r));
  b.output(v);
  auto data = dataset_of(randn({8, 3, 8, 8}, 1.f, r), tmp);
  const auto rep = repvgg::diagnose(b.g, *data, {});
  const std::string j = repvgg::report_to_json(rep);
  size_t n = 0;
  for (size_t pos = j.find("\"structure\""); pos != std::string::npos; pos = j.find("\"structure\"", pos + 1))
    ++n;
  EXPECT_EQ(n, 2u);
  EXPECT_NE(j.find("\"blocks\""), std::string::npos);
}

TEST(RepvggDiagnose, RefusesModelsWithoutExactlyOneInput) {
  std::mt19937 r(21);
  TempDir tmp;
  Builder b = single_block(random_params(Spec{}, r));
  b.g.inputs.push_back(ValueInfo{"extra", DType::Float32, std::nullopt});
  auto data = dataset_of(randn({4, 8, 7, 7}, 1.f, r), tmp);
  EXPECT_THROW(repvgg::diagnose(b.g, *data, {}), Error);
}

}  // namespace
}  // namespace qs

namespace qs {
namespace {

// ======================= models as torch.onnx.export writes them =======================
// tests/fixtures/repvgg/ (tools/make_repvgg_fixtures.py): blocks 3->8, 8->8 (groups 2), 8->16 (stride 2),
// 16->16 (groups 4), in training-time form and with BN folded by the exporter, and PyTorch's outputs.

std::string fixture(const std::string& name) { return std::string(QS_TEST_FIXTURES) + "/repvgg/" + name; }

Model load_unfused(const std::string& name) {
  LoadOptions lo;
  lo.fold_batchnorm = false;
  return load_model(fixture(name), lo);
}

std::vector<std::string> structures(const Graph& g) {
  std::vector<std::string> s;
  for (const auto& b : repvgg::detect_blocks(g).blocks) s.push_back(b.structure());
  return s;
}

TEST(RepvggTorchExport, DetectsEveryBlockInEveryForm) {
  using V = std::vector<std::string>;
  EXPECT_EQ(
      structures(load_unfused("repvgg_train.onnx").graph),
      (V{"3x3+BN, 1x1+BN", "3x3+BN, 1x1+BN, identity+BN", "3x3+BN, 1x1+BN", "3x3+BN, 1x1+BN, identity+BN"}));
  EXPECT_EQ(structures(load_unfused("repvgg_folded.onnx").graph),
            (V{"3x3(bias), 1x1(bias)", "3x3(bias), 1x1(bias), identity+BN", "3x3(bias), 1x1(bias)",
               "3x3(bias), 1x1(bias), identity+BN"}));
  EXPECT_EQ(structures(load_unfused("qarepvgg_train.onnx").graph),
            (V{"3x3+BN, 1x1, post-sum BN", "3x3+BN, 1x1, identity, post-sum BN", "3x3+BN, 1x1, post-sum BN",
               "3x3+BN, 1x1, identity, post-sum BN"}));
  EXPECT_EQ(structures(load_unfused("qarepvgg_folded.onnx").graph),
            (V{"3x3(bias), 1x1, post-sum BN", "3x3(bias), 1x1, identity, post-sum BN",
               "3x3(bias), 1x1, post-sum BN", "3x3(bias), 1x1, identity, post-sum BN"}));
  const auto d = repvgg::detect_blocks(load_unfused("repvgg_train.onnx").graph);
  ASSERT_EQ(d.blocks.size(), 4u);
  EXPECT_EQ(d.blocks[1].group, 2);
  EXPECT_EQ(d.blocks[2].strides, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(d.blocks[3].group, 4);
}

TEST(RepvggTorchExport, FusedModelMatchesPyTorchsOwnReparameterization) {
  const Tensor x = read_npy(fixture("input.npy"));
  for (const char* name : {"repvgg", "qarepvgg"}) {
    for (const char* form : {"_train.onnx", "_folded.onnx"}) {
      SCOPED_TRACE(std::string(name) + form);
      const Model m = load_unfused(std::string(name) + form);
      const auto d = repvgg::detect_blocks(m.graph);
      ASSERT_EQ(d.blocks.size(), 4u);
      const auto fm = repvgg::fuse_graph(m.graph, d.blocks);
      for (const auto& n : fm.graph.nodes) EXPECT_NE(n.op_type, "BatchNormalization") << n.name;
      const Tensor y = Executor(fm.graph).run({x})[0];
      EXPECT_LT(rel_err(read_npy(fixture(std::string(name) + "_deploy_output.npy")), y), 1e-5);
      EXPECT_LT(rel_err(read_npy(fixture(std::string(name) + "_output.npy")), y), 1e-5);
    }
  }
}

}  // namespace
}  // namespace qs
