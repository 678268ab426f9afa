// Pad, Resize and Upsample against element-by-element reference computations.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "core/ops/kernel.h"

namespace qs {
namespace {

std::vector<Tensor> run_node(Node node, int64_t opset, const std::vector<Tensor>& inputs,
                             const std::set<size_t>& constant = {}) {
  node.name = "n";
  node.inputs.clear();
  for (size_t i = 0; i < inputs.size(); ++i)
    node.inputs.push_back(inputs[i].defined() ? "in" + std::to_string(i) : "");
  node.outputs = {"out0"};
  KernelInit init{node, opset, [&](const std::string& name) -> const Tensor* {
                    for (size_t i = 0; i < inputs.size(); ++i)
                      if (node.inputs[i] == name && constant.count(i)) return &inputs[i];
                    return nullptr;
                  }};
  auto k = OpRegistry::instance().create(init);
  std::vector<const Tensor*> in;
  for (const auto& t : inputs) in.push_back(t.defined() ? &t : nullptr);
  std::vector<Tensor> out(1);
  k->run(in, out);
  return out;
}

Tensor random_tensor(const Shape& s, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-2.f, 2.f);
  std::vector<float> v(static_cast<size_t>(numel(s)));
  for (auto& x : v) x = d(rng);
  return Tensor::from_vector<float>(s, v);
}

Attribute str_attr(const std::string& s) {
  Attribute a;
  a.kind = Attribute::Kind::String;
  a.s = s;
  return a;
}

std::vector<int64_t> unravel(int64_t e, const Shape& s) {
  std::vector<int64_t> idx(s.size());
  for (size_t a = s.size(); a-- > 0;) {
    idx[a] = e % s[a];
    e /= s[a];
  }
  return idx;
}
int64_t ravel(const std::vector<int64_t>& idx, const Shape& s) {
  int64_t e = 0;
  for (size_t a = 0; a < s.size(); ++a) e = e * s[a] + idx[a];
  return e;
}

// ---- Pad ----

// numpy.pad semantics after cropping the negative pads; reflect by folding the index back repeatedly.
std::vector<double> pad_reference(const Tensor& x, const std::vector<int64_t>& pads, const std::string& mode,
                                  double value, Shape& out_shape) {
  const Shape& xs = x.shape();
  const size_t r = xs.size();
  out_shape.resize(r);
  for (size_t a = 0; a < r; ++a) out_shape[a] = xs[a] + pads[a] + pads[a + r];
  const auto xv = x.to_vector<double>();
  std::vector<double> y(static_cast<size_t>(numel(out_shape)));
  for (size_t e = 0; e < y.size(); ++e) {
    std::vector<int64_t> o = unravel(static_cast<int64_t>(e), out_shape), src(r);
    bool constant = false;
    for (size_t a = 0; a < r; ++a) {
      const int64_t cb = std::max<int64_t>(0, -pads[a]), ce = std::max<int64_t>(0, -pads[a + r]);
      const int64_t n = xs[a] - cb - ce;
      int64_t j = o[a] - std::max<int64_t>(0, pads[a]);
      if (j < 0 || j >= n) {
        if (mode == "constant") {
          constant = true;
        } else if (mode == "edge" || n == 1) {
          j = j < 0 ? 0 : n - 1;
        } else {
          while (j < 0 || j >= n) j = j < 0 ? -j : 2 * (n - 1) - j;
        }
      }
      src[a] = cb + j;
    }
    y[e] = constant ? value : xv[static_cast<size_t>(ravel(src, xs))];
  }
  return y;
}

void expect_values(const Tensor& got, const std::vector<double>& want, const std::string& what) {
  const auto g = got.to_vector<double>();
  ASSERT_EQ(g.size(), want.size()) << what;
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_NEAR(g[i], want[i], 1e-5 * (1 + std::abs(want[i]))) << what << " at " << i;
}

TEST(Pad, ModesAndPadsMatchReference) {
  std::mt19937 rng(1);
  const Tensor x = random_tensor({2, 3, 4, 5}, rng);
  const std::vector<std::vector<int64_t>> cases = {
      {0, 0, 1, 2, 0, 0, 3, 1},     // asymmetric
      {0, 1, 3, 4, 0, 0, 3, 4},     // reflect of size extent-1 on H and W
      {0, 0, 7, 9, 0, 0, 8, 11},    // wider than the extent: repeated reflection
      {0, -1, -1, 2, 0, 0, 1, -2},  // negative pads crop first
      {1, 0, 0, 0, 1, 0, 0, 0},     // batch axis
  };
  for (const std::string mode : {"constant", "reflect", "edge"})
    for (const auto& pads : cases) {
      Shape ys;
      const auto want = pad_reference(x, pads, mode, mode == "constant" ? 1.5 : 0, ys);
      // Opset 2: attributes.
      Node a;
      a.op_type = "Pad";
      a.attrs["mode"] = str_attr(mode);
      a.attrs["pads"] = Attribute::of_ints(pads);
      a.attrs["value"] = Attribute::of_float(1.5f);
      const Tensor y2 = run_node(a, 2, {x})[0];
      EXPECT_EQ(y2.shape(), ys);
      expect_values(y2, want, "opset 2 " + mode);
      // Opset 11: pads and constant_value inputs, constant or computed at run time.
      Node b;
      b.op_type = "Pad";
      b.attrs["mode"] = str_attr(mode);
      const Tensor p = Tensor::from_vector<int64_t>({8}, pads);
      const Tensor v = Tensor::scalar<float>(1.5f);
      expect_values(run_node(b, 11, {x, p, v}, {1, 2})[0], want, "opset 11 const " + mode);
      expect_values(run_node(b, 13, {x, p, v})[0], want, "opset 13 runtime " + mode);
    }
}

TEST(Pad, DefaultValueIntegerDataAndExtentOne) {
  const Tensor x = Tensor::from_vector<int64_t>({1, 3}, {7, -8, 9});
  Node n;
  n.op_type = "Pad";
  Shape ys;
  const std::vector<int64_t> pads = {0, 2, 0, 4};
  expect_values(run_node(n, 13, {x, Tensor::from_vector<int64_t>({4}, pads)})[0],
                pad_reference(x, pads, "constant", 0, ys), "int64 default 0");
  // Reflect of an extent of 1 repeats it (numpy).
  n.attrs["mode"] = str_attr("reflect");
  const std::vector<int64_t> p1 = {2, 1, 3, 0};
  expect_values(run_node(n, 13, {x, Tensor::from_vector<int64_t>({4}, p1)})[0],
                pad_reference(x, p1, "reflect", 0, ys), "reflect extent 1");
}

TEST(Pad, RejectsAndRefuses) {
  const Tensor x = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  Node n;
  n.op_type = "Pad";
  EXPECT_THROW(run_node(n, 13, {x, Tensor::from_vector<int64_t>({4}, {0, -2, 0, -1})}),
               Error);                                                                   // crops too much
  EXPECT_THROW(run_node(n, 13, {x, Tensor::from_vector<int64_t>({2}, {1, 1})}), Error);  // wrong length
  n.attrs["mode"] = str_attr("wrap");
  EXPECT_THROW(run_node(n, 13, {x, Tensor::from_vector<int64_t>({4}, {0, 1, 0, 1})}), UnsupportedError);
}

// ---- Resize / Upsample ----

// `length` is length_resized of the spec: in * scale for scales, the output extent for sizes.
float ref_coord(const std::string& mode, int64_t x, float scale, int64_t in, float length) {
  const float xf = static_cast<float>(x);
  if (mode == "half_pixel") return (xf + 0.5f) / scale - 0.5f;
  if (mode == "pytorch_half_pixel") return length > 1 ? (xf + 0.5f) / scale - 0.5f : 0.f;
  if (mode == "align_corners") return length == 1 ? 0.f : xf * static_cast<float>(in - 1) / (length - 1);
  if (mode == "asymmetric") return xf / scale;
  return (xf + 0.5f) / scale;  // tf_half_pixel_for_nn
}

int64_t ref_nearest(const std::string& mode, float x, int64_t in) {
  int64_t i;
  const float fl = std::floor(x), frac = x - fl;
  if (mode == "floor") {
    i = static_cast<int64_t>(fl);
  } else if (mode == "ceil") {
    i = static_cast<int64_t>(std::ceil(x));
  } else if (mode == "round_prefer_ceil") {
    i = static_cast<int64_t>(frac >= 0.5f ? fl + 1 : fl);
  } else {  // round_prefer_floor
    i = static_cast<int64_t>(frac > 0.5f ? fl + 1 : fl);
  }
  return std::min<int64_t>(std::max<int64_t>(i, 0), in - 1);
}

// Element-by-element: nearest gathers one input element; linear sums the 2^k corners of the cell.
std::vector<double> resize_reference(const Tensor& x, const Shape& ys, const std::vector<float>& scales,
                                     const std::string& mode, const std::string& coord,
                                     const std::string& nearest, bool from_sizes = false) {
  const Shape& xs = x.shape();
  const size_t r = xs.size();
  const auto xv = x.to_vector<double>();
  std::vector<double> y(static_cast<size_t>(numel(ys)));
  for (size_t e = 0; e < y.size(); ++e) {
    const auto o = unravel(static_cast<int64_t>(e), ys);
    std::vector<float> c(r);
    for (size_t a = 0; a < r; ++a)
      c[a] = ref_coord(coord, o[a], scales[a], xs[a],
                       from_sizes ? static_cast<float>(ys[a]) : static_cast<float>(xs[a]) * scales[a]);
    if (mode == "nearest") {
      std::vector<int64_t> src(r);
      for (size_t a = 0; a < r; ++a) src[a] = ref_nearest(nearest, c[a], xs[a]);
      y[e] = xv[static_cast<size_t>(ravel(src, xs))];
      continue;
    }
    double acc = 0;
    for (size_t corner = 0; corner < (size_t{1} << r); ++corner) {
      double w = 1;
      std::vector<int64_t> src(r);
      for (size_t a = 0; a < r; ++a) {
        const double cc = std::min<double>(std::max<double>(c[a], 0.0), static_cast<double>(xs[a] - 1));
        const int64_t lo = static_cast<int64_t>(std::floor(cc));
        const double f = cc - static_cast<double>(lo);
        const bool hi = (corner >> a) & 1;
        src[a] = std::min<int64_t>(lo + (hi ? 1 : 0), xs[a] - 1);
        w *= hi ? f : 1 - f;
      }
      acc += w * xv[static_cast<size_t>(ravel(src, xs))];
    }
    y[e] = acc;
  }
  return y;
}

Shape scaled_shape(const Shape& xs, const std::vector<float>& scales) {
  Shape s;
  for (size_t i = 0; i < xs.size(); ++i)
    s.push_back(static_cast<int64_t>(std::floor(static_cast<float>(xs[i]) * scales[i])));
  return s;
}

TEST(Resize, ScalesEveryCoordinateAndNearestMode) {
  std::mt19937 rng(2);
  const Tensor x = random_tensor({2, 3, 5, 7}, rng);
  const std::vector<std::vector<float>> scale_sets = {{1, 1, 2, 3}, {1, 1, 0.6f, 0.5f}, {1, 1, 1.7f, 0.8f}};
  for (const std::string coord :
       {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn"})
    for (const auto& scales : scale_sets) {
      const Shape ys = scaled_shape(x.shape(), scales);
      const Tensor st = Tensor::from_vector<float>({4}, scales);
      for (const std::string nm : {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}) {
        Node n;
        n.op_type = "Resize";
        n.attrs["mode"] = str_attr("nearest");
        n.attrs["coordinate_transformation_mode"] = str_attr(coord);
        n.attrs["nearest_mode"] = str_attr(nm);
        const Tensor y = run_node(n, 13, {x, Tensor(), st}, {2})[0];
        ASSERT_EQ(y.shape(), ys);
        expect_values(y, resize_reference(x, ys, scales, "nearest", coord, nm), coord + " " + nm);
      }
      if (coord == "tf_half_pixel_for_nn") continue;
      Node n;
      n.op_type = "Resize";
      n.attrs["mode"] = str_attr("linear");
      n.attrs["coordinate_transformation_mode"] = str_attr(coord);
      const Tensor y = run_node(n, 13, {x, Tensor(), st})[0];  // scales at run time
      expect_values(y, resize_reference(x, ys, scales, "linear", coord, ""), coord + " linear");
    }
}

TEST(Resize, SizesAndGenericLinearAxes) {
  std::mt19937 rng(3);
  // All axes of a 3-D tensor, and the channel axis of a 4-D one: the separable N-d path.
  const Tensor x3 = random_tensor({3, 4, 5}, rng);
  const Tensor x4 = random_tensor({1, 3, 4, 4}, rng);
  struct Case {
    const Tensor* x;
    std::vector<int64_t> sizes;
  };
  for (const Case& c : {Case{&x3, {5, 3, 8}}, Case{&x4, {1, 6, 4, 4}}, Case{&x4, {2, 5, 3, 7}}})
    for (const std::string coord : {"half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel"}) {
      Node n;
      n.op_type = "Resize";
      n.attrs["mode"] = str_attr("linear");
      n.attrs["coordinate_transformation_mode"] = str_attr(coord);
      const Tensor sizes = Tensor::from_vector<int64_t>({static_cast<int64_t>(c.sizes.size())}, c.sizes);
      std::vector<float> scales;
      for (size_t i = 0; i < c.sizes.size(); ++i)
        scales.push_back(static_cast<float>(c.sizes[i]) / static_cast<float>(c.x->shape()[i]));
      // Opset 11: scales is required but empty when sizes is given.
      const Tensor empty = Tensor::from_vector<float>({0}, {});
      const Tensor y = run_node(n, 11, {*c.x, Tensor::from_vector<float>({0}, {}), empty, sizes}, {3})[0];
      ASSERT_EQ(y.shape(), Shape(c.sizes.begin(), c.sizes.end()));
      expect_values(y, resize_reference(*c.x, y.shape(), scales, "linear", coord, "", true),
                    coord + " sizes");
    }
}

TEST(Resize, Opset10AndUpsampleUseAsymmetricLegacyNearest) {
  std::mt19937 rng(4);
  const Tensor x = random_tensor({1, 2, 5, 6}, rng);
  // Downsampling: ONNX Runtime's legacy rule rounds the original coordinate up.
  const std::vector<float> down = {1, 1, 0.6f, 0.7f};
  Node n;
  n.op_type = "Resize";
  const Tensor y = run_node(n, 10, {x, Tensor::from_vector<float>({4}, down)}, {1})[0];
  expect_values(y, resize_reference(x, scaled_shape(x.shape(), down), down, "nearest", "asymmetric", "ceil"),
                "resize-10 down");
  // Upsampling truncates.
  const std::vector<float> up = {1, 1, 2.5f, 1.5f};
  const Tensor yu = run_node(n, 10, {x, Tensor::from_vector<float>({4}, up)})[0];
  expect_values(yu, resize_reference(x, scaled_shape(x.shape(), up), up, "nearest", "asymmetric", "floor"),
                "resize-10 up");
  Node u;
  u.op_type = "Upsample";
  u.attrs["mode"] = str_attr("linear");
  expect_values(run_node(u, 9, {x, Tensor::from_vector<float>({4}, up)})[0],
                resize_reference(x, scaled_shape(x.shape(), up), up, "linear", "asymmetric", ""),
                "upsample-9 linear");
  u.attrs["scales"] = Attribute();
  u.attrs["scales"].kind = Attribute::Kind::Floats;
  u.attrs["scales"].floats = up;
  expect_values(run_node(u, 7, {x})[0],
                resize_reference(x, scaled_shape(x.shape(), up), up, "linear", "asymmetric", ""),
                "upsample-7 linear");
}

TEST(Upsample, OnnxDocumentationExample) {
  // From the ONNX operator documentation (test_upsample_nearest).
  const Tensor x = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  Node u;
  u.op_type = "Upsample";
  const Tensor y = run_node(u, 9, {x, Tensor::from_vector<float>({4}, {1, 1, 2, 3})}, {1})[0];
  ASSERT_EQ(y.shape(), (Shape{1, 1, 4, 6}));
  EXPECT_EQ(y.to_vector<float>(),
            (std::vector<float>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}));
}

TEST(Resize, NearestOnIntegers) {
  const Tensor x = Tensor::from_vector<int64_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  Node n;
  n.op_type = "Resize";
  const Tensor y = run_node(n, 13, {x, Tensor(), Tensor(), Tensor::from_vector<int64_t>({2}, {4, 6})})[0];
  ASSERT_EQ(y.dtype(), DType::Int64);
  expect_values(y,
                resize_reference(x, {4, 6}, {2.f, 2.f}, "nearest", "half_pixel", "round_prefer_floor", true),
                "int64");
}

TEST(Resize, RefusesAndRejects) {
  const Tensor x = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  const Tensor s = Tensor::from_vector<float>({4}, {1, 1, 2, 2});
  Node cubic;
  cubic.op_type = "Resize";
  cubic.attrs["mode"] = str_attr("cubic");
  EXPECT_THROW(run_node(cubic, 13, {x, Tensor(), s}), UnsupportedError);
  Node crop;
  crop.op_type = "Resize";
  crop.attrs["coordinate_transformation_mode"] = str_attr("tf_crop_and_resize");
  EXPECT_THROW(run_node(crop, 13, {x, Tensor(), s}), UnsupportedError);
  Node both;
  both.op_type = "Resize";
  EXPECT_THROW(run_node(both, 13, {x, Tensor(), s, Tensor::from_vector<int64_t>({4}, {1, 1, 4, 4})}), Error);
  EXPECT_THROW(run_node(both, 13, {x, Tensor(), Tensor::from_vector<float>({2}, {2, 2})}),
               Error);  // wrong rank
  Node up;
  up.op_type = "Upsample";
  EXPECT_THROW(run_node(up, 9, {x, Tensor::from_vector<float>({4}, {1, 1, 0.5f, 1})}), Error);
}

}  // namespace
}  // namespace qs
