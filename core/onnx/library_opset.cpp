#include "core/onnx/library_opset.h"

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <map>

namespace qs::onnx_io {

int64_t library_max_opset() {
  const auto& m = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  const auto it = m.find(onnx::ONNX_DOMAIN);
  return it == m.end() ? 0 : it->second.second;
}

bool library_lacks_schema(const std::string& op_type, int64_t opset) {
  // Default-domain ops whose signature changed at opset 18 (ONNX's Changelog.md), the opset of the change.
  static const std::map<std::string, int64_t> changed = {
      {"ReduceL1", 18},  {"ReduceL2", 18},   {"ReduceLogSum", 18}, {"ReduceLogSumExp", 18}, {"ReduceMax", 18},
      {"ReduceMin", 18}, {"ReduceMean", 18}, {"ReduceProd", 18},   {"ReduceSumSquare", 18}, {"Pad", 18},
      {"Resize", 18},    {"Split", 18},      {"ScatterND", 18},    {"ScatterElements", 18}, {"LpPool", 18}};
  const auto it = changed.find(op_type);
  return it != changed.end() && opset >= it->second && it->second > library_max_opset();
}

namespace {
constexpr const char* kHiddenDomain = "quantscope.unchecked";
}

std::vector<int> hide_from_checker(onnx::ModelProto& m) {
  int64_t opset = 0;
  for (const auto& op : m.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") opset = op.version();
  std::vector<int> hidden;
  if (opset <= library_max_opset()) return hidden;
  auto* nodes = m.mutable_graph()->mutable_node();
  for (int i = 0; i < nodes->size(); ++i) {
    auto& n = (*nodes)[i];
    if ((n.domain().empty() || n.domain() == "ai.onnx") && library_lacks_schema(n.op_type(), opset)) {
      n.set_domain(kHiddenDomain);
      hidden.push_back(i);
    }
  }
  if (!hidden.empty()) {
    auto* op = m.add_opset_import();
    op->set_domain(kHiddenDomain);
    op->set_version(1);
  }
  return hidden;
}

void unhide_from_checker(onnx::ModelProto& m, const std::vector<int>& hidden) {
  if (hidden.empty()) return;
  for (int i : hidden) m.mutable_graph()->mutable_node(i)->clear_domain();
  auto* imports = m.mutable_opset_import();
  for (int i = imports->size() - 1; i >= 0; --i)
    if ((*imports)[i].domain() == kHiddenDomain) imports->DeleteSubrange(i, 1);
}

}  // namespace qs::onnx_io
