#include "core/onnx/graph_proto.h"

#include "core/common/error.h"
#include "core/onnx/tensor_proto.h"

namespace qs::onnx_io {

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
      to_proto(a.t, *p.mutable_t());
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

void write_graph_body(const Graph& g, onnx::GraphProto& gp, int64_t ir_version) {
  for (const auto& in : g.inputs) write_value_info(in, *gp.add_input());
  for (const auto& out : g.outputs) write_value_info(out, *gp.add_output());
  for (const auto& [name, t] : g.initializers) {
    onnx::TensorProto* tp = gp.add_initializer();
    to_proto(t, *tp);
    tp->set_name(name);
    if (ir_version < 4) {
      ValueInfo vi;
      vi.name = name;
      vi.dtype = t.dtype();
      vi.shape = std::vector<Dim>();
      for (int64_t d : t.shape()) vi.shape->push_back(Dim{d, ""});
      write_value_info(vi, *gp.add_input());
    }
  }
  for (const Node& n : g.nodes) {
    onnx::NodeProto* np = gp.add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    for (const auto& v : n.inputs) np->add_input(v);
    for (const auto& v : n.outputs) np->add_output(v);
    for (const auto& [name, a] : n.attrs) write_attribute(n, name, a, *np->add_attribute());
  }
}

}  // namespace qs::onnx_io
