// Plans (JSON round trip, rejection of plans that do not fit the model), the fake-quant simulation and the
// per-tensor analysis, checked against a direct computation: plain loops for Conv/Relu/Gemm on the
// fixture tests/fixtures/onnx/valid.onnx (Conv 2→3 3×3 pad 1 + bias → Relu → Flatten → Gemm 108→4), with
// the quantizer's scalar functions applied by hand at the plan's points.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "core/common/error.h"
#include "core/data/dataset.h"
#include "core/data/npy.h"
#include "core/onnx/import.h"
#include "core/quant/analysis.h"
#include "core/quant/calibrate.h"
#include "core/quant/plan.h"
#include "core/quant/simulate.h"
#include "core/runtime/executor.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace qs {
namespace {

const std::string kModel = std::string(QS_TEST_FIXTURES) + "/onnx/valid.onnx";

// Random inputs [n, 2, 6, 6] in a .npy (float32: no 1/255 scaling), opened as a Dataset.
struct Data {
  fs::path path;
  Tensor x;
  std::unique_ptr<Dataset> ds;
  explicit Data(int64_t n, uint32_t seed) {
    path = fs::temp_directory_path() / ("qs_plan_sim_" + std::to_string(::getpid()) + "_" + std::to_string(seed) + ".npy");
    x = Tensor(DType::Float32, {n, 2, 6, 6});
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.3f, 1.0f);
    for (float& v : x.span<float>()) v = nd(rng);
    write_npy(path.string(), x);
    DataConfig c;
    c.images = path.string();
    c.pre.channels = 2;
    c.pre.height = 6;
    c.pre.width = 6;
    c.npy_layout = NpyLayout::kNCHW;
    ds = open_dataset(c);
  }
  ~Data() { fs::remove(path); }
};

QuantPlan make_plan(const Graph& g, Dataset& ds, int wbits = 8, int abits = 8, bool per_channel = true) {
  CalibrationOptions o;
  o.weight_bits = wbits;
  o.act_bits = abits;
  o.per_channel = per_channel;
  o.calib_count = ds.size();
  return calibrate(g, ds, o);
}

const PlanEntry& entry(const QuantPlan& p, const std::string& tensor) {
  const PlanEntry* e = p.find(tensor);
  if (!e) throw std::runtime_error("no plan entry for " + tensor);
  return *e;
}

// dequantize(quantize(x)) with the entry's parameters for channel c.
float fq(const PlanEntry& e, float x, int64_t c = 0) {
  if (!e.quantize) return x;
  return fake_quantize_value(x, e.params.scale[c], e.params.zero_point[c], e.params.qmin, e.params.qmax);
}

// The model computed directly: `q` applies the plan (simulation), otherwise float. Returns the output
// [n, 4] and, through conv_out/relu_out, intermediate values.
struct Direct {
  std::vector<float> conv_out, relu_out, out;
};

Direct direct(const Graph& g, const QuantPlan* q, const Tensor& x) {
  const int64_t n = x.dim(0);
  const Tensor& cw = *g.initializer("conv1.weight");
  const Tensor& cb = *g.initializer("conv1.bias");
  const Tensor& fw = *g.initializer("fc.weight");
  const Tensor& fb = *g.initializer("fc.bias");
  auto act = [&](const std::string& name, float v) {
    if (!q) return v;
    const PlanEntry* e = q->find(name);
    return e ? fq(*e, v) : v;
  };
  auto weight = [&](const std::string& name, const Tensor& w, int64_t i, int64_t channel) {
    const float v = w.data<float>()[i];
    return q ? fq(entry(*q, name), v, entry(*q, name).spec.axis < 0 ? 0 : channel) : v;
  };
  // Bias: int32 with scale s_in·s_w[c], round half to even (as the integer engine).
  auto bias = [&](const std::string& wname, const std::string& in, const Tensor& b, int64_t c) {
    const float v = b.data<float>()[c];
    if (!q) return v;
    const PlanEntry& we = entry(*q, wname);
    const PlanEntry* ie = q->find(in);
    if (!we.quantize || !ie || !ie->quantize) return v;
    const float s = ie->params.scale[0] * we.params.scale[we.spec.axis < 0 ? 0 : c];
    return static_cast<float>(std::rint(static_cast<double>(v) / s) * s);
  };
  Direct d;
  d.conv_out.assign(n * 3 * 36, 0.f);
  d.relu_out.assign(n * 3 * 36, 0.f);
  d.out.assign(n * 4, 0.f);
  std::vector<float> xin(x.numel());
  for (int64_t i = 0; i < x.numel(); ++i) xin[i] = act("input", x.data<float>()[i]);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < 3; ++oc)
      for (int64_t oy = 0; oy < 6; ++oy)
        for (int64_t ox = 0; ox < 6; ++ox) {
          double s = bias("conv1.weight", "input", cb, oc);
          for (int64_t ic = 0; ic < 2; ++ic)
            for (int64_t ky = 0; ky < 3; ++ky)
              for (int64_t kx = 0; kx < 3; ++kx) {
                const int64_t iy = oy + ky - 1, ix = ox + kx - 1;
                if (iy < 0 || iy >= 6 || ix < 0 || ix >= 6) continue;
                s += static_cast<double>(xin[((b * 2 + ic) * 6 + iy) * 6 + ix]) *
                     weight("conv1.weight", cw, ((oc * 2 + ic) * 3 + ky) * 3 + kx, oc);
              }
          const int64_t o = ((b * 3 + oc) * 6 + oy) * 6 + ox;
          d.conv_out[o] = static_cast<float>(s);
          d.relu_out[o] = act("relu1_out", std::max(0.f, d.conv_out[o]));
        }
  // The Gemm's input is the flattened Relu output (Flatten moves data only).
  for (int64_t b = 0; b < n; ++b)
    for (int64_t j = 0; j < 4; ++j) {
      double s = bias("fc.weight", "relu1_out", fb, j);
      for (int64_t k = 0; k < 108; ++k) s += d.relu_out[b * 108 + k] * static_cast<double>(weight("fc.weight", fw, j * 108 + k, j));
      d.out[b * 4 + j] = act("output", static_cast<float>(s));
    }
  return d;
}

double sqnr_db(const std::vector<float>& ref, const std::vector<float>& got) {
  double s = 0, e = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    s += double(ref[i]) * ref[i];
    e += (double(ref[i]) - got[i]) * (double(ref[i]) - got[i]);
  }
  return 10 * std::log10(s / e);
}

TEST(Plan, JsonRoundTripKeepsEveryField) {
  const Model m = load_model(kModel);
  Data data(16, 1);
  QuantPlan p = make_plan(m.graph, *data.ds, 4, 8);
  p.model = "valid.onnx";
  p.entries.back().quantize = false;  // a layer kept in float survives the round trip
  const QuantPlan r = plan_from_json(plan_to_json(p), "memory");
  ASSERT_EQ(r.entries.size(), p.entries.size());
  EXPECT_EQ(r.model, p.model);
  for (size_t i = 0; i < p.entries.size(); ++i) {
    const PlanEntry &a = p.entries[i], &b = r.entries[i];
    EXPECT_EQ(a.tensor, b.tensor);
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.layer, b.layer);
    EXPECT_EQ(a.quantize, b.quantize);
    EXPECT_EQ(a.spec.bits, b.spec.bits);
    EXPECT_EQ(a.spec.symmetric, b.spec.symmetric);
    EXPECT_EQ(a.spec.is_signed, b.spec.is_signed);
    EXPECT_EQ(a.spec.axis, b.spec.axis);
    EXPECT_EQ(a.lo, b.lo);
    EXPECT_EQ(a.hi, b.hi);
    EXPECT_EQ(a.params.scale, b.params.scale);
    EXPECT_EQ(a.params.zero_point, b.params.zero_point);
  }
  // Saved atomically and loaded back.
  const fs::path file = fs::temp_directory_path() / ("qs_plan_" + std::to_string(::getpid()) + ".json");
  save_plan(p, file.string());
  EXPECT_FALSE(fs::exists(file.string() + ".tmp"));
  EXPECT_EQ(load_plan(file.string()).entries.size(), p.entries.size());
  fs::remove(file);
  const QuantPoints pts = quant_points_for(m.graph, data.ds->sample_shape());
  EXPECT_NO_THROW(validate_plan(r, m.graph, pts));
}

// Each broken plan is refused with a message naming the entry (by index and tensor) and the problem.
TEST(Plan, BadPlansAreRejectedNamingTheEntry) {
  const Model m = load_model(kModel);
  Data data(8, 2);
  const QuantPlan p = make_plan(m.graph, *data.ds);
  const QuantPoints pts = quant_points_for(m.graph, data.ds->sample_shape());
  const json good = json::parse(plan_to_json(p));
  int fc = -1;
  for (size_t i = 0; i < good["entries"].size(); ++i)
    if (good["entries"][i]["tensor"] == "fc.weight") fc = static_cast<int>(i);
  ASSERT_GE(fc, 0);
  const std::string at = "plan entry " + std::to_string(fc) + " ('fc.weight')";

  auto expect_refused = [&](json j, const std::string& must_contain, bool at_load) {
    try {
      const QuantPlan q = plan_from_json(j.dump(), "plan.json");
      ASSERT_FALSE(at_load) << "parsed: " << must_contain;
      validate_plan(q, m.graph, pts);
      FAIL() << "accepted a plan that should fail with: " << must_contain;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(must_contain), std::string::npos) << e.what();
    }
  };
  json j = good;
  j["entries"][fc]["bits"] = 9;
  expect_refused(j, "9 bits", true);
  j = good;
  j["entries"][fc]["tensor"] = "fc.weights";
  expect_refused(j, "('fc.weights'): the model has no layer weight", false);
  j = good;
  j["entries"][fc]["axis"] = 1;  // Gemm transB=1: output channels are axis 0
  j["entries"][fc].erase("scale");
  j["entries"][fc].erase("zero_point");
  expect_refused(j, at + ": axis 1 is not the output-channel axis", false);
  j = good;
  j["entries"][fc]["min"].erase(0);
  j["entries"][fc]["max"].erase(0);
  j["entries"][fc].erase("scale");
  j["entries"][fc].erase("zero_point");
  expect_refused(j, at + ": 3 ranges", false);
  j = good;
  j["entries"][fc]["scale"][0] = 0.5;
  expect_refused(j, "does not follow from its range", true);
  j = good;
  j["entries"][fc]["min"][0] = 1.0;
  j["entries"][fc]["max"][0] = -1.0;
  expect_refused(j, "fc.weight", true);
  j = good;
  j["version"] = 2;
  expect_refused(j, "version", true);
  j = good;
  j["format"] = "something-else";
  expect_refused(j, "plan.json", true);
  j = good;
  j["entries"].push_back(good["entries"][fc]);
  j["entries"].back()["kind"] = "activation";
  j["entries"].back()["tensor"] = "no_such_value";
  j["entries"].back()["axis"] = -1;
  expect_refused(j, "('no_such_value')", false);
}

// The simulation equals the model computed by hand with the quantizer applied at the plan's points, per
// channel and per tensor, 8 and 4 bits.
TEST(Simulation, MatchesDirectComputation) {
  const Model m = load_model(kModel);
  Data data(6, 3);
  for (bool per_channel : {true, false})
    for (int bits : {8, 4}) {
      const QuantPlan p = make_plan(m.graph, *data.ds, bits, 8, per_channel);
      const QuantPoints pts = quant_points_for(m.graph, data.ds->sample_shape());
      const SimulatedModel sim(m.graph, p, pts);
      const auto got = sim.run({{"input", data.x}}, {"output", "relu1_out"});
      const Direct want = direct(m.graph, &p, data.x);
      const Tensor& y = got.at("output");
      ASSERT_EQ(y.numel(), static_cast<int64_t>(want.out.size()));
      // Both sides round the same float values; accumulation order differs, so allow one output step.
      const PlanEntry* oe = p.find("output");
      const float tol = oe && oe->quantize ? oe->params.scale[0] * 1.01f : 1e-4f;
      int64_t off = 0;
      for (int64_t i = 0; i < y.numel(); ++i) {
        EXPECT_NEAR(y.data<float>()[i], want.out[i], tol) << "pc " << per_channel << " bits " << bits << " i " << i;
        off += y.data<float>()[i] != want.out[i];
      }
      EXPECT_LE(off, y.numel() / 10) << "more than a few outputs off by a rounding step";
      const Tensor& r = got.at("relu1_out");
      for (int64_t i = 0; i < r.numel(); ++i) {
        // Every simulated activation lies on the grid of its entry.
        const PlanEntry& re = entry(p, "relu1_out");
        const float qv = (r.data<float>()[i] / re.params.scale[0]) + re.params.zero_point[0];
        EXPECT_NEAR(qv, std::rint(qv), 1e-3) << i;
      }
    }
}

TEST(Simulation, OnlySetAndDisabledEntriesLeaveTheRestFloat) {
  const Model m = load_model(kModel);
  Data data(4, 4);
  QuantPlan p = make_plan(m.graph, *data.ds, 4, 8);
  const QuantPoints pts = quant_points_for(m.graph, data.ds->sample_shape());
  const Executor fex(m.graph);
  const Tensor yf = fex.run({data.x})[0];
  for (auto& e : p.entries) e.quantize = false;  // all disabled: exactly the float model
  const Tensor y0 = SimulatedModel(m.graph, p, pts).run({data.x})[0];
  for (int64_t i = 0; i < yf.numel(); ++i) EXPECT_EQ(y0.data<float>()[i], yf.data<float>()[i]);

  p = make_plan(m.graph, *data.ds, 4, 8);
  SimOptions only;
  only.only = std::set<std::string>{"fc.weight"};
  const Tensor y1 = SimulatedModel(m.graph, p, pts, only).run({data.x})[0];
  // Reference: only fc.weight fake-quantized (its bias stays float: the input is not quantized).
  QuantPlan one = p;
  for (auto& e : one.entries) e.quantize = e.tensor == "fc.weight";
  const Direct want = direct(m.graph, &one, data.x);
  for (int64_t i = 0; i < y1.numel(); ++i) EXPECT_NEAR(y1.data<float>()[i], want.out[i], 1e-4) << i;
}

// Isolated and cumulative SQNR of the report against the same figures computed directly.
TEST(Analysis, IsolatedAndCumulativeSqnrMatchDirectComputation) {
  const Model m = load_model(kModel);
  Data data(12, 5);
  const QuantPlan p = make_plan(m.graph, *data.ds, 4, 8);
  AnalysisOptions o;
  o.batch = 5;  // several batches, the last partial
  const AnalysisReport rep = analyze(m.graph, p, *data.ds, o);
  EXPECT_EQ(rep.samples, 12);
  const Direct fl = direct(m.graph, nullptr, data.x);
  const Direct sim = direct(m.graph, &p, data.x);

  // fc.weight isolated: the Gemm alone on its float input, weight fake-quantized, bias float.
  QuantPlan only_fc = p;
  for (auto& e : only_fc.entries) e.quantize = e.tensor == "fc.weight";
  const Direct iso_fc = direct(m.graph, &only_fc, data.x);
  // relu1_out isolated: FQ(x) vs x.
  std::vector<float> relu_fq(fl.relu_out.size());
  for (size_t i = 0; i < relu_fq.size(); ++i) relu_fq[i] = fq(entry(p, "relu1_out"), fl.relu_out[i]);

  for (const auto& t : rep.tensors) {
    if (t.tensor == "fc.weight") {
      EXPECT_EQ(t.observed, "output");
      EXPECT_NEAR(t.isolated.sqnr_db, sqnr_db(fl.out, iso_fc.out), 0.02);
      EXPECT_NEAR(t.cumulative.sqnr_db, sqnr_db(fl.out, sim.out), 0.2);
      EXPECT_EQ(t.channels.size(), 4u);
    } else if (t.tensor == "relu1_out") {
      EXPECT_NEAR(t.isolated.sqnr_db, sqnr_db(fl.relu_out, relu_fq), 0.02);
      EXPECT_NEAR(t.cumulative.sqnr_db, sqnr_db(fl.relu_out, sim.relu_out), 0.2);
      EXPECT_EQ(t.isolated.count, static_cast<int64_t>(fl.relu_out.size()));
      // The histogram holds every value seen.
      uint64_t total = 0;
      for (auto c : t.hist) total += c;
      EXPECT_EQ(total, fl.relu_out.size());
      EXPECT_GT(t.grid.size(), 200u);  // 8-bit activation grid
    }
  }
  EXPECT_NEAR(rep.output.sqnr_db, sqnr_db(fl.out, sim.out), 0.2);
}

// valid.onnx declares batch 2: any number of samples runs in chunks of 2, the last one padded, and the
// outputs are the rows of the samples given, in order.
TEST(Executor, FixedBatchModelRunsAnyNumberOfSamples) {
  const Model m = load_model(kModel);
  const Executor ex(m.graph);
  EXPECT_EQ(ex.fixed_batch(), 2);
  for (int64_t n : {1, 2, 5}) {
    Data data(n, 10 + static_cast<uint32_t>(n));
    const auto r = ex.run({{"input", data.x}}, {"output", "conv1.weight"});
    const Tensor& y = r.at("output");
    ASSERT_EQ(y.shape(), (Shape{n, 4}));
    const Direct want = direct(m.graph, nullptr, data.x);
    for (int64_t i = 0; i < y.numel(); ++i) EXPECT_NEAR(y.data<float>()[i], want.out[i], 1e-4) << "n " << n << " i " << i;
    EXPECT_EQ(r.at("conv1.weight").shape(), (Shape{3, 2, 3, 3}));  // not a batch value: left as it is
  }
}

}  // namespace
}  // namespace qs
