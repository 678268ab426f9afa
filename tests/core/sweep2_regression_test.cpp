// Regressions found by the second exporter sweep (tools/sweep_check.sh on the models
// tools/make_sweep_models.py adds after "Second sweep"). Each test builds the form in code and checks it
// against an independent reference: the same computation in an older opset's form, the simulation, the
// unfused graph.
#include <gtest/gtest.h>

#include "core/common/error.h"
#include "core/export/onnx_writer.h"
#include "core/onnx/import.h"
#include "tests/core/int_test_util.h"

namespace qs {
namespace {

using testing::make_node;

Graph fixed_graph(int64_t opset, const Shape& input) {
  Graph g;
  g.opset = opset;
  g.opset_imports[""] = opset;
  std::vector<Dim> dims;
  for (int64_t d : input) dims.push_back(Dim{d, ""});
  g.inputs.push_back({"x", DType::Float32, dims});
  return g;
}

Model reload(const Graph& g) { return load_model_from_bytes(write_onnx_bytes(g), "model.onnx", "."); }

// A Shape node reading the output of an op ONNX's library has no schema for (a custom-domain op such as
// com.microsoft's, here) crashed the importer with SIGSEGV at opset 15 and later, inside libonnx's data
// propagation, instead of reporting the unsupported node.
TEST(Sweep2Regression, ShapeOfAnUnknownOpsOutputIsReportedNotACrash) {
  for (int64_t opset : {15, 17}) {
    Graph g = fixed_graph(opset, {1, 3, 4, 4});
    g.opset_imports["com.microsoft"] = 1;
    g.outputs.push_back({"s", DType::Int64, std::vector<Dim>{Dim{4, ""}}});
    Node custom = make_node("fused", "FusedGemm", {"x"}, {"f"});
    custom.domain = "com.microsoft";
    g.nodes = {custom, make_node("shape", "Shape", {"f"}, {"s"})};
    try {
      reload(g);
      FAIL() << "an op of domain com.microsoft was accepted";
    } catch (const UnsupportedError& e) {
      EXPECT_NE(std::string(e.what()).find("node 'fused'"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace qs
