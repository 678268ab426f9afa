// ONNX export (QDQ and QOperator): valid under ONNX's checker and strict shape inference; the exported
// tensors are the plan's (scales, zero points, int8 weights, the simulation's int32 biases); value names
// survive; the files beside it (plan, manifest with the source's SHA-256) are written atomically and the
// input is never overwritten. When ONNX Runtime (npm onnxruntime-node) and node are installed, the exports
// run there and agree with the integer engine; otherwise that test is skipped with the reason.
#include "core/export/export.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/common/error.h"
#include "core/export/sha256.h"
#include "core/int/engine.h"
#include "core/onnx/import.h"
#include "core/quant/simulate.h"
#include "tests/core/int_test_util.h"

namespace qs {
namespace {

namespace fs = std::filesystem;
using testing::Calibrated;

struct TempDir {
  fs::path p;
  TempDir() {
    p = fs::temp_directory_path() / ("qs_export_test_" + std::to_string(::getpid()) + "_" +
                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(p);
    fs::create_directories(p);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(p, ec);
  }
  std::string operator/(const std::string& f) const { return (p / f).string(); }
};

CalibrationOptions w8a8() {
  CalibrationOptions o;
  o.calib_count = 48;
  o.batch = 16;
  return o;
}

// The exported bytes loaded back as a graph, without running anything (Q/DQ ops are not float kernels).
Graph reload(const std::string& bytes) {
  LoadOptions lo;
  lo.remove_identity = false;
  lo.fold_constants = false;
  lo.fold_batchnorm = false;
  lo.check_supported = false;
  return load_model_from_bytes(bytes, "export", ".", lo).graph;
}

const Node* producer_of(const Graph& g, const std::string& v) {
  const int i = g.producer(v);
  return i < 0 ? nullptr : &g.nodes[static_cast<size_t>(i)];
}

TEST(Export, Sha256KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Export, QdqHoldsThePlansTensorsAndPassesTheChecker) {
  std::mt19937 rng(1);
  const Graph g = testing::int_cnn(rng);
  const Calibrated c = testing::calibrate_on(g, testing::random_images(rng, 48, {1, 10, 10}), w8a8());
  const std::string bytes =
      export_bytes(g, c.plan, c.points, ExportFormat::QDQ);  // throws if the checker refuses
  const Graph e = reload(bytes);
  ASSERT_EQ(e.outputs.size(), 1u);
  EXPECT_EQ(e.outputs[0].name, "y");
  EXPECT_GE(e.opset, 13);
  // Every activation point: DequantizeLinear(QuantizeLinear(...)) with the plan's scale and zero point.
  int points = 0;
  for (const auto& a : c.points.activations) {
    const PlanEntry& pe = *c.plan.active(a.tensor);
    const std::string v = a.producer.empty() ? a.tensor + "_dequantized" : a.tensor;
    const Node* dq = producer_of(e, v);
    ASSERT_TRUE(dq && dq->op_type == "DequantizeLinear") << v;
    const Node* q = producer_of(e, dq->inputs[0]);
    ASSERT_TRUE(q && q->op_type == "QuantizeLinear") << v;
    EXPECT_EQ(e.initializer(q->inputs[1])->data<float>()[0], pe.params.scale[0]) << v;
    EXPECT_EQ(e.initializer(q->inputs[2])->dtype(), DType::Int8) << v;
    EXPECT_EQ(e.initializer(q->inputs[2])->value_as_int(0), pe.params.zero_point[0]) << v;
    ++points;
  }
  EXPECT_EQ(points, static_cast<int>(c.points.activations.size()));
  // Weights: int8 initializers equal to quantize(w), per-axis scales; biases: the simulation's int32 values.
  const Graph fq = quantize_weights(g, c.plan, c.points, SimOptions{});
  for (const auto& wp : c.points.weights) {
    const PlanEntry& pe = *c.plan.active(wp.tensor);
    const Node* dq = producer_of(e, wp.tensor);
    ASSERT_TRUE(dq && dq->op_type == "DequantizeLinear") << wp.tensor;
    const Tensor& wq = *e.initializer(dq->inputs[0]);
    EXPECT_EQ(wq.dtype(), DType::Int8);
    EXPECT_EQ(wq.to_vector<int32_t>(), quantize(*g.initializer(wp.tensor), pe.params).to_vector<int32_t>())
        << wp.tensor;
    EXPECT_EQ(dq->attr_int("axis", 1), pe.params.axis);
    EXPECT_EQ(e.initializer(dq->inputs[1])->numel(), pe.params.channels());
    if (wp.bias.empty()) continue;
    const Node* layer = nullptr;
    for (const auto& n : e.nodes)
      if (n.name == wp.layer) layer = &n;
    ASSERT_TRUE(layer) << wp.layer;
    const Node* bdq = producer_of(e, layer->inputs[2]);
    ASSERT_TRUE(bdq && bdq->op_type == "DequantizeLinear") << wp.bias;
    const Tensor& bq = *e.initializer(bdq->inputs[0]);
    const Tensor& bs = *e.initializer(bdq->inputs[1]);
    ASSERT_EQ(bq.dtype(), DType::Int32);
    // The simulation's bias (float) is exactly float(q · s).
    const Tensor& sim_bias = *fq.initializer(wp.bias + "::int32@" + wp.layer);
    for (int64_t k = 0; k < bq.numel(); ++k) {
      const float s = bs.data<float>()[bs.numel() == 1 ? 0 : k];
      EXPECT_EQ(static_cast<float>(static_cast<double>(bq.data<int32_t>()[k]) * s), sim_bias.data<float>()[k])
          << wp.bias;
    }
  }
  // Every value of the source is still there under its name.
  for (const auto& n : g.nodes)
    for (const auto& o : n.outputs) EXPECT_TRUE(e.producer(o) >= 0) << o;
}

// uint8 weight storage: every int8 weight grid becomes uint8 with values and zero points moved by +128, so
// each weight's DequantizeLinear gives the same floats (computed here by hand from both initializers); the
// rest of the graph is unchanged. The QOperator form refuses it.
TEST(Export, Uint8WeightStorageKeepsEveryDequantizedWeight) {
  std::mt19937 rng(4);
  const Graph g = testing::int_cnn(rng);
  const Calibrated c = testing::calibrate_on(g, testing::random_images(rng, 48, {1, 10, 10}), w8a8());
  const Graph s8 = reload(export_bytes(g, c.plan, c.points, ExportFormat::QDQ));
  const Graph u8 = reload(export_bytes(g, c.plan, c.points, ExportFormat::QDQ, WeightStorage::UInt8));
  ASSERT_EQ(s8.nodes.size(), u8.nodes.size());
  int weights = 0;
  for (const auto& wp : c.points.weights) {
    const Node* a = producer_of(s8, wp.tensor);
    const Node* b = producer_of(u8, wp.tensor);
    ASSERT_TRUE(a && b && b->op_type == "DequantizeLinear") << wp.tensor;
    const Tensor &qa = *s8.initializer(a->inputs[0]), &qb = *u8.initializer(b->inputs[0]);
    const Tensor &za = *s8.initializer(a->inputs[2]), &zb = *u8.initializer(b->inputs[2]);
    const Tensor& scale = *u8.initializer(b->inputs[1]);
    ASSERT_EQ(qa.dtype(), DType::Int8);
    ASSERT_EQ(qb.dtype(), DType::UInt8);
    ASSERT_EQ(zb.dtype(), DType::UInt8);
    ASSERT_EQ(qa.shape(), qb.shape());
    ASSERT_EQ(zb.numel(), za.numel());
    const int64_t axis = b->attr_int("axis", 1), channels = scale.numel();
    int64_t inner = 1;
    for (size_t d = static_cast<size_t>(axis) + 1; d < qb.shape().size(); ++d) inner *= qb.shape()[d];
    for (int64_t i = 0; i < qb.numel(); ++i) {
      const int64_t ch = channels == 1 ? 0 : (i / inner) % channels;
      const float s = scale.data<float>()[ch];
      const float fa = static_cast<float>(qa.value_as_int(i) - za.value_as_int(ch)) * s;
      const float fb = static_cast<float>(qb.value_as_int(i) - zb.value_as_int(ch)) * s;
      ASSERT_EQ(fa, fb) << wp.tensor << " element " << i;
      ASSERT_EQ(qb.value_as_int(i), qa.value_as_int(i) + 128) << wp.tensor << " element " << i;
    }
    ++weights;
  }
  EXPECT_EQ(weights, static_cast<int>(c.points.weights.size()));
  EXPECT_THROW(export_bytes(g, c.plan, c.points, ExportFormat::QOperator, WeightStorage::UInt8), Error);
}

TEST(Export, QOperatorUsesIntegerOperatorsAndPassesTheChecker) {
  std::mt19937 rng(2);
  const Graph g = testing::int_cnn(rng);
  const Calibrated c = testing::calibrate_on(g, testing::random_images(rng, 48, {1, 10, 10}), w8a8());
  const Graph e = reload(export_bytes(g, c.plan, c.points, ExportFormat::QOperator));
  std::map<std::string, int> ops;
  for (const auto& n : e.nodes) ++ops[n.op_type];
  EXPECT_EQ(ops["QLinearConv"], 6);  // 4 Conv + 2 Gemm (as 1x1 QLinearConv)
  EXPECT_EQ(ops["Conv"], 0);
  EXPECT_EQ(ops["Gemm"], 0);
  EXPECT_EQ(ops["QuantizeLinear"] > 0, true);
  // MaxPool runs on the int8 tensor.
  for (const auto& n : e.nodes) {
    if (n.op_type == "MaxPool") {
      EXPECT_NE(n.inputs[0].find("_quantized"), std::string::npos) << n.inputs[0];
    }
  }
  // Calibrated on the activations' outputs, the fused ReLU/ReLU6 ranges start at 0 (zero point = qmin) and
  // end within 6: QLinearConv's saturation is the clamp. The one Relu left is the Add's, which has no
  // standard integer operator and runs as DequantizeLinear → Add → Relu → QuantizeLinear.
  EXPECT_EQ(ops["Relu"], 1);
  EXPECT_EQ(ops["Add"], 1);
  EXPECT_EQ(ops["Clip"], 0);
  EXPECT_EQ(e.outputs[0].name, "y");
  // A grid wider than the ReLU6 (range [0, 12]) needs the clamp: DequantizeLinear → Clip → QuantizeLinear.
  QuantPlan wide = c.plan;
  wide.find("r2")->hi = {12.f};
  wide.find("r2")->set_spec(wide.find("r2")->spec);
  const Graph ew = reload(export_bytes(g, wide, c.points, ExportFormat::QOperator));
  int clips = 0;
  for (const auto& n : ew.nodes) clips += n.op_type == "Clip";
  EXPECT_EQ(clips, 1);

  std::mt19937 r2(3);
  const Graph m = testing::int_mix(r2);
  const Calibrated cm = testing::calibrate_on(m, testing::random_images(r2, 48, {3, 6, 6}), w8a8());
  const Graph em = reload(export_bytes(m, cm.plan, cm.points, ExportFormat::QOperator));
  std::map<std::string, int> mops;
  for (const auto& n : em.nodes) ++mops[n.op_type];
  EXPECT_EQ(mops["QLinearMatMul"], 2);  // the constant right operand, the two activations
  EXPECT_EQ(mops["Softmax"], 1);
  EXPECT_EQ(mops["Sigmoid"], 1);
  EXPECT_NO_THROW(export_bytes(m, cm.plan, cm.points, ExportFormat::QDQ));
}

TEST(Export, WritesModelPlanAndManifestAndNeverOverwritesTheInput) {
  std::mt19937 rng(4);
  const Graph g = testing::int_cnn(rng);
  const Calibrated c = testing::calibrate_on(g, testing::random_images(rng, 32, {1, 10, 10}), w8a8());
  TempDir dir;
  // A source file to hash (its content only matters for the hash).
  const std::string src = dir / "model.onnx", plan_path = dir / "plan.json";
  { std::ofstream(src, std::ios::binary) << "pretend model bytes"; }
  save_plan(c.plan, plan_path);
  ExportOptions o;
  o.format = ExportFormat::QOperator;
  o.source_model = src;
  o.source_plan = plan_path;
  o.settings = {{"format", "qop"}};
  const ExportResult r = export_model(g, c.plan, c.points, dir / "out.onnx", o);
  EXPECT_EQ(r.plan, dir / "out.plan.json");
  EXPECT_EQ(r.manifest, dir / "out.manifest.json");
  std::ifstream mf(r.manifest);
  const nlohmann::json m = nlohmann::json::parse(mf);
  EXPECT_EQ(m["source_model_sha256"], sha256_hex("pretend model bytes"));
  EXPECT_EQ(m["quantscope_version"], QS_VERSION);
  EXPECT_EQ(m["export_format"], "qop");
  EXPECT_EQ(m["settings"]["format"], "qop");
  std::ifstream of(r.model, std::ios::binary);
  std::stringstream ss;
  ss << of.rdbuf();
  EXPECT_EQ(m["model_sha256"], sha256_hex(ss.str()));
  const QuantPlan back = load_plan(r.plan);
  ASSERT_EQ(back.entries.size(), c.plan.entries.size());
  for (size_t i = 0; i < back.entries.size(); ++i)
    EXPECT_EQ(back.entries[i].params.scale, c.plan.entries[i].params.scale);
  // No temporary files are left.
  for (const auto& f : fs::directory_iterator(dir.p))
    EXPECT_EQ(f.path().string().find(".tmp"), std::string::npos) << f.path();

  // --out resolving to the input model (or its sidecars to the plan) is refused; the input is untouched.
  EXPECT_THROW(export_model(g, c.plan, c.points, src, o), Error);
  EXPECT_THROW(export_model(g, c.plan, c.points, (dir.p / "." / "model.onnx").string(), o), Error);
  std::ifstream again(src);
  std::string content((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "pretend model bytes");
  ExportOptions o2 = o;
  o2.source_plan = dir / "x.plan.json";
  save_plan(c.plan, o2.source_plan);
  EXPECT_THROW(export_model(g, c.plan, c.points, dir / "x.onnx", o2), Error);
}

TEST(Export, Refuses16BitActivationsNamingTheEntry) {
  std::mt19937 rng(5);
  const Graph g = testing::int_cnn(rng);
  CalibrationOptions o = w8a8();
  o.act_bits = 16;
  const Calibrated c = testing::calibrate_on(g, testing::random_images(rng, 16, {1, 10, 10}), o);
  try {
    export_bytes(g, c.plan, c.points, ExportFormat::QDQ);
    FAIL() << "16-bit activations were exported";
  } catch (const UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
  }
}

// ---- ONNX Runtime (optional) ----

std::string ort_prefix() {
  for (const char* env : {"QS_ORT_PREFIX", "ORT_PREFIX"})
    if (const char* p = std::getenv(env); p && fs::exists(fs::path(p) / "node_modules" / "onnxruntime-node"))
      return p;
  const fs::path root = fs::path(QS_TEST_FIXTURES).parent_path().parent_path();
  for (const char* d : {"build/ort", "build-h6/ort"})
    if (fs::exists(root / d / "node_modules" / "onnxruntime-node")) return (root / d).string();
  return "";
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  return ::pclose(f) == 0 ? out : "";
}

constexpr const char* kOrtScript = R"(
import fs from 'node:fs';
import { createRequire } from 'node:module';
const [prefix, model, input, dims, out] = process.argv.slice(2);
const ort = createRequire(prefix + '/node_modules/x.js')('onnxruntime-node');
const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, graphOptimizationLevel: process.env.QS_ORT_OPT || 'all' });
const b = fs.readFileSync(input);
const x = new Float32Array(b.buffer, b.byteOffset, b.length / 4);
const y = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, dims.split(',').map(Number)) });
const t = y[s.outputNames[0]];
fs.writeFileSync(out, Buffer.from(new Float32Array(t.data).buffer));
console.log(JSON.stringify(t.dims));
)";

TEST(Export, RunsInOnnxRuntimeAndAgreesWithTheIntegerEngine) {
  const std::string prefix = ort_prefix();
  if (prefix.empty())
    GTEST_SKIP() << "onnxruntime-node is not installed (npm install --prefix build/ort --ignore-scripts "
                    "onnxruntime-node@1.30.0)";
  if (run("node --version").empty()) GTEST_SKIP() << "node is not installed";
  TempDir dir;
  std::ofstream(dir / "ort.mjs") << kOrtScript;
  for (int wbits : {7, 8}) {
    std::mt19937 rng(6);
    const Graph g = testing::int_cnn(rng);
    CalibrationOptions o = w8a8();
    o.weight_bits = wbits;
    const Calibrated c = testing::calibrate_on(g, testing::random_images(rng, 64, {1, 10, 10}), o);
    const Tensor x = testing::random_images(rng, 200, {1, 10, 10});
    std::ofstream(dir / "x.f32", std::ios::binary)
        .write(static_cast<const char*>(x.raw()), static_cast<std::streamsize>(x.nbytes()));
    const Tensor ours = IntegerModel(g, c.plan, c.points).run({x})[0];
    const float lsb = c.plan.active("y")->params.scale[0];
    struct Form {
      ExportFormat f;
      WeightStorage ws;
      const char* name;
    };
    for (const Form& form : {Form{ExportFormat::QDQ, WeightStorage::AsPlan, "qdq"},
                             Form{ExportFormat::QDQ, WeightStorage::UInt8, "qdq-uint8-weights"},
                             Form{ExportFormat::QOperator, WeightStorage::AsPlan, "qop"}})
      for (const char* opt : {"all", "basic"}) {
        const ExportFormat f = form.f;
        const std::string model = dir / (std::string(form.name) + ".onnx");
        std::ofstream(model, std::ios::binary) << export_bytes(g, c.plan, c.points, f, form.ws);
        const std::string out = dir / "y.f32";
        const std::string dims =
            run(std::string("QS_ORT_OPT=") + opt + " node " + (dir / "ort.mjs") + " " + prefix + " " + model +
                " " + (dir / "x.f32") + " 200,1,10,10 " + out + " 2>&1");
        ASSERT_EQ(dims.substr(0, 8), "[200,10]") << form.name << ": " << dims;
        std::ifstream yf(out, std::ios::binary);
        std::vector<float> y(2000);
        yf.read(reinterpret_cast<char*>(y.data()), 8000);
        int64_t within1 = 0, same_top1 = 0;
        float worst = 0;
        for (int64_t i = 0; i < 200; ++i) {
          int64_t a = 0, b = 0;
          for (int64_t k = 0; k < 10; ++k) {
            const float d =
                std::fabs(y[static_cast<size_t>(i * 10 + k)] - ours.data<float>()[i * 10 + k]) / lsb;
            worst = std::max(worst, d);
            within1 += d <= 1.001f;
            if (y[static_cast<size_t>(i * 10 + k)] > y[static_cast<size_t>(i * 10 + a)]) a = k;
            if (ours.data<float>()[i * 10 + k] > ours.data<float>()[i * 10 + b]) b = k;
          }
          same_top1 += a == b;
        }
        std::printf(
            "W%d %s, ORT optimization '%s': %lld/2000 outputs within 1 LSB of the integer engine (worst %.1f "
            "LSB), "
            "top-1 equal %lld/200\n",
            wbits, form.name, opt, static_cast<long long>(within1), worst, static_cast<long long>(same_top1));
        // ONNX Runtime requantizes in float rounding half to even, the engine with a fixed-point multiplier
        // rounding half up: they may differ by 1 LSB at ties. One known exception: with full-range 8-bit
        // weights, ORT's fused QDQ kernels on x86 without VNNI multiply u8·s8 with VPMADDUBSW, whose int16
        // pair sums saturate (ORT's documented "reduce_range" caveat), and drift by many LSB; the unfused
        // graph ('basic'), 7-bit weights and the same weights stored as uint8 (u8×u8 kernels, exact) show
        // the exact semantics. Only top-1 is asserted there.
        const bool ort_saturates = wbits == 8 && f == ExportFormat::QDQ && form.ws == WeightStorage::AsPlan &&
                                   std::string(opt) == "all";
        if (!ort_saturates) {
          EXPECT_GE(within1, 1990) << wbits << " " << form.name << " " << opt;
        }
        EXPECT_GE(same_top1, 194) << wbits << " " << form.name << " " << opt;
      }
  }
}

}  // namespace
}  // namespace qs
