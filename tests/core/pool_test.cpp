// MaxPool / AveragePool / Global*Pool kernels against brute-force loops over every window tap.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/ops/kernel.h"

namespace qs {
namespace {

// Runs one node with `inputs` (named in0, in1, ...); returns its outputs.
std::vector<Tensor> run_node(Node node, int64_t opset, const std::vector<Tensor>& inputs,
                             size_t num_outputs = 1) {
  node.name = "n";
  node.inputs.clear();
  for (size_t i = 0; i < inputs.size(); ++i) node.inputs.push_back("in" + std::to_string(i));
  node.outputs.clear();
  for (size_t i = 0; i < num_outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
  KernelInit init{node, opset, nullptr};
  auto k = OpRegistry::instance().create(init);
  std::vector<const Tensor*> in;
  for (const auto& t : inputs) in.push_back(&t);
  std::vector<Tensor> out(num_outputs);
  k->run(in, out);
  return out;
}

Tensor random_tensor(const Shape& s, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-2.f, 2.f);
  std::vector<float> v(static_cast<size_t>(numel(s)));
  for (auto& x : v) x = d(rng);
  return Tensor::from_vector<float>(s, v);
}

struct Cfg {
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: begins then ends
  bool ceil = false;
};

// Reference output extent along one axis (ONNX formula, and PyTorch's rule that a ceil_mode window must
// start inside the input or the begin padding).
int64_t ref_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, bool ceil) {
  const int64_t ek = (k - 1) * d + 1;
  const double v = static_cast<double>(in + pb + pe - ek) / static_cast<double>(s);
  int64_t out = static_cast<int64_t>(ceil ? std::ceil(v) : std::floor(v)) + 1;
  if (ceil && (out - 1) * s >= in + pb) --out;
  return out;
}

enum class Kind { Max, AvgExclude, AvgInclude };

// Brute force over N x C x spatial: returns values and (for Max) row-major / column-major argmax indices.
struct RefResult {
  Shape shape;
  std::vector<float> y;
  std::vector<int64_t> idx_row, idx_col;
};
RefResult reference(const Tensor& x, const Cfg& c, Kind kind) {
  const size_t n = c.kernel.size();
  const Shape& xs = x.shape();
  RefResult r;
  r.shape = {xs[0], xs[1]};
  for (size_t j = 0; j < n; ++j)
    r.shape.push_back(
        ref_out(xs[j + 2], c.kernel[j], c.strides[j], c.dilations[j], c.pads[j], c.pads[j + n], c.ceil));
  const std::vector<float> xv = x.to_vector<float>();
  const int64_t in_plane = numel(Shape(xs.begin() + 2, xs.end()));
  const int64_t out_plane = numel(Shape(r.shape.begin() + 2, r.shape.end()));
  for (int64_t p = 0; p < xs[0] * xs[1]; ++p)
    for (int64_t oi = 0; oi < out_plane; ++oi) {
      std::vector<int64_t> o(n);
      for (size_t j = n, rem = static_cast<size_t>(oi); j-- > 0;) {
        o[j] = static_cast<int64_t>(rem % static_cast<size_t>(r.shape[j + 2]));
        rem /= static_cast<size_t>(r.shape[j + 2]);
      }
      float best = -std::numeric_limits<float>::infinity();
      int64_t best_row = -1, best_col = -1;
      double sum = 0;
      int64_t valid = 0, padded = 0;
      const int64_t taps = numel(c.kernel);
      for (int64_t t = 0; t < taps; ++t) {
        std::vector<int64_t> k(n);
        for (size_t j = n, rem = static_cast<size_t>(t); j-- > 0;) {
          k[j] = static_cast<int64_t>(rem % static_cast<size_t>(c.kernel[j]));
          rem /= static_cast<size_t>(c.kernel[j]);
        }
        bool inside = true, in_padded = true;
        int64_t row = 0, col = 0, col_mul = 1;
        for (size_t j = 0; j < n; ++j) {
          const int64_t pos = o[j] * c.strides[j] - c.pads[j] + k[j] * c.dilations[j];
          if (pos < 0 || pos >= xs[j + 2]) inside = false;
          if (pos < -c.pads[j] || pos >= xs[j + 2] + c.pads[j + n]) in_padded = false;
          row = row * xs[j + 2] + pos;
          col += pos * col_mul;
          col_mul *= xs[j + 2];
        }
        if (in_padded) ++padded;
        if (!inside) continue;
        ++valid;
        const float v = xv[static_cast<size_t>(p * in_plane + row)];
        sum += v;
        if (v > best) {
          best = v;
          best_row = row;
          best_col = col;
        }
      }
      if (kind == Kind::Max) {
        r.y.push_back(best);
        r.idx_row.push_back(p * in_plane + best_row);
        r.idx_col.push_back(p * in_plane + best_col);
      } else {
        r.y.push_back(
            static_cast<float>(sum / static_cast<double>(kind == Kind::AvgInclude ? padded : valid)));
      }
    }
  return r;
}

Node pool_node(const std::string& op, const Cfg& c) {
  Node n;
  n.op_type = op;
  n.attrs["kernel_shape"] = Attribute::of_ints(c.kernel);
  n.attrs["strides"] = Attribute::of_ints(c.strides);
  n.attrs["dilations"] = Attribute::of_ints(c.dilations);
  n.attrs["pads"] = Attribute::of_ints(c.pads);
  n.attrs["ceil_mode"] = Attribute::of_int(c.ceil ? 1 : 0);
  return n;
}

void expect_near(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5f) << what << " at " << i;
}

std::string describe(const Cfg& c) {
  std::string s = "k";
  for (auto v : c.kernel) s += std::to_string(v) + ",";
  s += " s";
  for (auto v : c.strides) s += std::to_string(v) + ",";
  s += " d";
  for (auto v : c.dilations) s += std::to_string(v) + ",";
  s += " p";
  for (auto v : c.pads) s += std::to_string(v) + ",";
  return s + (c.ceil ? " ceil" : "");
}

// Random configurations whose windows always contain an input element (pads < effective kernel).
std::vector<Cfg> random_cfgs(size_t n, int count, std::mt19937& rng) {
  std::vector<Cfg> out;
  std::uniform_int_distribution<int64_t> k(1, 3), s(1, 3), d(1, 2), pad(0, 2), coin(0, 1);
  while (static_cast<int>(out.size()) < count) {
    Cfg c;
    for (size_t j = 0; j < n; ++j) {
      c.kernel.push_back(k(rng));
      c.strides.push_back(s(rng));
      c.dilations.push_back(d(rng));
    }
    c.pads.resize(2 * n);
    bool ok = true;
    for (size_t j = 0; j < 2 * n; ++j) {
      c.pads[j] = pad(rng);
      if (c.pads[j] >= (c.kernel[j % n] - 1) * c.dilations[j % n] + 1) ok = false;
    }
    c.ceil = coin(rng) == 1;
    if (ok) out.push_back(c);
  }
  return out;
}

void check_kind(const std::string& op, Kind kind, size_t n, const Shape& xshape, int count, uint32_t seed) {
  std::mt19937 rng(seed);
  for (const Cfg& c : random_cfgs(n, count, rng)) {
    const Tensor x = random_tensor(xshape, rng);
    Node node = pool_node(op, c);
    if (kind != Kind::Max)
      node.attrs["count_include_pad"] = Attribute::of_int(kind == Kind::AvgInclude ? 1 : 0);
    const RefResult want = reference(x, c, kind);
    const auto got = run_node(node, 12, {x});
    ASSERT_EQ(got[0].shape(), want.shape) << describe(c);
    expect_near(got[0].to_vector<float>(), want.y, op + " " + describe(c));
  }
}

TEST(MaxPool, MatchesBruteForce2D) { check_kind("MaxPool", Kind::Max, 2, {2, 3, 9, 8}, 60, 1); }
TEST(MaxPool, MatchesBruteForce1DAnd3D) {
  check_kind("MaxPool", Kind::Max, 1, {2, 2, 11}, 30, 2);
  check_kind("MaxPool", Kind::Max, 3, {1, 2, 5, 6, 7}, 30, 3);
}
TEST(AveragePool, ExcludePadMatchesBruteForce) {
  check_kind("AveragePool", Kind::AvgExclude, 2, {2, 3, 9, 8}, 60, 4);
  check_kind("AveragePool", Kind::AvgExclude, 1, {2, 2, 11}, 20, 5);
  check_kind("AveragePool", Kind::AvgExclude, 3, {1, 2, 5, 6, 7}, 20, 6);
}
TEST(AveragePool, IncludePadMatchesBruteForce) {
  check_kind("AveragePool", Kind::AvgInclude, 2, {2, 3, 9, 8}, 60, 7);
  check_kind("AveragePool", Kind::AvgInclude, 3, {1, 2, 5, 6, 7}, 20, 8);
}

TEST(MaxPool, IndicesRowAndColumnMajor) {
  std::mt19937 rng(9);
  for (const Cfg& c : random_cfgs(2, 20, rng)) {
    const Tensor x = random_tensor({2, 3, 7, 6}, rng);
    const RefResult want = reference(x, c, Kind::Max);
    for (int order : {0, 1}) {
      Node node = pool_node("MaxPool", c);
      node.attrs["storage_order"] = Attribute::of_int(order);
      const auto got = run_node(node, 12, {x}, 2);
      expect_near(got[0].to_vector<float>(), want.y, describe(c));
      ASSERT_EQ(got[1].dtype(), DType::Int64);
      EXPECT_EQ(got[1].to_vector<int64_t>(), order == 0 ? want.idx_row : want.idx_col) << describe(c);
    }
  }
  // 3-D indices.
  Cfg c{{2, 2, 2}, {2, 1, 2}, {1, 1, 1}, {0, 1, 0, 1, 0, 1}, false};
  const Tensor x = random_tensor({1, 2, 4, 5, 4}, rng);
  Node node = pool_node("MaxPool", c);
  node.attrs["storage_order"] = Attribute::of_int(1);
  EXPECT_EQ(run_node(node, 12, {x}, 2)[1].to_vector<int64_t>(), reference(x, c, Kind::Max).idx_col);
}

TEST(AveragePool, CeilModeMatchesPyTorch) {
  // Values from torch.nn.functional.avg_pool2d(arange(1, 17).reshape(1, 1, 4, 4), ..., ceil_mode=True).
  const Tensor x = Tensor::from_vector<float>({1, 1, 4, 4}, [] {
    std::vector<float> v(16);
    for (int i = 0; i < 16; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i + 1);
    return v;
  }());
  Node a = pool_node("AveragePool", Cfg{{2, 2}, {2, 2}, {1, 1}, {1, 1, 1, 1}, true});
  a.attrs["count_include_pad"] = Attribute::of_int(1);
  expect_near(run_node(a, 11, {x})[0].to_vector<float>(),
              {0.25f, 1.25f, 1.f, 3.5f, 8.5f, 5.f, 3.25f, 7.25f, 4.f}, "k2 s2 p1 ceil include");
  Node b = pool_node("AveragePool", Cfg{{3, 3}, {2, 2}, {1, 1}, {0, 0, 0, 0}, true});
  b.attrs["count_include_pad"] = Attribute::of_int(1);
  expect_near(run_node(b, 11, {x})[0].to_vector<float>(), {6.f, 7.5f, 12.f, 13.5f}, "k3 s2 ceil include");
}

TEST(Pool, AutoPadSame) {
  std::mt19937 rng(10);
  const Tensor x = random_tensor({1, 2, 7, 6}, rng);
  for (const std::string mode : {"SAME_UPPER", "SAME_LOWER"}) {
    Node n;
    n.op_type = "MaxPool";
    n.attrs["kernel_shape"] = Attribute::of_ints({3, 2});
    n.attrs["strides"] = Attribute::of_ints({2, 2});
    Attribute ap;
    ap.kind = Attribute::Kind::String;
    ap.s = mode;
    n.attrs["auto_pad"] = ap;
    // out = ceil(in / stride); total pad = (out - 1) * stride + k - in, extra at the end for SAME_UPPER.
    const int64_t ph = (4 - 1) * 2 + 3 - 7, pw = (3 - 1) * 2 + 2 - 6;
    const int64_t hb = mode == "SAME_UPPER" ? ph / 2 : ph - ph / 2,
                  wb = mode == "SAME_UPPER" ? pw / 2 : pw - pw / 2;
    const Cfg c{{3, 2}, {2, 2}, {1, 1}, {hb, wb, ph - hb, pw - wb}, false};
    const RefResult want = reference(x, c, Kind::Max);
    const auto got = run_node(n, 12, {x});
    ASSERT_EQ(got[0].shape(), (Shape{1, 2, 4, 3}));
    expect_near(got[0].to_vector<float>(), want.y, mode);
  }
}

TEST(MaxPool, Uint8) {
  std::vector<uint8_t> v(25);
  for (size_t i = 0; i < 25; ++i) v[i] = static_cast<uint8_t>((i * 37) % 251);
  const Tensor x = Tensor::from_vector<uint8_t>({1, 1, 5, 5}, v);
  Cfg c{{5, 5}, {1, 1}, {1, 1}, {2, 2, 2, 2}, false};
  const auto got = run_node(pool_node("MaxPool", c), 12, {x});
  ASSERT_EQ(got[0].dtype(), DType::UInt8);
  const RefResult want = reference(x.cast(DType::Float32), c, Kind::Max);
  std::vector<float> g = got[0].to_vector<float>();
  expect_near(g, want.y, "uint8");
}

TEST(GlobalPool, MatchesLoops) {
  std::mt19937 rng(11);
  const Tensor x = random_tensor({2, 3, 4, 5}, rng);
  const auto xv = x.to_vector<float>();
  Node avg, mx;
  avg.op_type = "GlobalAveragePool";
  mx.op_type = "GlobalMaxPool";
  const Tensor ya = run_node(avg, 1, {x})[0], ym = run_node(mx, 1, {x})[0];
  ASSERT_EQ(ya.shape(), (Shape{2, 3, 1, 1}));
  ASSERT_EQ(ym.shape(), (Shape{2, 3, 1, 1}));
  for (size_t p = 0; p < 6; ++p) {
    double s = 0;
    float m = -1e30f;
    for (size_t i = 0; i < 20; ++i) {
      s += xv[p * 20 + i];
      m = std::max(m, xv[p * 20 + i]);
    }
    EXPECT_NEAR(ya.to_vector<float>()[p], s / 20, 1e-5);
    EXPECT_EQ(ym.to_vector<float>()[p], m);
  }
}

TEST(Pool, RefusesAndRejects) {
  std::mt19937 rng(12);
  // ceil_mode did not exist before opset 10.
  Node c = pool_node("MaxPool", Cfg{{2, 2}, {1, 1}, {1, 1}, {0, 0, 0, 0}, true});
  EXPECT_THROW(run_node(c, 8, {random_tensor({1, 1, 4, 4}, rng)}), UnsupportedError);
  // A window made only of padding has no defined max or average of elements...
  Node p = pool_node("AveragePool", Cfg{{2, 2}, {1, 1}, {1, 1}, {2, 0, 0, 0}, false});
  EXPECT_THROW(run_node(p, 11, {random_tensor({1, 1, 4, 4}, rng)}), Error);
  Node pm = pool_node("MaxPool", Cfg{{2, 2}, {1, 1}, {1, 1}, {2, 0, 0, 0}, false});
  EXPECT_THROW(run_node(pm, 12, {random_tensor({1, 1, 4, 4}, rng)}), Error);
  // ...but with count_include_pad its padding zeros average to 0 (first output row here).
  p.attrs["count_include_pad"] = Attribute::of_int(1);
  const Tensor x = random_tensor({1, 1, 4, 4}, rng);
  const Cfg cfg{{2, 2}, {1, 1}, {1, 1}, {2, 0, 0, 0}, false};
  expect_near(run_node(p, 11, {x})[0].to_vector<float>(), reference(x, cfg, Kind::AvgInclude).y,
              "padding only");
  EXPECT_EQ(run_node(p, 11, {x})[0].to_vector<float>()[0], 0.f);
  // Wrong rank for the kernel.
  Node r = pool_node("MaxPool", Cfg{{2, 2}, {1, 1}, {1, 1}, {0, 0, 0, 0}, false});
  EXPECT_THROW(run_node(r, 12, {random_tensor({1, 4, 4}, rng)}), Error);
  // Missing kernel_shape.
  Node k;
  k.op_type = "AveragePool";
  EXPECT_THROW(run_node(k, 11, {random_tensor({1, 1, 4, 4}, rng)}), Error);
}

}  // namespace
}  // namespace qs
