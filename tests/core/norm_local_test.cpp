// The float ops whose ONNX test data Debian's libonnx-testdata (1.12) lacks or cannot load (InstanceNorm's
// cases are opset 6; GroupNormalization and Mish are opset 18; ImageScaler and LpNormalization have none),
// each against its formula computed here in double on random inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/runtime/executor.h"
#include "tests/core/autodiff_test_util.h"

namespace qs {
namespace {

using testing::OpCase;

Tensor random(const Shape& s, std::mt19937& rng, float sd = 1.f, float mean = 0.f) {
  std::normal_distribution<float> d(mean, sd);
  Tensor t(DType::Float32, s);
  for (auto& v : t.span<float>()) v = d(rng);
  return t;
}

Tensor run_one(const OpCase& c) {
  const Graph g = testing::one_node_graph(c);
  const Executor ex(g);
  std::vector<Tensor> in;
  for (const auto& [name, t] : c.diff) in.push_back(t);
  return ex.run(in)[0];
}

// y = (x − mean)/sqrt(var + eps)·s + b over each (n, group) of `per` channels × `inner` values.
std::vector<double> group_norm_ref(const Tensor& x, int64_t groups, const std::vector<double>& s_of_c,
                                   const std::vector<double>& b_of_c, double eps) {
  const int64_t N = x.dim(0), C = x.dim(1), inner = x.numel() / (N * C), per = C / groups, len = per * inner;
  std::vector<double> y(static_cast<size_t>(x.numel()));
  const float* px = x.data<float>();
  for (int64_t ng = 0; ng < N * groups; ++ng) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < len; ++i) mean += px[ng * len + i];
    mean /= static_cast<double>(len);
    for (int64_t i = 0; i < len; ++i) var += (px[ng * len + i] - mean) * (px[ng * len + i] - mean);
    var /= static_cast<double>(len);
    for (int64_t i = 0; i < len; ++i) {
      const int64_t c = (ng % groups) * per + i / inner;
      y[static_cast<size_t>(ng * len + i)] =
          (px[ng * len + i] - mean) / std::sqrt(var + eps) * s_of_c[static_cast<size_t>(c)] +
          b_of_c[static_cast<size_t>(c)];
    }
  }
  return y;
}

void expect_near_all(const Tensor& got, const std::vector<double>& want, double tol,
                     const std::string& what) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size())) << what;
  double worst = 0;
  for (int64_t i = 0; i < got.numel(); ++i)
    worst = std::max(worst, std::fabs(got.data<float>()[i] - want[static_cast<size_t>(i)]));
  EXPECT_LE(worst, tol) << what;
}

TEST(LocalNorm, InstanceNormalizationNormalizesEachPlane) {
  std::mt19937 rng(1);
  const Tensor x = random({2, 3, 5, 4}, rng, 2.f, 1.5f), s = random({3}, rng), b = random({3}, rng);
  const Tensor y = run_one(OpCase("InstanceNormalization", 13, {{"x", x}}, {{"s", s}, {"b", b}},
                                  {"x", "s", "b"}, 1, {{"epsilon", Attribute::of_float(1e-3f)}}));
  std::vector<double> sc, bc;
  for (int64_t c = 0; c < 3; ++c) sc.push_back(s.data<float>()[c]), bc.push_back(b.data<float>()[c]);
  expect_near_all(y, group_norm_ref(x, 3, sc, bc, 1e-3), 1e-5, "instance norm");
}

TEST(LocalNorm, GroupNormalizationTakesScalePerGroupOrPerChannel) {
  std::mt19937 rng(2);
  const Tensor x = random({2, 6, 3, 3}, rng, 1.f, -0.5f);
  const Tensor sg = random({3}, rng), bg = random({3}, rng), sc = random({6}, rng), bc = random({6}, rng);
  const std::map<std::string, Attribute> attrs = {{"num_groups", Attribute::of_int(3)},
                                                  {"epsilon", Attribute::of_float(1e-4f)}};
  // Per group (opset 18): each channel takes its group's value.
  std::vector<double> s_of_c, b_of_c;
  for (int64_t c = 0; c < 6; ++c)
    s_of_c.push_back(sg.data<float>()[c / 2]), b_of_c.push_back(bg.data<float>()[c / 2]);
  expect_near_all(run_one(OpCase("GroupNormalization", 18, {{"x", x}}, {{"s", sg}, {"b", bg}},
                                 {"x", "s", "b"}, 1, attrs)),
                  group_norm_ref(x, 3, s_of_c, b_of_c, 1e-4), 1e-5, "per group");
  s_of_c.clear(), b_of_c.clear();
  for (int64_t c = 0; c < 6; ++c)
    s_of_c.push_back(sc.data<float>()[c]), b_of_c.push_back(bc.data<float>()[c]);
  expect_near_all(run_one(OpCase("GroupNormalization", 18, {{"x", x}}, {{"s", sc}, {"b", bc}},
                                 {"x", "s", "b"}, 1, attrs)),
                  group_norm_ref(x, 3, s_of_c, b_of_c, 1e-4), 1e-5, "per channel");
  // 6 channels do not split into 4 groups.
  const std::map<std::string, Attribute> bad = {{"num_groups", Attribute::of_int(4)}};
  EXPECT_THROW(run_one(OpCase("GroupNormalization", 18, {{"x", x}},
                              {{"s", random({4}, rng)}, {"b", random({4}, rng)}}, {"x", "s", "b"}, 1, bad)),
               Error);
}

TEST(LocalNorm, LpNormalizationDividesByTheNormAlongTheAxis) {
  std::mt19937 rng(3);
  const Tensor x = random({3, 4, 5}, rng);
  for (int64_t p : {1, 2}) {
    const Tensor y = run_one(OpCase("LpNormalization", 13, {{"x", x}}, {}, {"x"}, 1,
                                    {{"axis", Attribute::of_int(1)}, {"p", Attribute::of_int(p)}}));
    std::vector<double> want(static_cast<size_t>(x.numel()));
    const float* px = x.data<float>();
    for (int64_t o = 0; o < 3; ++o)
      for (int64_t i = 0; i < 5; ++i) {
        double norm = 0;
        for (int64_t k = 0; k < 4; ++k) {
          const double v = px[(o * 4 + k) * 5 + i];
          norm += p == 1 ? std::fabs(v) : v * v;
        }
        if (p == 2) norm = std::sqrt(norm);
        for (int64_t k = 0; k < 4; ++k)
          want[static_cast<size_t>((o * 4 + k) * 5 + i)] = px[(o * 4 + k) * 5 + i] / norm;
      }
    expect_near_all(y, want, 1e-6, "p = " + std::to_string(p));
  }
}

TEST(LocalNorm, ImageScalerAndMishFollowTheirFormulas) {
  std::mt19937 rng(4);
  const Tensor x = random({2, 3, 2, 2}, rng, 3.f);
  const Tensor ys = run_one(
      OpCase("ImageScaler", 8, {{"x", x}}, {}, {"x"}, 1,
             {{"scale", Attribute::of_float(0.5f)}, {"bias", Attribute::of_floats({1.f, -2.f, 0.25f})}}));
  const Tensor ym = run_one(OpCase("Mish", 18, {{"x", x}}, {}, {"x"}));
  std::vector<double> ws, wm;
  const float bias[3] = {1.f, -2.f, 0.25f};
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double v = x.data<float>()[i];
    ws.push_back(0.5 * v + bias[(i / 4) % 3]);
    wm.push_back(v * std::tanh(std::log1p(std::exp(v))));
  }
  expect_near_all(ys, ws, 1e-6, "ImageScaler");
  expect_near_all(ym, wm, 1e-5, "Mish");
}

}  // namespace
}  // namespace qs
