// RepVGG branch statistics and verdicts on synthetic blocks whose statistics are known by construction;
// references computed directly from the plain-loop block (tests/core/repvgg_test_util.h).
#include <gtest/gtest.h>

#include "tests/core/repvgg_test_util.h"

namespace qs {
namespace {

using namespace repvgg_test;  // NOLINT(google-build-using-namespace): the test fixtures
using repvgg::Block;
using repvgg::BlockReport;

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

// A model with several inputs is fed all of them (tests/core/multi_input_algo_test.cpp); one without data
// is named.
TEST(RepvggDiagnose, NamesAnInputWithoutData) {
  std::mt19937 r(21);
  TempDir tmp;
  Builder b = single_block(random_params(Spec{}, r));
  b.g.inputs.push_back(ValueInfo{"extra", DType::Float32, std::nullopt});
  auto data = dataset_of(randn({4, 8, 7, 7}, 1.f, r), tmp);
  try {
    repvgg::diagnose(b.g, *data, {});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input 'extra' has no data"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qs
