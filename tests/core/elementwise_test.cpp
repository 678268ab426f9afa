// Elementwise kernels against references computed here element by element: broadcasting located by the
// multi-index of every output element, math in double, integer semantics by explicit formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <set>

#include "core/ops/kernel.h"

namespace qs {
namespace {

// ---- running one kernel ----

struct OpCall {
  std::string type;
  std::vector<Tensor> in;  // an undefined Tensor is an omitted input
  std::map<std::string, Attribute> attrs = {};
  int64_t opset = 17;
  std::set<size_t> constant = {};  // inputs the factory sees as constants
};

std::unique_ptr<Kernel> create(const OpCall& c, Node& n, std::map<std::string, Tensor>& consts) {
  n.name = "ew_node";
  n.op_type = c.type;
  for (size_t i = 0; i < c.in.size(); ++i) {
    std::string name;
    if (c.in[i].defined()) name.append("i").append(std::to_string(i));
    n.inputs.push_back(name);
  }
  n.outputs = {"out"};
  n.attrs = c.attrs;
  for (size_t i : c.constant) consts[n.inputs[i]] = c.in[i];
  KernelInit init{n, c.opset, [&consts](const std::string& v) -> const Tensor* {
                    auto it = consts.find(v);
                    return it == consts.end() ? nullptr : &it->second;
                  }};
  return OpRegistry::instance().create(init);
}

Tensor run(const OpCall& c) {
  Node n;
  std::map<std::string, Tensor> consts;
  auto k = create(c, n, consts);
  std::vector<const Tensor*> ptrs;
  for (const auto& t : c.in) ptrs.push_back(t.defined() ? &t : nullptr);
  std::vector<Tensor> out(1);
  k->run(ptrs, out);
  return out[0];
}

// ---- data and references ----

template <typename T>
Tensor random_tensor(const Shape& s, std::mt19937& rng, double lo = -4, double hi = 4) {
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<T> v(static_cast<size_t>(numel(s)));
  for (auto& x : v) x = static_cast<T>(d(rng));
  return Tensor::from_vector<T>(s, v);
}

// Offset into a tensor of shape `in` for the output multi-index `idx` (numpy broadcasting, right-aligned).
int64_t bcast_offset(const std::vector<int64_t>& idx, const Shape& in) {
  int64_t off = 0;
  const size_t lead = idx.size() - in.size();
  for (size_t a = 0; a < in.size(); ++a) off = off * in[a] + (in[a] == 1 ? 0 : idx[lead + a]);
  return off;
}

std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> idx(s.size());
  for (size_t a = s.size(); a-- > 0;) {
    idx[a] = i % s[a];
    i /= s[a];
  }
  return idx;
}

Shape bshape(const std::vector<Shape>& shapes) {
  Shape out;
  for (const auto& s : shapes) out = broadcast_shapes(out, s, "test");
  return out;
}

// Reference: out[i] = f(a[..], b[..]) in double.
Tensor ref_binary(const Tensor& a, const Tensor& b, DType out_type,
                  const std::function<double(double, double)>& f) {
  const Shape s = bshape({a.shape(), b.shape()});
  std::vector<double> v(static_cast<size_t>(numel(s)));
  for (int64_t i = 0; i < numel(s); ++i) {
    const auto idx = unravel(i, s);
    v[static_cast<size_t>(i)] =
        f(a.value_as_double(bcast_offset(idx, a.shape())), b.value_as_double(bcast_offset(idx, b.shape())));
  }
  return Tensor::from_vector<double>(s, v).cast(out_type);
}

void expect_close(const Tensor& got, const Tensor& want, double rtol = 0, double atol = 0) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = got.value_as_double(i), w = want.value_as_double(i);
    if (std::isnan(w)) {
      EXPECT_TRUE(std::isnan(g)) << "element " << i;
    } else {
      EXPECT_LE(std::abs(g - w), atol + rtol * std::abs(w))
          << "element " << i << ": got " << g << ", want " << w;
    }
    if (::testing::Test::HasFailure()) return;
  }
}

const std::vector<std::pair<Shape, Shape>> kBroadcastPairs = {
    {{2, 3, 4, 5}, {2, 3, 4, 5}},  // same shape
    {{2, 3, 4, 5}, {}},            // scalar
    {{}, {2, 3, 4, 5}},
    {{2, 3, 4, 5}, {3, 1, 1}},  // per-channel bias
    {{2, 3, 4, 5}, {1, 3, 1, 1}},
    {{2, 3, 4, 5}, {5}},  // last axis
    {{2, 1, 4, 1}, {3, 1, 5}},
    {{1, 3, 1, 5}, {2, 1, 4, 1}},
    {{4, 1}, {1, 4}},
    {{0, 3}, {1, 3}},               // empty
    {{2, 16, 40, 40}, {16, 1, 1}},  // large enough to run in parallel
    {{2, 16, 40, 40}, {2, 16, 40, 40}},
    {{3, 70000}, {3, 1}},  // long rows cut into segments
};

TEST(Elementwise, ArithmeticBroadcastMatchesBruteForce) {
  std::mt19937 rng(1);
  const std::vector<std::pair<std::string, std::function<double(double, double)>>> ops = {
      {"Add", [](double x, double y) { return x + y; }},
      {"Sub", [](double x, double y) { return x - y; }},
      {"Mul", [](double x, double y) { return x * y; }},
      {"Div", [](double x, double y) { return x / y; }}};
  for (const auto& [sa, sb] : kBroadcastPairs) {
    const Tensor a = random_tensor<float>(sa, rng), b = random_tensor<float>(sb, rng, 0.5, 3);
    for (const auto& [op, f] : ops) {
      SCOPED_TRACE(op + " " + shape_str(sa) + " " + shape_str(sb));
      // float32 rounding of the double result equals the float32 operation (both correctly rounded).
      expect_close(run({op, {a, b}}), ref_binary(a, b, DType::Float32, f));
    }
  }
}

TEST(Elementwise, ComparisonAndLogicBroadcast) {
  std::mt19937 rng(2);
  for (const auto& [sa, sb] : kBroadcastPairs) {
    SCOPED_TRACE(shape_str(sa) + " " + shape_str(sb));
    const Tensor a = random_tensor<int64_t>(sa, rng, -3, 3), b = random_tensor<int64_t>(sb, rng, -3, 3);
    expect_close(run({"Greater", {a, b}}),
                 ref_binary(a, b, DType::Bool, [](double x, double y) { return x > y; }));
    expect_close(run({"LessOrEqual", {a, b}}),
                 ref_binary(a, b, DType::Bool, [](double x, double y) { return x <= y; }));
    expect_close(run({"Equal", {a, b}}),
                 ref_binary(a, b, DType::Bool, [](double x, double y) { return x == y; }));
    const Tensor pa = run({"Greater", {a, Tensor::scalar<int64_t>(0)}});
    const Tensor pb = run({"Less", {b, Tensor::scalar<int64_t>(0)}});
    expect_close(run({"Xor", {pa, pb}}),
                 ref_binary(pa, pb, DType::Bool, [](double x, double y) { return x != y; }));
    expect_close(run({"And", {pa, pb}}),
                 ref_binary(pa, pb, DType::Bool, [](double x, double y) { return x && y; }));
  }
  EXPECT_THROW(run({"And", {Tensor::scalar<float>(1), Tensor::scalar<float>(1)}}), UnsupportedError);
}

TEST(Elementwise, IncompatibleShapesAndTypesAreErrors) {
  EXPECT_THROW(run({"Add", {Tensor::zeros(DType::Float32, {2, 3}), Tensor::zeros(DType::Float32, {4, 3})}}),
               Error);
  EXPECT_THROW(run({"Mul", {Tensor::zeros(DType::Float32, {2}), Tensor::zeros(DType::Int64, {2})}}), Error);
  EXPECT_THROW(run({"Add", {Tensor::zeros(DType::Bool, {2}), Tensor::zeros(DType::Bool, {2})}}),
               UnsupportedError);
}

TEST(Elementwise, IntegerDivTruncatesAndModFollowsDivisorSign) {
  std::vector<int32_t> av, bv;
  for (int32_t x = -9; x <= 9; ++x)
    for (int32_t y : {-4, -3, -1, 1, 2, 5}) av.push_back(x), bv.push_back(y);
  const Tensor a = Tensor::from_vector<int32_t>({static_cast<int64_t>(av.size())}, av);
  const Tensor b = Tensor::from_vector<int32_t>({static_cast<int64_t>(bv.size())}, bv);
  const auto div = run({"Div", {a, b}}).to_vector<int32_t>();
  const auto mod = run({"Mod", {a, b}}).to_vector<int32_t>();
  const auto fmod = run({"Mod", {a, b}, {{"fmod", Attribute::of_int(1)}}}).to_vector<int32_t>();
  for (size_t i = 0; i < av.size(); ++i) {
    const double q = static_cast<double>(av[i]) / bv[i];
    EXPECT_EQ(div[i], static_cast<int32_t>(std::trunc(q))) << av[i] << " / " << bv[i];
    EXPECT_EQ(mod[i], av[i] - bv[i] * static_cast<int32_t>(std::floor(q))) << av[i] << " mod " << bv[i];
    EXPECT_EQ(fmod[i], av[i] - bv[i] * static_cast<int32_t>(std::trunc(q))) << av[i] << " fmod " << bv[i];
  }
  // Overflowing quotient wraps like two's complement; division by zero is an error.
  const Tensor mn = Tensor::scalar<int64_t>(std::numeric_limits<int64_t>::min());
  EXPECT_EQ(run({"Div", {mn, Tensor::scalar<int64_t>(-1)}}).to_vector<int64_t>()[0],
            std::numeric_limits<int64_t>::min());
  EXPECT_THROW(run({"Div", {a, Tensor::scalar<int32_t>(0)}}), Error);
  EXPECT_THROW(run({"Mod", {a, Tensor::scalar<int32_t>(0)}}), Error);
  // Float Mod requires fmod = 1.
  const Tensor fa = Tensor::from_vector<float>({2}, {-7.5f, 7.5f}), fb = Tensor::scalar<float>(2.0f);
  EXPECT_THROW(run({"Mod", {fa, fb}}), Error);
  EXPECT_EQ(run({"Mod", {fa, fb}, {{"fmod", Attribute::of_int(1)}}}).to_vector<float>(),
            (std::vector<float>{-1.5f, 1.5f}));
  // uint8 wraps modulo 256.
  const Tensor u = Tensor::from_vector<uint8_t>({2}, {200, 3});
  EXPECT_EQ(run({"Add", {u, u}}).to_vector<int>(), (std::vector<int>{144, 6}));
}

TEST(Elementwise, PowMixedTypes) {
  const Tensor fb = Tensor::from_vector<float>({4}, {2.0f, -3.0f, 0.5f, 4.0f});
  const Tensor ie = Tensor::from_vector<int64_t>({4}, {3, 2, -1, 0});
  EXPECT_EQ(run({"Pow", {fb, ie}}).to_vector<float>(), (std::vector<float>{8.0f, 9.0f, 2.0f, 1.0f}));
  EXPECT_EQ(run({"Pow", {fb, Tensor::scalar<float>(2.0f)}}).to_vector<float>(),
            (std::vector<float>{4.0f, 9.0f, 0.25f, 16.0f}));
  const Tensor ib = Tensor::from_vector<int32_t>({5}, {2, -3, 1, -1, 7});
  const Tensor ee = Tensor::from_vector<int32_t>({5}, {10, 3, -5, -3, -1});
  EXPECT_EQ(run({"Pow", {ib, ee}}).to_vector<int32_t>(), (std::vector<int32_t>{1024, -27, 1, -1, 0}));
  // Integer base with a float exponent truncates the real power.
  const Tensor fe = Tensor::from_vector<float>({5}, {0.5f, 2.0f, 1.0f, 2.0f, 0.5f});
  EXPECT_EQ(run({"Pow", {ib, fe}}).to_vector<int32_t>(), (std::vector<int32_t>{1, 9, 1, 1, 2}));
  EXPECT_THROW(run({"Pow", {Tensor::scalar<int32_t>(0), Tensor::scalar<int32_t>(-1)}}), Error);
}

TEST(Elementwise, BitShift) {
  const Tensor x = Tensor::from_vector<uint8_t>({4}, {1, 16, 255, 3});
  const Tensor s = Tensor::from_vector<uint8_t>({4}, {1, 2, 8, 7});
  EXPECT_EQ(run({"BitShift",
                 {x, s},
                 {{"direction",
                   [] {
                     Attribute a;
                     a.kind = Attribute::Kind::String;
                     a.s = "LEFT";
                     return a;
                   }()}}})
                .to_vector<int>(),
            (std::vector<int>{2, 64, 0, 128}));
  EXPECT_THROW(run({"BitShift", {x, s}}), Error);  // direction is required
}

TEST(Elementwise, RoundHalvesToEven) {
  const Tensor x =
      Tensor::from_vector<float>({9}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4999f, 2.5001f, -3.7f});
  EXPECT_EQ(run({"Round", {x}}).to_vector<float>(),
            (std::vector<float>{0.f, 2.f, 2.f, -0.f, -2.f, -2.f, 2.f, 3.f, -4.f}));
}

TEST(Elementwise, UnaryMathMatchesDoubleReference) {
  std::mt19937 rng(3);
  struct U {
    std::string op;
    std::function<double(double)> f;
    double lo, hi;
    std::map<std::string, Attribute> attrs = {};
  };
  // Attributes are float32 in ONNX; the float64 kernels use exactly those values.
  const double kSelA = 1.67326319217681884765625, kSelG = 1.05070102214813232421875;
  const std::vector<U> ops = {
      {"Exp", [](double x) { return std::exp(x); }, -20, 20},
      {"Log", [](double x) { return std::log(x); }, 1e-3, 100},
      {"Sqrt", [](double x) { return std::sqrt(x); }, 0, 100},
      {"Tanh", [](double x) { return std::tanh(x); }, -10, 10},
      {"Sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); }, -20, 20},
      {"Erf", [](double x) { return std::erf(x); }, -5, 5},
      {"Sin", [](double x) { return std::sin(x); }, -10, 10},
      {"Cos", [](double x) { return std::cos(x); }, -10, 10},
      {"Reciprocal", [](double x) { return 1 / x; }, 0.1, 10},
      {"Neg", [](double x) { return -x; }, -5, 5},
      {"Abs", [](double x) { return std::abs(x); }, -5, 5},
      {"Floor", [](double x) { return std::floor(x); }, -5, 5},
      {"Ceil", [](double x) { return std::ceil(x); }, -5, 5},
      {"Sign", [](double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }, -5, 5},
      {"Relu", [](double x) { return std::max(x, 0.0); }, -5, 5},
      {"LeakyRelu",
       [](double x) { return x < 0 ? double{0.1f} * x : x; },
       -5,
       5,
       {{"alpha", Attribute::of_float(0.1f)}}},
      {"Elu",
       [](double x) { return x < 0 ? 2 * (std::exp(x) - 1) : x; },
       -5,
       5,
       {{"alpha", Attribute::of_float(2.0f)}}},
      {"Selu", [=](double x) { return x <= 0 ? kSelG * kSelA * (std::exp(x) - 1) : kSelG * x; }, -5, 5},
      {"Celu",
       [](double x) { return std::max(0.0, x) + std::min(0.0, 1.5 * (std::exp(x / 1.5) - 1)); },
       -5,
       5,
       {{"alpha", Attribute::of_float(1.5f)}}},
      {"HardSigmoid", [](double x) { return std::clamp(double{0.2f} * x + 0.5, 0.0, 1.0); }, -5, 5},
      {"HardSwish", [](double x) { return x * std::clamp(x / 6 + 0.5, 0.0, 1.0); }, -5, 5},
      {"Softplus", [](double x) { return std::log(std::exp(x) + 1); }, -20, 20},
      {"Softsign", [](double x) { return x / (1 + std::abs(x)); }, -5, 5},
      {"ThresholdedRelu", [](double x) { return x > 1 ? x : 0; }, -5, 5},
      {"Atan", [](double x) { return std::atan(x); }, -5, 5},
      {"Sinh", [](double x) { return std::sinh(x); }, -5, 5},
  };
  for (const U& u : ops) {
    SCOPED_TRACE(u.op);
    for (const Shape& s : {Shape{}, Shape{7}, Shape{3, 50000}}) {
      const Tensor x = random_tensor<float>(s, rng, u.lo, u.hi);
      std::vector<double> want;
      for (float v : x.to_vector<float>()) want.push_back(u.f(v));
      expect_close(run({u.op, {x}, u.attrs}), Tensor::from_vector<double>(s, want).cast(DType::Float32), 2e-6,
                   1e-6);
      const Tensor xd = x.cast(DType::Float64);
      expect_close(run({u.op, {xd}, u.attrs}), Tensor::from_vector<double>(s, want), 1e-12, 1e-12);
    }
  }
  EXPECT_THROW(run({"Exp", {Tensor::scalar<int32_t>(1)}}), UnsupportedError);
}

TEST(Elementwise, IntegerUnaryAndLogicTests) {
  const Tensor i = Tensor::from_vector<int64_t>({4}, {-3, 0, 5, std::numeric_limits<int64_t>::min()});
  EXPECT_EQ(run({"Abs", {i}}).to_vector<int64_t>(),
            (std::vector<int64_t>{3, 0, 5, std::numeric_limits<int64_t>::min()}));
  EXPECT_EQ(run({"Neg", {i}}).to_vector<int64_t>(),
            (std::vector<int64_t>{3, 0, -5, std::numeric_limits<int64_t>::min()}));
  EXPECT_EQ(run({"Sign", {i}}).to_vector<int64_t>(), (std::vector<int64_t>{-1, 0, 1, -1}));
  EXPECT_EQ(run({"Relu", {i}}).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 5, 0}));
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor f = Tensor::from_vector<float>({4}, {inf, -inf, nan, 1.0f});
  EXPECT_EQ(run({"IsNaN", {f}}).to_vector<int>(), (std::vector<int>{0, 0, 1, 0}));
  EXPECT_EQ(run({"IsInf", {f}}).to_vector<int>(), (std::vector<int>{1, 1, 0, 0}));
  EXPECT_EQ(run({"IsInf", {f}, {{"detect_positive", Attribute::of_int(0)}}}).to_vector<int>(),
            (std::vector<int>{0, 1, 0, 0}));
  EXPECT_EQ(run({"Not", {Tensor::from_vector<bool>({2}, {true, false})}}).to_vector<int>(),
            (std::vector<int>{0, 1}));
}

TEST(Elementwise, ClipBoundsFromAttributesAndInputs) {
  std::mt19937 rng(4);
  const Tensor x = random_tensor<float>({4, 100}, rng, -10, 10);
  auto ref = [&](double lo, double hi) {
    std::vector<double> v;
    for (float e : x.to_vector<float>()) v.push_back(std::min(std::max<double>(e, lo), hi));
    return Tensor::from_vector<double>(x.shape(), v).cast(DType::Float32);
  };
  // No bounds: unchanged.
  expect_close(run({"Clip", {x}, {}, 13}), x);
  expect_close(run({"Clip", {x, Tensor(), Tensor()}, {}, 13}), x);
  // Min only / max only, constant or computed at run time.
  expect_close(run({"Clip", {x, Tensor::scalar<float>(-1.0f)}, {}, 13, {1}}), ref(-1, 1e30));
  expect_close(run({"Clip", {x, Tensor(), Tensor::scalar<float>(2.0f)}, {}, 13}), ref(-1e30, 2));
  expect_close(run({"Clip", {x, Tensor::scalar<float>(-1.0f), Tensor::scalar<float>(2.0f)}, {}, 11}),
               ref(-1, 2));
  // min > max: everything becomes max.
  expect_close(run({"Clip", {x, Tensor::scalar<float>(3.0f), Tensor::scalar<float>(1.0f)}, {}, 13}),
               ref(1, 1));
  // Opset 6-10: attributes.
  expect_close(
      run({"Clip", {x}, {{"min", Attribute::of_float(-0.5f)}, {"max", Attribute::of_float(0.5f)}}, 6}),
      ref(-0.5, 0.5));
  expect_close(run({"Clip", {x}, {{"max", Attribute::of_float(0.5f)}}, 10}), ref(-1e30, 0.5));
  // Integers (opset 12+).
  const Tensor i = Tensor::from_vector<int8_t>({5}, {-128, -5, 0, 5, 127});
  EXPECT_EQ(
      run({"Clip", {i, Tensor::scalar<int8_t>(-4), Tensor::scalar<int8_t>(100)}, {}, 13}).to_vector<int>(),
      (std::vector<int>{-4, -4, 0, 5, 100}));
  // A bound of the wrong type or shape is an error.
  EXPECT_THROW(run({"Clip", {x, Tensor::scalar<double>(0.0)}, {}, 13}), Error);
  EXPECT_THROW(run({"Clip", {x, Tensor::zeros(DType::Float32, {2})}, {}, 13, {1}}), Error);
}

TEST(Elementwise, PReluPerChannelSlope) {
  std::mt19937 rng(5);
  for (const Shape& ss : {Shape{3, 1, 1}, Shape{1, 3, 1, 1}, Shape{5}, Shape{1}}) {
    SCOPED_TRACE(shape_str(ss));
    const Tensor x = random_tensor<float>({2, 3, 4, 5}, rng), s = random_tensor<float>(ss, rng, 0, 1);
    expect_close(run({"PRelu", {x, s}}),
                 ref_binary(x, s, DType::Float32, [](double v, double a) { return v < 0 ? a * v : v; }));
  }
  // The slope must broadcast to X without growing it.
  EXPECT_THROW(run({"PRelu", {Tensor::zeros(DType::Float32, {3}), Tensor::zeros(DType::Float32, {2, 3})}}),
               Error);
}

TEST(Elementwise, VariadicMinMaxSumMean) {
  std::mt19937 rng(6);
  const Tensor a = random_tensor<float>({2, 1, 4}, rng), b = random_tensor<float>({3, 1}, rng),
               c = random_tensor<float>({4}, rng);
  const Shape s = bshape({a.shape(), b.shape(), c.shape()});
  std::vector<double> mn, mx, sum;
  for (int64_t i = 0; i < numel(s); ++i) {
    const auto idx = unravel(i, s);
    const double va = a.value_as_double(bcast_offset(idx, a.shape())),
                 vb = b.value_as_double(bcast_offset(idx, b.shape())),
                 vc = c.value_as_double(bcast_offset(idx, c.shape()));
    mn.push_back(std::min({va, vb, vc}));
    mx.push_back(std::max({va, vb, vc}));
    sum.push_back(va + vb + vc);
  }
  expect_close(run({"Min", {a, b, c}}), Tensor::from_vector<double>(s, mn).cast(DType::Float32));
  expect_close(run({"Max", {a, b, c}}), Tensor::from_vector<double>(s, mx).cast(DType::Float32));
  expect_close(run({"Sum", {a, b, c}}), Tensor::from_vector<double>(s, sum).cast(DType::Float32), 1e-6, 1e-6);
  for (auto& v : sum) v /= 3;
  expect_close(run({"Mean", {a, b, c}}), Tensor::from_vector<double>(s, sum).cast(DType::Float32), 1e-6,
               1e-6);
  expect_close(run({"Max", {a}}), a);
  const Tensor i = Tensor::from_vector<int64_t>({3}, {5, -2, 9});
  EXPECT_EQ(run({"Min", {i, Tensor::scalar<int64_t>(0)}}).to_vector<int64_t>(),
            (std::vector<int64_t>{0, -2, 0}));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(
      std::isnan(run({"Max", {Tensor::scalar<float>(1), Tensor::scalar<float>(nan)}}).to_vector<float>()[0]));
}

TEST(Elementwise, WhereBroadcastsThreeInputs) {
  std::mt19937 rng(7);
  const std::vector<std::array<Shape, 3>> cases = {{Shape{3, 1, 5}, Shape{1, 4, 1}, Shape{5}},
                                                   {Shape{2, 3}, Shape{2, 3}, Shape{2, 3}},
                                                   {Shape{}, Shape{4}, Shape{2, 1}},
                                                   {Shape{64, 1}, Shape{64, 600}, Shape{}}};
  for (const auto& cs : cases) {
    SCOPED_TRACE(shape_str(cs[0]) + shape_str(cs[1]) + shape_str(cs[2]));
    const Tensor cond = run({"Greater", {random_tensor<float>(cs[0], rng), Tensor::scalar<float>(0)}});
    const Tensor x = random_tensor<int64_t>(cs[1], rng, -100, 100),
                 y = random_tensor<int64_t>(cs[2], rng, -100, 100);
    const Shape s = bshape({cs[0], cs[1], cs[2]});
    std::vector<int64_t> want;
    for (int64_t i = 0; i < numel(s); ++i) {
      const auto idx = unravel(i, s);
      want.push_back(cond.data<bool>()[bcast_offset(idx, cs[0])]
                         ? x.data<int64_t>()[bcast_offset(idx, cs[1])]
                         : y.data<int64_t>()[bcast_offset(idx, cs[2])]);
    }
    const Tensor got = run({"Where", {cond, x, y}});
    EXPECT_EQ(got.shape(), s);
    EXPECT_EQ(got.to_vector<int64_t>(), want);
  }
  EXPECT_THROW(run({"Where", {Tensor::scalar<float>(1), Tensor::scalar<float>(1), Tensor::scalar<float>(2)}}),
               Error);
}

TEST(Elementwise, CastConversions) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor f = Tensor::from_vector<float>({6}, {-1.7f, 2.9f, -0.4f, nan, 1e20f, 0.0f});
  auto cast = [&](const Tensor& x, DType to) {
    return run({"Cast", {x}, {{"to", Attribute::of_int(static_cast<int64_t>(to))}}, 13});
  };
  EXPECT_EQ(cast(f, DType::Int32).to_vector<int64_t>(),
            (std::vector<int64_t>{-1, 2, 0, 0, -1 /* int64 max wrapped to 32 bits */, 0}));
  EXPECT_EQ(cast(f, DType::Int64).to_vector<int64_t>(),
            (std::vector<int64_t>{-1, 2, 0, 0, std::numeric_limits<int64_t>::max(), 0}));
  EXPECT_EQ(cast(Tensor::from_vector<float>({2}, {-1.0f, 300.0f}), DType::UInt8).to_vector<int>(),
            (std::vector<int>{255, 44}));
  EXPECT_EQ(cast(f, DType::Bool).to_vector<int>(), (std::vector<int>{1, 1, 1, 1, 1, 0}));
  EXPECT_EQ(cast(Tensor::from_vector<bool>({2}, {true, false}), DType::Float32).to_vector<float>(),
            (std::vector<float>{1.0f, 0.0f}));
  EXPECT_EQ(cast(Tensor::from_vector<int64_t>({2}, {-1, 257}), DType::UInt8).to_vector<int>(),
            (std::vector<int>{255, 1}));
  const Tensor d = cast(Tensor::scalar<double>(0.1), DType::Float32);
  EXPECT_EQ(d.to_vector<float>()[0], 0.1f);
  EXPECT_THROW(cast(f, DType::Float16), UnsupportedError);
  EXPECT_THROW(cast(f, DType::String), UnsupportedError);
  EXPECT_THROW(run({"Cast", {f}, {}, 13}), Error);  // 'to' is required
  const Tensor like = run({"CastLike", {f, Tensor::scalar<int16_t>(0)}, {}, 15});
  EXPECT_EQ(like.dtype(), DType::Int16);
  EXPECT_EQ(like.to_vector<int>()[1], 2);
}

}  // namespace
}  // namespace qs
