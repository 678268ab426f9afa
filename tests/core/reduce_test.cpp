// Reduce* and ArgMax/ArgMin against brute-force references: every output element is computed here from its
// multi-index by looping over all input elements that map to it, in double.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <set>

#include "core/ops/kernel.h"

namespace qs {
namespace {

struct OpCall {
  std::string type;
  std::vector<Tensor> in;  // an undefined Tensor is an omitted input
  std::map<std::string, Attribute> attrs = {};
  int64_t opset = 13;
  std::set<size_t> constant = {};
};

Tensor run(const OpCall& c) {
  Node n;
  n.name = "reduce_node";
  n.op_type = c.type;
  for (size_t i = 0; i < c.in.size(); ++i) {
    std::string name;
    if (c.in[i].defined()) name.append("i").append(std::to_string(i));
    n.inputs.push_back(name);
  }
  n.outputs = {"out"};
  n.attrs = c.attrs;
  std::map<std::string, Tensor> consts;
  for (size_t i : c.constant) consts[n.inputs[i]] = c.in[i];
  KernelInit init{n, c.opset, [&consts](const std::string& v) -> const Tensor* {
                    auto it = consts.find(v);
                    return it == consts.end() ? nullptr : &it->second;
                  }};
  auto k = OpRegistry::instance().create(init);
  std::vector<const Tensor*> ptrs;
  for (const auto& t : c.in) ptrs.push_back(t.defined() ? &t : nullptr);
  std::vector<Tensor> out(1);
  k->run(ptrs, out);
  return out[0];
}

Tensor random_tensor(const Shape& s, std::mt19937& rng, double lo, double hi) {
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(numel(s)));
  for (auto& x : v) x = static_cast<float>(d(rng));
  return Tensor::from_vector<float>(s, v);
}

std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> idx(s.size());
  for (size_t a = s.size(); a-- > 0;) {
    idx[a] = i % s[a];
    i /= s[a];
  }
  return idx;
}

struct RefOp {
  std::string name;
  double init;
  std::function<double(double acc, double x)> step;
  std::function<double(double acc, int64_t n)> finish;
};

const std::vector<RefOp>& ref_ops() {
  static const std::vector<RefOp> ops = {
      {"ReduceSum", 0, [](double a, double x) { return a + x; }, [](double a, int64_t) { return a; }},
      {"ReduceMean", 0, [](double a, double x) { return a + x; }, [](double a, int64_t n) { return a / n; }},
      {"ReduceMax", -INFINITY, [](double a, double x) { return std::max(a, x); },
       [](double a, int64_t) { return a; }},
      {"ReduceMin", INFINITY, [](double a, double x) { return std::min(a, x); },
       [](double a, int64_t) { return a; }},
      {"ReduceProd", 1, [](double a, double x) { return a * x; }, [](double a, int64_t) { return a; }},
      {"ReduceSumSquare", 0, [](double a, double x) { return a + x * x; },
       [](double a, int64_t) { return a; }},
      {"ReduceL1", 0, [](double a, double x) { return a + std::abs(x); },
       [](double a, int64_t) { return a; }},
      {"ReduceL2", 0, [](double a, double x) { return a + x * x; },
       [](double a, int64_t) { return std::sqrt(a); }},
      {"ReduceLogSum", 0, [](double a, double x) { return a + x; },
       [](double a, int64_t) { return std::log(a); }},
      {"ReduceLogSumExp", 0, [](double a, double x) { return a + std::exp(x); },
       [](double a, int64_t) { return std::log(a); }},
  };
  return ops;
}

// Brute-force reduction of x over `mask` axes.
Tensor ref_reduce(const RefOp& op, const Tensor& x, const std::vector<bool>& mask, bool keepdims) {
  const Shape& s = x.shape();
  Shape kept_shape, out_shape;
  for (size_t a = 0; a < s.size(); ++a) {
    if (!mask[a]) kept_shape.push_back(s[a]);
    if (!mask[a] || keepdims) out_shape.push_back(mask[a] ? 1 : s[a]);
  }
  std::vector<double> acc(static_cast<size_t>(numel(kept_shape)), op.init);
  std::vector<int64_t> count(acc.size(), 0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const auto idx = unravel(i, s);
    int64_t o = 0;
    for (size_t a = 0; a < s.size(); ++a)
      if (!mask[a]) o = o * s[a] + idx[a];
    acc[static_cast<size_t>(o)] = op.step(acc[static_cast<size_t>(o)], x.value_as_double(i));
    ++count[static_cast<size_t>(o)];
  }
  for (size_t o = 0; o < acc.size(); ++o) acc[o] = op.finish(acc[o], count[o]);
  return Tensor::from_vector<double>(out_shape, acc);
}

void expect_close(const Tensor& got, const Tensor& want, double rtol, double atol) {
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = got.value_as_double(i), w = want.value_as_double(i);
    ASSERT_LE(std::abs(g - w), atol + rtol * std::abs(w))
        << "element " << i << ": got " << g << ", want " << w;
  }
}

Attribute ints(std::vector<int64_t> v) { return Attribute::of_ints(std::move(v)); }

TEST(Reduce, EveryAxisSubsetMatchesBruteForce) {
  std::mt19937 rng(11);
  const Shape s = {2, 3, 4, 5};
  const Tensor x = random_tensor(s, rng, 0.5, 1.5);  // positive: LogSum and Prod stay well conditioned
  for (const RefOp& op : ref_ops()) {
    for (int subset = 0; subset < 16; ++subset) {
      std::vector<int64_t> axes;
      std::vector<bool> mask(4);
      for (int a = 0; a < 4; ++a)
        if (subset & (1 << a)) {
          // Alternate positive and negative spellings of the same axis.
          axes.push_back(a % 2 ? a - 4 : a);
          mask[static_cast<size_t>(a)] = true;
        }
      if (axes.empty()) mask.assign(4, true);  // empty axes reduce everything
      for (int keep = 0; keep < 2; ++keep) {
        SCOPED_TRACE(op.name + " subset " + std::to_string(subset) + " keepdims " + std::to_string(keep));
        const Tensor want = ref_reduce(op, x, mask, keep != 0);
        std::map<std::string, Attribute> attrs = {{"keepdims", Attribute::of_int(keep)}};
        Tensor got;
        if (op.name == "ReduceSum") {  // opset 13: axes input, constant
          got = run({op.name,
                     {x, Tensor::from_vector<int64_t>({static_cast<int64_t>(axes.size())}, axes)},
                     attrs,
                     13,
                     {1}});
        } else {
          if (!axes.empty()) attrs["axes"] = ints(axes);
          got = run({op.name, {x}, attrs, 13});
        }
        ASSERT_EQ(got.dtype(), DType::Float32);
        expect_close(got, want, 1e-5, 1e-6);
        // Opset 18 form: axes as a runtime input.
        if (op.name != "ReduceSum" && !axes.empty()) {
          attrs.erase("axes");
          const Tensor got18 =
              run({op.name,
                   {x, Tensor::from_vector<int64_t>({static_cast<int64_t>(axes.size())}, axes)},
                   attrs,
                   18});
          expect_close(got18, want, 1e-5, 1e-6);
        }
      }
    }
  }
}

TEST(Reduce, LargeNchwSpatialAndChannelReductions) {
  std::mt19937 rng(12);
  const Shape s = {2, 32, 24, 24};
  const Tensor x = random_tensor(s, rng, -1, 1);
  const RefOp& mean = ref_ops()[1];
  const RefOp& max = ref_ops()[2];
  expect_close(run({"ReduceMean", {x}, {{"axes", ints({2, 3})}}}),
               ref_reduce(mean, x, {false, false, true, true}, true), 1e-5, 1e-6);
  expect_close(run({"ReduceMean", {x}, {{"axes", ints({1})}}}),
               ref_reduce(mean, x, {false, true, false, false}, true), 1e-5, 1e-6);
  expect_close(run({"ReduceMax", {x}, {{"axes", ints({-1})}, {"keepdims", Attribute::of_int(0)}}}),
               ref_reduce(max, x, {false, false, false, true}, false), 0, 0);
  // A long single row (everything reduced) uses the 8-accumulator path.
  expect_close(run({"ReduceSum", {x}, {{"keepdims", Attribute::of_int(0)}}}),
               ref_reduce(ref_ops()[0], x, {true, true, true, true}, false), 1e-4, 1e-3);
}

TEST(Reduce, NoopWithEmptyAxesAndRuntimeAxes) {
  std::mt19937 rng(13);
  const Tensor x = random_tensor({3, 2, 2}, rng, -1, 1);
  const Tensor empty = Tensor::from_vector<int64_t>({0}, {});
  auto noop = std::map<std::string, Attribute>{{"noop_with_empty_axes", Attribute::of_int(1)}};
  // noop with empty or omitted axes: identity.
  expect_close(run({"ReduceSum", {x, empty}, noop, 13}), x, 0, 0);
  expect_close(run({"ReduceSum", {x}, noop, 13}), x, 0, 0);
  expect_close(run({"ReduceMax", {x, Tensor()}, noop, 18}), x, 0, 0);
  // Without noop, empty axes reduce everything.
  const Tensor all = run({"ReduceSum", {x, empty}, {}, 13});
  EXPECT_EQ(all.shape(), (Shape{1, 1, 1}));
  expect_close(all, ref_reduce(ref_ops()[0], x, {true, true, true}, true), 1e-6, 1e-6);
  // Axes computed at run time (not constant).
  const Tensor got = run({"ReduceSum", {x, Tensor::from_vector<int64_t>({1}, {-2})}, {}, 13});
  expect_close(got, ref_reduce(ref_ops()[0], x, {false, true, false}, true), 1e-6, 1e-6);
  // Bad axes are errors.
  EXPECT_THROW(run({"ReduceSum", {x, Tensor::from_vector<int64_t>({2}, {1, -2})}, {}, 13}), Error);
  EXPECT_THROW(run({"ReduceMean", {x}, {{"axes", ints({3})}}, 13}), Error);
  EXPECT_THROW(run({"ReduceMean", {x, Tensor::from_vector<int64_t>({1}, {0})}, {}, 13}),
               Error);  // no input at 13
}

TEST(Reduce, IntegerTypes) {
  const Tensor x = Tensor::from_vector<int64_t>({2, 3}, {-7, 2, 4, 10, -3, 1});
  EXPECT_EQ(
      run({"ReduceSum", {x, Tensor::from_vector<int64_t>({1}, {1})}, {{"keepdims", Attribute::of_int(0)}}})
          .to_vector<int64_t>(),
      (std::vector<int64_t>{-1, 8}));
  // Integer mean truncates toward zero like C division.
  EXPECT_EQ(run({"ReduceMean", {x}, {{"axes", ints({1})}}}).to_vector<int64_t>(),
            (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(run({"ReduceMax", {x}, {{"axes", ints({0})}}}).to_vector<int64_t>(),
            (std::vector<int64_t>{10, 2, 4}));
  EXPECT_EQ(run({"ReduceProd", {x}, {{"axes", ints({1})}}}).to_vector<int64_t>(),
            (std::vector<int64_t>{-56, -30}));
  const Tensor u8 = Tensor::from_vector<uint8_t>({3}, {7, 200, 3});
  EXPECT_EQ(run({"ReduceMin", {u8}, {}}).to_vector<int>(), (std::vector<int>{3}));
  EXPECT_THROW(run({"ReduceSum", {u8}, {}, 12}), UnsupportedError);
}

TEST(Reduce, ArgMaxArgMinTiesAndAxes) {
  // Ties: first index by default, last with select_last_index.
  const Tensor t = Tensor::from_vector<float>({2, 4}, {1, 3, 3, 0, 2, 2, -1, 2});
  auto arg = [&](const std::string& op, const Tensor& x, int64_t axis, int64_t keep, int64_t last) {
    return run({op,
                {x},
                {{"axis", Attribute::of_int(axis)},
                 {"keepdims", Attribute::of_int(keep)},
                 {"select_last_index", Attribute::of_int(last)}}});
  };
  EXPECT_EQ(arg("ArgMax", t, 1, 1, 0).to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(arg("ArgMax", t, -1, 0, 1).to_vector<int64_t>(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(arg("ArgMax", t, 1, 1, 1).shape(), (Shape{2, 1}));
  EXPECT_EQ(arg("ArgMin", t, 1, 0, 0).to_vector<int64_t>(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(arg("ArgMin", t, 0, 0, 1).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 1, 0}));

  // Brute force over every axis of a random tensor with many ties (small integers).
  std::mt19937 rng(14);
  std::uniform_int_distribution<int> d(-2, 2);
  const Shape s = {3, 4, 5};
  std::vector<int32_t> v(60);
  for (auto& e : v) e = d(rng);
  const Tensor x = Tensor::from_vector<int32_t>(s, v);
  for (int64_t axis = 0; axis < 3; ++axis)
    for (int64_t last = 0; last < 2; ++last)
      for (const std::string op : {"ArgMax", "ArgMin"}) {
        SCOPED_TRACE(op + " axis " + std::to_string(axis) + " last " + std::to_string(last));
        Shape os = s;
        os.erase(os.begin() + axis);
        std::vector<int64_t> want;
        for (int64_t o = 0; o < numel(os); ++o) {
          auto idx = unravel(o, os);
          idx.insert(idx.begin() + axis, 0);
          int64_t best = -1;
          int32_t bv = 0;
          for (int64_t k = 0; k < s[static_cast<size_t>(axis)]; ++k) {
            idx[static_cast<size_t>(axis)] = k;
            const int32_t e = v[static_cast<size_t>((idx[0] * 4 + idx[1]) * 5 + idx[2])];
            const bool better = op == "ArgMax" ? (last ? e >= bv : e > bv) : (last ? e <= bv : e < bv);
            if (best < 0 || better) best = k, bv = e;
          }
          want.push_back(best);
        }
        EXPECT_EQ(arg(op, x, axis, 0, last).to_vector<int64_t>(), want);
      }
  EXPECT_THROW(arg("ArgMax", t, 2, 1, 0), Error);
}

}  // namespace
}  // namespace qs
