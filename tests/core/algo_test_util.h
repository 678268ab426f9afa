// Helpers for the LFH / EPTQ tests: in-memory-sized datasets written as .npy to a temporary directory, and
// tiny models built in code.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "core/data/dataset.h"
#include "core/data/npy.h"
#include "core/graph/graph.h"

namespace qs::testing {

// A dataset of float32 images [N, C, H, W] (and optional labels) in a fresh temporary directory, removed
// with the object.
class NpyDataset {
 public:
  NpyDataset(const Tensor& images, const std::vector<int64_t>& labels = {}) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() / ("qs_algo_test_" + std::to_string(::getpid()) + "_" +
                                                     info->name() + "_" + std::to_string(counter()++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    DataConfig c;
    c.images = (dir_ / "x.npy").string();
    write_npy(c.images, images);
    if (!labels.empty()) {
      c.labels = (dir_ / "y.npy").string();
      write_npy(c.labels, Tensor::from_vector<int64_t>({static_cast<int64_t>(labels.size())}, labels));
    }
    c.npy_layout = NpyLayout::kNCHW;
    ds_ = open_dataset(c);
  }
  ~NpyDataset() {
    ds_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Dataset& operator*() { return *ds_; }
  Dataset* operator->() { return ds_.get(); }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::filesystem::path dir_;
  std::unique_ptr<Dataset> ds_;
};

inline Node make_node(const std::string& name, const std::string& op, std::vector<std::string> in,
                      std::vector<std::string> out, std::map<std::string, Attribute> attrs = {}) {
  Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attrs = std::move(attrs);
  return n;
}

// A graph at `opset` whose input x has exactly the shape `input` (batch included).
inline Graph fixed_graph(int64_t opset, const Shape& input) {
  Graph g;
  g.opset = opset;
  g.opset_imports[""] = opset;
  std::vector<Dim> dims;
  for (int64_t d : input) dims.push_back(Dim{d, ""});
  g.inputs.push_back({"x", DType::Float32, dims});
  return g;
}

inline Graph empty_graph(const Shape& input) {
  Graph g;
  g.opset = 13;
  g.opset_imports[""] = 13;
  std::vector<Dim> dims;
  for (size_t i = 0; i < input.size(); ++i) dims.push_back(i == 0 ? Dim{-1, "batch"} : Dim{input[i], ""});
  g.inputs.push_back({"x", DType::Float32, dims});
  return g;
}

inline Tensor normal(const Shape& s, std::mt19937& rng, float sd) {
  std::normal_distribution<float> d(0.f, sd);
  Tensor t(DType::Float32, s);
  for (auto& v : t.span<float>()) v = d(rng);
  return t;
}

// x [N,1,2,2] → Flatten → Gemm(4→5) → Tanh → Gemm(5→K) → y [N,K]
inline Graph tiny_mlp(std::mt19937& rng, int64_t K) {
  Graph g = empty_graph({1, 1, 2, 2});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.initializers["w1"] = normal({4, 5}, rng, 0.8f);
  g.initializers["b1"] = normal({5}, rng, 0.2f);
  g.initializers["w2"] = normal({5, K}, rng, 0.8f);
  g.initializers["b2"] = normal({K}, rng, 0.2f);
  g.nodes = {make_node("flat", "Flatten", {"x"}, {"f"}), make_node("fc1", "Gemm", {"f", "w1", "b1"}, {"h"}),
             make_node("tanh", "Tanh", {"h"}, {"t"}), make_node("fc2", "Gemm", {"t", "w2", "b2"}, {"y"})};
  return g;
}

// x [N,1,6,6] → Conv(1→4, 3x3, pad 1) → Relu → Conv(4→4, 3x3, pad 1) → Relu → MaxPool 2 → Flatten →
// Gemm(36→3) → y [N,3]
inline Graph tiny_cnn(std::mt19937& rng) {
  Graph g = empty_graph({1, 1, 6, 6});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.initializers["w1"] = normal({4, 1, 3, 3}, rng, 0.5f);
  g.initializers["b1"] = normal({4}, rng, 0.1f);
  g.initializers["w2"] = normal({4, 4, 3, 3}, rng, 0.25f);
  g.initializers["b2"] = normal({4}, rng, 0.1f);
  g.initializers["w3"] = normal({3, 36}, rng, 0.3f);
  g.initializers["b3"] = normal({3}, rng, 0.1f);
  const auto pads = Attribute::of_ints({1, 1, 1, 1});
  g.nodes = {
      make_node("conv1", "Conv", {"x", "w1", "b1"}, {"c1"}, {{"pads", pads}}),
      make_node("relu1", "Relu", {"c1"}, {"r1"}),
      make_node("conv2", "Conv", {"r1", "w2", "b2"}, {"c2"}, {{"pads", pads}}),
      make_node("relu2", "Relu", {"c2"}, {"r2"}),
      make_node("pool", "MaxPool", {"r2"}, {"p"},
                {{"kernel_shape", Attribute::of_ints({2, 2})}, {"strides", Attribute::of_ints({2, 2})}}),
      make_node("flat", "Flatten", {"p"}, {"f"}),
      make_node("fc", "Gemm", {"f", "w3", "b3"}, {"y"}, {{"transB", Attribute::of_int(1)}})};
  return g;
}

}  // namespace qs::testing
