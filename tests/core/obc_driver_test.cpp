// The OBC driver (core/algo/obc/compress.h) on a small model built here: every layer's loss against its
// baseline, weights on the plan's grid, N:M patterns, the input left untouched, cancelling; and the
// ONNX writer (core/onnx/save.h) with the plan's weights model.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "core/algo/obc/compress.h"
#include "core/algo/obc/layer.h"
#include "core/algo/obc/weights_model.h"
#include "core/common/error.h"
#include "core/data/npy.h"
#include "core/onnx/import.h"
#include "core/onnx/save.h"
#include "core/quant/calibrate.h"
#include "core/runtime/executor.h"

namespace qs::obc {
namespace {

namespace fs = std::filesystem;

Tensor random_tensor(Shape s, uint32_t seed, float scale = 1.f) {
  Tensor t(DType::Float32, s);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, scale);
  for (auto& v : t.span<float>()) v = nd(rng);
  return t;
}

Node node(const std::string& name, const std::string& op, std::vector<std::string> in,
          std::vector<std::string> out) {
  Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

// x [N,4,6,6] → Conv 3×3 (8) → Relu → depthwise Conv 3×3 → Relu → Flatten → Gemm (10).
Graph small_model() {
  Graph g;
  g.name = "small";
  g.opset = 13;
  g.opset_imports[""] = 13;
  ValueInfo in;
  in.name = "x";
  in.dtype = DType::Float32;
  in.shape = std::vector<Dim>{Dim{-1, "N"}, Dim{4, ""}, Dim{6, ""}, Dim{6, ""}};
  g.inputs.push_back(in);
  g.initializers["w1"] = random_tensor({8, 4, 3, 3}, 1, 0.3f);
  g.initializers["b1"] = random_tensor({8}, 2, 0.1f);
  g.initializers["w2"] = random_tensor({8, 1, 3, 3}, 3, 0.4f);
  g.initializers["w3"] = random_tensor({10, 288}, 4, 0.1f);
  g.initializers["b3"] = random_tensor({10}, 5, 0.1f);
  Node c1 = node("conv1", "Conv", {"x", "w1", "b1"}, {"c1"});
  c1.attrs["kernel_shape"] = Attribute::of_ints({3, 3});
  c1.attrs["pads"] = Attribute::of_ints({1, 1, 1, 1});
  Node c2 = node("conv2", "Conv", {"r1", "w2"}, {"c2"});
  c2.attrs["kernel_shape"] = Attribute::of_ints({3, 3});
  c2.attrs["pads"] = Attribute::of_ints({1, 1, 1, 1});
  c2.attrs["group"] = Attribute::of_int(8);
  Node fc = node("fc", "Gemm", {"f", "w3", "b3"}, {"y"});
  fc.attrs["transB"] = Attribute::of_int(1);
  g.nodes = {c1,
             node("relu1", "Relu", {"c1"}, {"r1"}),
             c2,
             node("relu2", "Relu", {"c2"}, {"r2"}),
             node("flat", "Flatten", {"r2"}, {"f"}),
             fc};
  ValueInfo out;
  out.name = "y";
  out.dtype = DType::Float32;
  g.outputs.push_back(out);
  return g;
}

class ObcDriver : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("qs_obc_driver_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    // Correlated channels, as real activations are.
    Tensor x = random_tensor({96, 4, 6, 6}, 9);
    float* p = x.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i)
      if (i % 36 != 0) p[i] = 0.6f * p[i - 1] + 0.8f * p[i];
    write_npy((dir_ / "x.npy").string(), x);
    DataConfig c;
    c.images = (dir_ / "x.npy").string();
    c.pre.channels = 4;
    c.pre.height = 6;
    c.pre.width = 6;
    data_ = open_dataset(c);
    g_ = small_model();
  }
  void TearDown() override { fs::remove_all(dir_); }

  QuantPlan plan(int wbits, int abits) {
    CalibrationOptions co;
    co.weight_bits = wbits;
    co.act_bits = abits;
    co.calib_count = 64;
    return calibrate(g_, *data_, co);
  }
  std::map<std::string, std::vector<float>> weights() const {
    std::map<std::string, std::vector<float>> m;
    for (const auto& [k, t] : g_.initializers) m[k] = t.to_vector<float>();
    return m;
  }

  fs::path dir_;
  std::unique_ptr<Dataset> data_;
  Graph g_;
};

TEST_F(ObcDriver, ObqAndGptqEveryLayerBelowRtnOnTheGrid) {
  const auto before = weights();
  for (QuantAlgo algo : {QuantAlgo::Obq, QuantAlgo::Gptq})
    for (bool sequential : {true, false})
      for (int abits : {8, 32}) {
        const QuantPlan p = plan(3, abits);
        CompressOptions o;
        o.quant = algo;
        o.sequential = sequential;
        o.calib_count = 64;
        o.batch = 20;
        const CompressResult r = compress_model(g_, *data_, p, o);
        ASSERT_EQ(r.layers.size(), 3u);
        for (const auto& l : r.layers) {
          ASSERT_TRUE(l.compressed) << l.layer << ": " << l.note;
          EXPECT_EQ(l.samples, l.op_type == "Conv" ? 64 * 36 : 64);
          EXPECT_GT(l.loss_before, 0);
          EXPECT_LE(l.loss_after, l.loss_before) << quant_algo_name(algo) << " " << l.layer;
          EXPECT_LT(l.rows_rtn, l.rows) << "the second-order result should win on most rows";
          const Tensor& w = *r.graph.initializer(l.weight);
          EXPECT_EQ(fake_quantize(w, r.plan.find(l.weight)->params).to_vector<float>(), w.to_vector<float>());
        }
        EXPECT_EQ(r.layers[1].groups, 8);
      }
  EXPECT_EQ(weights(), before);  // the input graph is never written
}

TEST_F(ObcDriver, CancelLeavesTheInputAlone) {
  const auto before = weights();
  const QuantPlan p = plan(4, 8);
  const std::string p_json = plan_to_json(p);
  CompressOptions o;
  o.calib_count = 64;
  int calls = 0;
  o.progress = [&](const CompressProgress& pr) {
    EXPECT_LT(pr.layer, pr.layers);
    return pr.layer < 1 || ++calls < 2;  // cancel during the second layer
  };
  EXPECT_THROW(compress_model(g_, *data_, p, o), CancelledError);
  EXPECT_EQ(weights(), before);
  EXPECT_EQ(plan_to_json(p), p_json);
}

TEST_F(ObcDriver, PruneNmAndUnstructuredThenQuantize) {
  CompressOptions o;
  o.quant = QuantAlgo::None;
  o.prune = PruneMethod::ExactObs;
  o.prune_spec.nm_n = 2;
  o.prune_spec.nm_m = 4;
  o.calib_count = 64;
  const CompressResult r = compress_model(g_, *data_, {}, o);
  // conv1 has 4 input channels, the depthwise conv 1 per group (skipped), fc 288 inputs.
  ASSERT_EQ(r.layers.size(), 3u);
  EXPECT_TRUE(r.layers[0].compressed);
  EXPECT_FALSE(r.layers[1].compressed);
  EXPECT_NE(r.layers[1].note.find("not a multiple"), std::string::npos) << r.layers[1].note;
  const Tensor& w3 = *r.graph.initializer("w3");
  for (int64_t row = 0; row < 10; ++row)
    for (int64_t c = 0; c < 288; c += 4) {
      int zeros = 0;
      for (int k = 0; k < 4; ++k) zeros += w3.data<float>()[row * 288 + c + k] == 0.f;
      EXPECT_EQ(zeros, 2) << row << " " << c;
    }
  const Tensor& w1 = *r.graph.initializer("w1");  // groups: 4 channels at one kernel offset
  for (int64_t co = 0; co < 8; ++co)
    for (int64_t k = 0; k < 9; ++k) {
      int zeros = 0;
      for (int64_t ci = 0; ci < 4; ++ci) zeros += w1.data<float>()[(co * 4 + ci) * 9 + k] == 0.f;
      EXPECT_EQ(zeros, 2);
    }
  for (const auto& l : r.layers)
    if (l.compressed) {
      EXPECT_DOUBLE_EQ(l.sparsity, 0.5);
      EXPECT_LE(l.loss_after, l.loss_before) << l.layer;  // ExactOBS vs magnitude
    }

  // Unstructured 50%, then 4-bit OBQ on the grid of the pruned weights.
  CompressOptions u;
  u.quant = QuantAlgo::Obq;
  u.prune = PruneMethod::ExactObs;
  u.prune_spec.sparsity = 0.5;
  u.calib_count = 64;
  const QuantPlan p = plan(4, 32);
  const CompressResult q = compress_model(g_, *data_, p, u);
  for (const auto& l : q.layers) {
    ASSERT_TRUE(l.compressed) << l.note;
    EXPECT_NEAR(l.sparsity, 0.5, 0.5 / static_cast<double>(l.rows * l.cols * l.groups) + 1e-12) << l.layer;
    EXPECT_LE(l.loss_after, l.loss_before) << l.layer;  // vs magnitude + round-to-nearest
    const Tensor& w = *q.graph.initializer(l.weight);
    EXPECT_EQ(fake_quantize(w, q.plan.find(l.weight)->params).to_vector<float>(), w.to_vector<float>());
  }
  // The ranges follow the pruned weights: w2's entry differs from the dense plan's.
  EXPECT_NE(q.plan.find("w2")->hi, p.find("w2")->hi);
}

TEST_F(ObcDriver, RefusesBadCombinations) {
  CompressOptions o;
  o.quant = QuantAlgo::None;
  EXPECT_THROW(compress_model(g_, *data_, {}, o), Error);
  o.quant = QuantAlgo::Gptq;
  o.prune = PruneMethod::ExactObs;
  EXPECT_THROW(compress_model(g_, *data_, plan(4, 8), o), Error);
  o.quant = QuantAlgo::Obq;
  o.prune = PruneMethod::None;
  QuantPlan bad = plan(4, 8);
  bad.entries[0].tensor = "nope";
  EXPECT_THROW(compress_model(g_, *data_, bad, o), Error);                  // the plan does not fit the model
  const CompressResult empty = compress_model(g_, *data_, QuantPlan{}, o);  // nothing to quantize
  for (const auto& l : empty.layers) EXPECT_EQ(l.note, "not in the plan");
}

TEST_F(ObcDriver, SavedModelRoundTripsAndCarriesThePlanWeights) {
  const QuantPlan p = plan(4, 8);
  CompressOptions o;
  o.calib_count = 32;
  const CompressResult r = compress_model(g_, *data_, p, o);
  const std::string file = (dir_ / "tuned.onnx").string();
  save_model(r.graph, "", file);
  const Model m = load_model(file);
  for (const auto& [name, t] : r.graph.initializers)
    EXPECT_EQ(m.graph.initializer(name)->to_vector<float>(), t.to_vector<float>()) << name;
  const Tensor x = data_->read(0, 5).images;
  EXPECT_EQ(Executor(m.graph).run({x})[0].to_vector<float>(),
            Executor(r.graph).run({x})[0].to_vector<float>());
  EXPECT_THROW(save_model(r.graph, file, file), Error);  // never over the source

  QuantPlan tuned = r.plan;
  const std::string plan_file = (dir_ / "plan.json").string();
  tuned.weights_model = weights_model_reference(file, plan_file);
  EXPECT_EQ(tuned.weights_model, "tuned.onnx");
  save_plan(tuned, plan_file);
  const QuantPlan back = load_plan(plan_file);
  EXPECT_EQ(back.weights_model, "tuned.onnx");
  Graph g = g_;
  apply_weights_model(g, back, plan_file);
  EXPECT_EQ(g.initializer("w3")->to_vector<float>(), r.graph.initializer("w3")->to_vector<float>());
  EXPECT_EQ(g.initializer("b3")->to_vector<float>(),
            g_.initializer("b3")->to_vector<float>());  // not a plan weight
  QuantPlan missing = back;
  missing.weights_model = "nowhere.onnx";
  EXPECT_THROW(apply_weights_model(g, missing, plan_file), Error);
}

}  // namespace
}  // namespace qs::obc
