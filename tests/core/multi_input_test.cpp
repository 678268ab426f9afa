// Models with several inputs: one dataset per input, attached to the first input's (Dataset::
// attach_input), read together so that sample i of every input goes with sample i of the others; the
// calibration observes the model fed with all of them, and the simulation and the integer engine run it.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/data/dataset.h"
#include "core/data/npy.h"
#include "core/int/engine.h"
#include "core/quant/calibrate.h"
#include "core/quant/simulate.h"
#include "core/runtime/executor.h"
#include "tests/core/algo_test_util.h"
#include "tests/core/data_test_util.h"

namespace qs {
namespace {

using testing::make_node;

class MultiInputTest : public testing::DataDirTest {};

// out = Gemm(Relu(Gemm(x) + Gemm(y))): x [N, 8], y [N, 4].
Graph two_input_model(std::mt19937& rng) {
  Graph g = testing::empty_graph({1, 8});
  g.inputs.push_back({"y", DType::Float32, std::vector<Dim>{Dim{-1, "batch"}, Dim{4, ""}}});
  g.outputs.push_back({"out", DType::Float32, std::nullopt});
  g.initializers["wa"] = testing::normal({16, 8}, rng, 0.4f);
  g.initializers["wb"] = testing::normal({16, 4}, rng, 0.6f);
  g.initializers["wc"] = testing::normal({3, 16}, rng, 0.3f);
  const auto t = std::map<std::string, Attribute>{{"transB", Attribute::of_int(1)}};
  g.nodes = {make_node("ga", "Gemm", {"x", "wa"}, {"a"}, t), make_node("gb", "Gemm", {"y", "wb"}, {"b"}, t),
             make_node("add", "Add", {"a", "b"}, {"s"}), make_node("relu", "Relu", {"s"}, {"r"}),
             make_node("gc", "Gemm", {"r", "wc"}, {"out"}, t)};
  return g;
}

std::unique_ptr<Dataset> open_input(const ValueInfo& in, const std::string& file) {
  DataConfig c;
  c.images = file;
  configure_for_input(c, in);
  return open_dataset(c);
}

TEST_F(MultiInputTest, InputsAreReadTogetherAndCalibratedTogether) {
  std::mt19937 rng(5);
  const Graph g = two_input_model(rng);
  const Tensor x = testing::normal({40, 8}, rng, 1.f), y = testing::normal({40, 4}, rng, 2.f);
  write_npy(path("x.npy"), x);
  write_npy(path("y.npy"), y);
  // The other input's data given with the first's configuration (DataConfig::more), as the CLI and the
  // desktop app open it.
  DataConfig c, cy;
  c.images = path("x.npy");
  configure_for_input(c, g.inputs[0]);
  cy.images = path("y.npy");
  configure_for_input(cy, g.inputs[1]);
  c.more.emplace_back("y", cy);
  auto ds = open_dataset(c);
  EXPECT_EQ(ds->sample_shapes("x"), (std::map<std::string, Shape>{{"x", {8}}, {"y", {4}}}));

  // Rows 3..9 of both files, paired.
  const Batch b = ds->read(3, 7);
  ASSERT_EQ(b.more.count("y"), 1u);
  const auto feeds = feeds_of(g, b);
  const auto xs = x.to_vector<float>(), ys = y.to_vector<float>();
  EXPECT_EQ(feeds.at("x").to_vector<float>(), std::vector<float>(xs.begin() + 3 * 8, xs.begin() + 10 * 8));
  EXPECT_EQ(feeds.at("y").to_vector<float>(), std::vector<float>(ys.begin() + 3 * 4, ys.begin() + 10 * 4));

  // Calibration sees the model fed with both: the minmax range of every activation point is the range of
  // that value over the 40 samples, computed here by the float executor on the two arrays.
  CalibrationOptions o;
  o.calib_count = 40;
  o.batch = 16;  // batches of 16, 16, 8: the pairing holds across batch boundaries
  const QuantPlan plan = calibrate(g, *ds, o);
  const QuantPoints points = quant_points_for(g, *ds);
  std::vector<std::string> names;
  for (const auto& a : points.activations) names.push_back(a.tensor);
  ASSERT_EQ(names, (std::vector<std::string>{"x", "y", "a", "b", "r", "out"}));
  const auto ref = Executor(g).run({{"x", x}, {"y", y}}, names);
  for (const auto& name : names) {
    const auto v = ref.at(name).to_vector<float>();
    const PlanEntry& e = *plan.find(name);
    EXPECT_EQ(e.lo.at(0), *std::min_element(v.begin(), v.end())) << name;
    EXPECT_EQ(e.hi.at(0), *std::max_element(v.begin(), v.end())) << name;
  }

  // The simulation and the integer engine take the same feeds and agree on every element.
  const SimulatedModel sim(g, plan, points);
  const IntegerModel engine(g, plan, points);
  const Batch all = ds->read(0, 40);
  const Tensor ys_ = sim.run(inputs_of(g, all))[0], yi = engine.run(inputs_of(g, all))[0];
  EXPECT_EQ(ys_.to_vector<float>(), yi.to_vector<float>());
}

TEST_F(MultiInputTest, MissingOrMismatchedInputsAreNamed) {
  std::mt19937 rng(6);
  const Graph g = two_input_model(rng);
  write_npy(path("x.npy"), testing::normal({10, 8}, rng, 1.f));
  write_npy(path("y9.npy"), testing::normal({9, 4}, rng, 1.f));
  auto ds = open_input(g.inputs[0], path("x.npy"));
  // Sample counts must agree.
  testing::expect_error([&] { ds->attach_input("y", open_input(g.inputs[1], path("y9.npy"))); },
                        {"input 'y'", "y9.npy", "9 samples", "10"});
  // An input without data, and data for an input the model does not have.
  testing::expect_error([&] { (void)feeds_of(g, ds->read(0, 2)); }, {"input 'y' has no data"});
  Batch extra = ds->read(0, 2);
  extra.more["z"] = Tensor::zeros(DType::Float32, {2, 4});
  extra.more["y"] = Tensor::zeros(DType::Float32, {2, 4});
  testing::expect_error([&] { (void)feeds_of(g, extra); }, {"input 'z'"});
  // One sample shape for a model with two inputs: refused, naming them.
  testing::expect_error([&] { (void)quant_points_for(g, Shape{8}); }, {"2 inputs", "'x'", "'y'"});
  testing::expect_error([&] { (void)quant_points_for(g, *ds); }, {"input 'y' has no data"});
}

}  // namespace
}  // namespace qs
