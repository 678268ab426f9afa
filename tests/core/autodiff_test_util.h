// Helpers for the reverse-mode tests: one-node graphs, seeded random tensors and a central finite-difference
// check of every gradient the reverse pass returns.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/autodiff/reverse.h"
#include "core/graph/graph.h"

namespace qs::testing {

inline Tensor randn(const Shape& s, std::mt19937& rng, float scale = 1.f) {
  std::normal_distribution<float> d(0.f, scale);
  Tensor t(DType::Float32, s);
  for (auto& v : t.span<float>()) v = d(rng);
  return t;
}

inline Tensor uniform(const Shape& s, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  Tensor t(DType::Float32, s);
  for (auto& v : t.span<float>()) v = d(rng);
  return t;
}

// Values with |x| in [0.1, 1.5] and random signs: at least 0.1 away from the kink at 0.
inline Tensor away_from_zero(const Shape& s, std::mt19937& rng) {
  Tensor t = uniform(s, rng, 0.1f, 1.5f);
  std::bernoulli_distribution coin(0.5);
  for (auto& v : t.span<float>()) v = coin(rng) ? v : -v;
  return t;
}

// Distinct values 0.1 apart in random order (MaxPool/ReduceMax: no ties within finite-difference steps).
inline Tensor distinct(const Shape& s, std::mt19937& rng) {
  Tensor t(DType::Float32, s);
  std::vector<float> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = 0.1f * static_cast<float>(i) - 0.05f * static_cast<float>(v.size());
  std::shuffle(v.begin(), v.end(), rng);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

inline Tensor ints(const Shape& s, std::vector<int64_t> v) { return Tensor::from_vector<int64_t>(s, v); }

inline Attribute str_attr(const std::string& s) {
  Attribute a;
  a.kind = Attribute::Kind::String;
  a.s = s;
  return a;
}

struct OpCase {
  OpCase(std::string op_, int64_t opset_, std::vector<std::pair<std::string, Tensor>> diff_,
         std::map<std::string, Tensor> consts_, std::vector<std::string> inputs_, int outputs_ = 1,
         std::map<std::string, Attribute> attrs_ = {})
      : op(std::move(op_)),
        opset(opset_),
        diff(std::move(diff_)),
        consts(std::move(consts_)),
        inputs(std::move(inputs_)),
        outputs(outputs_),
        attrs(std::move(attrs_)) {}
  std::string op;
  int64_t opset = 13;
  std::vector<std::pair<std::string, Tensor>> diff;  // runtime inputs, differentiated
  std::map<std::string, Tensor> consts;              // initializers (not differentiated)
  std::vector<std::string> inputs;                   // node inputs in order ("" = omitted)
  int outputs = 1;
  std::map<std::string, Attribute> attrs;
};

inline Graph one_node_graph(const OpCase& c) {
  Graph g;
  g.opset = c.opset;
  g.opset_imports[""] = c.opset;
  for (const auto& [n, t] : c.diff) g.inputs.push_back({n, DType::Float32, std::nullopt});
  g.initializers = c.consts;
  Node node;
  node.name = "n0";
  node.op_type = c.op;
  node.inputs = c.inputs;
  node.attrs = c.attrs;
  for (int k = 0; k < c.outputs; ++k) {
    node.outputs.push_back("y" + std::to_string(k));
    g.outputs.push_back({"y" + std::to_string(k), DType::Float32, std::nullopt});
  }
  g.nodes = {node};
  return g;
}

// L = Σ_k <u_k, y_k> in double.
inline double weighted_sum(const ReverseModel& m, const std::map<std::string, Tensor>& feeds,
                           const std::map<std::string, Tensor>& u, const ForwardOptions& fo = {}) {
  const Tape t = m.forward(feeds, fo);
  double s = 0;
  for (const auto& [name, w] : u) {
    const Tensor& y = t.value(name);
    for (int64_t i = 0; i < y.numel(); ++i) s += static_cast<double>(y.data<float>()[i]) * w.data<float>()[i];
  }
  return s;
}

// The reverse gradient of L = Σ <u, y> over the `seeded` outputs (random u from `seed`) with respect to every
// feed, against central finite differences of the forward pass (step eps, on every element): the maximum
// error must be within tol · max(1, max |gradient|). Feeds in `may_vanish` may have an identically zero
// gradient (their finite differences must then be zero too); for the others that would prove nothing.
inline void check_graph_vjp(const Graph& g, const std::map<std::string, Tensor>& feeds,
                            const std::vector<std::string>& seeded,
                            const std::set<std::string>& may_vanish = {}, double eps = 1e-2,
                            double tol = 4e-3, uint32_t seed = 11) {
  const ReverseModel m(g);
  const Tape tape = m.forward(feeds);
  std::mt19937 rng(seed);
  std::map<std::string, Tensor> u;
  for (const auto& o : seeded) u[o] = randn(tape.value(o).shape(), rng);
  std::vector<std::string> wrt;
  for (const auto& [name, t] : feeds) wrt.push_back(name);
  const auto grads = m.backward(tape, u, wrt);
  for (const auto& [name, x] : feeds) {
    SCOPED_TRACE("gradient of input '" + name + "'");
    ASSERT_TRUE(grads.count(name));
    const Tensor& an = grads.at(name);
    ASSERT_EQ(an.shape(), x.shape());
    double max_an = 0, max_err = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      double fd[2];
      for (int s = 0; s < 2; ++s) {
        Tensor xp = x.clone();
        xp.data<float>()[i] += static_cast<float>(s == 0 ? eps : -eps);
        auto f = feeds;
        f[name] = xp;
        fd[s] = weighted_sum(m, f, u);
      }
      // The actual step in float32 (x ± eps is rounded).
      const double h = static_cast<double>(x.data<float>()[i] + static_cast<float>(eps)) -
                       static_cast<double>(x.data<float>()[i] - static_cast<float>(eps));
      const double a = an.data<float>()[i];
      max_an = std::max(max_an, std::abs(a));
      max_err = std::max(max_err, std::abs((fd[0] - fd[1]) / h - a));
    }
    if (!may_vanish.count(name)) {
      EXPECT_GT(max_an, 0.0) << "the gradient is identically zero";
    }
    EXPECT_LE(max_err, tol * std::max(1.0, max_an)) << "max |gradient| " << max_an;
  }
}

// check_graph_vjp on the one-node graph of `c`, every output seeded, every differentiated input checked.
inline void check_vjp(const OpCase& c, double eps = 1e-2, double tol = 4e-3, uint32_t seed = 7) {
  SCOPED_TRACE(c.op + " opset " + std::to_string(c.opset));
  std::map<std::string, Tensor> feeds;
  for (const auto& [n, t] : c.diff) feeds[n] = t;
  const Graph g = one_node_graph(c);
  std::vector<std::string> outputs;
  for (const auto& o : g.outputs) outputs.push_back(o.name);
  check_graph_vjp(g, feeds, outputs, {}, eps, tol, seed);
}

// Tr(JᵀJ) of the output y (one sample, input "x") with respect to `name` (an initializer or a value), and
// the variance of one Rademacher probe's estimate, 4 Σ_{k<l} (JJᵀ)_kl², from the full Jacobian by central
// differences of the forward pass.
struct ExactTrace {
  double trace = 0, sigma2 = 0;
};
inline ExactTrace exact_trace(const Graph& g, const Tensor& x, const std::string& name) {
  const bool weight = g.is_initializer(name);
  const ReverseModel m(g, weight ? std::set<std::string>{name} : std::set<std::string>{});
  const Tape base = m.forward({{"x", x}});
  const Tensor z = weight ? *g.initializer(name) : base.value(name);
  const int64_t K = base.value("y").numel();
  std::vector<std::vector<double>> J(static_cast<size_t>(K));
  const float h = 1e-2f;
  for (int64_t i = 0; i < z.numel(); ++i) {
    Tensor y[2];
    for (int s = 0; s < 2; ++s) {
      ForwardOptions fo;
      if (weight) {
        Tensor p = z.clone();
        p.data<float>()[i] += s ? -h : h;
        fo.params[name] = p;
      } else {
        Tensor p = Tensor::zeros(DType::Float32, z.shape());
        p.data<float>()[i] = s ? -h : h;
        fo.perturb[name] = p;
      }
      y[s] = m.forward({{"x", x}}, fo).value("y");
    }
    for (int64_t k = 0; k < K; ++k)
      J[static_cast<size_t>(k)].push_back(
          (static_cast<double>(y[0].data<float>()[k]) - y[1].data<float>()[k]) / (2 * h));
  }
  ExactTrace e;
  for (size_t k = 0; k < J.size(); ++k)
    for (size_t l = k; l < J.size(); ++l) {
      double a = 0;
      for (size_t i = 0; i < J[k].size(); ++i) a += J[k][i] * J[l][i];
      if (l == k)
        e.trace += a;
      else
        e.sigma2 += 4 * a * a;
    }
  return e;
}

}  // namespace qs::testing
