#include "core/export/onnx_writer.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "core/common/error.h"
#include "core/onnx/graph_proto.h"
#include "core/onnx/library_opset.h"

namespace qs {

std::string write_onnx_bytes(const Graph& g) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("quantscope");
  m.set_producer_version(QS_VERSION);
  auto* def = m.add_opset_import();
  def->set_domain("");
  def->set_version(g.opset);
  for (const auto& [domain, version] : g.opset_imports) {
    if (domain.empty()) continue;
    auto* op = m.add_opset_import();
    op->set_domain(domain);
    op->set_version(version);
  }
  onnx::GraphProto* gp = m.mutable_graph();
  gp->set_name(g.name.empty() ? "quantscope" : g.name);
  onnx_io::write_graph_body(g, *gp, m.ir_version());
  // Graph inputs and outputs need a shape for the checker; a graph built in code may not declare the
  // outputs' shapes: shape inference fills them in.
  bool missing = false;
  for (const auto& v : gp->output()) missing = missing || !v.type().tensor_type().has_shape();
  if (missing) {
    // Not on nodes newer than the library's schemas: it would infer wrong shapes for them (library_opset.h).
    const std::vector<int> hidden = onnx_io::hide_from_checker(m);
    try {
      onnx::shape_inference::InferShapes(m);
    } catch (const std::exception&) {
      // left for the checker to report
    }
    onnx_io::unhide_from_checker(m, hidden);
  }
  std::string bytes;
  if (!m.SerializeToString(&bytes))
    throw Error("the exported model could not be serialized (larger than 2 GB?)");
  return bytes;
}

void check_onnx_bytes(const std::string& bytes, const std::string& what) {
  onnx::ModelProto m;
  if (!m.ParseFromString(bytes)) throw Error(what + ": the written model does not parse");
  // Nodes in a form newer than the library's schemas (a model of opset 18) are left to ONNX Runtime; the
  // checker and the strict shape inference check the rest (onnx/library_opset.h).
  onnx_io::hide_from_checker(m);
  try {
    onnx::checker::check_model(m);
  } catch (const std::exception& e) {
    throw Error(what + ": ONNX's checker refuses the exported model: " + e.what());
  }
  // The checker's "full check": shape and type inference, strict (node-level errors throw).
  try {
    onnx::ShapeInferenceOptions so(/*check_type=*/true, /*strict=*/1, /*data_prop=*/false);
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), so);
  } catch (const std::exception& e) {
    throw Error(what + ": ONNX's shape inference refuses the exported model: " + e.what());
  }
}

}  // namespace qs
