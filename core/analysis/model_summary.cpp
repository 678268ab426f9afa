#include "core/analysis/model_summary.h"

#include "core/runtime/executor.h"

namespace qs {

bool is_quantizable_layer(const Graph& g, const Node& n, int* weight_input) {
  if (!n.domain.empty()) return false;
  int w = -1;
  if (n.op_type == "Conv" || n.op_type == "ConvTranspose" || n.op_type == "Gemm") {
    if (n.has_input(1) && g.is_initializer(n.inputs[1])) w = 1;
  } else if (n.op_type == "MatMul") {
    if (n.has_input(1) && g.is_initializer(n.inputs[1])) w = 1;
    else if (n.has_input(0) && g.is_initializer(n.inputs[0])) w = 0;
  }
  if (w < 0) return false;
  const Tensor* t = g.initializer(n.inputs[static_cast<size_t>(w)]);
  if (t->dtype() != DType::Float32 || t->rank() < 2) return false;
  if (weight_input) *weight_input = w;
  return true;
}

namespace {

std::optional<int64_t> layer_macs(const Node& n, const Shape& wshape, const std::map<std::string, Shape>& shapes) {
  auto in = shapes.find(n.inputs[0]);
  auto out = shapes.find(n.outputs[0]);
  if (in == shapes.end() || out == shapes.end()) return std::nullopt;
  if (n.op_type == "Conv") {
    // Each output element takes Cin/group · prod(kernel) MACs; weight is [Cout, Cin/group, k...].
    return numel(out->second) * (numel(wshape) / wshape[0]);
  }
  if (n.op_type == "ConvTranspose") {
    // Each input element is scattered to Cout/group · prod(kernel) outputs; weight is [Cin, Cout/group, k...].
    return numel(in->second) * (numel(wshape) / wshape[0]);
  }
  if (n.op_type == "Gemm") {
    const int64_t k = n.attr_int("transA", 0) ? in->second[0] : in->second[1];
    return numel(out->second) * k;
  }
  if (n.op_type == "MatMul") {
    // K is the contracted extent: the last axis of A.
    const Shape& a = in->second;
    const int64_t k = a.empty() ? 1 : a.back();
    return numel(out->second) * k;
  }
  return std::nullopt;
}

}  // namespace

ModelSummary summarize(const Graph& g, const std::map<std::string, Shape>& input_shapes) {
  ModelSummary s;
  s.inputs = g.inputs;
  s.outputs = g.outputs;
  for (const auto& n : g.nodes) ++s.op_counts[n.domain.empty() ? n.op_type : n.domain + "." + n.op_type];
  for (const auto& [name, t] : g.initializers) s.params += t.numel();

  // Concrete input shapes for the dry run.
  bool all_known = true;
  for (const auto& in : g.inputs) {
    auto it = input_shapes.find(in.name);
    if (it != input_shapes.end()) {
      s.input_shapes[in.name] = it->second;
      continue;
    }
    if (!in.shape) {
      all_known = false;
      s.notes.push_back("input '" + in.name + "' has unknown rank: give --input-shape");
      continue;
    }
    Shape shape;
    bool ok = true;
    for (size_t i = 0; i < in.shape->size(); ++i) {
      const Dim& d = (*in.shape)[i];
      if (d.known()) shape.push_back(d.value);
      else if (i == 0) shape.push_back(1);  // dynamic batch: figures are per sample
      else ok = false;
    }
    if (ok) {
      s.input_shapes[in.name] = shape;
    } else {
      all_known = false;
      s.notes.push_back("input '" + in.name + "' has dynamic dimensions beyond the batch: MACs and output shapes need --input-shape");
    }
  }

  std::map<std::string, Shape> shapes;
  if (all_known) {
    std::map<std::string, Tensor> feeds;
    for (const auto& in : g.inputs) {
      const DType dt = in.dtype == DType::Undefined ? DType::Float32 : in.dtype;
      feeds[in.name] = Tensor::zeros(dt, s.input_shapes[in.name]);
    }
    Executor ex(g);
    RunOptions opts;
    opts.tap = [&](const std::string& name, const Tensor& t) { shapes[name] = t.shape(); };
    ex.run(feeds, {}, opts);
  } else {
    s.input_shapes.clear();
  }

  int64_t total = 0;
  bool total_known = all_known;
  for (const auto& n : g.nodes) {
    int w = -1;
    if (!is_quantizable_layer(g, n, &w)) continue;
    LayerInfo L;
    L.name = n.name;
    L.op_type = n.op_type;
    L.weight = n.inputs[static_cast<size_t>(w)];
    const Tensor* wt = g.initializer(L.weight);
    L.weight_shape = wt->shape();
    L.params = wt->numel();
    s.weight_params += wt->numel();
    const size_t bias_index = n.op_type == "MatMul" ? SIZE_MAX : 2;
    if (bias_index != SIZE_MAX && n.has_input(bias_index))
      if (const Tensor* b = g.initializer(n.inputs[bias_index])) L.params += b->numel();
    if (auto it = shapes.find(n.outputs[0]); it != shapes.end()) L.output_shape = it->second;
    if (n.op_type == "MatMul" && w == 0) {
      L.macs = std::nullopt;  // constant left operand: K is the weight's last axis
      if (auto out = shapes.find(n.outputs[0]); out != shapes.end()) L.macs = numel(out->second) * wt->shape().back();
    } else {
      L.macs = layer_macs(n, wt->shape(), shapes);
    }
    if (L.macs) total += *L.macs;
    else total_known = false;
    s.layers.push_back(std::move(L));
  }
  if (total_known) s.total_macs = total;
  return s;
}

}  // namespace qs
