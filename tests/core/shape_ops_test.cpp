// Shape and data-movement kernels against brute-force index computations written independently here
// (every output element located by its multi-index), over dtypes of every element size.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <set>

#include "core/ops/kernel.h"

namespace qs {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// ---- running one kernel ----

struct Op {
  Op(std::string type_, int64_t opset_, std::map<std::string, Attribute> attrs_, std::vector<Tensor> in_,
     std::set<size_t> constant_ = {}, size_t n_out_ = 1)
      : type(std::move(type_)),
        opset(opset_),
        attrs(std::move(attrs_)),
        in(std::move(in_)),
        constant(std::move(constant_)),
        n_out(n_out_) {}
  std::string type;
  int64_t opset;
  std::map<std::string, Attribute> attrs;
  std::vector<Tensor> in;     // an undefined Tensor is an omitted input
  std::set<size_t> constant;  // inputs the factory sees as constants
  size_t n_out;
};

std::unique_ptr<Kernel> create(const Op& op, Node& n, std::map<std::string, Tensor>& consts) {
  n.name = "test_node";
  n.op_type = op.type;
  for (size_t i = 0; i < op.in.size(); ++i)
    n.inputs.push_back(op.in[i].defined() ? "i" + std::to_string(i) : "");
  for (size_t k = 0; k < op.n_out; ++k) n.outputs.push_back("o" + std::to_string(k));
  n.attrs = op.attrs;
  for (size_t i : op.constant) consts[n.inputs[i]] = op.in[i];
  KernelInit init{n, op.opset, [&consts](const std::string& v) -> const Tensor* {
                    auto it = consts.find(v);
                    return it == consts.end() ? nullptr : &it->second;
                  }};
  return OpRegistry::instance().create(init);
}

std::vector<Tensor> run(const Op& op) {
  Node n;
  std::map<std::string, Tensor> consts;
  auto k = create(op, n, consts);
  std::vector<const Tensor*> ptrs;
  for (const auto& t : op.in) ptrs.push_back(t.defined() ? &t : nullptr);
  std::vector<Tensor> outs(op.n_out);
  k->run(ptrs, outs);
  return outs;
}

void expect_same(const Tensor& got, const Tensor& want, const std::string& ctx = "") {
  ASSERT_TRUE(got.defined()) << ctx;
  EXPECT_EQ(got.dtype(), want.dtype()) << ctx;
  ASSERT_EQ(got.shape(), want.shape()) << ctx << " got " << got.str() << " want " << want.str();
  EXPECT_EQ(std::memcmp(got.raw(), want.raw(), want.nbytes()), 0)
      << ctx << " values differ for " << want.str();
}

// Runs with every non-data input computed at run time, then again with them constant (read by the
// factory); both must agree. Returns the first.
std::vector<Tensor> run_both(Op op) {
  op.constant.clear();
  auto a = run(op);
  for (size_t i = 1; i < op.in.size(); ++i)
    if (op.in[i].defined()) op.constant.insert(i);
  auto b = run(op);
  for (size_t k = 0; k < a.size(); ++k) expect_same(b[k], a[k], op.type + " constant-input variant");
  return a;
}

// Expects `f` to throw E whose message contains every one of `parts`.
template <typename E = Error>
void expect_error(const std::function<void()>& f, std::vector<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown; expected one mentioning " << parts[0];
  } catch (const E& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << " lacks " << p;
  }
}

Attribute attr_s(const std::string& s) {
  Attribute a;
  a.kind = Attribute::Kind::String;
  a.s = s;
  return a;
}
Attribute attr_t(const Tensor& t) {
  Attribute a;
  a.kind = Attribute::Kind::Tensor;
  a.t = t;
  return a;
}
Tensor ints(std::vector<int64_t> v) {
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
}

// ---- brute-force references ----

const std::vector<DType> kTypes = {DType::Float32, DType::Int64, DType::UInt8,
                                   DType::Bool,    DType::Int16, DType::Float64};

Tensor random_tensor(DType dt, const Shape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  Tensor t(dt, s);
  dispatch_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if constexpr (std::is_same_v<T, bool>)
        p[i] = rng() % 2;
      else if constexpr (std::is_floating_point_v<T>)
        p[i] = static_cast<T>(static_cast<int>(rng() % 2001) - 1000) / T(8);
      else
        p[i] = static_cast<T>(rng() % 120);
    }
  });
  return t;
}

std::vector<int64_t> unravel(int64_t flat, const Shape& s) {
  std::vector<int64_t> m(s.size());
  for (size_t a = s.size(); a-- > 0;) {
    m[a] = flat % s[a];
    flat /= s[a];
  }
  return m;
}
int64_t ravel(const std::vector<int64_t>& m, const Shape& s) {
  int64_t f = 0;
  for (size_t a = 0; a < s.size(); ++a) f = f * s[a] + m[a];
  return f;
}

// A tensor of `shape` whose element at multi-index m copies element src_of(m) (flat) of `src`, or is
// all-zero bytes when src_of returns -1.
Tensor reference(const Tensor& src, const Shape& shape,
                 const std::function<int64_t(const std::vector<int64_t>&)>& src_of,
                 DType dt = DType::Undefined) {
  Tensor t = Tensor::zeros(dt == DType::Undefined ? src.dtype() : dt, shape);
  const size_t es = dtype_size(t.dtype());
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int64_t s = src_of(unravel(i, shape));
    if (s >= 0)
      std::memcpy(static_cast<std::byte*>(t.raw()) + i * es,
                  static_cast<const std::byte*>(src.raw()) + s * es, es);
  }
  return t;
}

// ---- Transpose, DepthToSpace, SpaceToDepth ----

Tensor transpose_ref(const Tensor& x, const std::vector<int64_t>& perm) {
  Shape os;
  for (int64_t p : perm) os.push_back(x.shape()[p]);
  return reference(x, os, [&](const std::vector<int64_t>& m) {
    std::vector<int64_t> sm(m.size());
    for (size_t i = 0; i < m.size(); ++i) sm[perm[i]] = m[i];
    return ravel(sm, x.shape());
  });
}

TEST(ShapeOps, TransposeAllPermutationsAndDtypes) {
  const std::vector<Shape> shapes = {{2, 3, 4}, {2, 3, 4, 5}, {1, 3, 1, 5},
                                     {2, 0, 3}, {3, 70, 45},  {1, 8, 33, 20}};
  uint32_t seed = 1;
  for (DType dt : kTypes)
    for (const Shape& s : shapes) {
      const Tensor x = random_tensor(dt, s, seed++);
      std::vector<int64_t> perm(s.size());
      std::iota(perm.begin(), perm.end(), 0);
      do {
        Op op{"Transpose", 13, {{"perm", Attribute::of_ints(perm)}}, {x}};
        expect_same(run(op)[0], transpose_ref(x, perm),
                    dtype_name(dt) + shape_str(s) + " perm " + shape_str(perm));
      } while (std::next_permutation(perm.begin(), perm.end()));
    }
}

TEST(ShapeOps, TransposeDefaultReversesAndRankEdgeCases) {
  const Tensor x = random_tensor(DType::Float32, {2, 3, 4, 5, 2}, 7);
  expect_same(run({"Transpose", 13, {}, {x}})[0], transpose_ref(x, {4, 3, 2, 1, 0}));
  const Tensor big = random_tensor(DType::Float32, {130, 257}, 8);  // 2-D blocked path, parallel
  expect_same(run({"Transpose", 13, {}, {big}})[0], transpose_ref(big, {1, 0}));
  const Tensor s = Tensor::scalar<int64_t>(5);
  expect_same(run({"Transpose", 13, {}, {s}})[0], s);
  expect_error(
      [&] {
        run({"Transpose", 13, {{"perm", Attribute::of_ints({0, 0, 1})}}, {x}});
      },
      {"test_node", "not a permutation"});
  expect_error(
      [&] {
        run({"Transpose", 13, {{"perm", Attribute::of_ints({1, 0})}}, {x}});
      },
      {"[1, 0]", "float32[2, 3, 4, 5, 2]"});
}

TEST(ShapeOps, DepthToSpaceAndSpaceToDepthFollowTheSpecFormulas) {
  for (DType dt : {DType::Float32, DType::UInt8, DType::Int64}) {
    const int64_t N = 2, C = 8, H = 3, W = 2, b = 2, c = C / (b * b);
    const Tensor x = random_tensor(dt, {N, C, H, W}, 11);
    for (const std::string mode : {"DCR", "CRD"}) {
      Op op{"DepthToSpace", 13, {{"blocksize", Attribute::of_int(b)}, {"mode", attr_s(mode)}}, {x}};
      const Tensor want = reference(x, {N, c, H * b, W * b}, [&](const std::vector<int64_t>& m) {
        const int64_t h = m[2] / b, bh = m[2] % b, w = m[3] / b, bw = m[3] % b;
        const int64_t ch = mode == "DCR" ? (bh * b + bw) * c + m[1] : m[1] * b * b + bh * b + bw;
        return ravel({m[0], ch, h, w}, x.shape());
      });
      expect_same(run(op)[0], want, "DepthToSpace " + mode);
    }
    const Tensor y = random_tensor(dt, {N, 3, 4, 6}, 12);
    const Tensor s2d = run({"SpaceToDepth", 13, {{"blocksize", Attribute::of_int(2)}}, {y}})[0];
    expect_same(s2d, reference(y, {N, 12, 2, 3}, [&](const std::vector<int64_t>& m) {
                  const int64_t blk = m[1] / 3, ch = m[1] % 3;
                  return ravel({m[0], ch, m[2] * 2 + blk / 2, m[3] * 2 + blk % 2}, y.shape());
                }));
    // DCR DepthToSpace inverts SpaceToDepth.
    expect_same(run({"DepthToSpace", 13, {{"blocksize", Attribute::of_int(2)}}, {s2d}})[0], y);
  }
  const Tensor bad = random_tensor(DType::Float32, {1, 6, 2, 2}, 1);
  expect_error(
      [&] {
        run({"DepthToSpace", 13, {{"blocksize", Attribute::of_int(2)}}, {bad}});
      },
      {"channels 6"});
  expect_error([&] { run({"DepthToSpace", 13, {}, {bad}}); }, {"blocksize"});
  expect_error(
      [&] {
        run({"DepthToSpace", 10, {{"blocksize", Attribute::of_int(2)}, {"mode", attr_s("CRD")}}, {bad}});
      },
      {"opset 11"});
}

// ---- Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout: zero-copy views ----

TEST(ShapeOps, ReshapeZeroMinusOneAllowzeroAndViews) {
  const Tensor x = random_tensor(DType::Int16, {2, 3, 4}, 3);
  auto reshape = [&](const Tensor& in, std::vector<int64_t> s, int64_t opset = 14, int64_t allowzero = 0) {
    Op op{"Reshape", opset, {}, {in, ints(s)}};
    if (allowzero) op.attrs["allowzero"] = Attribute::of_int(allowzero);
    return run_both(op)[0];
  };
  Tensor y = reshape(x, {0, -1});
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  EXPECT_EQ(y.raw(), x.raw());  // a view, not a copy
  EXPECT_EQ(reshape(x, {-1}).shape(), (Shape{24}));
  EXPECT_EQ(reshape(x, {4, 0, 2}).shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(reshape(x, {0, 0, 2, -1}).shape(), (Shape{2, 3, 2, 2}));
  const Tensor e = Tensor::zeros(DType::Float32, {0, 3});
  EXPECT_EQ(reshape(e, {0, 3}, 14, 1).shape(), (Shape{0, 3}));  // allowzero: 0 is a real extent
  EXPECT_EQ(reshape(e, {3, 0}, 14, 1).shape(), (Shape{3, 0}));
  EXPECT_EQ(reshape(e, {-1, 3}).shape(), (Shape{0, 3}));
  expect_error([&] { reshape(e, {0, -1}); }, {"does not fit"});  // 0 copies extent 0: -1 is ambiguous
  expect_error([&] { reshape(x, {4, 2}); }, {"[2, 3, 4]", "[4, 2]"});
  expect_error([&] { reshape(x, {-1, -1}); }, {"more than one -1"});
  expect_error([&] { reshape(x, {5, -1}); }, {"[2, 3, 4]", "[5, -1]"});
  expect_error([&] { reshape(e, {0, -1}, 14, 1); }, {"both 0 and -1"});
  expect_error([&] { reshape(x, {0, 0, 0, 0}); }, {"no input extent"});
  expect_error([&] { reshape(x, {24}, 13, 1); }, {"test_node", "opset 14"});
}

TEST(ShapeOps, FlattenSqueezeUnsqueezeAreViews) {
  const Tensor x = random_tensor(DType::Float32, {2, 1, 3, 1}, 4);
  for (int64_t axis = -4; axis <= 4; ++axis) {
    const Tensor y = run({"Flatten", 13, {{"axis", Attribute::of_int(axis)}}, {x}})[0];
    const int64_t a = axis < 0 ? axis + 4 : axis;
    int64_t outer = 1;
    for (int64_t i = 0; i < a; ++i) outer *= x.dim(i);
    EXPECT_EQ(y.shape(), (Shape{outer, 6 / outer})) << axis;
    EXPECT_EQ(y.raw(), x.raw());
  }
  expect_error([&] { run({"Flatten", 13, {{"axis", Attribute::of_int(5)}}, {x}}); }, {"axis 5"});

  EXPECT_EQ(run({"Squeeze", 11, {}, {x}})[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(run({"Squeeze", 11, {{"axes", Attribute::of_ints({-1})}}, {x}})[0].shape(), (Shape{2, 1, 3}));
  const Tensor sq = run_both({"Squeeze", 13, {}, {x, ints({3, 1})}})[0];
  EXPECT_EQ(sq.shape(), (Shape{2, 3}));
  EXPECT_EQ(sq.raw(), x.raw());
  expect_error([&] { run({"Squeeze", 13, {}, {x, ints({0})}}); }, {"axis 0", "not 1"});
  expect_error([&] { run({"Squeeze", 13, {}, {x, ints({1, -3})}}); }, {"repeated"});
  expect_error<UnsupportedError>(
      [&] {
        run({"Squeeze", 13, {}, {x, ints({})}, {1}});
      },
      {"test_node", "empty 'axes'"});

  const Tensor u = run_both({"Unsqueeze", 13, {}, {x, ints({-1, 0})}})[0];
  EXPECT_EQ(u.shape(), (Shape{1, 2, 1, 3, 1, 1}));
  EXPECT_EQ(u.raw(), x.raw());
  EXPECT_EQ(run({"Unsqueeze", 11, {{"axes", Attribute::of_ints({4, 1})}}, {x}})[0].shape(),
            (Shape{2, 1, 1, 3, 1, 1}));
  EXPECT_EQ(run({"Unsqueeze", 13, {}, {Tensor::scalar<float>(1), ints({0})}})[0].shape(), (Shape{1}));
  expect_error([&] { run({"Unsqueeze", 13, {}, {x, ints({6})}}); }, {"axis 6"});
  expect_error([&] { run({"Unsqueeze", 11, {}, {x}}); }, {"test_node", "axes"});
}

TEST(ShapeOps, IdentityAndInferenceDropout) {
  const Tensor x = random_tensor(DType::Float32, {3, 4}, 5);
  EXPECT_EQ(run({"Identity", 14, {}, {x}})[0].raw(), x.raw());
  auto d = run({"Dropout", 13, {}, {x, Tensor::scalar<float>(0.5f), Tensor::scalar<bool>(false)}, {1, 2}, 2});
  EXPECT_EQ(d[0].raw(), x.raw());
  ASSERT_EQ(d[1].dtype(), DType::Bool);
  EXPECT_EQ(d[1].shape(), x.shape());
  for (bool m : d[1].to_vector<bool>()) EXPECT_TRUE(m);
  // Opset 7-9: the mask has the input's type (ones).
  d = run({"Dropout", 7, {{"ratio", Attribute::of_float(0.3f)}}, {x}, {}, 2});
  EXPECT_EQ(d[1].dtype(), DType::Float32);
  for (float m : d[1].to_vector<float>()) EXPECT_EQ(m, 1.f);
  Op train{"Dropout", 13, {}, {x, Tensor(), Tensor::scalar<bool>(true)}, {2}};
  expect_error<UnsupportedError>([&] { run(train); }, {"test_node", "training_mode"});
  train.in[2] = Tensor::scalar<bool>(false);
  train.constant.clear();  // false, but only known at run time
  expect_error<UnsupportedError>([&] { run(train); }, {"test_node", "run time"});
  train.constant = {2};
  EXPECT_EQ(run(train)[0].raw(), x.raw());
}

// ---- Slice ----

std::vector<int64_t> slice_positions(int64_t start, int64_t end, int64_t step, int64_t dim) {
  // Straight from the spec text: negative values count from the end, then clamp, then walk.
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  std::vector<int64_t> r;
  if (dim == 0) return r;  // nothing to select (the negative-step clamp range [0, dim-1] is empty)
  if (step > 0) {
    start = std::max<int64_t>(0, std::min(start, dim));
    end = std::max<int64_t>(0, std::min(end, dim));
    for (int64_t i = start; i < end; i += step) r.push_back(i);
  } else {
    start = std::max<int64_t>(0, std::min(start, dim - 1));
    end = std::max<int64_t>(-1, std::min(end, dim - 1));
    for (int64_t i = start; i > end; i += step) r.push_back(i);
  }
  return r;
}

TEST(ShapeOps, SliceRandomAgainstSpecWalk) {
  std::mt19937 rng(42);
  const std::vector<int64_t> specials = {kMax, kMin, -100, 100};
  auto pick = [&]() -> int64_t {
    return rng() % 5 == 0 ? specials[rng() % 4] : static_cast<int64_t>(rng() % 15) - 7;
  };
  for (int iter = 0; iter < 400; ++iter) {
    const int64_t r = 1 + rng() % 4;
    Shape s;
    for (int64_t i = 0; i < r; ++i) s.push_back(rng() % 6);
    const DType dt = kTypes[rng() % kTypes.size()];
    const Tensor x = random_tensor(dt, s, iter);
    std::vector<int64_t> axes(r);
    std::iota(axes.begin(), axes.end(), 0);
    std::shuffle(axes.begin(), axes.end(), rng);
    axes.resize(1 + rng() % r);
    std::vector<int64_t> starts, ends, steps;
    std::vector<std::vector<int64_t>> pos(r);
    for (int64_t a = 0; a < r; ++a) pos[a] = slice_positions(0, kMax, 1, s[a]);
    for (auto& a : axes) {
      starts.push_back(pick());
      ends.push_back(pick());
      int64_t st = static_cast<int64_t>(rng() % 7) - 3;
      if (st == 0) st = -1;
      steps.push_back(st);
      pos[a] = slice_positions(starts.back(), ends.back(), st, s[a]);
      if (rng() % 2) a -= r;  // negative axis spelling
    }
    Shape os;
    for (auto& p : pos) os.push_back(static_cast<int64_t>(p.size()));
    const Tensor want = reference(x, os, [&](const std::vector<int64_t>& m) {
      std::vector<int64_t> sm(m.size());
      for (size_t i = 0; i < m.size(); ++i) sm[i] = pos[i][m[i]];
      return ravel(sm, s);
    });
    Op op{"Slice", 13, {}, {x, ints(starts), ints(ends), ints(axes), ints(steps)}};
    expect_same(run_both(op)[0], want,
                "slice " + x.str() + " starts " + shape_str(starts) + " ends " + shape_str(ends) + " axes " +
                    shape_str(axes) + " steps " + shape_str(steps));
  }
}

TEST(ShapeOps, SliceSpecExamplesOpset1AndErrors) {
  const Tensor x = Tensor::from_vector<float>({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  Op op{"Slice", 13, {}, {x, ints({1, 0}), ints({2, 3}), ints({0, 1}), ints({1, 2})}};
  expect_same(run_both(op)[0], Tensor::from_vector<float>({1, 2}, {5, 7}));
  op.in = {x, ints({0, 1}), ints({-1, 1000})};
  expect_same(run_both(op)[0], Tensor::from_vector<float>({1, 3}, {2, 3, 4}));
  op.in = {x, ints({-1}), ints({kMin}), ints({1}), ints({-1})};  // reverse the last axis
  expect_same(run_both(op)[0], Tensor::from_vector<float>({2, 4}, {4, 3, 2, 1, 8, 7, 6, 5}));
  // Starts/ends as int32 inputs.
  op.in = {x, Tensor::from_vector<int32_t>({1}, {1}), Tensor::from_vector<int32_t>({1}, {3}),
           Tensor::from_vector<int32_t>({1}, {-1})};
  expect_same(run_both(op)[0], Tensor::from_vector<float>({2, 2}, {2, 3, 6, 7}));
  // Opset 1: attributes, step 1.
  Op v1{"Slice", 9, {{"starts", Attribute::of_ints({0, 1})}, {"ends", Attribute::of_ints({-1, 1000})}}, {x}};
  expect_same(run(v1)[0], Tensor::from_vector<float>({1, 3}, {2, 3, 4}));
  // A large slice (parallel row copies and strided rows).
  const Tensor big = random_tensor(DType::Float32, {40, 60, 50}, 9);
  op.in = {big, ints({1, 3}), ints({39, 48}), ints({0, 2}), ints({2, 1})};
  const Tensor got = run(op)[0];
  expect_same(got, reference(big, {19, 60, 45}, [&](const std::vector<int64_t>& m) {
                return ravel({1 + 2 * m[0], m[1], 3 + m[2]}, big.shape());
              }));
  op.in = {x, ints({0}), ints({1}), ints({0}), ints({0})};
  expect_error([&] { run(op); }, {"step", "0"});
  op.in = {x, ints({0, 0}), ints({1, 1}), ints({1, -1})};
  expect_error([&] { run(op); }, {"repeated"});
  op.in = {x, ints({0, 0}), ints({1})};
  expect_error([&] { run(op); }, {"starts [0, 0]", "ends [1]"});
}

// ---- Concat, Split ----

TEST(ShapeOps, ConcatAllAxesWithEmptyInputs) {
  for (DType dt : kTypes)
    for (int64_t axis = -3; axis < 3; ++axis) {
      const size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
      std::vector<Tensor> parts;
      Shape os = {2, 3, 4};
      os[a] = 0;
      for (int64_t ext : {2, 0, 3, 1}) {
        Shape s = {2, 3, 4};
        s[a] = ext;
        parts.push_back(random_tensor(dt, s, static_cast<uint32_t>(ext * 10 + a)));
        os[a] += ext;
      }
      // Reference: find which part holds output position m[a].
      Tensor want = Tensor::zeros(dt, os);
      const size_t es = dtype_size(dt);
      for (int64_t i = 0; i < want.numel(); ++i) {
        auto m = unravel(i, os);
        size_t k = 0;
        while (m[a] >= parts[k].shape()[a]) m[a] -= parts[k++].shape()[a];
        std::memcpy(static_cast<std::byte*>(want.raw()) + i * es,
                    static_cast<const std::byte*>(parts[k].raw()) + ravel(m, parts[k].shape()) * es, es);
      }
      expect_same(run({"Concat", 13, {{"axis", Attribute::of_int(axis)}}, parts})[0], want,
                  "axis " + std::to_string(axis));
    }
  const Tensor a = Tensor::zeros(DType::Float32, {2, 3}), b = Tensor::zeros(DType::Float32, {3, 3});
  expect_error(
      [&] {
        run({"Concat", 13, {{"axis", Attribute::of_int(1)}}, {a, b}});
      },
      {"float32[3, 3]", "float32[2, 3]"});
  expect_error([&] { run({"Concat", 13, {}, {a, b}}); }, {"test_node", "axis"});
}

TEST(ShapeOps, SplitAttributeInputAndEqualParts) {
  const Tensor x = random_tensor(DType::Int64, {2, 6, 3}, 21);
  auto check = [&](const std::vector<Tensor>& outs, int64_t a, const std::vector<int64_t>& sizes) {
    ASSERT_EQ(outs.size(), sizes.size());
    int64_t at = 0;
    for (size_t k = 0; k < outs.size(); ++k) {
      Shape s = x.shape();
      s[a] = sizes[k];
      expect_same(outs[k],
                  reference(x, s,
                            [&](std::vector<int64_t> m) {
                              m[a] += at;
                              return ravel(m, x.shape());
                            }),
                  "part " + std::to_string(k));
      at += sizes[k];
    }
  };
  check(run({"Split",
             11,
             {{"axis", Attribute::of_int(-2)}, {"split", Attribute::of_ints({1, 0, 5})}},
             {x},
             {},
             3}),
        1, {1, 0, 5});
  check(run_both({"Split", 13, {{"axis", Attribute::of_int(1)}}, {x, ints({4, 2})}, {}, 2}), 1, {4, 2});
  check(run({"Split", 13, {{"axis", Attribute::of_int(1)}}, {x}, {}, 3}), 1, {2, 2, 2});
  check(run({"Split", 13, {}, {x}, {}, 2}), 0, {1, 1});
  expect_error([&] { run({"Split", 13, {}, {x}, {}, 4}); }, {"4 equal parts"});
  expect_error(
      [&] {
        run({"Split", 13, {{"axis", Attribute::of_int(1)}}, {x, ints({4, 1})}, {}, 2});
      },
      {"sums to 5"});
  expect_error(
      [&] {
        run({"Split", 13, {{"axis", Attribute::of_int(1)}}, {x, ints({4, 1})}, {1}, 3});
      },
      {"test_node", "3 outputs"});
}

// ---- Gather family ----

TEST(ShapeOps, GatherNegativeAxesAndIndices) {
  for (DType dt : kTypes) {
    const Tensor x = random_tensor(dt, {3, 4, 5}, 31);
    for (int64_t axis : {0, 1, -1}) {
      const size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
      const int64_t dim = x.shape()[a];
      const Tensor idx = Tensor::from_vector<int64_t>({2, 2}, {0, -1, dim - 2, -dim});
      Shape os;
      for (size_t i = 0; i < a; ++i) os.push_back(x.shape()[i]);
      os.insert(os.end(), {2, 2});
      for (size_t i = a + 1; i < 3; ++i) os.push_back(x.shape()[i]);
      const auto iv = idx.to_vector<int64_t>();
      expect_same(run({"Gather", 13, {{"axis", Attribute::of_int(axis)}}, {x, idx}})[0],
                  reference(x, os, [&](const std::vector<int64_t>& m) {
                    std::vector<int64_t> sm(m.begin(), m.begin() + a);
                    int64_t v = iv[m[a] * 2 + m[a + 1]];
                    sm.push_back(v < 0 ? v + dim : v);
                    sm.insert(sm.end(), m.begin() + a + 2, m.end());
                    return ravel(sm, x.shape());
                  }));
    }
  }
  const Tensor x = Tensor::from_vector<float>({3}, {1, 2, 3});
  expect_same(run({"Gather", 13, {}, {x, Tensor::scalar<int32_t>(-1)}})[0], Tensor::scalar<float>(3));
  expect_same(run({"Gather", 13, {}, {x, Tensor::zeros(DType::Int64, {0})}})[0],
              Tensor::zeros(DType::Float32, {0}));
  expect_error([&] { run({"Gather", 13, {}, {x, ints({3})}}); }, {"value 3", "extent 3"});
  expect_error([&] { run({"Gather", 13, {}, {x, Tensor()}}); }, {"test_node", "input 1 is required"});
}

TEST(ShapeOps, GatherElementsAndGatherND) {
  const Tensor x = random_tensor(DType::Float32, {3, 4}, 41);
  const Tensor idx = Tensor::from_vector<int64_t>({2, 3}, {0, -1, 2, 1, 1, -3});
  for (int64_t axis : {0, 1, -1}) {
    const size_t a = static_cast<size_t>(axis < 0 ? axis + 2 : axis);
    const auto iv = idx.to_vector<int64_t>();
    expect_same(run({"GatherElements", 13, {{"axis", Attribute::of_int(axis)}}, {x, idx}})[0],
                reference(x, {2, 3}, [&](std::vector<int64_t> m) {
                  const int64_t v = iv[m[0] * 3 + m[1]];
                  m[a] = v < 0 ? v + x.shape()[a] : v;
                  return ravel(m, x.shape());
                }));
  }
  expect_error([&] { run({"GatherElements", 13, {}, {x, ints({0, 1})}}); }, {"rank"});
  // GatherND spec examples.
  const Tensor d = Tensor::from_vector<int32_t>({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  expect_same(run({"GatherND", 13, {}, {d, Tensor::from_vector<int64_t>({2, 2}, {0, 1, 1, 0})}})[0],
              Tensor::from_vector<int32_t>({2, 2}, {2, 3, 4, 5}));
  expect_same(run({"GatherND", 13, {}, {d, Tensor::from_vector<int64_t>({2, 1, 2}, {0, 1, -1, 0})}})[0],
              Tensor::from_vector<int32_t>({2, 1, 2}, {2, 3, 4, 5}));
  expect_same(run({"GatherND",
                   13,
                   {{"batch_dims", Attribute::of_int(1)}},
                   {d, Tensor::from_vector<int64_t>({2, 1}, {1, 0})}})[0],
              Tensor::from_vector<int32_t>({2, 2}, {2, 3, 4, 5}));
  expect_error(
      [&] {
        run({"GatherND", 13, {}, {d, Tensor::from_vector<int64_t>({1, 2}, {2, 0})}});
      },
      {"value 2"});
}

// ---- Expand, Tile ----

TEST(ShapeOps, ExpandBidirectionalAndTile) {
  for (DType dt : kTypes) {
    const Tensor x = random_tensor(dt, {3, 1, 4}, 51);
    const Shape os = {2, 3, 5, 4};
    expect_same(run_both({"Expand", 13, {}, {x, ints({2, 1, 5, 1})}})[0],
                reference(x, os, [&](const std::vector<int64_t>& m) {
                  return ravel({m[1], 0, m[3]}, x.shape());
                }));
    expect_same(run_both({"Tile", 13, {}, {x, ints({2, 3, 1})}})[0],
                reference(x, {6, 3, 4}, [&](const std::vector<int64_t>& m) {
                  return ravel({m[0] % 3, m[1] % 1, m[2] % 4}, x.shape());
                }));
  }
  const Tensor x = random_tensor(DType::Float32, {3, 1}, 52);
  EXPECT_EQ(run({"Expand", 13, {}, {x, ints({0, 1, 1})}})[0].shape(), (Shape{0, 3, 1}));
  EXPECT_EQ(run({"Tile", 13, {}, {x, ints({0, 2})}})[0].shape(), (Shape{0, 2}));
  expect_error([&] { run({"Expand", 13, {}, {x, ints({2, 2})}}); }, {"[3, 1]", "[2, 2]"});
  expect_error([&] { run({"Tile", 13, {}, {x, ints({2})}}); }, {"one value per axis"});
}

// ---- Shape, Size, Constant, ConstantOfShape, Range ----

TEST(ShapeOps, ShapeStartEndAndSize) {
  const Tensor x = Tensor::zeros(DType::UInt8, {2, 3, 5, 7});
  const std::vector<int64_t> dims = {2, 3, 5, 7};
  for (int64_t start : {-6, -2, 0, 1, 4, 9})
    for (int64_t end : {-9, -1, 0, 2, 4, 10}) {
      const Tensor y =
          run({"Shape", 15, {{"start", Attribute::of_int(start)}, {"end", Attribute::of_int(end)}}, {x}})[0];
      std::vector<int64_t> want;
      for (int64_t i = 0; i < 4; ++i) {
        const int64_t s = std::clamp<int64_t>(start < 0 ? start + 4 : start, 0, 4);
        const int64_t e = std::clamp<int64_t>(end < 0 ? end + 4 : end, 0, 4);
        if (i >= s && i < e) want.push_back(dims[i]);
      }
      expect_same(y, ints(want), "start " + std::to_string(start) + " end " + std::to_string(end));
    }
  expect_same(run({"Shape", 13, {}, {x}})[0], ints(dims));
  expect_same(run({"Shape", 13, {}, {Tensor::scalar<float>(1)}})[0], ints({}));
  expect_same(run({"Size", 13, {}, {x}})[0], Tensor::scalar<int64_t>(210));
}

TEST(ShapeOps, ConstantAndConstantOfShape) {
  const Tensor v = random_tensor(DType::Int32, {2, 2}, 61);
  expect_same(run({"Constant", 13, {{"value", attr_t(v)}}, {}})[0], v);
  expect_same(run({"Constant", 13, {{"value_float", Attribute::of_float(2.5f)}}, {}})[0],
              Tensor::scalar<float>(2.5f));
  expect_same(run({"Constant", 13, {{"value_ints", Attribute::of_ints({3, -4})}}, {}})[0], ints({3, -4}));
  expect_same(run({"Constant", 13, {{"value_int", Attribute::of_int(-7)}}, {}})[0],
              Tensor::scalar<int64_t>(-7));
  Attribute fl;
  fl.kind = Attribute::Kind::Floats;
  fl.floats = {1.f, 2.f};
  expect_same(run({"Constant", 13, {{"value_floats", fl}}, {}})[0],
              Tensor::from_vector<float>({2}, {1.f, 2.f}));
  expect_error<UnsupportedError>(
      [&] {
        run({"Constant", 13, {{"value_string", attr_s("a")}}, {}});
      },
      {"test_node", "value_string"});
  expect_error<UnsupportedError>(
      [&] {
        run({"Constant", 13, {{"sparse_value", Attribute{}}}, {}});
      },
      {"sparse_value"});
  expect_error([&] { run({"Constant", 13, {}, {}}); }, {"exactly one"});

  expect_same(run_both({"ConstantOfShape", 9, {}, {ints({2, 3})}})[0], Tensor::zeros(DType::Float32, {2, 3}));
  const Tensor seven = Tensor::from_vector<int64_t>({1}, {7});
  const Tensor y = run({"ConstantOfShape", 9, {{"value", attr_t(seven)}}, {ints({3, 0, 2})}})[0];
  EXPECT_EQ(y.shape(), (Shape{3, 0, 2}));
  EXPECT_EQ(y.dtype(), DType::Int64);
  const Tensor z = run({"ConstantOfShape", 9, {{"value", attr_t(seven)}}, {ints({})}})[0];
  expect_same(z, Tensor::scalar<int64_t>(7));
  expect_same(run({"ConstantOfShape",
                   9,
                   {{"value", attr_t(Tensor::from_vector<bool>({1}, {true}))}},
                   {ints({2})}})[0],
              Tensor::from_vector<bool>({2}, {true, true}));
  expect_error([&] { run({"ConstantOfShape", 9, {}, {ints({2, -1})}}); }, {"negative"});
}

TEST(ShapeOps, RangeIntAndFloat) {
  for (auto [s, l, d] :
       std::vector<std::array<int64_t, 3>>{{0, 10, 3}, {10, 4, -2}, {5, 5, 1}, {5, 1, 1}, {-3, 3, 7}}) {
    std::vector<int32_t> want;
    for (int64_t v = s; d > 0 ? v < l : v > l; v += d) want.push_back(static_cast<int32_t>(v));
    expect_same(
        run({"Range",
             11,
             {},
             {Tensor::scalar<int32_t>(s), Tensor::scalar<int32_t>(l), Tensor::scalar<int32_t>(d)}})[0],
        Tensor::from_vector<int32_t>({static_cast<int64_t>(want.size())}, want));
  }
  const Tensor f =
      run({"Range",
           11,
           {},
           {Tensor::scalar<float>(1.f), Tensor::scalar<float>(2.05f), Tensor::scalar<float>(0.25f)}})[0];
  ASSERT_EQ(f.shape(), (Shape{5}));
  for (int i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(f.data<float>()[i], 1.f + 0.25f * i);
  expect_error(
      [&] {
        run({"Range",
             11,
             {},
             {Tensor::scalar<int64_t>(0), Tensor::scalar<int64_t>(3), Tensor::scalar<int64_t>(0)}});
      },
      {"delta"});
  expect_error(
      [&] {
        run({"Range",
             11,
             {},
             {Tensor::scalar<int64_t>(0), Tensor::scalar<int32_t>(3), Tensor::scalar<int64_t>(1)}});
      },
      {"one type"});
}

// ---- NonZero, Trilu, OneHot ----

TEST(ShapeOps, NonZeroRowMajorCoordinates) {
  const Tensor x = Tensor::from_vector<float>({2, 3}, {0.f, 1.f, -0.f, NAN, 0.f, -2.f});
  expect_same(run({"NonZero", 13, {}, {x}})[0], Tensor::from_vector<int64_t>({2, 3}, {0, 1, 1, 1, 0, 2}));
  for (DType dt : kTypes) {
    const Tensor t = random_tensor(dt, {3, 2, 4}, 71);
    std::vector<int64_t> hits;
    for (int64_t i = 0; i < t.numel(); ++i)
      if (t.value_as_double(i) != 0) hits.push_back(i);
    const int64_t n = static_cast<int64_t>(hits.size());
    Tensor want(DType::Int64, {3, n});
    for (int64_t j = 0; j < n; ++j) {
      const auto m = unravel(hits[j], t.shape());
      for (int64_t a = 0; a < 3; ++a) want.data<int64_t>()[a * n + j] = m[a];
    }
    expect_same(run({"NonZero", 13, {}, {t}})[0], want, dtype_name(dt));
  }
  expect_same(run({"NonZero", 13, {}, {Tensor::scalar<int64_t>(3)}})[0],
              Tensor::from_vector<int64_t>({1, 1}, {0}));
}

TEST(ShapeOps, TriluUpperLowerAllK) {
  for (const Shape& s : {Shape{2, 3, 4}, Shape{4, 3}, Shape{1, 5}, Shape{0, 3}})
    for (int64_t upper : {0, 1})
      for (int64_t k : std::vector<int64_t>{kMin, -5, -1, 0, 1, 2, 6, kMax}) {
        const Tensor x = random_tensor(DType::Float64, s, 81);
        const Tensor want = reference(x, s, [&](const std::vector<int64_t>& m) -> int64_t {
          const int64_t i = m[m.size() - 2], j = m.back();
          const bool keep = upper ? j - i >= k : j - i <= k;
          return keep ? ravel(m, s) : -1;
        });
        Op op{"Trilu", 14, {{"upper", Attribute::of_int(upper)}}, {x, Tensor::scalar<int64_t>(k)}};
        expect_same(run_both(op)[0], want,
                    shape_str(s) + " upper " + std::to_string(upper) + " k " + std::to_string(k));
      }
  const Tensor x = random_tensor(DType::Int32, {3, 3}, 82);
  expect_same(run({"Trilu", 14, {}, {x}})[0],
              reference(x, {3, 3}, [&](const std::vector<int64_t>& m) -> int64_t {
                return m[1] >= m[0] ? ravel(m, {3, 3}) : -1;
              }));
  expect_error([&] { run({"Trilu", 14, {}, {ints({1, 2})}}); }, {"rank >= 2"});
}

TEST(ShapeOps, OneHotAxesAndNegativeIndices) {
  const Tensor idx = Tensor::from_vector<int64_t>({2, 2}, {0, -1, 3, 7});
  const Tensor vals = Tensor::from_vector<float>({2}, {-1.f, 5.f});
  const int64_t depth = 4;
  for (int64_t opset : {10, 11})
    for (int64_t axis : {-1, 0, 1, -3}) {
      const int64_t a = axis < 0 ? axis + 3 : axis;
      Shape os = {2, 2};
      os.insert(os.begin() + a, depth);
      Tensor want(DType::Float32, os);
      for (int64_t i = 0; i < want.numel(); ++i) {
        auto m = unravel(i, os);
        const int64_t d = m[a];
        m.erase(m.begin() + a);
        int64_t v = idx.data<int64_t>()[ravel(m, {2, 2})];
        if (v < 0 && opset >= 11) v += depth;
        want.data<float>()[i] = v == d ? 5.f : -1.f;
      }
      expect_same(run({"OneHot",
                       opset,
                       {{"axis", Attribute::of_int(axis)}},
                       {idx, Tensor::scalar<float>(4.f), vals}})[0],
                  want, "opset " + std::to_string(opset) + " axis " + std::to_string(axis));
    }
  expect_error(
      [&] {
        run({"OneHot", 11, {}, {Tensor::from_vector<float>({1}, {1.5f}), Tensor::scalar<int64_t>(3), vals}});
      },
      {"not an integer"});
}

// ---- ScatterND, ScatterElements ----

TEST(ShapeOps, ScatterNDAndScatterElementsWithReductions) {
  // ScatterND spec example 2.
  Tensor data(DType::Float32, {4, 4, 4});
  for (int64_t i = 0; i < 64; ++i) data.data<float>()[i] = static_cast<float>(i % 7);
  const Tensor ind = Tensor::from_vector<int64_t>({2, 1}, {0, -2});
  const Tensor upd = random_tensor(DType::Float32, {2, 4, 4}, 91);
  for (const std::string red : {"none", "add", "mul"}) {
    Tensor want = data.clone();
    for (int64_t t = 0; t < 2; ++t)
      for (int64_t j = 0; j < 16; ++j) {
        float& d = want.data<float>()[(t == 0 ? 0 : 2) * 16 + j];
        const float u = upd.data<float>()[t * 16 + j];
        d = red == "none" ? u : red == "add" ? d + u : d * u;
      }
    expect_same(run({"ScatterND", 16, {{"reduction", attr_s(red)}}, {data, ind, upd}})[0], want,
                "ScatterND " + red);
  }
  expect_error<UnsupportedError>(
      [&] {
        run({"ScatterND", 16, {{"reduction", attr_s("max")}}, {data, ind, upd}});
      },
      {"max"});
  expect_error(
      [&] {
        run({"ScatterND", 13, {}, {data, ind, random_tensor(DType::Float32, {2, 4}, 1)}});
      },
      {"updates"});

  const Tensor x = random_tensor(DType::Int64, {3, 3}, 92);
  const Tensor ei = Tensor::from_vector<int64_t>({2, 3}, {1, 0, 2, 0, -1, 1});
  const Tensor eu = random_tensor(DType::Int64, {2, 3}, 93);
  for (int64_t axis : {0, -1})
    for (const std::string red : {"none", "add"}) {
      Tensor want = x.clone();
      const size_t a = axis < 0 ? 1 : 0;
      for (int64_t e = 0; e < 6; ++e) {
        auto m = unravel(e, {2, 3});
        const int64_t v = ei.data<int64_t>()[e];
        m[a] = v < 0 ? v + 3 : v;
        int64_t& d = want.data<int64_t>()[ravel(m, {3, 3})];
        d = red == "none" ? eu.data<int64_t>()[e] : d + eu.data<int64_t>()[e];
      }
      expect_same(run({"ScatterElements",
                       16,
                       {{"axis", Attribute::of_int(axis)}, {"reduction", attr_s(red)}},
                       {x, ei, eu}})[0],
                  want, "ScatterElements " + red);
    }
  expect_error(
      [&] {
        run({"ScatterElements",
             13,
             {},
             {x, Tensor::from_vector<int64_t>({1, 1}, {3}), ints({1}).reshaped({1, 1})}});
      },
      {"index 3"});
}

}  // namespace
}  // namespace qs
