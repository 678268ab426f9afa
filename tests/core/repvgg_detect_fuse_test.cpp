// RepVGG block detection and re-parameterization on synthetic blocks (tests/core/repvgg_test_util.h), and
// on models exported by PyTorch (tests/fixtures/repvgg).
#include <gtest/gtest.h>

#include "tests/core/repvgg_test_util.h"

namespace qs {
namespace {

using namespace repvgg_test;  // NOLINT(google-build-using-namespace): the test fixtures
using repvgg::Block;
using repvgg::BlockReport;

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
  for (const auto& n : b.g.nodes) {
    if (n.op_type != "BatchNormalization") continue;
    const int p = b.g.producer(n.inputs[0]);  // -1 for the identity branch's BN, which reads the block input
    if (p >= 0 && b.g.nodes[static_cast<size_t>(p)].op_type == "Conv" &&
        b.g.initializer(b.g.nodes[static_cast<size_t>(p)].inputs[1])->dim(2) == 1)
      one_bn = n.outputs[0];
  }
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

// A block whose branch statistics are known by construction: 1×1 = c·I (output c·x), identity BN
// y = a·x, 3×3 random with BN y = t·conv; x ~ N(0, 1) with channel 0 scaled by 3.

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
