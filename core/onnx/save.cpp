#include "core/onnx/save.h"

#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/common/error.h"
#include "core/onnx/tensor_proto.h"

namespace qs {

namespace fs = std::filesystem;

namespace {

void write_value_info(const ValueInfo& v, onnx::ValueInfoProto& p) {
  p.set_name(v.name);
  auto* tt = p.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(v.dtype == DType::Undefined ? DType::Float32 : v.dtype));
  if (!v.shape) return;
  auto* shape = tt->mutable_shape();
  for (const Dim& d : *v.shape) {
    auto* dp = shape->add_dim();
    if (d.known())
      dp->set_dim_value(d.value);
    else if (!d.param.empty())
      dp->set_dim_param(d.param);
  }
}

void write_attribute(const Node& n, const std::string& name, const Attribute& a, onnx::AttributeProto& p) {
  using A = onnx::AttributeProto;
  p.set_name(name);
  switch (a.kind) {
    case Attribute::Kind::Float:
      p.set_type(A::FLOAT);
      p.set_f(a.f);
      break;
    case Attribute::Kind::Int:
      p.set_type(A::INT);
      p.set_i(a.i);
      break;
    case Attribute::Kind::String:
      p.set_type(A::STRING);
      p.set_s(a.s);
      break;
    case Attribute::Kind::Tensor:
      p.set_type(A::TENSOR);
      onnx_io::to_proto(a.t, *p.mutable_t());
      break;
    case Attribute::Kind::Floats:
      p.set_type(A::FLOATS);
      for (float v : a.floats) p.add_floats(v);
      break;
    case Attribute::Kind::Ints:
      p.set_type(A::INTS);
      for (int64_t v : a.ints) p.add_ints(v);
      break;
    case Attribute::Kind::Strings:
      p.set_type(A::STRINGS);
      for (const auto& v : a.strings) p.add_strings(v);
      break;
    default:
      throw UnsupportedError(n.describe() + ": attribute '" + name +
                             "' (a subgraph or an unsupported kind) cannot be written");
  }
}

}  // namespace

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
  for (const auto& in : g.inputs) write_value_info(in, *gp->add_input());
  for (const auto& out : g.outputs) write_value_info(out, *gp->add_output());
  for (const auto& [name, t] : g.initializers) {
    onnx::TensorProto* tp = gp->add_initializer();
    onnx_io::to_proto(t, *tp);
    tp->set_name(name);
    if (m.ir_version() < 4) {  // before IR 4 every initializer must also be a graph input
      ValueInfo vi;
      vi.name = name;
      vi.dtype = t.dtype();
      vi.shape = std::vector<Dim>();
      for (int64_t d : t.shape()) vi.shape->push_back(Dim{d, ""});
      write_value_info(vi, *gp->add_input());
    }
  }
  for (const Node& n : g.nodes) {
    onnx::NodeProto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    np->set_domain(n.domain);
    for (const auto& v : n.inputs) np->add_input(v);
    for (const auto& v : n.outputs) np->add_output(v);
    for (const auto& [name, a] : n.attrs) write_attribute(n, name, a, *np->add_attribute());
  }
  std::string bytes;
  if (!m.SerializeToString(&bytes))
    throw Error(out_path + ": the model could not be serialized (larger than 2 GB?)");

  const fs::path target(out_path);
  const fs::path tmp =
      target.parent_path() / (target.filename().string() + ".tmp." + std::to_string(::getpid()));
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error(out_path + ": cannot write (folder missing or not writable)");
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.close();
    if (!f) {
      fs::remove(tmp, ec);
      throw Error(out_path + ": writing failed (disk full?)");
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    throw Error(out_path + ": cannot replace the file: " + why);
  }
}

}  // namespace qs
