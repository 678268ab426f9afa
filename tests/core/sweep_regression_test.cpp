// Regressions found by the exporter sweep (tools/sweep_check.sh): graph forms torch.onnx writes that the
// engine, the simulation or the island listings handled wrongly. Each test builds the form in code and
// checks against an independent reference (the same model run sample by sample, the simulation, the
// engine's own lowering).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/common/parallel.h"
#include "core/data/npy.h"
#include "core/int/engine.h"
#include "core/int/int_tensor.h"
#include "core/int/lowering.h"
#include "core/quant/simulate.h"
#include "core/runtime/batching.h"
#include "core/runtime/executor.h"
#include "tests/core/int_test_util.h"

namespace qs {
namespace {

using testing::ints;
using testing::make_node;

CalibrationOptions small_calibration() {
  CalibrationOptions o;
  o.calib_count = 32;
  o.batch = 8;
  return o;
}

// Rows [i, i + 1) of a batch.
Tensor row(const Tensor& x, int64_t i) {
  Shape s = x.shape();
  const int64_t per = x.numel() / s[0];
  s[0] = 1;
  Tensor r(DType::Float32, s);
  std::copy(x.data<float>() + i * per, x.data<float>() + (i + 1) * per, r.data<float>());
  return r;
}

void expect_rows_equal(const Tensor& all, const std::vector<Tensor>& rows, const std::string& what) {
  ASSERT_EQ(all.dim(0), static_cast<int64_t>(rows.size())) << what;
  const int64_t per = all.numel() / all.dim(0);
  for (size_t i = 0; i < rows.size(); ++i)
    for (int64_t k = 0; k < per; ++k)
      ASSERT_EQ(all.data<float>()[static_cast<int64_t>(i) * per + k], rows[i].data<float>()[k])
          << what << ": row " << i << " element " << k;
}

// torch.onnx writes the batch dimension as a fixed 1 unless dynamic_axes says otherwise. The float executor
// ran such a model on any number of rows (in chunks of its batch) but the simulation failed with
// "map::at" (its operand stash was counted once per run, not per chunk) and the integer engine refused the
// input, so `eval --engine sim|int` and `run --engine sim|int` failed on every default torch export.
TEST(SweepRegression, FixedBatchModelsRunAnyNumberOfRowsInSimulationAndEngine) {
  for (int64_t batch : {1, 2}) {
    std::mt19937 rng(7);
    Graph g = testing::int_cnn(rng);
    (*g.inputs[0].shape)[0] = Dim{batch, ""};
    const Tensor calib = testing::random_images(rng, 32, {1, 10, 10});
    const testing::Calibrated c = testing::calibrate_on(g, calib, small_calibration());
    const Tensor x = testing::random_images(rng, 5, {1, 10, 10});  // 5: not a multiple of 2 either

    const SimulatedModel sim(g, c.plan, c.points);
    const IntegerModel engine(g, c.plan, c.points);
    // The reference: each row alone, in a batch of the model's size (the row repeated).
    std::vector<Tensor> sim_rows, int_rows;
    for (int64_t i = 0; i < 5; ++i) {
      Tensor one = row(x, i);
      Tensor feed = one;
      if (batch == 2) {
        feed = Tensor(DType::Float32, {2, 1, 10, 10});
        std::copy(one.data<float>(), one.data<float>() + 100, feed.data<float>());
        std::copy(one.data<float>(), one.data<float>() + 100, feed.data<float>() + 100);
      }
      sim_rows.push_back(row(sim.run({feed})[0], 0));
      int_rows.push_back(row(engine.run({feed})[0], 0));
    }
    const Executor ex(g);
    std::vector<Tensor> float_rows;
    for (int64_t i = 0; i < 5; ++i)
      float_rows.push_back(row(ex.run({batch == 2 ? join_rows({row(x, i), row(x, i)}) : row(x, i)})[0], 0));
    // Chunks run one per thread where nothing observes them in order (the engine, the float executor and
    // the simulation without callbacks of the caller's): the same rows on one thread or two, and an error
    // in any chunk reaches the caller. A caller's tap sees the chunks in order, with the same results.
    const int threads = num_threads();
    for (int t : {1, 2}) {
      set_num_threads(t);
      const std::string what = "batch " + std::to_string(batch) + ", " + std::to_string(t) + " thread(s)";
      expect_rows_equal(sim.run({x})[0], sim_rows, what + " simulation");
      expect_rows_equal(engine.run({x})[0], int_rows, what + " integer engine");
      expect_rows_equal(engine.run({x})[0], sim_rows, what + " engine vs simulation");
      expect_rows_equal(ex.run({x})[0], float_rows, what + " float");
      // Named fetches of intermediate integer values are joined too.
      EXPECT_EQ(engine.run({{"x", x}}, {"r1"}).at("r1").dim(0), 5) << what;
      const Tensor wrong = testing::random_images(rng, 5, {1, 10, 9});
      EXPECT_THROW(engine.run({wrong}), Error) << what;
      EXPECT_THROW(ex.run({wrong}), Error) << what;
      EXPECT_THROW(sim.run({wrong}), Error) << what;
      int64_t tapped = 0;
      RunOptions tap;
      tap.tap = [&](const std::string& name, const Tensor&) { tapped += name == "y"; };
      expect_rows_equal(sim.run({x}, tap)[0], sim_rows, what + " simulation with a tap");
      EXPECT_EQ(tapped, batch == 1 ? 5 : 3) << what;  // once per chunk
    }
    set_num_threads(threads);
  }
}

// torch exports F.relu6 after a Conv+ReLU (and hardtanh after a Relu) as Relu → Clip(min, max) with the
// bounds as constant inputs (opset >= 11). The Clip cannot fuse into the Conv (the Relu did), so it runs as
// a requantizing activation, but its bound inputs were required to be integer values and it became a
// float island, unlisted by `info`.
TEST(SweepRegression, StandaloneClipWithConstantBoundsRunsInInteger) {
  std::mt19937 rng(8);
  Graph g = testing::empty_graph({1, 1, 8, 8});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.initializers["w"] = testing::normal({4, 1, 3, 3}, rng, 0.8f);
  g.initializers["lo"] = Tensor::scalar<float>(0.f);
  g.initializers["hi"] = Tensor::scalar<float>(1.5f);
  g.nodes = {make_node("conv", "Conv", {"x", "w"}, {"a"}, {{"pads", ints({1, 1, 1, 1})}}),
             make_node("relu", "Relu", {"a"}, {"r"}), make_node("clip", "Clip", {"r", "lo", "hi"}, {"c"}),
             make_node("gap", "GlobalAveragePool", {"c"}, {"y"})};
  const testing::Calibrated c =
      testing::calibrate_on(g, testing::random_images(rng, 32, {1, 8, 8}), small_calibration());
  const IntegerModel engine(g, c.plan, c.points);
  const LoweredNode* clip = engine.lowering().find("clip");
  ASSERT_NE(clip, nullptr);
  EXPECT_EQ(clip->kind, IntKind::Activation) << clip->reason;
  EXPECT_TRUE(engine.lowering().float_islands().empty());
  // The clamp is applied in integer: the outputs equal the simulation's and stay within [0, 1.5].
  const Tensor x = testing::random_images(rng, 4, {1, 8, 8});
  const auto v = engine.run({{"x", x}}, {"c"});
  const QuantParams& p = *engine.params("c");
  for (int32_t q : to_int32(v.at("c"))) {
    EXPECT_GE(dequantize_value(q, p.scale[0], p.zero_point[0]), 0.f);
    EXPECT_LE(dequantize_value(q, p.scale[0], p.zero_point[0]), 1.5f + p.scale[0] / 2);
  }
  const SimulatedModel sim(g, c.plan, c.points);
  EXPECT_EQ(engine.run({x})[0].to_vector<float>(), sim.run({x})[0].to_vector<float>());
}

// x.view(x.size(0), -1) with a dynamic batch exports Shape → Gather → Unsqueeze → Concat → Reshape: the
// Concat joins int64 shape values. It was lowered as a float island of the integer engine ("input
// '/Unsqueeze_output_0' is not quantized"), listed to the user as if it cost accuracy.
TEST(SweepRegression, ShapeArithmeticIsNotAFloatIsland) {
  std::mt19937 rng(9);
  Graph g = testing::empty_graph({1, 3, 4, 4});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.initializers["w"] = testing::normal({3, 3, 3, 3}, rng, 0.5f);
  g.initializers["zero"] = Tensor::from_vector<int64_t>({1}, {0});
  g.initializers["minus1"] = Tensor::from_vector<int64_t>({1}, {-1});
  g.initializers["f"] = testing::normal({5, 48}, rng, 0.3f);
  g.nodes = {make_node("conv", "Conv", {"x", "w"}, {"a"}, {{"pads", ints({1, 1, 1, 1})}}),
             make_node("relu", "Relu", {"a"}, {"r"}),
             make_node("shape", "Shape", {"r"}, {"s"}),
             make_node("gather", "Gather", {"s", "zero"}, {"n"}, {{"axis", Attribute::of_int(0)}}),
             make_node("cat", "Concat", {"n", "minus1"}, {"newshape"}, {{"axis", Attribute::of_int(0)}}),
             make_node("reshape", "Reshape", {"r", "newshape"}, {"flat"}),
             make_node("fc", "Gemm", {"flat", "f"}, {"y"}, {{"transB", Attribute::of_int(1)}})};
  const testing::Calibrated c =
      testing::calibrate_on(g, testing::random_images(rng, 16, {3, 4, 4}), small_calibration());
  const IntegerModel engine(g, c.plan, c.points);
  const LoweredNode* cat = engine.lowering().find("cat");
  ASSERT_NE(cat, nullptr);
  EXPECT_EQ(cat->kind, IntKind::Float) << cat->reason;
  EXPECT_TRUE(engine.lowering().float_islands().empty())
      << describe_island(*engine.lowering().float_islands()[0]);
  const Tensor x = testing::random_images(rng, 3, {3, 4, 4});
  const SimulatedModel sim(g, c.plan, c.points);
  EXPECT_EQ(engine.run({x})[0].to_vector<float>(), sim.run({x})[0].to_vector<float>());
}

// `info` listed only ops with no integer form at all (quant_points' list); the engine also runs in float
// ops whose operands rule the integer form out (a Concat with a constant input, here a row appended).
// lower_all_points() gives `info` the engine's own list: it must equal the islands of the engine built from a
// calibrated plan with every point enabled. (Add/Mul with a constant operand and the Sigmoid were such
// islands; they are integer now.)
TEST(SweepRegression, IslandListingBeforeAPlanMatchesTheEngine) {
  std::mt19937 rng(11);
  Graph g = testing::empty_graph({1, 3, 4, 4});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.initializers["w"] = testing::normal({3, 3, 3, 3}, rng, 0.5f);
  g.initializers["three"] = Tensor::scalar<float>(3.f);
  g.initializers["bias"] = testing::normal({1, 3, 1, 1}, rng, 0.5f);
  g.initializers["extra"] = testing::normal({1, 3, 4, 4}, rng, 0.5f);
  g.nodes = {make_node("conv", "Conv", {"x", "w"}, {"a"}, {{"pads", ints({1, 1, 1, 1})}}),
             make_node("scale", "Mul", {"a", "three"}, {"m"}),
             make_node("shift", "Add", {"m", "bias"}, {"s"}),
             make_node("sig", "Sigmoid", {"s"}, {"t"}),
             make_node("relu", "Relu", {"t"}, {"r"}),
             make_node("cat", "Concat", {"r", "extra"}, {"y"}, {{"axis", Attribute::of_int(0)}})};
  const testing::Calibrated c =
      testing::calibrate_on(g, testing::random_images(rng, 16, {3, 4, 4}), small_calibration());
  const IntegerModel engine(g, c.plan, c.points);
  std::vector<std::string> from_engine, before_plan;
  for (const LoweredNode* n : engine.lowering().float_islands()) from_engine.push_back(n->node->name);
  const Lowering all = lower_all_points(g, c.points);
  for (const LoweredNode* n : all.float_islands()) before_plan.push_back(n->node->name);
  EXPECT_EQ(from_engine, (std::vector<std::string>{"cat"}));
  EXPECT_EQ(before_plan, from_engine);
  EXPECT_EQ(all.find("sig")->kind, IntKind::Table);  // 8-bit input, result a point
  // The reason names the constant operand.
  EXPECT_NE(all.find("cat")->reason.find("'extra' is a constant"), std::string::npos)
      << all.find("cat")->reason;
  EXPECT_EQ(all.find("scale")->kind, IntKind::ConstOperand);
  EXPECT_EQ(all.find("shift")->kind, IntKind::ConstOperand);
}

}  // namespace
}  // namespace qs

namespace qs {
namespace {

using testing::ints;
using testing::make_node;

// A Conv1d model (input [N, 2, 16]) could not be calibrated: the data sources only fed rank-4 image
// inputs. Tensor data (a .npy of (N, 2, 16)) now calibrates it, and the integer engine runs the plan in
// integer only, equal to the simulation.
TEST(SweepRegression, Conv1dModelCalibratesOnTensorData) {
  std::mt19937 rng(11);
  Graph g = testing::empty_graph({1, 2, 16});
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.initializers["w1"] = testing::normal({4, 2, 3}, rng, 0.8f);
  g.initializers["w2"] = testing::normal({3, 4, 3}, rng, 0.5f);
  g.nodes = {make_node("c1", "Conv", {"x", "w1"}, {"a"}, {{"pads", ints({1, 1})}}),
             make_node("r1", "Relu", {"a"}, {"ra"}),
             make_node("c2", "Conv", {"ra", "w2"}, {"b"}, {{"pads", ints({1, 1})}}),
             make_node("r2", "Relu", {"b"}, {"y"})};
  const Tensor calib = testing::random_images(rng, 32, {2, 16});
  const auto dir = std::filesystem::temp_directory_path() / ("qs_conv1d_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  DataConfig dc;
  configure_for_input(dc, g.inputs[0]);
  ASSERT_TRUE(dc.tensors);
  dc.images = (dir / "calib.npy").string();
  write_npy(dc.images, calib);
  auto ds = open_dataset(dc);
  const QuantPlan plan = calibrate(g, *ds, small_calibration());
  const QuantPoints points = quant_points_for(g, ds->sample_shape());
  std::filesystem::remove_all(dir);
  for (const char* w : {"w1", "w2"}) EXPECT_NE(plan.find(w), nullptr) << w;
  const IntegerModel engine(g, plan, points);
  EXPECT_TRUE(engine.lowering().float_islands().empty());
  const Tensor x = testing::random_images(rng, 5, {2, 16});
  const SimulatedModel sim(g, plan, points);
  EXPECT_EQ(engine.run({x})[0].to_vector<float>(), sim.run({x})[0].to_vector<float>());
}

}  // namespace
}  // namespace qs
