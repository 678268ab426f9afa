#include "core/onnx/import.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/graph/passes.h"
#include "core/onnx/library_opset.h"
#include "core/onnx/tensor_proto.h"
#include "core/ops/kernel.h"

namespace qs {

namespace fs = std::filesystem;

namespace {

// Oldest and newest default-domain opset we accept at all; each op's kernel narrows this further.
constexpr int64_t kMinOpset = 7;
constexpr int64_t kMaxOpset = 18;

std::vector<Dim> dims_of(const onnx::TypeProto& t, bool* has_shape) {
  std::vector<Dim> dims;
  *has_shape = t.has_tensor_type() && t.tensor_type().has_shape();
  if (!*has_shape) return dims;
  for (const auto& d : t.tensor_type().shape().dim()) {
    Dim x;
    if (d.has_dim_value())
      x.value = d.dim_value();
    else if (d.has_dim_param())
      x.param = d.dim_param();
    dims.push_back(x);
  }
  return dims;
}

ValueInfo value_info_of(const onnx::ValueInfoProto& v) {
  ValueInfo vi;
  vi.name = v.name();
  if (v.type().has_tensor_type()) vi.dtype = static_cast<DType>(v.type().tensor_type().elem_type());
  bool has_shape = false;
  auto dims = dims_of(v.type(), &has_shape);
  if (has_shape) vi.shape = std::move(dims);
  return vi;
}

Attribute attribute_of(const onnx::AttributeProto& a, const std::string& base_dir, const std::string& ctx);

// A subgraph (an If's branch) as a Graph: nodes with their attributes, initializers, outputs. Names are kept
// as written (inline_constant_ifs prefixes them when it inlines the branch).
std::shared_ptr<const Graph> subgraph_of(const onnx::GraphProto& gp, const std::string& base_dir,
                                         const std::string& ctx) {
  auto g = std::make_shared<Graph>();
  g->name = gp.name();
  for (const auto& t : gp.initializer())
    g->initializers.emplace(t.name(), onnx_io::from_proto(t, base_dir, ctx));
  for (const auto& o : gp.output()) g->outputs.push_back(value_info_of(o));
  int index = 0;
  for (const auto& np : gp.node()) {
    Node n;
    n.op_type = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    n.name = np.name().empty() ? n.op_type + "_" + std::to_string(index) : np.name();
    ++index;
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    for (const auto& at : np.attribute())
      n.attrs[at.name()] =
          attribute_of(at, base_dir, ctx + " node '" + n.name + "' attribute '" + at.name() + "'");
    g->nodes.push_back(std::move(n));
  }
  return g;
}

Attribute attribute_of(const onnx::AttributeProto& a, const std::string& base_dir, const std::string& ctx) {
  Attribute r;
  using A = onnx::AttributeProto;
  switch (a.type()) {
    case A::FLOAT:
      r.kind = Attribute::Kind::Float;
      r.f = a.f();
      break;
    case A::INT:
      r.kind = Attribute::Kind::Int;
      r.i = a.i();
      break;
    case A::STRING:
      r.kind = Attribute::Kind::String;
      r.s = a.s();
      break;
    case A::TENSOR:
      r.kind = Attribute::Kind::Tensor;
      r.t = onnx_io::from_proto(a.t(), base_dir, ctx);
      break;
    case A::FLOATS:
      r.kind = Attribute::Kind::Floats;
      r.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case A::INTS:
      r.kind = Attribute::Kind::Ints;
      r.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case A::STRINGS:
      r.kind = Attribute::Kind::Strings;
      r.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case A::GRAPH:
      // Kept for inline_constant_ifs; otherwise subgraphs (If/Loop/Scan) are not executed: the op is refused.
      r.kind = Attribute::Kind::Graph;
      r.graph = subgraph_of(a.g(), base_dir, ctx);
      break;
    case A::GRAPHS:
      r.kind = Attribute::Kind::Graph;
      break;
    default:
      r.kind = Attribute::Kind::Undefined;  // sparse tensors, type protos: refused by the kernel if used
      break;
  }
  return r;
}

void apply_input_shapes(onnx::ModelProto& m, const std::map<std::string, Shape>& shapes,
                        const std::string& file) {
  std::set<std::string> seen;
  for (auto& in : *m.mutable_graph()->mutable_input()) {
    auto it = shapes.find(in.name());
    if (it == shapes.end()) continue;
    seen.insert(in.name());
    auto* shape = in.mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() != 0 && shape->dim_size() != static_cast<int>(it->second.size()))
      throw Error(file + ": input '" + in.name() + "' has rank " + std::to_string(shape->dim_size()) +
                  ", the given shape " + shape_str(it->second) + " has rank " +
                  std::to_string(it->second.size()));
    for (int i = 0; i < shape->dim_size(); ++i) {
      const auto& d = shape->dim(i);
      if (d.has_dim_value() && d.dim_value() != it->second[static_cast<size_t>(i)])
        throw Error(file + ": input '" + in.name() + "' has fixed shape dimension " + std::to_string(i) +
                    " = " + std::to_string(d.dim_value()) + ", the given shape " + shape_str(it->second) +
                    " differs");
    }
    shape->clear_dim();
    for (int64_t d : it->second) shape->add_dim()->set_dim_value(d);
  }
  for (const auto& [name, s] : shapes)
    if (!seen.count(name)) throw Error(file + ": the model has no input named '" + name + "'");
}

// True when every input of every node has a type in the graph (an input, initializer, output or
// value_info entry, as shape inference leaves them).
bool every_node_input_typed(const onnx::GraphProto& gp) {
  std::set<std::string> typed;
  for (const auto& t : gp.initializer()) typed.insert(t.name());
  for (const auto* list : {&gp.input(), &gp.output(), &gp.value_info()})
    for (const auto& v : *list)
      if (v.has_type() && v.type().value_case() != onnx::TypeProto::VALUE_NOT_SET) typed.insert(v.name());
  for (const auto& n : gp.node())
    for (const auto& in : n.input())
      if (!in.empty() && !typed.count(in)) return false;
  return true;
}

// Builds every kernel once so that every unsupported node is reported together, at load time.
void check_supported(const Graph& g, const std::string& file) {
  std::vector<std::string> problems;
  for (const Node& n : g.nodes) {
    KernelInit init{
        n, n.domain.empty() ? g.opset : (g.opset_imports.count(n.domain) ? g.opset_imports.at(n.domain) : 0),
        [&g](const std::string& v) { return g.initializer(v); }};
    try {
      OpRegistry::instance().create(init);
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
  if (problems.empty()) return;
  std::string msg = file + ": " + std::to_string(problems.size()) + " node(s) cannot run:";
  for (const auto& p : problems) msg += "\n  " + p;
  throw UnsupportedError(msg);
}

}  // namespace

Model load_model(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such file");
  if (fs::is_directory(path, ec)) throw Error(path + ": is a folder, not an ONNX model file");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open for reading");
  std::stringstream ss;
  ss << f.rdbuf();
  const fs::path parent = fs::path(path).parent_path();
  return load_model_from_bytes(ss.str(), path, parent.empty() ? "." : parent.string(), options);
}

Model load_model_from_bytes(const std::string& bytes, const std::string& file, const std::string& base_dir,
                            const LoadOptions& options) {
  onnx::ModelProto m;
  if (bytes.empty()) throw Error(file + ": the file is empty");
  if (!m.ParseFromString(bytes))
    throw Error(
        file +
        ": not a valid ONNX model (the protobuf could not be parsed; the file is truncated or corrupt)");
  if (!m.has_graph()) throw Error(file + ": not a valid ONNX model (no graph)");

  Model model;
  model.path = file;
  model.ir_version = m.ir_version();
  model.producer = m.producer_name() + (m.producer_version().empty() ? "" : " " + m.producer_version());
  Graph& g = model.graph;
  g.name = m.graph().name();

  for (const auto& op : m.opset_import()) {
    const std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
    g.opset_imports[domain] = op.version();
  }
  const bool uses_default_domain =
      std::any_of(m.graph().node().begin(), m.graph().node().end(),
                  [](const auto& n) { return n.domain().empty() || n.domain() == "ai.onnx"; });
  if (!g.opset_imports.count("") && uses_default_domain)
    throw Error(file + ": the model uses ONNX ops but imports no version of the default ONNX domain");
  g.opset = g.opset_imports.count("") ? g.opset_imports[""] : 0;
  if (uses_default_domain && (g.opset < kMinOpset || g.opset > kMaxOpset))
    throw UnsupportedError(file + ": default-domain opset " + std::to_string(g.opset) +
                           " is not supported (" + std::to_string(kMinOpset) + "–" +
                           std::to_string(kMaxOpset) + " are)");

  // ONNX's checker: findings are reported, not fatal — real exporters produce models it nags about; we
  // refuse only what cannot run, further below.
  // Nodes in a form newer than the library's schemas are hidden from it (onnx/library_opset.h): the
  // checker would refuse them and shape inference, applying an older schema, infer wrong shapes (which
  // Shape folding would then bake in). Hidden, their outputs' shapes (and downstream) stay unknown.
  const std::vector<int> hidden = onnx_io::hide_from_checker(m);
  try {
    onnx::checker::check_model(m);
  } catch (const std::exception& e) {
    model.warnings.push_back(std::string("ONNX checker: ") + e.what());
  }

  apply_input_shapes(m, options.input_shapes, file);
  try {
    // Data propagation (shape values through Shape → Gather → Concat → Reshape) crashes libonnx 1.12
    // (SIGSEGV in Shape-15's propagator) when a node's input has no type: the output of a custom-domain
    // op, of an op it has no schema for, or of a node whose inference failed. So first infer without it,
    // then propagate data only if every node input has a type.
    onnx::ShapeInferenceOptions plain(/*check_type=*/false, /*strict=*/0, /*data_prop=*/false);
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), plain);
    if (every_node_input_typed(m.graph())) {
      onnx::ShapeInferenceOptions so(/*check_type=*/false, /*strict=*/0, /*data_prop=*/true);
      onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), so);
    }
  } catch (const std::exception& e) {
    model.warnings.push_back(std::string("ONNX shape inference: ") + e.what());
  }
  onnx_io::unhide_from_checker(m, hidden);

  const auto& gp = m.graph();
  for (const auto& t : gp.initializer()) {
    if (g.initializers.count(t.name()))
      throw Error(file + ": initializer '" + t.name() + "' is defined twice");
    g.initializers.emplace(t.name(), onnx_io::from_proto(t, base_dir, file));
  }
  if (gp.sparse_initializer_size() > 0)
    throw UnsupportedError(file + ": sparse initializers are not supported");
  for (const auto& in : gp.input()) {
    // Before IR 4 every initializer is also listed as an input; since then an input with an initializer
    // is an overridable default. Either way we treat it as the constant.
    if (g.initializers.count(in.name())) continue;
    ValueInfo vi = value_info_of(in);
    if (!in.type().has_tensor_type())
      throw UnsupportedError(file + ": input '" + in.name() +
                             "' is not a tensor (sequences/maps are not supported)");
    g.inputs.push_back(std::move(vi));
  }
  for (const auto& out : gp.output()) g.outputs.push_back(value_info_of(out));
  for (const auto& v : gp.value_info()) g.value_info.emplace(v.name(), value_info_of(v));
  for (const auto& v : gp.input()) g.value_info.emplace(v.name(), value_info_of(v));
  for (const auto& v : gp.output()) g.value_info.emplace(v.name(), value_info_of(v));

  // Node names identify nodes in every message and plan, so each must be unique: an unnamed node gets
  // "<op>_<index>", a repeated name gets "_<index>" appended, avoiding every name given in the file.
  std::set<std::string> names;
  for (const auto& np : gp.node()) names.insert(np.name());
  std::set<std::string> taken;
  int index = 0;
  for (const auto& np : gp.node()) {
    Node n;
    n.op_type = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    n.name = np.name();
    if (n.name.empty() || taken.count(n.name)) {
      const std::string base = (n.name.empty() ? n.op_type : n.name) + "_" + std::to_string(index);
      n.name = base;
      for (int k = 1; names.count(n.name) || taken.count(n.name); ++k)
        n.name = base + "_" + std::to_string(k);
    }
    taken.insert(n.name);
    ++index;
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    for (const auto& a : np.attribute()) {
      if (!a.ref_attr_name().empty())
        throw UnsupportedError(file + ": " + n.describe() + ": attribute '" + a.name() +
                               "' refers to a function attribute");
      n.attrs[a.name()] =
          attribute_of(a, base_dir, file + ": " + n.describe() + " attribute '" + a.name() + "'");
    }
    g.nodes.push_back(std::move(n));
  }

  try {
    g.topological_sort();
  } catch (const Error& e) {
    throw Error(file + ": " + e.what());
  }
  for (const auto& o : g.outputs)
    if (g.producer(o.name) < 0 && !g.is_initializer(o.name) &&
        std::none_of(g.inputs.begin(), g.inputs.end(), [&](const ValueInfo& v) { return v.name == o.name; }))
      throw Error(file + ": graph output '" + o.name + "' is produced by no node");
  // Without this an input of a type a Tensor cannot hold (bfloat16, complex, ...) fails at run time with a
  // confusing type mismatch.
  for (const auto& in : g.inputs)
    if (in.dtype != DType::Undefined && !dtype_supported(in.dtype))
      throw UnsupportedError(file + ": input '" + in.name + "' has unsupported type " + dtype_name(in.dtype) +
                             " (supported: " + supported_dtype_names() + ")");

  try {
    // An If on a condition known at load time is its branch (graph/passes.h): folded first, so that the
    // condition is a constant, then sorted again, as the branch's nodes read values made anywhere before.
    if (options.fold_constants &&
        std::any_of(g.nodes.begin(), g.nodes.end(), [](const Node& n) { return n.op_type == "If"; })) {
      fold_constants(g);
      if (inline_constant_ifs(g) > 0) g.topological_sort();
    }
    if (options.remove_identity) remove_identity(g);
    if (options.fold_constants) fold_constants(g);
    if (options.fold_batchnorm) fold_batchnorm(g);
    remove_unused_initializers(g);
  } catch (const Error& e) {
    throw Error(file + ": " + e.what());
  }
  if (options.check_supported) check_supported(g, file);
  return model;
}

Tensor load_tensor_pb(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open for reading");
  std::stringstream ss;
  ss << f.rdbuf();
  onnx::TensorProto p;
  if (!p.ParseFromString(ss.str())) throw Error(path + ": not a serialized ONNX TensorProto");
  const fs::path parent = fs::path(path).parent_path();
  return onnx_io::from_proto(p, parent.string(), path);
}

}  // namespace qs
