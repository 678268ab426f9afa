// Indexing and generating kernels (Gather family, Expand, Tile, Shape, Size, Constant(OfShape), Range,
// NonZero, Trilu, OneHot, ScatterND/ScatterElements) against brute-force references written independently
// here, over dtypes of every element size.
#include <gtest/gtest.h>

#include "tests/core/shape_ops_test_util.h"

namespace qs {
namespace {

using namespace shape_test;  // NOLINT(google-build-using-namespace): the helpers of this test family

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
