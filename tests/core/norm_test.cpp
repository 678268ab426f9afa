// BatchNormalization, LayerNormalization, Softmax and LogSoftmax against straightforward loops.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "core/ops/kernel.h"

namespace qs {
namespace {

// Runs one node; inputs whose index is in `constant` are visible to the factory as constants. An
// undefined Tensor marks an omitted input.
std::vector<Tensor> run_node(Node node, int64_t opset, const std::vector<Tensor>& inputs,
                             size_t num_outputs = 1, const std::set<size_t>& constant = {}) {
  node.name = "n";
  node.inputs.clear();
  for (size_t i = 0; i < inputs.size(); ++i)
    node.inputs.push_back(inputs[i].defined() ? "in" + std::to_string(i) : "");
  node.outputs.clear();
  for (size_t i = 0; i < num_outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
  KernelInit init{node, opset, [&](const std::string& name) -> const Tensor* {
                    for (size_t i = 0; i < inputs.size(); ++i)
                      if (node.inputs[i] == name && constant.count(i)) return &inputs[i];
                    return nullptr;
                  }};
  auto k = OpRegistry::instance().create(init);
  std::vector<const Tensor*> in;
  for (const auto& t : inputs) in.push_back(t.defined() ? &t : nullptr);
  std::vector<Tensor> out(num_outputs);
  k->run(in, out);
  return out;
}

Tensor random_tensor(const Shape& s, std::mt19937& rng, float lo = -2.f, float hi = 2.f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(numel(s)));
  for (auto& x : v) x = d(rng);
  return Tensor::from_vector<float>(s, v);
}

void expect_near(const Tensor& got, const std::vector<double>& want, double tol, const std::string& what) {
  const auto g = got.to_vector<float>();
  ASSERT_EQ(g.size(), want.size()) << what;
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_NEAR(g[i], want[i], tol * (1 + std::abs(want[i]))) << what << " at " << i;
}

Node make(const std::string& op) {
  Node n;
  n.op_type = op;
  return n;
}

// ---- BatchNormalization ----

std::vector<double> bn_reference(const Tensor& x, const Tensor& s, const Tensor& b, const Tensor& m,
                                 const Tensor& v, double eps, bool spatial) {
  const auto xv = x.to_vector<double>(), sv = s.to_vector<double>(), bv = b.to_vector<double>(),
             mv = m.to_vector<double>(), vv = v.to_vector<double>();
  const int64_t n = x.dim(0), c = x.dim(1), size = x.numel() / (n * c);
  std::vector<double> y(xv.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t k = 0; k < size; ++k) {
        const size_t e = static_cast<size_t>((i * c + ch) * size + k);
        const size_t p = static_cast<size_t>(spatial ? ch : ch * size + k);
        y[e] = (xv[e] - mv[p]) / std::sqrt(vv[p] + eps) * sv[p] + bv[p];
      }
  return y;
}

TEST(BatchNormalization, ConstantAndRuntimeParameters) {
  std::mt19937 rng(1);
  const Tensor x = random_tensor({2, 3, 4, 5}, rng);
  const Tensor s = random_tensor({3}, rng), b = random_tensor({3}, rng), m = random_tensor({3}, rng),
               v = random_tensor({3}, rng, 0.1f, 2.f);
  Node n = make("BatchNormalization");
  n.attrs["epsilon"] = Attribute::of_float(1e-2f);
  const auto want = bn_reference(x, s, b, m, v, 1e-2f, true);
  for (int64_t opset : {7, 9, 14, 15}) {
    expect_near(run_node(n, opset, {x, s, b, m, v}, 1, {1, 2, 3, 4})[0], want, 1e-5, "constant");
    expect_near(run_node(n, opset, {x, s, b, m, v})[0], want, 1e-5, "runtime");
  }
  // Rank 2 (N x C) and rank 3.
  const Tensor x2 = random_tensor({4, 3}, rng), x3 = random_tensor({2, 3, 7}, rng);
  expect_near(run_node(n, 15, {x2, s, b, m, v})[0], bn_reference(x2, s, b, m, v, 1e-2f, true), 1e-5,
              "rank 2");
  expect_near(run_node(n, 15, {x3, s, b, m, v})[0], bn_reference(x3, s, b, m, v, 1e-2f, true), 1e-5,
              "rank 3");
}

TEST(BatchNormalization, NonSpatialOpset7) {
  std::mt19937 rng(2);
  const Tensor x = random_tensor({2, 3, 2, 2}, rng);
  const Tensor s = random_tensor({3, 2, 2}, rng), b = random_tensor({3, 2, 2}, rng),
               m = random_tensor({3, 2, 2}, rng), v = random_tensor({3, 2, 2}, rng, 0.1f, 2.f);
  Node n = make("BatchNormalization");
  n.attrs["spatial"] = Attribute::of_int(0);
  expect_near(run_node(n, 7, {x, s, b, m, v})[0], bn_reference(x, s, b, m, v, 1e-5, false), 1e-5,
              "spatial=0");
  // The same node as spatial=1 has the wrong parameter count.
  n.attrs["spatial"] = Attribute::of_int(1);
  EXPECT_THROW(run_node(n, 7, {x, s, b, m, v}), Error);
}

TEST(BatchNormalization, TrainingModeIsRefused) {
  std::mt19937 rng(3);
  const Tensor x = random_tensor({2, 3}, rng), p = random_tensor({3}, rng, 0.5f, 1.f);
  Node t = make("BatchNormalization");
  t.attrs["training_mode"] = Attribute::of_int(1);
  EXPECT_THROW(run_node(t, 15, {x, p, p, p, p}), UnsupportedError);
  EXPECT_THROW(run_node(make("BatchNormalization"), 9, {x, p, p, p, p}, 3), UnsupportedError);
  EXPECT_THROW(run_node(make("BatchNormalization"), 6, {x, p, p, p, p}), UnsupportedError);  // is_test=0
  Node test = make("BatchNormalization");
  test.attrs["is_test"] = Attribute::of_int(1);
  EXPECT_NO_THROW(run_node(test, 6, {x, p, p, p, p}));
}

// ---- LayerNormalization ----

struct LnRef {
  std::vector<double> y, mean, inv;
};
LnRef ln_reference(const Tensor& x, int64_t axis, const std::vector<double>& scale_full,
                   const std::vector<double>& bias_full, double eps) {
  const auto xv = x.to_vector<double>();
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
  const int64_t inner = x.numel() / outer;
  LnRef r;
  r.y.resize(xv.size());
  for (int64_t o = 0; o < outer; ++o) {
    double m = 0, var = 0;
    for (int64_t i = 0; i < inner; ++i) m += xv[static_cast<size_t>(o * inner + i)];
    m /= static_cast<double>(inner);
    for (int64_t i = 0; i < inner; ++i) var += std::pow(xv[static_cast<size_t>(o * inner + i)] - m, 2);
    var /= static_cast<double>(inner);
    const double inv = 1 / std::sqrt(var + eps);
    for (int64_t i = 0; i < inner; ++i) {
      const size_t e = static_cast<size_t>(o * inner + i);
      r.y[e] = (xv[e] - m) * inv * scale_full[e] + (bias_full.empty() ? 0 : bias_full[e]);
    }
    r.mean.push_back(m);
    r.inv.push_back(inv);
  }
  return r;
}

// Values of `t` broadcast (numpy rules) to `shape`, in row-major order.
std::vector<double> broadcast_values(const Tensor& t, const Shape& shape) {
  const auto v = t.to_vector<double>();
  std::vector<double> out(static_cast<size_t>(numel(shape)));
  const size_t r = shape.size(), tr = t.shape().size();
  for (size_t e = 0; e < out.size(); ++e) {
    size_t rem = e, src = 0, mul = 1;
    for (size_t a = r; a-- > 0;) {
      const size_t idx = rem % static_cast<size_t>(shape[a]);
      rem /= static_cast<size_t>(shape[a]);
      if (a + tr >= r) {
        const size_t ta = a + tr - r;
        const size_t ext = static_cast<size_t>(t.shape()[ta]);
        src += (ext == 1 ? 0 : idx) * mul;
        mul *= ext;
      }
    }
    out[e] = v[src];
  }
  return out;
}

TEST(LayerNormalization, EveryAxisWithStatistics) {
  std::mt19937 rng(4);
  const Tensor x = random_tensor({2, 3, 4, 5}, rng);
  for (int64_t axis : {0, 1, 2, 3, -1, -2, -4}) {
    const int64_t a = axis < 0 ? axis + 4 : axis;
    const Shape inner(x.shape().begin() + a, x.shape().end());
    const Tensor s = random_tensor(inner, rng), b = random_tensor(inner, rng);
    Node n = make("LayerNormalization");
    n.attrs["axis"] = Attribute::of_int(axis);
    n.attrs["epsilon"] = Attribute::of_float(0.1f);
    const LnRef want =
        ln_reference(x, a, broadcast_values(s, x.shape()), broadcast_values(b, x.shape()), 0.1f);
    const auto got = run_node(n, 17, {x, s, b}, 3);
    const std::string what = "axis " + std::to_string(axis);
    expect_near(got[0], want.y, 1e-5, what);
    expect_near(got[1], want.mean, 1e-5, what + " mean");
    expect_near(got[2], want.inv, 1e-5, what + " inv");
    Shape stat = x.shape();
    for (size_t i = static_cast<size_t>(a); i < 4; ++i) stat[i] = 1;
    EXPECT_EQ(got[1].shape(), stat);
  }
}

TEST(LayerNormalization, BroadcastScaleAndNoBias) {
  std::mt19937 rng(5);
  const Tensor x = random_tensor({2, 3, 4, 5}, rng);
  Node n = make("LayerNormalization");
  n.attrs["axis"] = Attribute::of_int(2);
  // Scale broadcast inside the normalized axes, no bias.
  const Tensor s1 = random_tensor({1, 5}, rng);
  expect_near(run_node(n, 17, {x, s1})[0], ln_reference(x, 2, broadcast_values(s1, x.shape()), {}, 1e-5).y,
              1e-5, "scale [1,5]");
  // Scale and bias that vary along an outer axis.
  const Tensor s2 = random_tensor({3, 1, 5}, rng), b2 = random_tensor({2, 1, 1, 1}, rng);
  expect_near(run_node(n, 17, {x, s2, b2})[0],
              ln_reference(x, 2, broadcast_values(s2, x.shape()), broadcast_values(b2, x.shape()), 1e-5).y,
              1e-5, "outer scale");
  // Not broadcastable.
  EXPECT_THROW(run_node(n, 17, {x, random_tensor({4}, rng)}), Error);
  Node st = make("LayerNormalization");
  st.attrs["stash_type"] = Attribute::of_int(11);
  EXPECT_THROW(run_node(st, 17, {x, s1}), UnsupportedError);
}

// ---- Softmax / LogSoftmax ----

// Normalizes groups: element e belongs to group key(e); y = softmax within each group.
std::vector<double> softmax_reference(const Tensor& x, int64_t outer, int64_t n, int64_t inner, bool log) {
  const auto xv = x.to_vector<double>();
  std::vector<double> y(xv.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double m = -1e300, s = 0;
      for (int64_t k = 0; k < n; ++k) m = std::max(m, xv[static_cast<size_t>((o * n + k) * inner + i)]);
      for (int64_t k = 0; k < n; ++k) s += std::exp(xv[static_cast<size_t>((o * n + k) * inner + i)] - m);
      for (int64_t k = 0; k < n; ++k) {
        const size_t e = static_cast<size_t>((o * n + k) * inner + i);
        y[e] = log ? xv[e] - m - std::log(s) : std::exp(xv[e] - m) / s;
      }
    }
  return y;
}

TEST(Softmax, AlongAxisOpset13) {
  std::mt19937 rng(6);
  const Tensor x = random_tensor({3, 4, 5}, rng, -5.f, 5.f);
  for (bool log : {false, true})
    for (int64_t axis : {0, 1, 2, -1}) {
      Node n = make(log ? "LogSoftmax" : "Softmax");
      n.attrs["axis"] = Attribute::of_int(axis);
      const int64_t a = axis < 0 ? axis + 3 : axis;
      int64_t outer = 1, inner = 1;
      for (int64_t i = 0; i < a; ++i) outer *= x.dim(i);
      for (int64_t i = a + 1; i < 3; ++i) inner *= x.dim(i);
      expect_near(run_node(n, 13, {x})[0], softmax_reference(x, outer, x.dim(a), inner, log), 1e-5,
                  (log ? "log axis " : "axis ") + std::to_string(axis));
    }
  // Default axis (-1).
  expect_near(run_node(make("Softmax"), 13, {x})[0], softmax_reference(x, 12, 5, 1, false), 1e-5, "default");
}

TEST(Softmax, CoercedTo2DBeforeOpset13) {
  std::mt19937 rng(7);
  const Tensor x = random_tensor({3, 4, 5}, rng, -5.f, 5.f);
  for (bool log : {false, true}) {
    // Default axis 1: rows of 4 * 5.
    expect_near(run_node(make(log ? "LogSoftmax" : "Softmax"), 11, {x})[0],
                softmax_reference(x, 3, 20, 1, log), 1e-5, "default axis");
    Node n = make(log ? "LogSoftmax" : "Softmax");
    n.attrs["axis"] = Attribute::of_int(0);
    expect_near(run_node(n, 1, {x})[0], softmax_reference(x, 1, 60, 1, log), 1e-5, "axis 0");
  }
}

TEST(Softmax, LargeValuesAreStable) {
  const Tensor x = Tensor::from_vector<float>({2, 4}, {0, 1, 2, 3, 10000, 10001, 10002, 10003});
  const Tensor y = run_node(make("Softmax"), 13, {x})[0];
  const Tensor ly = run_node(make("LogSoftmax"), 13, {x})[0];
  const auto want = softmax_reference(x, 2, 4, 1, false), lwant = softmax_reference(x, 2, 4, 1, true);
  expect_near(y, want, 1e-6, "softmax");
  expect_near(ly, lwant, 1e-5, "logsoftmax");
  // Along axis 0 (strided path).
  Node n0 = make("LogSoftmax");
  n0.attrs["axis"] = Attribute::of_int(0);
  const Tensor xt = Tensor::from_vector<float>({4, 2}, {0, 10000, 1, 10001, 2, 10002, 3, 10003});
  expect_near(run_node(n0, 13, {xt})[0], softmax_reference(xt, 1, 4, 2, true), 1e-5, "logsoftmax axis 0");
}

}  // namespace
}  // namespace qs
