// ONNX backend conformance: runs every case of ONNX's own test data (Debian's libonnx-testdata) through
// the importer and the float executor and compares with the stored outputs.
//
// A case is skipped only when the engine refuses it with UnsupportedError at load time (an op, opset,
// attribute value or data type we do not implement) — the reason is printed. Any other load error, run
// error or mismatch fails. At the end a table gives passed / skipped / failed per op type.
//
// QS_ONNX_TESTDATA overrides the data folder (default /usr/share/libonnx-testdata/data).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <set>

#include "core/onnx/import.h"
#include "core/runtime/executor.h"

namespace fs = std::filesystem;

namespace {

std::string data_root() {
  const char* env = std::getenv("QS_ONNX_TESTDATA");
  return env ? env : "/usr/share/libonnx-testdata/data";
}

struct Case {
  std::string suite;  // node, pytorch-converted, pytorch-operator
  std::string name;   // folder name, e.g. test_conv_with_strides_padding
  fs::path dir;
};

// Lets gtest print a case by its folder instead of its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.suite << "/" << c.name; }

std::vector<Case> discover() {
  std::vector<Case> cases;
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator"}) {
    const fs::path root = fs::path(data_root()) / suite;
    std::error_code ec;
    if (!fs::is_directory(root, ec)) continue;
    for (const auto& e : fs::directory_iterator(root))
      if (fs::exists(e.path() / "model.onnx")) cases.push_back({suite, e.path().filename().string(), e.path()});
  }
  std::sort(cases.begin(), cases.end(), [](const Case& a, const Case& b) { return a.dir < b.dir; });
  return cases;
}

struct Tally {
  int passed = 0, skipped = 0, failed = 0;
};
std::mutex g_mu;
std::map<std::string, Tally> g_by_op;
std::map<std::string, int> g_skip_reasons;

// Op types of a case's model, read without running any of our checks.
std::set<std::string> op_types_of(const fs::path& model) {
  qs::LoadOptions o;
  o.check_supported = false;
  o.fold_constants = false;
  o.fold_batchnorm = false;
  o.remove_identity = false;
  std::set<std::string> ops;
  try {
    for (const auto& n : qs::load_model(model.string(), o).graph.nodes)
      ops.insert(n.domain.empty() ? n.op_type : n.domain + "." + n.op_type);
  } catch (const std::exception&) {
    ops.insert("(model not loadable)");
  }
  return ops;
}

void record(const std::set<std::string>& ops, int Tally::*field) {
  std::lock_guard<std::mutex> lock(g_mu);
  for (const auto& op : ops) ++(g_by_op[op].*field);
}

std::string skip_category(const std::string& msg) {
  for (const char* k : {"op type is not supported", "opset version of the op", "op domain", "data type",
                        "opset", "not a tensor", "sparse"})
    if (msg.find(k) != std::string::npos) return k;
  return "attribute or value";
}

::testing::AssertionResult compare(const qs::Tensor& got, const qs::Tensor& want, double rtol, double atol) {
  if (got.dtype() != want.dtype())
    return ::testing::AssertionFailure() << "type " << got.str() << " vs expected " << want.str();
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << "shape " << got.str() << " vs expected " << want.str();
  int64_t bad = 0, first = -1;
  double worst = 0;
  const bool is_float = want.dtype() == qs::DType::Float32 || want.dtype() == qs::DType::Float64;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double a = got.value_as_double(i), b = want.value_as_double(i);
    bool ok;
    if (is_float) {
      ok = (std::isnan(a) && std::isnan(b)) || (std::isinf(b) && a == b) || std::abs(a - b) <= atol + rtol * std::abs(b);
    } else {
      ok = got.value_as_int(i) == want.value_as_int(i);
    }
    if (!ok) {
      if (first < 0) first = i;
      ++bad;
      worst = std::max(worst, std::abs(a - b));
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << want.numel() << " elements differ; first at " << first
                                       << ": got " << got.value_as_double(first) << ", expected "
                                       << want.value_as_double(first) << "; worst |diff| " << worst;
}

class Conformance : public ::testing::TestWithParam<Case> {};

TEST_P(Conformance, MatchesStoredOutputs) {
  const Case& c = GetParam();
  const auto ops = op_types_of(c.dir / "model.onnx");
  qs::LoadOptions opts;
  // Test the kernels themselves: no folding or removal of nodes.
  opts.fold_constants = false;
  opts.fold_batchnorm = false;
  opts.remove_identity = false;
  std::unique_ptr<qs::Executor> ex;
  try {
    auto model = qs::load_model((c.dir / "model.onnx").string(), opts);
    ex = std::make_unique<qs::Executor>(std::move(model.graph));
  } catch (const qs::UnsupportedError& e) {
    record(ops, &Tally::skipped);
    {
      std::lock_guard<std::mutex> lock(g_mu);
      ++g_skip_reasons[skip_category(e.what())];
    }
    GTEST_SKIP() << e.what();
  } catch (const std::exception& e) {
    record(ops, &Tally::failed);
    FAIL() << "load failed: " << e.what();
  }

  bool ok = true;
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(c.dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  for (const auto& set : sets) {
    std::vector<qs::Tensor> inputs, expected;
    try {
      for (size_t i = 0; fs::exists(set / ("input_" + std::to_string(i) + ".pb")); ++i)
        inputs.push_back(qs::load_tensor_pb((set / ("input_" + std::to_string(i) + ".pb")).string()));
      for (size_t i = 0; fs::exists(set / ("output_" + std::to_string(i) + ".pb")); ++i)
        expected.push_back(qs::load_tensor_pb((set / ("output_" + std::to_string(i) + ".pb")).string()));
    } catch (const qs::UnsupportedError& e) {
      record(ops, &Tally::skipped);
      GTEST_SKIP() << "test data: " << e.what();
    }
    // Some cases feed fewer inputs than the graph declares (trailing optional inputs).
    const auto& gin = ex->graph().inputs;
    std::map<std::string, qs::Tensor> feeds;
    for (size_t i = 0; i < inputs.size() && i < gin.size(); ++i) feeds[gin[i].name] = inputs[i];
    std::vector<std::string> fetch;
    for (const auto& o : ex->graph().outputs) fetch.push_back(o.name);
    std::map<std::string, qs::Tensor> got;
    try {
      got = ex->run(feeds, fetch);
    } catch (const std::exception& e) {
      ADD_FAILURE() << set.filename() << ": run failed: " << e.what();
      ok = false;
      continue;
    }
    if (expected.size() != fetch.size()) {
      ADD_FAILURE() << set.filename() << ": " << expected.size() << " stored outputs, the model has " << fetch.size();
      ok = false;
      continue;
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      auto r = compare(got[fetch[i]], expected[i], 1e-3, 1e-5);
      if (!r) {
        ADD_FAILURE() << set.filename() << " output '" << fetch[i] << "': " << r.message();
        ok = false;
      }
    }
  }
  record(ops, ok ? &Tally::passed : &Tally::failed);
}

std::string param_name(const ::testing::TestParamInfo<Case>& info) {
  std::string s = info.param.suite + "_" + info.param.name;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(OnnxBackend, Conformance, ::testing::ValuesIn(discover()), param_name);

class Report : public ::testing::Environment {
 public:
  void TearDown() override {
    std::cout << "\nONNX conformance by op type (a case counts once for each op type it contains):\n";
    std::printf("%-32s %7s %7s %7s\n", "op", "passed", "skipped", "failed");
    Tally total;
    for (const auto& [op, t] : g_by_op) {
      std::printf("%-32s %7d %7d %7d\n", op.c_str(), t.passed, t.skipped, t.failed);
    }
    std::cout << "skip reasons:";
    for (const auto& [r, n] : g_skip_reasons) std::cout << " [" << r << "] " << n << ";";
    std::cout << "\n";
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new Report);
  if (discover().empty()) {
    std::cerr << "no ONNX test data under " << data_root() << " (install libonnx-testdata)\n";
    return 1;
  }
  return RUN_ALL_TESTS();
}
