#include "core/onnx/save.h"

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/common/error.h"
#include "core/common/file_io.h"
#include "core/onnx/graph_proto.h"

namespace qs {

namespace fs = std::filesystem;

void save_model(const Graph& g, const std::string& source_path, const std::string& out_path) {
  if (out_path.empty()) throw Error("no output file given");
  std::error_code ec;
  if (!source_path.empty() && fs::exists(out_path, ec) && fs::equivalent(source_path, out_path, ec))
    throw Error(out_path + ": is the model it was made from; write to another file");
  onnx::ModelProto m;
  if (!source_path.empty()) {
    std::ifstream f(source_path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    if (!f || !m.ParseFromString(ss.str())) throw Error(source_path + ": cannot read the source model again");
  } else {
    m.set_ir_version(8);
    for (const auto& [domain, version] : g.opset_imports) {
      auto* op = m.add_opset_import();
      op->set_domain(domain);
      op->set_version(version);
    }
  }
  m.set_producer_name("quantscope");
  m.set_producer_version(QS_VERSION);
  onnx::GraphProto* gp = m.mutable_graph();
  gp->set_name(g.name);
  gp->clear_node();
  gp->clear_initializer();
  gp->clear_sparse_initializer();
  gp->clear_input();
  gp->clear_output();
  gp->clear_value_info();
  onnx_io::write_graph_body(g, *gp, m.ir_version());
  std::string bytes;
  if (!m.SerializeToString(&bytes))
    throw Error(out_path + ": the model could not be serialized (larger than 2 GB?)");

  write_file_atomic(out_path, bytes);
}

}  // namespace qs
