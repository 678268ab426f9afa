// End-to-end tests of quantscope-cli: the binary is run as a user runs it, and its exit status, stderr
// and outputs are checked against references that do not come from QuantScope (the demo's PyTorch
// accuracy and parameter count in resources/demo/demo.json, numpy outputs of the fixtures).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "core/data/npy.h"
#include "core/export/onnx_writer.h"
#include "core/onnx/import.h"
#include "core/quant/plan.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kCli = QS_CLI_PATH;
const fs::path kDemo = fs::path(QS_RESOURCES) / "demo";
const fs::path kFixtures = fs::path(QS_TEST_FIXTURES) / "onnx";

struct Result {
  int status = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A scratch folder per test, removed afterwards.
class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("qs_cli_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result run(const std::string& args) {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    const std::string cmd = "'" + kCli + "' " + args + " >'" + out.string() + "' 2>'" + err.string() + "'";
    const int raw = std::system(cmd.c_str());
    Result r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  std::string demo_data(const std::string& split) const {
    return "--data '" + (kDemo / (split + "-images-idx3-ubyte.gz")).string() + "' --labels '" +
           (kDemo / (split + "-labels-idx1-ubyte.gz")).string() + "' --mean 0.5 --std 0.5";
  }
  std::string demo_model() const {
    // Appended, not "'" + path: GCC 12 warns (-Wrestrict, a false positive) on const char* + string&&.
    std::string quoted = "'";
    quoted += (kDemo / "mnist_demo.onnx").string();
    quoted += "'";
    return quoted;
  }

  fs::path dir_;
};

json demo_facts() { return json::parse(slurp(kDemo / "demo.json")); }

TEST_F(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run("").status, 2);
  EXPECT_EQ(run("eval").status, 2);  // model and --data are required
  EXPECT_EQ(run("info " + demo_model() + " --no-such-option").status, 2);
  EXPECT_EQ(
      run("quantize " + demo_model() + " " + demo_data("calib") + " --out x.json --weight-bits 9").status, 2);
  EXPECT_EQ(run("--version").status, 0);
}

TEST_F(Cli, InfoCountsTheParametersTheOnnxFileHolds) {
  const Result r = run("info " + demo_model() + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j.at("params").get<int64_t>(), demo_facts().at("onnx_params").get<int64_t>());
  EXPECT_GT(j.at("weight_params").get<int64_t>(), 0);
  EXPECT_LE(j.at("weight_params").get<int64_t>(), j.at("params").get<int64_t>());
}

TEST_F(Cli, EvalReproducesTheDemoAccuracyMeasuredByPyTorch) {
  const Result r = run("eval " + demo_model() + " " + demo_data("test") + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j.at("count").get<int64_t>(), 500);
  EXPECT_NEAR(j.at("top1").get<double>(), demo_facts().at("float_top1_test500").get<double>(), 1e-9);
  EXPECT_GE(j.at("seconds").get<double>(), 0.0);
}

TEST_F(Cli, RunMatchesTheNumpyReference) {
  const fs::path y = dir_ / "y.npy";
  const Result r = run("run '" + (kFixtures / "valid.onnx").string() + "' --input '" +
                       (kFixtures / "valid_input.npy").string() + "' --output '" + y.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const qs::Tensor got = qs::read_npy(y.string());
  const qs::Tensor want = qs::read_npy((kFixtures / "valid_output.npy").string());
  ASSERT_EQ(got.shape(), want.shape());
  const float* g = got.data<float>();
  const float* w = want.data<float>();
  for (int64_t i = 0; i < want.numel(); ++i) EXPECT_NEAR(g[i], w[i], 1e-5) << "element " << i;
}

TEST_F(Cli, BadInputNamesTheFileOrNodeAndExitsOne) {
  Result r = run("eval '" + (dir_ / "missing.onnx").string() + "' " + demo_data("test"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("missing.onnx"), std::string::npos) << r.err;

  r = run("info '" + (kFixtures / "truncated.onnx").string() + "'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("truncated.onnx"), std::string::npos) << r.err;

  r = run("info '" + (kFixtures / "unsupported.onnx").string() + "'");
  EXPECT_EQ(r.status, 1);
  for (const char* node : {"bad_conv", "custom_foo", "det"})
    EXPECT_NE(r.err.find(node), std::string::npos) << r.err;

  r = run("eval " + demo_model() + " --data '" + (kDemo / "nothing.gz").string() + "'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("nothing.gz"), std::string::npos) << r.err;
}

// quantize → eval --engine sim → analyze on the demo, and a hand-broken plan refused naming its entry.
TEST_F(Cli, QuantizeSimulateAnalyze) {
  const fs::path plan = dir_ / "plan.json";
  Result r = run("quantize " + demo_model() + " " + demo_data("calib") + " --out '" + plan.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const json p = json::parse(slurp(plan));
  EXPECT_EQ(p.at("format"), "quantscope-plan");
  EXPECT_EQ(p.at("version"), 1);
  int weights = 0, acts = 0;
  for (const auto& e : p.at("entries")) (e.at("kind") == "weight" ? weights : acts) += 1;
  EXPECT_EQ(weights, 6);  // 4 Conv + 2 Gemm in the demo
  EXPECT_GT(acts, 0);

  r = run("eval " + demo_model() + " " + demo_data("test") + " --plan '" + plan.string() +
          "' --engine sim --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json e = json::parse(r.out);
  // W8A8 on a small CNN: the prediction almost never changes (a property of 8-bit PTQ on such models; a
  // broken simulation — wrong scale, zero point or rounding — drops agreement far below this).
  EXPECT_GE(e.at("agreement").get<double>(), 0.98);
  EXPECT_NEAR(e.at("float_top1").get<double>(), demo_facts().at("float_top1_test500").get<double>(), 1e-9);
  EXPECT_NEAR(e.at("top1").get<double>(), e.at("float_top1").get<double>(), 0.02);
  EXPECT_FALSE(e.contains("kernels"));  // the simulation runs no integer kernels

  // The integer engine agrees with the simulation it is modelled by, and says which kernels ran.
  r = run("eval " + demo_model() + " " + demo_data("test") + " --plan '" + plan.string() +
          "' --engine int --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json ei = json::parse(r.out);
  EXPECT_EQ(ei.at("top1"), e.at("top1"));
  const std::string kernels = ei.at("kernels");
  EXPECT_TRUE(kernels == "portable" || kernels == "avx2" || kernels == "avx2 + avx512-vnni") << kernels;

  const fs::path report = dir_ / "report.json";
  r = run("analyze " + demo_model() + " " + demo_data("calib") + " --plan '" + plan.string() +
          "' --report '" + report.string() + "' --count 64 --quiet");
  ASSERT_EQ(r.status, 0) << r.err;
  const json rep = json::parse(slurp(report));
  EXPECT_EQ(rep.at("format"), "quantscope-report");
  EXPECT_EQ(rep.at("tensors").size(), p.at("entries").size());

  // Break one entry: bits 9 is not allowed.
  json bad = p;
  bad["entries"][1]["bits"] = 9;
  const fs::path bad_plan = dir_ / "bad.json";
  std::ofstream(bad_plan) << bad.dump();
  r = run("eval " + demo_model() + " " + demo_data("test") + " --plan '" + bad_plan.string() +
          "' --engine sim");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(p["entries"][1]["tensor"].get<std::string>()), std::string::npos) << r.err;
}

TEST_F(Cli, ActBits32KeepsActivationsInFloat) {
  const fs::path plan = dir_ / "w8.json";
  const Result r = run("quantize " + demo_model() + " " + demo_data("calib") + " --act-bits 32 --out '" +
                       plan.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const json p = json::parse(slurp(plan));
  for (const auto& e : p.at("entries"))
    EXPECT_EQ(e.at("quantize").get<bool>(), e.at("kind") == "weight") << e.at("tensor");
}

// EPTQ from the CLI: the tuned weights it writes lie on the plan's grid (every weight is (q − zp)·s for an
// integer q in the range), the hard rounding it keeps is no worse than round-to-nearest on its evaluation
// images (it starts from RTN and keeps the best), and the plan evaluates.
TEST_F(Cli, EptqWritesWeightsOnThePlansGrid) {
  const fs::path plan = dir_ / "eptq.json", report = dir_ / "eptq_report.json";
  Result r = run("quantize " + demo_model() + " " + demo_data("calib") +
                 " --weight-bits 3 --act-bits 8 --calib-count 64" +
                 " --algo eptq --iters 20 --eptq-batch 8 --out '" + plan.string() + "' --report '" +
                 report.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const json rep = json::parse(slurp(report));
  EXPECT_EQ(rep.at("iterations").get<int>(), 20);
  EXPECT_LE(rep.at("best_eval_loss").get<double>(), rep.at("rtn_eval_loss").get<double>());
  EXPECT_EQ(rep.at("curve").size(), 20u);
  const qs::QuantPlan p = qs::load_plan(plan.string());
  ASSERT_FALSE(p.weights_model.empty());
  const qs::Model tuned = qs::load_model((dir_ / p.weights_model).string());
  int checked = 0;
  for (const auto& e : p.entries) {
    if (e.kind != qs::TensorKind::Weight || !e.quantize) continue;
    const qs::Tensor& w = tuned.graph.initializers.at(e.tensor);
    const auto& q = e.params;
    const int64_t n = w.numel();
    int64_t inner = 1;
    if (q.axis >= 0)
      for (int64_t d = q.axis + 1; d < w.rank(); ++d) inner *= w.dim(d);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = q.axis < 0 ? 0 : (i / inner) % w.dim(q.axis);
      const double level =
          w.data<float>()[i] / q.scale[static_cast<size_t>(c)] + q.zero_point[static_cast<size_t>(c)];
      ASSERT_NEAR(level, std::round(level), 1e-3) << e.tensor << "[" << i << "]";
      ASSERT_GE(std::round(level), q.qmin) << e.tensor;
      ASSERT_LE(std::round(level), q.qmax) << e.tensor;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 6);
  r = run("eval " + demo_model() + " " + demo_data("test") + " --plan '" + plan.string() +
          "' --engine sim --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_GT(json::parse(r.out).at("top1").get<double>(), 0.9);  // W3A8 on the demo: RTN keeps > 0.95
}

// mixed: the written plan fits the budget (every weight's size at 4 bits) and is the allocation the report
// describes; the report says how the ILP's plan measured against the uniform one unless --no-verify.
TEST_F(Cli, MixedPlanFitsTheBudgetAndIsCheckedAgainstUniform) {
  const fs::path plan = dir_ / "mixed.json", report = dir_ / "mixed_report.json";
  const std::string args =
      "mixed " + demo_model() + " " + demo_data("calib") +
      " --calib-count 64 --samples 32 --lfh-samples 8 --budget-bits 4 --bits 2,4,8 --out '" + plan.string() +
      "' --report '" + report.string() + "'";
  Result r = run(args);
  ASSERT_EQ(r.status, 0) << r.err;
  json rep = json::parse(slurp(report));
  const double budget = rep.at("budget").at("weight_bytes").get<double>();
  const double bytes = rep.at("costs").at("weight_bytes").get<double>();
  EXPECT_LE(bytes, budget);
  const qs::Model m = qs::load_model((kDemo / "mnist_demo.onnx").string());
  EXPECT_DOUBLE_EQ(qs::load_plan(plan.string()).weight_bytes(m.graph), bytes);
  if (rep.contains("verification")) {
    EXPECT_NE(rep.at("verification").get<std::string>().find("uniform 4-bit"), std::string::npos);
  }
  r = run(args + " --no-verify");
  ASSERT_EQ(r.status, 0) << r.err;
  rep = json::parse(slurp(report));
  EXPECT_FALSE(rep.contains("verification"));
  EXPECT_LE(rep.at("costs").at("weight_bytes").get<double>(), budget);
}

// A file to write in a folder that does not exist is a usage error at once, naming the path.
// A model with two inputs (x [N, 3], y [N, 2]; out = W2·relu(W1x·x + W1y·y)): quantize, run and analyze
// take one --data / --input per input, by name or in the inputs' order; the float run equals the formula
// computed here, the integer engine equals the simulation, and a missing input is named.
TEST_F(Cli, ModelsWithSeveralInputsTakeDataPerInput) {
  qs::Graph g;
  g.opset = 13;
  g.opset_imports[""] = 13;
  g.inputs.push_back({"x", qs::DType::Float32, std::vector<qs::Dim>{qs::Dim{-1, "n"}, qs::Dim{3, ""}}});
  g.inputs.push_back({"y", qs::DType::Float32, std::vector<qs::Dim>{qs::Dim{-1, "n"}, qs::Dim{2, ""}}});
  g.outputs.push_back({"out", qs::DType::Float32, std::nullopt});
  g.outputs.push_back({"r", qs::DType::Float32, std::nullopt});  // an intermediate value, also an output
  const std::vector<float> wx = {0.5f, -1.f, 0.25f, 1.5f, 0.f, -0.5f}, wy = {1.f, -2.f, 0.75f, 0.5f},
                           w2 = {1.f, -1.f, 0.5f, 2.f};
  g.initializers["wx"] = qs::Tensor::from_vector<float>({3, 2}, wx);
  g.initializers["wy"] = qs::Tensor::from_vector<float>({2, 2}, wy);
  g.initializers["w2"] = qs::Tensor::from_vector<float>({2, 2}, w2);
  auto node = [](const std::string& name, const std::string& op, std::vector<std::string> in,
                 std::string out) {
    qs::Node n;
    n.name = name;
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = {std::move(out)};
    return n;
  };
  g.nodes = {node("mx", "MatMul", {"x", "wx"}, "a"), node("my", "MatMul", {"y", "wy"}, "b"),
             node("add", "Add", {"a", "b"}, "s"), node("relu", "Relu", {"s"}, "r"),
             node("m2", "MatMul", {"r", "w2"}, "out")};
  const fs::path model = dir_ / "two.onnx";
  std::ofstream(model, std::ios::binary) << qs::write_onnx_bytes(g);
  const int64_t n = 50;
  std::vector<float> xv(n * 3), yv(n * 2);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = std::sin(0.7f * static_cast<float>(i));
  for (size_t i = 0; i < yv.size(); ++i) yv[i] = std::cos(0.3f * static_cast<float>(i)) * 2.f;
  const fs::path xf = dir_ / "x.npy", yf = dir_ / "y.npy", plan = dir_ / "p.json";
  qs::write_npy(xf.string(), qs::Tensor::from_vector<float>({n, 3}, xv));
  qs::write_npy(yf.string(), qs::Tensor::from_vector<float>({n, 2}, yv));
  const std::string m = "'" + model.string() + "' ";
  // y by name, x in order.
  Result r = run("quantize " + m + "--data 'y=" + yf.string() + "' --data '" + xf.string() + "' --out '" +
                 plan.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  r = run("analyze " + m + "--data '" + xf.string() + "' --data '" + yf.string() + "' --plan '" +
          plan.string() + "' --report '" + (dir_ / "r.json").string() + "'");
  EXPECT_EQ(r.status, 0) << r.err;
  std::map<std::string, qs::Tensor> out;
  const std::string inputs = "--input 'y=" + yf.string() + "' --input 'x=" + xf.string() + "' ";
  for (const char* engine : {"float", "sim", "int"}) {
    const fs::path o = (dir_ / engine).replace_extension(".npy");
    std::ostringstream cmd;
    cmd << "run " << m << inputs << "--plan '" << plan.string() << "' --engine " << engine << " --output '"
        << o.string() << "'";
    r = run(cmd.str());
    ASSERT_EQ(r.status, 0) << engine << ": " << r.err;
    out[engine] = qs::read_npy(o.string());
  }
  ASSERT_EQ(out["float"].shape(), (qs::Shape{n, 2}));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < 2; ++j) {
      float want = 0;
      for (int64_t k = 0; k < 2; ++k) {
        float s = 0;
        for (int64_t c = 0; c < 3; ++c)
          s += xv[static_cast<size_t>(i * 3 + c)] * wx[static_cast<size_t>(c * 2 + k)];
        for (int64_t c = 0; c < 2; ++c)
          s += yv[static_cast<size_t>(i * 2 + c)] * wy[static_cast<size_t>(c * 2 + k)];
        want += std::max(s, 0.f) * w2[static_cast<size_t>(k * 2 + j)];
      }
      EXPECT_NEAR(out["float"].data<float>()[i * 2 + j], want, 1e-5) << i << "," << j;
    }
  EXPECT_EQ(out["sim"].to_vector<float>(), out["int"].to_vector<float>());
  // Every output is written where asked, by name or in order; one not asked for is listed, not written.
  const fs::path o1 = dir_ / "o1.npy", o2 = dir_ / "o2.npy";
  r = run("run " + m + inputs + "--output 'r=" + o2.string() + "' --output '" + o1.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(qs::read_npy(o1.string()).to_vector<float>(), out["float"].to_vector<float>());
  const qs::Tensor rv = qs::read_npy(o2.string());
  ASSERT_EQ(rv.shape(), (qs::Shape{n, 2}));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < 2; ++k) {
      float s = 0;
      for (int64_t c = 0; c < 3; ++c)
        s += xv[static_cast<size_t>(i * 3 + c)] * wx[static_cast<size_t>(c * 2 + k)];
      for (int64_t c = 0; c < 2; ++c)
        s += yv[static_cast<size_t>(i * 2 + c)] * wy[static_cast<size_t>(c * 2 + k)];
      EXPECT_NEAR(rv.data<float>()[i * 2 + k], std::max(s, 0.f), 1e-5) << i << "," << k;
    }
  fs::remove(o2);
  r = run("run " + m + inputs + "--output '" + o1.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("output 'r'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(o2));
  r = run("run " + m + inputs + "--output 'r=" + (dir_ / "missing" / "r.npy").string() + "'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;
  // One input left out.
  r = run("quantize " + m + "--data '" + xf.string() + "' --out '" + plan.string() + "'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("input 'y' has no data"), std::string::npos) << r.err;
}

// The tuning and analysis commands on a model with a float input and int64 token ids (x [N, 4], ids [N, 2];
// out = Wc·relu(Wa·x + ba + flatten(emb[ids])) + bc), one --data per input: GPTQ's per-layer signal for gc is
// ‖Wc·r‖²/N with r computed here from both inputs, and no layer ends above round-to-nearest; EPTQ with bias
// correction, prune and repvgg run; mixed stays within its budget; sensitivity's LFH of wc is 3·mean ‖r‖²
// (exact: its three output rows touch disjoint weights, so every Rademacher probe gives Σ_k v_k²‖r‖²).
TEST_F(Cli, TuningAlgorithmsTakeDataPerInput) {
  qs::Graph g;
  g.opset = 13;
  g.opset_imports[""] = 13;
  g.inputs.push_back({"x", qs::DType::Float32, std::vector<qs::Dim>{qs::Dim{-1, "n"}, qs::Dim{4, ""}}});
  g.inputs.push_back({"ids", qs::DType::Int64, std::vector<qs::Dim>{qs::Dim{-1, "n"}, qs::Dim{2, ""}}});
  g.outputs.push_back({"out", qs::DType::Float32, std::nullopt});
  const int64_t n = 40;
  auto values = [](size_t count, float a, float b) {
    std::vector<float> v(count);
    for (size_t i = 0; i < count; ++i) v[i] = std::sin(a * static_cast<float>(i) + b);
    return v;
  };
  const std::vector<float> wa = values(24, 0.9f, 0.1f), ba = values(6, 1.3f, 0.f),
                           emb = values(15, 0.4f, 1.f), wc = values(18, 0.7f, 0.5f), bc = values(3, 2.f, 0.f);
  g.initializers["wa"] = qs::Tensor::from_vector<float>({6, 4}, wa);
  g.initializers["ba"] = qs::Tensor::from_vector<float>({6}, ba);
  g.initializers["emb"] = qs::Tensor::from_vector<float>({5, 3}, emb);
  g.initializers["wc"] = qs::Tensor::from_vector<float>({3, 6}, wc);
  g.initializers["bc"] = qs::Tensor::from_vector<float>({3}, bc);
  auto node = [](const std::string& name, const std::string& op, std::vector<std::string> in,
                 std::string out) {
    qs::Node nd;
    nd.name = name;
    nd.op_type = op;
    nd.inputs = std::move(in);
    nd.outputs = {std::move(out)};
    if (op == "Gemm") nd.attrs["transB"] = qs::Attribute::of_int(1);
    return nd;
  };
  g.nodes = {node("ga", "Gemm", {"x", "wa", "ba"}, "a"), node("gather", "Gather", {"emb", "ids"}, "e3"),
             node("flat", "Flatten", {"e3"}, "e"),       node("add", "Add", {"a", "e"}, "s"),
             node("relu", "Relu", {"s"}, "r"),           node("gc", "Gemm", {"r", "wc", "bc"}, "out")};
  const fs::path model = dir_ / "tokens.onnx";
  std::ofstream(model, std::ios::binary) << qs::write_onnx_bytes(g);
  const std::vector<float> xv = values(static_cast<size_t>(n * 4), 0.37f, 0.f);
  std::vector<int64_t> iv(static_cast<size_t>(n * 2));
  for (size_t i = 0; i < iv.size(); ++i) iv[i] = static_cast<int64_t>((i * 7 + i / 3) % 5);
  const fs::path xf = dir_ / "x.npy", idf = dir_ / "ids.npy";
  qs::write_npy(xf.string(), qs::Tensor::from_vector<float>({n, 4}, xv));
  qs::write_npy(idf.string(), qs::Tensor::from_vector<int64_t>({n, 2}, iv));
  // r = relu(Wa·x + ba + [emb[ids0], emb[ids1]]), per sample, from the arrays.
  std::vector<double> rv(static_cast<size_t>(n * 6));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < 6; ++k) {
      double s = ba[static_cast<size_t>(k)];
      for (int64_t c = 0; c < 4; ++c)
        s += static_cast<double>(wa[static_cast<size_t>(k * 4 + c)]) * xv[static_cast<size_t>(i * 4 + c)];
      const int64_t token = iv[static_cast<size_t>(i * 2 + k / 3)];
      s += emb[static_cast<size_t>(token * 3 + k % 3)];
      rv[static_cast<size_t>(i * 6 + k)] = std::max(s, 0.0);
    }
  double signal = 0, r2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < 3; ++j) {
      double v = 0;
      for (int64_t k = 0; k < 6; ++k)
        v += wc[static_cast<size_t>(j * 6 + k)] * rv[static_cast<size_t>(i * 6 + k)];
      signal += v * v;
    }
    for (int64_t k = 0; k < 6; ++k)
      r2 += rv[static_cast<size_t>(i * 6 + k)] * rv[static_cast<size_t>(i * 6 + k)];
  }
  signal /= n;

  const std::string m = "'" + model.string() + "' ";
  // ids by name, x in order.
  const std::string data = "--data 'ids=" + idf.string() + "' --data '" + xf.string() + "' ";
  const fs::path plan = dir_ / "p.json", report = dir_ / "report.json";
  Result r = run("quantize " + m + data + "--algo gptq --no-sequential --weight-bits 4 --out '" +
                 plan.string() + "' --report '" + report.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "p.onnx"));
  const json rep = json::parse(slurp(report));
  ASSERT_EQ(rep["layers"].size(), 2u);
  for (const auto& l : rep["layers"]) {
    ASSERT_TRUE(l["compressed"].get<bool>()) << l.dump();
    EXPECT_EQ(l["samples"].get<int64_t>(), n);
    EXPECT_LE(l["loss_after"].get<double>(), l["loss_before"].get<double>()) << l.dump();
    if (l["layer"] == "gc") {
      EXPECT_NEAR(l["signal"].get<double>(), signal, 1e-5 * signal);
    }
  }
  r = run("run " + m + "--input 'ids=" + idf.string() + "' --input '" + xf.string() + "' --plan '" +
          plan.string() + "' --engine sim --output '" + (dir_ / "y.npy").string() + "'");
  EXPECT_EQ(r.status, 0) << r.err;

  r = run("quantize " + m + data + "--algo eptq --iters 20 --bias-correction --weight-bits 4 --out '" +
          (dir_ / "e.json").string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("bias correction: 2 layers corrected"), std::string::npos) << r.err;

  r = run("mixed " + m + data + "--budget-bits 4 --out '" + (dir_ / "m.json").string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_LE(qs::load_plan((dir_ / "m.json").string()).weight_bytes(g), (24 + 18) * 4 / 8.0);

  r = run("sensitivity " + m + data + "--batch 1 --samples " + std::to_string(n) + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  bool found = false;
  const json lfh = json::parse(r.out);
  for (const auto& t : lfh["tensors"]) {
    const std::string name = t["tensor"].get<std::string>();
    EXPECT_NE(name, "ids");
    if (name != "wc") continue;
    found = true;
    EXPECT_NEAR(t["trace"].get<double>(), 3 * r2 / n, 1e-5 * r2);
  }
  EXPECT_TRUE(found) << r.out;

  r = run("prune " + m + data + "--sparsity 0.5 --out '" + (dir_ / "pruned.onnx").string() + "'");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("(50%)"), std::string::npos) << r.err;
  r = run("repvgg " + m + data);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("no re-parameterizable blocks"), std::string::npos) << r.out;
}

TEST_F(Cli, OutputInAMissingFolderIsRefusedBeforeAnyWork) {
  const std::string out = (dir_ / "no_such_folder" / "plan.json").string();
  const Result r = run("quantize " + demo_model() + " " + demo_data("calib") + " --out '" + out + "'");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("no_such_folder"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "no_such_folder"));
}

}  // namespace
