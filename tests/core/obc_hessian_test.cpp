// Layer Hessians (core/algo/obc/hessian.h) against brute force: every column vector is built by direct
// indexing (no im2col), H = 2·Σ x·xᵀ / N.
#include <gtest/gtest.h>

#include <array>
#include <random>

#include <Eigen/Cholesky>

#include "core/algo/obc/hessian.h"
#include "core/algo/obc/linalg.h"
#include "core/common/error.h"

namespace qs::obc {
namespace {

Tensor random_tensor(Shape s, uint32_t seed) {
  Tensor t(DType::Float32, s);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  for (auto& v : t.span<float>()) v = nd(rng);
  return t;
}

struct ConvCase {
  int64_t batch, cin, cout, group;
  std::vector<int64_t> image, kernel, strides, pads, dilations;
};

Graph conv_graph(const ConvCase& c) {
  Graph g;
  g.opset = 13;
  g.opset_imports[""] = 13;
  Shape ws{c.cout, c.cin / c.group};
  for (int64_t k : c.kernel) ws.push_back(k);
  g.initializers["w"] = random_tensor(ws, 7);
  ValueInfo in;
  in.name = "x";
  in.dtype = DType::Float32;
  g.inputs.push_back(in);
  Node n;
  n.name = "conv";
  n.op_type = "Conv";
  n.inputs = {"x", "w"};
  n.outputs = {"y"};
  n.attrs["kernel_shape"] = Attribute::of_ints(c.kernel);
  n.attrs["strides"] = Attribute::of_ints(c.strides);
  n.attrs["pads"] = Attribute::of_ints(c.pads);
  n.attrs["dilations"] = Attribute::of_ints(c.dilations);
  n.attrs["group"] = Attribute::of_int(c.group);
  g.nodes.push_back(n);
  ValueInfo out;
  out.name = "y";
  g.outputs.push_back(out);
  return g;
}

WeightPoint point(const std::string& layer, const std::string& op, const std::string& input) {
  WeightPoint wp;
  wp.tensor = "w";
  wp.layer = layer;
  wp.op_type = op;
  wp.input = input;
  return wp;
}

// Brute-force Hessians of a conv (any spatial rank up to 3, padded as given), one per group.
std::vector<Eigen::MatrixXd> brute_conv(const ConvCase& c, const std::vector<Tensor>& batches) {
  const size_t r = c.image.size();
  std::vector<int64_t> out(r);
  int64_t ksize = 1, outsize = 1;
  for (size_t a = 0; a < r; ++a) {
    out[a] =
        (c.image[a] + c.pads[a] + c.pads[a + r] - c.dilations[a] * (c.kernel[a] - 1) - 1) / c.strides[a] + 1;
    ksize *= c.kernel[a];
    outsize *= out[a];
  }
  const int64_t cg = c.cin / c.group, d = cg * ksize;
  std::vector<Eigen::MatrixXd> h(static_cast<size_t>(c.group), Eigen::MatrixXd::Zero(d, d));
  int64_t n = 0;
  for (const Tensor& x : batches) {
    const float* xp = x.data<float>();
    const int64_t b = x.dim(0);
    int64_t insize = 1;
    for (int64_t e : c.image) insize *= e;
    for (int64_t s = 0; s < b; ++s)
      for (int64_t p = 0; p < outsize; ++p) {
        std::vector<int64_t> q(r);
        for (int64_t a = static_cast<int64_t>(r) - 1, t = p; a >= 0; --a) {
          q[static_cast<size_t>(a)] = t % out[static_cast<size_t>(a)];
          t /= out[static_cast<size_t>(a)];
        }
        for (int64_t grp = 0; grp < c.group; ++grp) {
          Eigen::VectorXd v(d);
          for (int64_t ch = 0; ch < cg; ++ch)
            for (int64_t k = 0; k < ksize; ++k) {
              std::vector<int64_t> kk(r);
              for (int64_t a = static_cast<int64_t>(r) - 1, t = k; a >= 0; --a) {
                kk[static_cast<size_t>(a)] = t % c.kernel[static_cast<size_t>(a)];
                t /= c.kernel[static_cast<size_t>(a)];
              }
              bool inside = true;
              int64_t off = 0;
              for (size_t a = 0; a < r; ++a) {
                const int64_t i = q[a] * c.strides[a] - c.pads[a] + kk[a] * c.dilations[a];
                inside = inside && i >= 0 && i < c.image[a];
                off = off * c.image[a] + i;
              }
              v[ch * ksize + k] = inside ? xp[(s * c.cin + grp * cg + ch) * insize + off] : 0.0;
            }
          h[static_cast<size_t>(grp)] += v * v.transpose();
        }
        ++n;
      }
  }
  for (auto& m : h) m *= 2.0 / static_cast<double>(n);
  return h;
}

void check_conv(const ConvCase& c) {
  const Graph g = conv_graph(c);
  const ObcLayer l = describe_obc_layer(g, point("conv", "Conv", "x"));
  EXPECT_EQ(l.rows, c.cout);
  EXPECT_EQ(l.groups, c.group);
  HessianAccumulator acc(l);
  std::vector<Tensor> batches;
  for (uint32_t b = 0; b < 2; ++b) {  // two batches: streaming
    Shape s{c.batch, c.cin};
    for (int64_t e : c.image) s.push_back(e);
    batches.push_back(random_tensor(s, 100 + b));
    acc.add(batches.back());
  }
  const auto ref = brute_conv(c, batches);
  for (int64_t grp = 0; grp < c.group; ++grp) {
    const Eigen::MatrixXd h = acc.hessian(grp);
    const Eigen::MatrixXd& r = ref[static_cast<size_t>(grp)];
    ASSERT_EQ(h.rows(), r.rows());
    EXPECT_LE((h - r).cwiseAbs().maxCoeff(), 1e-9 * (1 + r.cwiseAbs().maxCoeff())) << "group " << grp;
  }
}

TEST(ObcHessian, Conv2dStridePadDilationGroups) {
  check_conv({2, 4, 6, 2, {7, 6}, {3, 2}, {2, 1}, {1, 0, 2, 1}, {1, 2}});
}

TEST(ObcHessian, ConvDepthwise) { check_conv({3, 3, 3, 3, {5, 5}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}}); }

TEST(ObcHessian, Conv1dAnd3d) {
  check_conv({2, 2, 4, 1, {9}, {3}, {2}, {1, 2}, {2}});
  check_conv({1, 2, 2, 2, {3, 4, 3}, {2, 2, 2}, {1, 2, 1}, {0, 1, 1, 1, 0, 0}, {1, 1, 2}});
}

TEST(ObcHessian, ConvManyColumnsTiles) {
  // 300 columns: several 128-wide tiles, and an odd tail.
  check_conv({1, 12, 2, 1, {6, 6}, {5, 5}, {1, 1}, {2, 2, 2, 2}, {1, 1}});
}

Graph gemm_graph(Shape wshape, int trans_a, int trans_b) {
  Graph g;
  g.opset = 13;
  g.initializers["w"] = random_tensor(wshape, 3);
  Node n;
  n.name = "fc";
  n.op_type = "Gemm";
  n.inputs = {"x", "w"};
  n.outputs = {"y"};
  n.attrs["transA"] = Attribute::of_int(trans_a);
  n.attrs["transB"] = Attribute::of_int(trans_b);
  g.nodes.push_back(n);
  return g;
}

TEST(ObcHessian, GemmTransposes) {
  for (int ta : {0, 1})
    for (int tb : {0, 1}) {
      const int64_t K = 140, N = 5, M = 37;
      const Graph g = gemm_graph(tb ? Shape{N, K} : Shape{K, N}, ta, tb);
      const ObcLayer l = describe_obc_layer(g, point("fc", "Gemm", "x"));
      EXPECT_EQ(l.rows, N);
      EXPECT_EQ(l.cols, K);
      // The weight matrix: row r = output r.
      const RowMatrixXf wm = weight_matrix(*g.initializer("w"), l);
      const float* wp = g.initializer("w")->data<float>();
      EXPECT_EQ(wm(3, 17), tb ? wp[3 * K + 17] : wp[17 * N + 3]);
      EXPECT_EQ(weight_tensor(wm, l).to_vector<float>(), g.initializer("w")->to_vector<float>());
      const Tensor x = random_tensor(ta ? Shape{K, M} : Shape{M, K}, 11);
      HessianAccumulator acc(l);
      acc.add(x);
      Eigen::MatrixXd ref = Eigen::MatrixXd::Zero(K, K);
      const float* xp = x.data<float>();
      for (int64_t m = 0; m < M; ++m) {
        Eigen::VectorXd v(K);
        for (int64_t k = 0; k < K; ++k) v[k] = ta ? xp[k * M + m] : xp[m * K + k];
        ref += v * v.transpose();
      }
      ref *= 2.0 / M;
      EXPECT_EQ(acc.columns(), M);
      EXPECT_LE((acc.hessian() - ref).cwiseAbs().maxCoeff(), 1e-9 * ref.cwiseAbs().maxCoeff());
    }
}

TEST(ObcHessian, MatMulRightAndLeft) {
  const int64_t K = 6, N = 4;
  {
    Graph g;
    g.initializers["w"] = random_tensor({K, N}, 5);
    Node n;
    n.name = "mm";
    n.op_type = "MatMul";
    n.inputs = {"x", "w"};
    n.outputs = {"y"};
    g.nodes.push_back(n);
    const ObcLayer l = describe_obc_layer(g, point("mm", "MatMul", "x"));
    EXPECT_EQ(l.kind, LayerKind::MatMulRight);
    EXPECT_EQ(l.rows, N);
    const Tensor x = random_tensor({2, 3, K}, 9);  // rank 3: 6 rows
    HessianAccumulator acc(l);
    acc.add(x);
    Eigen::MatrixXd ref = Eigen::MatrixXd::Zero(K, K);
    for (int64_t r = 0; r < 6; ++r) {
      Eigen::VectorXd v(K);
      for (int64_t k = 0; k < K; ++k) v[k] = x.data<float>()[r * K + k];
      ref += v * v.transpose();
    }
    ref *= 2.0 / 6;
    EXPECT_LE((acc.hessian() - ref).cwiseAbs().maxCoeff(), 1e-12);
  }
  {
    Graph g;
    g.initializers["w"] = random_tensor({N, K}, 5);
    Node n;
    n.name = "mm";
    n.op_type = "MatMul";
    n.inputs = {"w", "x"};
    n.outputs = {"y"};
    g.nodes.push_back(n);
    const ObcLayer l = describe_obc_layer(g, point("mm", "MatMul", "x"));
    EXPECT_EQ(l.kind, LayerKind::MatMulLeft);
    const Tensor x = random_tensor({2, K, 3}, 9);  // two [K, 3] matrices: 6 columns
    HessianAccumulator acc(l);
    acc.add(x);
    Eigen::MatrixXd ref = Eigen::MatrixXd::Zero(K, K);
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t c = 0; c < 3; ++c) {
        Eigen::VectorXd v(K);
        for (int64_t k = 0; k < K; ++k) v[k] = x.data<float>()[(b * K + k) * 3 + c];
        ref += v * v.transpose();
      }
    ref *= 2.0 / 6;
    EXPECT_LE((acc.hessian() - ref).cwiseAbs().maxCoeff(), 1e-12);
  }
}

TEST(ObcHessian, RefusesWhatItCannotDo) {
  Graph g = gemm_graph({4, 3}, 0, 1);
  HessianAccumulator acc(describe_obc_layer(g, point("fc", "Gemm", "x")));
  EXPECT_THROW(acc.hessian(), Error);                      // no data yet
  EXPECT_THROW(acc.add(random_tensor({2, 5}, 1)), Error);  // wrong width
  g.nodes[0].op_type = "ConvTranspose";
  EXPECT_THROW(describe_obc_layer(g, point("fc", "ConvTranspose", "x")), UnsupportedError);
}

TEST(ObcLinalg, BlockedCholeskyMatchesEigen) {
  for (int n : {1, 5, 128, 129, 300, 517, 777}) {  // 777: three full panels, strips of every length
    Eigen::MatrixXd a = Eigen::MatrixXd::Random(n, n + 3);
    Eigen::MatrixXd h = a * a.transpose() + Eigen::MatrixXd::Identity(n, n);
    ColMat<double> f = h;
    ASSERT_TRUE(cholesky_lower_inplace(f));
    const Eigen::MatrixXd l = f.triangularView<Eigen::Lower>();
    const Eigen::MatrixXd ref = h.llt().matrixL();
    EXPECT_LE((l - ref).cwiseAbs().maxCoeff(), 1e-9 * ref.cwiseAbs().maxCoeff()) << n;
  }
  ColMat<double> bad = -Eigen::MatrixXd::Identity(4, 4);
  EXPECT_FALSE(cholesky_lower_inplace(bad));
}

TEST(ObcLinalg, TiledGemmMatchesEigen) {
  // Shapes that leave partial tiles in every dimension; C is a block of a larger matrix (leading
  // dimension > rows) so the strides are exercised too.
  for (bool trans_b : {false, true})
    for (auto [m, n, k] : {std::array<int, 3>{1, 1, 1}, {7, 300, 5}, {257, 131, 90}, {300, 260, 301}}) {
      const Eigen::MatrixXd a = Eigen::MatrixXd::Random(m, k);
      const Eigen::MatrixXd b = trans_b ? Eigen::MatrixXd::Random(n, k) : Eigen::MatrixXd::Random(k, n);
      Eigen::MatrixXd big = Eigen::MatrixXd::Random(m + 3, n);
      const Eigen::MatrixXd orig = big;
      const Eigen::MatrixXd want = big.topRows(m) - 0.5 * a * (trans_b ? Eigen::MatrixXd(b.transpose()) : b);
      Eigen::MatrixXd serial = big;
      gemm_serial<double>(m, n, k, -0.5, a.data(), m, b.data(), b.rows(), trans_b, serial.data(), m + 3);
      gemm_parallel<double>(m, n, k, -0.5, a.data(), m, b.data(), b.rows(), trans_b, big.data(), m + 3);
      EXPECT_LE((serial.topRows(m) - want).cwiseAbs().maxCoeff(), 1e-12 * (k + 1))
          << m << " " << n << " " << k;
      EXPECT_LE((big.topRows(m) - want).cwiseAbs().maxCoeff(), 1e-12 * (k + 1)) << m << " " << n << " " << k;
      EXPECT_EQ(big.bottomRows(3), orig.bottomRows(3));  // rows outside C untouched
      EXPECT_EQ(serial.bottomRows(3), orig.bottomRows(3));
    }
}

}  // namespace
}  // namespace qs::obc
