#include "core/export/onnx_writer.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "core/common/error.h"
#include "core/onnx/tensor_proto.h"

namespace qs {

namespace {

void write_value_info(const ValueInfo& v, onnx::ValueInfoProto& p) {
  p.set_name(v.name);
  auto* tt = p.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(v.dtype == DType::Undefined ? DType::Float32 : v.dtype));
  if (!v.shape) return;
  auto* shape = tt->mutable_shape();
  for (const Dim& d : *v.shape) {
    auto* dp = shape->add_dim();
    if (d.known()) dp->set_dim_value(d.value);
    else if (!d.param.empty()) dp->set_dim_param(d.param);
  }
}

void write_attribute(const Node& n, const std::string& name, const Attribute& a, onnx::AttributeProto& p) {
  using A = onnx::AttributeProto;
  p.set_name(name);
  switch (a.kind) {
    case Attribute::Kind::Float: p.set_type(A::FLOAT); p.set_f(a.f); break;
    case Attribute::Kind::Int: p.set_type(A::INT); p.set_i(a.i); break;
    case Attribute::Kind::String: p.set_type(A::STRING); p.set_s(a.s); break;
    case Attribute::Kind::Tensor: p.set_type(A::TENSOR); onnx_io::to_proto(a.t, *p.mutable_t()); break;
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
      throw UnsupportedError(n.describe() + ": attribute '" + name + "' (a subgraph) cannot be exported");
  }
}

}  // namespace

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
  for (const auto& in : g.inputs) write_value_info(in, *gp->add_input());
  for (const auto& out : g.outputs) write_value_info(out, *gp->add_output());
  for (const auto& [name, t] : g.initializers) {
    onnx::TensorProto* tp = gp->add_initializer();
    onnx_io::to_proto(t, *tp);
    tp->set_name(name);
  }
  for (const Node& n : g.nodes) {
    onnx::NodeProto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    for (const auto& v : n.inputs) np->add_input(v);
    for (const auto& v : n.outputs) np->add_output(v);
    for (const auto& [name, a] : n.attrs) write_attribute(n, name, a, *np->add_attribute());
  }
  // Graph inputs and outputs need a shape for the checker; a graph built in code may not declare the
  // outputs' shapes: shape inference fills them in.
  bool missing = false;
  for (const auto& v : gp->output()) missing = missing || !v.type().tensor_type().has_shape();
  if (missing) {
    try {
      onnx::shape_inference::InferShapes(m);
    } catch (const std::exception&) {
      // left for the checker to report
    }
  }
  std::string bytes;
  if (!m.SerializeToString(&bytes)) throw Error("the exported model could not be serialized (larger than 2 GB?)");
  return bytes;
}

void check_onnx_bytes(const std::string& bytes, const std::string& what) {
  onnx::ModelProto m;
  if (!m.ParseFromString(bytes)) throw Error(what + ": the written model does not parse");
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
