// Shape and data-movement kernels (Transpose, DepthToSpace/SpaceToDepth, Reshape and the other views,
// Slice, Concat, Split) against brute-force index computations written independently here (every output
// element located by its multi-index), over dtypes of every element size.
#include <gtest/gtest.h>

#include "tests/core/shape_ops_test_util.h"

namespace qs {
namespace {

using namespace shape_test;  // NOLINT(google-build-using-namespace): the helpers of this test family

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

}  // namespace
}  // namespace qs
