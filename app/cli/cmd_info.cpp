// `info MODEL [--input-shape N,C,H,W] [--json]`
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/options.h"
#include "core/analysis/model_summary.h"
#include "core/graph/passes.h"
#include "core/int/lowering.h"
#include "core/quant/calibrate.h"

namespace qs::cli {

namespace {

std::string dims_str(const ValueInfo& v) {
  if (!v.shape) return "?";
  std::string r = "[";
  for (size_t i = 0; i < v.shape->size(); ++i) {
    const Dim& d = (*v.shape)[i];
    if (i) r += ", ";
    r += d.known() ? std::to_string(d.value) : (d.param.empty() ? "?" : d.param);
  }
  return r + "]";
}

nlohmann::json value_json(const ValueInfo& v) {
  nlohmann::json dims = nlohmann::json::array();
  if (v.shape)
    for (const Dim& d : *v.shape) dims.push_back(d.known() ? nlohmann::json(d.value) : nlohmann::json(d.param));
  return {{"name", v.name}, {"dtype", dtype_name(v.dtype)}, {"shape", v.shape ? dims : nlohmann::json(nullptr)}};
}

struct InfoOptions {
  std::string model;
  std::vector<std::string> input_shapes;
  bool json = false;
};

void run_info(const InfoOptions& o) {
  LoadOptions lo;
  lo.fold_batchnorm = false;  // report the model as the file has it
  Model m = load_for_cli(o.model, lo, !o.json);
  const auto shapes = parse_input_shapes(o.input_shapes, m.graph);
  const ModelSummary s = summarize(m.graph, shapes);
  // Float islands of the integer engine: nodes with no integer form, on the graph as the engine loads it
  // (BatchNormalization folded). Needs the input shape for the element types of a dry run.
  std::vector<std::string> islands;
  bool islands_known = false;
  if (m.graph.inputs.size() == 1 && s.input_shapes.count(m.graph.inputs[0].name)) {
    Graph gq = m.graph;
    fold_batchnorm(gq);
    const Shape& in = s.input_shapes.at(m.graph.inputs[0].name);
    try {
      const QuantPoints pts = quant_points_for(gq, Shape(in.begin() + 1, in.end()));
      const Lowering L = lower_all_points(gq, pts);
      for (const LoweredNode* n : L.float_islands())
        islands.push_back(n->node->name + " (" + n->node->op_type + "): " + n->reason);
      islands_known = true;
    } catch (const Error&) {
      // models with several or non-image inputs: no listing
    }
  }

  if (o.json) {
    nlohmann::json j;
    j["model"] = o.model;
    j["producer"] = m.producer;
    j["opset"] = m.graph.opset;
    j["inputs"] = nlohmann::json::array();
    for (const auto& v : s.inputs) j["inputs"].push_back(value_json(v));
    j["outputs"] = nlohmann::json::array();
    for (const auto& v : s.outputs) j["outputs"].push_back(value_json(v));
    j["op_counts"] = s.op_counts;
    j["params"] = s.params;
    j["weight_params"] = s.weight_params;
    j["macs"] = s.total_macs ? nlohmann::json(*s.total_macs) : nlohmann::json(nullptr);
    nlohmann::json shapes_j = nlohmann::json::object();
    for (const auto& [k, v] : s.input_shapes) shapes_j[k] = v;
    j["input_shapes"] = shapes_j;
    j["layers"] = nlohmann::json::array();
    for (const auto& L : s.layers)
      j["layers"].push_back({{"name", L.name},
                             {"op", L.op_type},
                             {"weight", L.weight},
                             {"weight_shape", L.weight_shape},
                             {"params", L.params},
                             {"output_shape", L.output_shape ? nlohmann::json(*L.output_shape) : nlohmann::json(nullptr)},
                             {"macs", L.macs ? nlohmann::json(*L.macs) : nlohmann::json(nullptr)}});
    j["notes"] = s.notes;
    j["float_islands"] = islands_known ? nlohmann::json(islands) : nlohmann::json(nullptr);
    j["warnings"] = m.warnings;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "model:    " << o.model << "\n";
  std::cout << "producer: " << (m.producer.empty() ? "(unknown)" : m.producer) << ", opset " << m.graph.opset << "\n";
  for (const auto& v : s.inputs) std::cout << "input:    " << v.name << " " << dtype_name(v.dtype) << " " << dims_str(v) << "\n";
  for (const auto& v : s.outputs) std::cout << "output:   " << v.name << " " << dtype_name(v.dtype) << " " << dims_str(v) << "\n";
  std::cout << "ops:     ";
  for (const auto& [op, n] : s.op_counts) std::cout << " " << op << "×" << n;
  std::cout << "\nparams:   " << s.params << " (quantizable weights: " << s.weight_params << ")\n";
  if (!s.input_shapes.empty()) {
    std::cout << "figures at input shape:";
    for (const auto& [k, v] : s.input_shapes) std::cout << " " << k << shape_str(v);
    std::cout << "\n";
  }
  int w = 5;
  for (const auto& L : s.layers) w = std::max(w, static_cast<int>(L.name.size()));
  std::printf("\n%-*s %-14s %-20s %10s %-20s %14s\n", w, "layer", "op", "weight", "params", "output", "MACs");
  for (const auto& L : s.layers) {
    std::printf("%-*s %-14s %-20s %10lld %-20s %14s\n", w, L.name.c_str(), L.op_type.c_str(), shape_str(L.weight_shape).c_str(),
                static_cast<long long>(L.params), L.output_shape ? shape_str(*L.output_shape).c_str() : "?",
                L.macs ? std::to_string(*L.macs).c_str() : "?");
  }
  std::cout << "\ntotal MACs: " << (s.total_macs ? std::to_string(*s.total_macs) : std::string("? (see notes)")) << "\n";
  if (islands_known) {
    std::cout << "float islands (no integer form; dequantized, run in float, requantized): "
              << (islands.empty() ? "none" : std::to_string(islands.size())) << "\n";
    for (const auto& i : islands) std::cout << "  " << i << "\n";
  }
  for (const auto& n : s.notes) std::cout << "note: " << n << "\n";
}

}  // namespace

void add_info(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* c = app.add_subcommand("info", "Inputs, outputs, op counts and a per-layer table (weights, params, MACs)");
  c->add_option("model", o->model, "ONNX model")->required();
  c->add_option("--input-shape", o->input_shapes, "Concrete input shape N,C,H,W (or NAME:N,C,H,W), for MACs");
  c->add_flag("--json", o->json, "Print one JSON object");
  c->callback([o] { run_info(*o); });
}

}  // namespace qs::cli
