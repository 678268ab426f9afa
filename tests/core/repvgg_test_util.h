// Synthetic RepVGG blocks for the repvgg tests: a graph builder, random branch parameters, and plain-loop
// references (BN, add, ReLU, the block) independent of core/algo/repvgg.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>

#include "core/algo/repvgg/block.h"
#include "core/algo/repvgg/diagnose.h"
#include "core/algo/repvgg/export.h"
#include "core/algo/repvgg/fuse.h"
#include "core/common/error.h"
#include "core/data/dataset.h"
#include "core/data/npy.h"
#include "core/onnx/import.h"
#include "core/onnx/save.h"
#include "core/ops/reference/conv_ref.h"
#include "core/runtime/executor.h"

namespace qs::repvgg_test {

namespace fs = std::filesystem;
using repvgg::Block;
using repvgg::BlockReport;

inline Tensor randn(const Shape& s, float std, std::mt19937& r) {
  std::normal_distribution<float> d(0.f, std);
  Tensor t(DType::Float32, s);
  for (float& v : t.span<float>()) v = d(r);
  return t;
}
inline Tensor filled(const Shape& s, float v) {
  Tensor t(DType::Float32, s);
  for (float& x : t.span<float>()) x = v;
  return t;
}
inline Tensor uniform(const Shape& s, float lo, float hi, std::mt19937& r) {
  std::uniform_real_distribution<float> d(lo, hi);
  Tensor t(DType::Float32, s);
  for (float& v : t.span<float>()) v = d(r);
  return t;
}

struct BnParams {
  Tensor gamma, beta, mean, var;
  float eps = 1e-5f;
};
inline BnParams random_bn(int64_t c, std::mt19937& r) {
  return {uniform({c}, 0.5f, 1.5f, r), randn({c}, 0.2f, r), randn({c}, 0.2f, r), uniform({c}, 0.5f, 2.f, r)};
}
// γ = a, β = 0, μ = 0, σ² = 1 − ε: exactly y = a·x (up to float rounding of √1).
inline BnParams scale_bn(int64_t c, float a) {
  BnParams p{filled({c}, a), filled({c}, 0.f), filled({c}, 0.f), filled({c}, 1.f - 1e-5f)};
  return p;
}

// ---- graph building ----
struct Builder {
  Graph g;
  int counter = 0;
  Builder(int64_t c, int64_t h, int64_t w) {
    g.name = "repvgg_test";  // ONNX's checker requires a graph name
    g.opset = 13;
    g.opset_imports[""] = 13;
    g.inputs.push_back(
        ValueInfo{"x", DType::Float32, std::vector<Dim>{Dim{-1, "N"}, Dim{c, ""}, Dim{h, ""}, Dim{w, ""}}});
  }
  std::string fresh(const std::string& base) { return base + "_" + std::to_string(counter++); }
  std::string conv(const std::string& in, const Tensor& w, const std::optional<Tensor>& b, int64_t stride,
                   int64_t pad, int64_t group) {
    Node n;
    n.name = fresh("conv");
    n.op_type = "Conv";
    g.initializers[n.name + ".w"] = w;
    n.inputs = {in, n.name + ".w"};
    if (b) {
      g.initializers[n.name + ".b"] = *b;
      n.inputs.push_back(n.name + ".b");
    }
    n.outputs = {n.name + ".y"};
    n.attrs["kernel_shape"] = Attribute::of_ints({w.dim(2), w.dim(3)});
    n.attrs["strides"] = Attribute::of_ints({stride, stride});
    n.attrs["pads"] = Attribute::of_ints({pad, pad, pad, pad});
    n.attrs["group"] = Attribute::of_int(group);
    g.nodes.push_back(n);
    return n.outputs[0];
  }
  std::string bn(const std::string& in, const BnParams& p) {
    Node n;
    n.name = fresh("bn");
    n.op_type = "BatchNormalization";
    const char* names[] = {".gamma", ".beta", ".mean", ".var"};
    const Tensor* ts[] = {&p.gamma, &p.beta, &p.mean, &p.var};
    n.inputs = {in};
    for (int k = 0; k < 4; ++k) {
      g.initializers[n.name + names[k]] = *ts[k];
      n.inputs.push_back(n.name + names[k]);
    }
    n.outputs = {n.name + ".y"};
    n.attrs["epsilon"] = Attribute::of_float(p.eps);
    g.nodes.push_back(n);
    return n.outputs[0];
  }
  std::string op(const std::string& type, const std::vector<std::string>& ins) {
    Node n;
    n.name = fresh(type);
    n.op_type = type;
    n.inputs = ins;
    n.outputs = {n.name + ".y"};
    g.nodes.push_back(n);
    return n.outputs[0];
  }
  void output(const std::string& v) { g.outputs.push_back(ValueInfo{v, DType::Float32, std::nullopt}); }
};

// ---- reference semantics (plain loops) ----
inline Tensor ref_conv(const Tensor& x, const Tensor& w, const Tensor* b, int64_t stride, int64_t pad,
                       int64_t group) {
  reference::ConvParams p;
  p.group = group;
  p.strides = {stride, stride};
  p.dilations = {1, 1};
  p.pad_begin = {pad, pad};
  const int64_t oh = (x.dim(2) + 2 * pad - w.dim(2)) / stride + 1,
                ow = (x.dim(3) + 2 * pad - w.dim(3)) / stride + 1;
  return reference::conv(x, w, b, p, {x.dim(0), w.dim(0), oh, ow});
}
inline Tensor ref_bn(const Tensor& x, const BnParams& p) {
  Tensor y(DType::Float32, x.shape());
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.numel() / (n * c);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < c; ++k)
      for (int64_t j = 0; j < hw; ++j) {
        const int64_t e = (i * c + k) * hw + j;
        const double v = (static_cast<double>(x.data<float>()[e]) - p.mean.data<float>()[k]) /
                             std::sqrt(static_cast<double>(p.var.data<float>()[k]) + p.eps) *
                             p.gamma.data<float>()[k] +
                         p.beta.data<float>()[k];
        y.data<float>()[e] = static_cast<float>(v);
      }
  return y;
}
inline Tensor ref_add(const Tensor& a, const Tensor& b) {
  Tensor y(DType::Float32, a.shape());
  for (int64_t i = 0; i < a.numel(); ++i) y.data<float>()[i] = a.data<float>()[i] + b.data<float>()[i];
  return y;
}
inline double rel_err(const Tensor& ref, const Tensor& got) {
  EXPECT_EQ(ref.shape(), got.shape());
  double d = 0, m = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    d = std::max(d, std::fabs(static_cast<double>(ref.data<float>()[i]) - got.data<float>()[i]));
    m = std::max(m, std::fabs(static_cast<double>(ref.data<float>()[i])));
  }
  return d / m;
}
struct Stat {
  double mean = 0, std = 0, max_abs = 0;
};
inline Stat stat_of(const Tensor& t) {
  double s = 0, s2 = 0, m = 0;
  for (float v : t.span<float>()) {
    s += v;
    s2 += static_cast<double>(v) * v;
    m = std::max(m, std::fabs(static_cast<double>(v)));
  }
  const double n = static_cast<double>(t.numel());
  return {s / n, std::sqrt(s2 / n - (s / n) * (s / n)), m};
}

// ---- a configurable block, with its reference forward ----
struct Spec {
  int64_t cin = 8, cout = 8, stride = 1, group = 1;
  bool bn3 = true;       // BN after the 3×3 (else the conv has a bias: "folded")
  bool one = true;       // 1×1 branch
  bool bn1 = true;       // BN after the 1×1
  bool bias1 = false;    // 1×1 conv bias
  bool identity = true;  // identity branch (only when cin == cout and stride 1)
  bool id_bn = true;     // BN on the identity branch
  bool post_bn = false;  // BN after the sum (QARepVGG)
  bool relu = true;
  float w_std = 0.3f;
};
struct BlockParams {
  Spec s;
  Tensor w3, b3, w1, b1;
  BnParams bn3, bn1, idbn, post;
};
inline BlockParams random_params(const Spec& s, std::mt19937& r) {
  BlockParams p;
  p.s = s;
  p.w3 = randn({s.cout, s.cin / s.group, 3, 3}, s.w_std, r);
  p.b3 = randn({s.cout}, 0.1f, r);
  p.w1 = randn({s.cout, s.cin / s.group, 1, 1}, s.w_std, r);
  p.b1 = randn({s.cout}, 0.1f, r);
  p.bn3 = random_bn(s.cout, r);
  p.bn1 = random_bn(s.cout, r);
  p.idbn = random_bn(s.cout, r);
  p.post = random_bn(s.cout, r);
  return p;
}
// Adds the block to `b` reading `in`; returns its last value (the ReLU's output when s.relu).
inline std::string add_block(Builder& b, const std::string& in, const BlockParams& p) {
  const Spec& s = p.s;
  std::string y3 = b.conv(in, p.w3, s.bn3 ? std::nullopt : std::optional<Tensor>(p.b3), s.stride, 1, s.group);
  if (s.bn3) y3 = b.bn(y3, p.bn3);
  std::string sum = y3;
  if (s.one) {
    std::string y1 =
        b.conv(in, p.w1, s.bias1 ? std::optional<Tensor>(p.b1) : std::nullopt, s.stride, 0, s.group);
    if (s.bn1) y1 = b.bn(y1, p.bn1);
    sum = b.op("Add", {sum, y1});
  }
  if (s.identity) sum = b.op("Add", {sum, s.id_bn ? b.bn(in, p.idbn) : in});
  if (s.post_bn) sum = b.bn(sum, p.post);
  return s.relu ? b.op("Relu", {sum}) : sum;
}
// The block's output before the activation, from the reference ops; `branches` receives each branch output.
inline Tensor ref_block(const Tensor& x, const BlockParams& p, std::vector<Tensor>* branches = nullptr) {
  const Spec& s = p.s;
  Tensor y3 = ref_conv(x, p.w3, s.bn3 ? nullptr : &p.b3, s.stride, 1, s.group);
  if (s.bn3) y3 = ref_bn(y3, p.bn3);
  std::vector<Tensor> br{y3};
  if (s.one) {
    Tensor y1 = ref_conv(x, p.w1, s.bias1 ? &p.b1 : nullptr, s.stride, 0, s.group);
    if (s.bn1) y1 = ref_bn(y1, p.bn1);
    br.push_back(y1);
  }
  if (s.identity) br.push_back(s.id_bn ? ref_bn(x, p.idbn) : x);
  Tensor sum = br[0];
  for (size_t i = 1; i < br.size(); ++i) sum = ref_add(sum, br[i]);
  if (s.post_bn) sum = ref_bn(sum, p.post);
  if (branches) *branches = br;
  return sum;
}
inline Tensor relu(const Tensor& t) {
  Tensor y = t.clone();
  for (float& v : y.span<float>()) v = std::max(v, 0.f);
  return y;
}

inline Builder single_block(const BlockParams& p, int64_t hw = 7) {
  Builder b(p.s.cin, hw, hw);
  b.output(add_block(b, "x", p));
  return b;
}

// ---- temporary files and data ----
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("qs_repvgg_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};
inline std::unique_ptr<Dataset> dataset_of(const Tensor& x, const TempDir& d) {
  const std::string p = d.file("data.npy");
  write_npy(p, x);
  DataConfig c;
  c.images = p;
  c.npy_layout = NpyLayout::kNCHW;
  return open_dataset(c);
}

}  // namespace qs::repvgg_test
