// Gemm and MatMul kernels against brute-force loops written here, over size sweeps (fixed seed).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/common/parallel.h"
#include "core/ops/kernel.h"

namespace qs {
namespace {

template <typename T>
Tensor random_tensor(const Shape& s, std::mt19937& rng) {
  std::uniform_int_distribution<int> u(-8, 8);
  std::uniform_real_distribution<double> r(-1.0, 1.0);
  std::vector<T> v(static_cast<size_t>(numel(s)));
  for (T& x : v) x = std::is_integral_v<T> ? static_cast<T>(u(rng)) : static_cast<T>(r(rng));
  return Tensor::from_vector<T>(s, v);
}

Tensor run_op(const Node& node, const std::vector<const Tensor*>& in, int64_t opset = 13) {
  KernelInit init{node, opset, nullptr};
  auto kernel = OpRegistry::instance().create(init);
  std::vector<Tensor> out(1);
  kernel->run(in, out);
  return out[0];
}

Node gemm_node(bool ta, bool tb, float alpha, float beta, bool with_c) {
  Node n;
  n.name = "gemm_under_test";
  n.op_type = "Gemm";
  n.inputs = {"A", "B"};
  if (with_c) n.inputs.push_back("C");
  n.outputs = {"Y"};
  if (ta) n.attrs["transA"] = Attribute::of_int(1);
  if (tb) n.attrs["transB"] = Attribute::of_int(1);
  if (alpha != 1.f) n.attrs["alpha"] = Attribute::of_float(alpha);
  if (beta != 1.f) n.attrs["beta"] = Attribute::of_float(beta);
  return n;
}

Node matmul_node() {
  Node n;
  n.name = "matmul_under_test";
  n.op_type = "MatMul";
  n.inputs = {"A", "B"};
  n.outputs = {"Y"};
  return n;
}

template <typename T>
void expect_close(const Tensor& got, const std::vector<double>& want, const Shape& shape,
                  const std::string& what) {
  ASSERT_EQ(got.shape(), shape) << what;
  const T* g = got.data<T>();
  for (size_t i = 0; i < want.size(); ++i) {
    const double tol =
        std::is_integral_v<T> ? 0.0 : (std::is_same_v<T, float> ? 1e-4 : 1e-10) * (1 + std::fabs(want[i]));
    ASSERT_NEAR(static_cast<double>(g[i]), want[i], tol) << what << " element " << i;
  }
}

// Brute-force Gemm: Y[i][j] = alpha * sum_k A'[i][k] B'[k][j] + beta * C[broadcast i, j].
template <typename T>
std::vector<double> gemm_loops(const Tensor& a, const Tensor& b, const Tensor* c, bool ta, bool tb,
                               double alpha, double beta, int64_t M, int64_t N, int64_t K) {
  const T* A = a.data<T>();
  const T* B = b.data<T>();
  std::vector<double> y(static_cast<size_t>(M * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k)
        acc += double(ta ? A[k * M + i] : A[i * K + k]) * double(tb ? B[j * K + k] : B[k * N + j]);
      double cv = 0;
      if (c) {
        const Shape& cs = c->shape();
        const int64_t ci = cs.size() == 2 && cs[0] != 1 ? i : 0;
        const int64_t cj = !cs.empty() && cs.back() != 1 ? j : 0;
        const int64_t cols = cs.empty() ? 1 : cs.back();
        cv = double(c->data<T>()[ci * cols + cj]);
      }
      y[static_cast<size_t>(i * N + j)] = alpha * acc + beta * cv;
    }
  return y;
}

const std::vector<int64_t> kSizes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17, 31, 32, 33, 63, 64, 65};

TEST(Gemm, SizeSweepAllTransposes) {
  std::mt19937 rng(21);
  for (int64_t M : kSizes)
    for (int64_t N : {1, 3, 16, 17, 33, 65})
      for (int64_t K : {1, 2, 9, 32, 65}) {
        const bool ta = (M + K) % 2 == 1, tb = (N + K) % 3 == 0;
        const Tensor a = random_tensor<float>(ta ? Shape{K, M} : Shape{M, K}, rng);
        const Tensor b = random_tensor<float>(tb ? Shape{N, K} : Shape{K, N}, rng);
        const Tensor c = random_tensor<float>({N}, rng);
        const Tensor y = run_op(gemm_node(ta, tb, 0.5f, 2.f, true), {&a, &b, &c});
        expect_close<float>(y, gemm_loops<float>(a, b, &c, ta, tb, 0.5, 2.0, M, N, K), {M, N},
                            "M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K));
      }
}

TEST(Gemm, CBroadcastShapesAndOptionalC) {
  std::mt19937 rng(22);
  const int64_t M = 5, N = 7, K = 4;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const Tensor a = random_tensor<float>(ta ? Shape{K, M} : Shape{M, K}, rng);
      const Tensor b = random_tensor<float>(tb ? Shape{N, K} : Shape{K, N}, rng);
      for (const Shape& cs : std::vector<Shape>{{}, {1}, {N}, {1, N}, {M, 1}, {M, N}, {1, 1}}) {
        const Tensor c = random_tensor<float>(cs, rng);
        const Tensor y = run_op(gemm_node(ta, tb, 1.5f, -0.25f, true), {&a, &b, &c});
        expect_close<float>(y, gemm_loops<float>(a, b, &c, ta, tb, 1.5, -0.25, M, N, K), {M, N},
                            "C " + shape_str(cs));
      }
      const Tensor y = run_op(gemm_node(ta, tb, 2.f, 1.f, false), {&a, &b});
      expect_close<float>(y, gemm_loops<float>(a, b, nullptr, ta, tb, 2.0, 0, M, N, K), {M, N}, "no C");
    }
}

TEST(Gemm, LargeTiledAndDoubleAndThreadIndependent) {
  std::mt19937 rng(23);
  const int saved = num_threads();
  for (auto [M, N, K] :
       std::vector<std::array<int64_t, 3>>{{64, 120, 400}, {300, 200, 100}, {1, 500, 800}, {7, 900, 300}}) {
    const Tensor a = random_tensor<float>({M, K}, rng), b = random_tensor<float>({N, K}, rng);
    const Tensor c = random_tensor<float>({N}, rng);
    set_num_threads(1);
    const Tensor one = run_op(gemm_node(false, true, 1.f, 1.f, true), {&a, &b, &c});
    set_num_threads(2);
    const Tensor two = run_op(gemm_node(false, true, 1.f, 1.f, true), {&a, &b, &c});
    set_num_threads(saved);
    expect_close<float>(one, gemm_loops<float>(a, b, &c, false, true, 1, 1, M, N, K), {M, N}, "large");
    EXPECT_EQ(one.to_vector<float>(), two.to_vector<float>());
  }
  const Tensor a = random_tensor<double>({9, 13}, rng), b = random_tensor<double>({13, 11}, rng);
  const Tensor c = random_tensor<double>({9, 1}, rng);
  const Tensor y = run_op(gemm_node(false, false, 0.75f, 0.5f, true), {&a, &b, &c});
  expect_close<double>(y, gemm_loops<double>(a, b, &c, false, false, 0.75, 0.5, 9, 11, 13), {9, 11},
                       "double");
}

TEST(Gemm, InvalidShapesAreReported) {
  std::mt19937 rng(24);
  const Tensor a = random_tensor<float>({3, 4}, rng), b = random_tensor<float>({5, 6}, rng);
  EXPECT_THROW(run_op(gemm_node(false, false, 1, 1, false), {&a, &b}), Error);
  const Tensor b2 = random_tensor<float>({4, 6}, rng), c = random_tensor<float>({2, 6}, rng);
  try {
    run_op(gemm_node(false, false, 1, 1, true), {&a, &b2, &c});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("C has shape [2, 6]"), std::string::npos) << e.what();
  }
  // Opset 6 without broadcast=1: C must be exactly (M, N).
  const Tensor c_row = random_tensor<float>({6}, rng);
  EXPECT_THROW(run_op(gemm_node(false, false, 1, 1, true), {&a, &b2, &c_row}, 6), Error);
  Node bc = gemm_node(false, false, 1, 1, true);
  bc.attrs["broadcast"] = Attribute::of_int(1);
  EXPECT_NO_THROW(run_op(bc, {&a, &b2, &c_row}, 6));
  const Tensor a3 = random_tensor<float>({2, 3, 4}, rng);
  EXPECT_THROW(run_op(gemm_node(false, false, 1, 1, false), {&a3, &b2}), Error);
}

// Brute-force numpy matmul over explicit batch broadcasting.
template <typename T>
std::vector<double> matmul_loops(const Tensor& a, const Tensor& b, Shape& y_shape) {
  Shape as = a.shape(), bs = b.shape();
  const bool a1 = as.size() == 1, b1 = bs.size() == 1;
  if (a1) as.insert(as.begin(), 1);
  if (b1) bs.push_back(1);
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  const size_t rank = std::max(as.size(), bs.size());
  as.insert(as.begin(), rank - as.size(), 1);
  bs.insert(bs.begin(), rank - bs.size(), 1);
  Shape batch;
  for (size_t i = 0; i + 2 < rank; ++i) batch.push_back(as[i] == 1 ? bs[i] : as[i]);
  const int64_t nb = numel(batch);
  std::vector<double> y;
  for (int64_t bi = 0; bi < nb; ++bi) {
    // Batch offsets (in matrices) of A and B for output batch bi.
    int64_t oa = 0, ob = 0, r = bi, sa = 1, sb = 1;
    for (size_t d = batch.size(); d-- > 0;) {
      const int64_t idx = r % batch[d];
      r /= batch[d];
      oa += (as[d] == 1 ? 0 : idx) * sa;
      ob += (bs[d] == 1 ? 0 : idx) * sb;
      sa *= as[d];
      sb *= bs[d];
    }
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k)
          acc += double(a.data<T>()[oa * M * K + i * K + k]) * double(b.data<T>()[ob * K * N + k * N + j]);
        y.push_back(acc);
      }
  }
  y_shape = batch;
  if (!a1) y_shape.push_back(M);
  if (!b1) y_shape.push_back(N);
  return y;
}

template <typename T>
void check_matmul(const Shape& as, const Shape& bs, std::mt19937& rng) {
  const Tensor a = random_tensor<T>(as, rng), b = random_tensor<T>(bs, rng);
  Shape ys;
  const std::vector<double> want = matmul_loops<T>(a, b, ys);
  expect_close<T>(run_op(matmul_node(), {&a, &b}), want, ys, "A " + shape_str(as) + " B " + shape_str(bs));
}

TEST(MatMul, SizeSweep2d) {
  std::mt19937 rng(31);
  for (int64_t M : kSizes)
    for (int64_t N : {1, 2, 16, 17, 64, 65})
      for (int64_t K : {1, 3, 31, 64}) check_matmul<float>({M, K}, {K, N}, rng);
}

TEST(MatMul, VectorsAndBatchBroadcast) {
  std::mt19937 rng(32);
  const std::vector<std::pair<Shape, Shape>> cases = {{{5}, {5}},
                                                      {{5}, {5, 3}},
                                                      {{4, 5}, {5}},
                                                      {{5}, {2, 5, 3}},
                                                      {{2, 4, 5}, {5}},
                                                      {{2, 3, 4, 5}, {5, 6}},
                                                      {{3, 4, 5}, {3, 5, 6}},
                                                      {{2, 1, 4, 5}, {3, 5, 6}},
                                                      {{1, 4, 5}, {3, 5, 6}},
                                                      {{4, 5}, {2, 3, 5, 6}},
                                                      {{2, 1, 3, 4}, {1, 5, 4, 2}},
                                                      {{0, 4, 5}, {5, 3}},
                                                      {{4, 0}, {0, 3}},
                                                      {{2, 33, 65}, {2, 65, 17}},
                                                      {{64, 400}, {400, 120}},
                                                      {{3, 200, 300}, {300, 64}}};
  for (const auto& [as, bs] : cases) check_matmul<float>(as, bs, rng);
  check_matmul<double>({2, 3, 7}, {7, 4}, rng);
  check_matmul<int64_t>({2, 3, 7}, {2, 7, 4}, rng);
  check_matmul<int32_t>({5, 6}, {6, 5}, rng);
}

TEST(MatMul, InvalidShapesAreReported) {
  std::mt19937 rng(33);
  const Tensor a = random_tensor<float>({2, 3, 4}, rng), b = random_tensor<float>({3, 5, 6}, rng);
  try {
    run_op(matmul_node(), {&a, &b});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("K = 4"), std::string::npos) << e.what();
  }
  const Tensor c = random_tensor<float>({3, 4, 6}, rng);
  EXPECT_THROW(run_op(matmul_node(), {&a, &c}), Error);  // batch 2 vs 3
  const Tensor s = Tensor::scalar<float>(1.f);
  EXPECT_THROW(run_op(matmul_node(), {&s, &a}), Error);
  const Tensor u = Tensor::zeros(DType::UInt8, {2, 2});
  EXPECT_THROW(run_op(matmul_node(), {&u, &u}), UnsupportedError);
}

}  // namespace
}  // namespace qs
