// `export MODEL --plan PLAN.json --format qdq|qop --out OUT.onnx [--uint8-weights] [--input-shape N,C,H,W]`
#include <iostream>

#include "app/cli/commands.h"
#include "app/cli/options.h"
#include "core/algo/obc/weights_model.h"
#include "core/export/export.h"
#include "core/quant/calibrate.h"

namespace qs::cli {

namespace {

struct ExportCmdOptions {
  std::string model, plan, format = "qdq", out;
  std::vector<std::string> input_shapes;
  bool uint8_weights = false;
};

// The per-sample shape of every input (e.g. [C, H, W]) for finding the quantization points: from
// --input-shape, or from the model's inputs when only their batch dimension is unknown.
std::map<std::string, Shape> sample_shapes(const Graph& g, const ExportCmdOptions& o) {
  const std::map<std::string, Shape> given =
      o.input_shapes.empty() ? std::map<std::string, Shape>{} : parse_input_shapes(o.input_shapes, g);
  std::map<std::string, Shape> r;
  for (const ValueInfo& in : g.inputs) {
    auto it = given.find(in.name);
    if (it != given.end()) {
      r[in.name] = Shape(it->second.begin() + (it->second.empty() ? 0 : 1), it->second.end());
      continue;
    }
    if (!in.shape)
      throw Error(o.model + ": input '" + in.name + "' has no declared shape; give --input-shape");
    Shape& s = r[in.name];
    for (size_t i = 1; i < in.shape->size(); ++i) {
      const Dim& d = (*in.shape)[i];
      if (!d.known())
        throw Error(o.model + ": input '" + in.name + "' dimension " + std::to_string(i) +
                    " is not fixed; give --input-shape");
      s.push_back(d.value);
    }
  }
  return r;
}

void run_export(const ExportCmdOptions& o) {
  Model m = load_for_cli(o.model, {}, true);
  const QuantPlan plan = load_plan(o.plan);
  obc::apply_weights_model(m.graph, plan, o.plan);
  const QuantPoints points = quant_points_for(m.graph, sample_shapes(m.graph, o));
  validate_plan(plan, m.graph, points);
  ExportOptions eo;
  eo.format = parse_export_format(o.format);
  eo.weights = o.uint8_weights ? WeightStorage::UInt8 : WeightStorage::AsPlan;
  eo.source_model = o.model;
  eo.source_plan = o.plan;
  eo.settings = {{"format", o.format}, {"plan", o.plan}, {"model", o.model}};
  for (const auto& shape : o.input_shapes) eo.settings.emplace_back("input_shape", shape);
  if (o.uint8_weights) eo.settings.emplace_back("weight_storage", "uint8");
  const ExportResult r = export_model(m.graph, plan, points, o.out, eo);
  for (const auto& f : r.float_islands) std::cerr << "float island: " << f << "\n";
  for (const auto& n : r.notes) std::cerr << "note: " << n << "\n";
  std::cerr << "wrote " << r.model << " (" << o.format << "), " << r.plan << ", " << r.manifest << "\n";
}

}  // namespace

void add_export(CLI::App& app) {
  auto o = std::make_shared<ExportCmdOptions>();
  CLI::App* c = app.add_subcommand(
      "export", "Write the quantized model as ONNX (QDQ or QOperator), with its plan and a manifest");
  c->add_option("model", o->model, "ONNX model")->required();
  c->add_option("--plan", o->plan, "Quantization plan (from `quantize`)")->required();
  c->add_option("--format", o->format,
                "qdq (QuantizeLinear/DequantizeLinear pairs) or qop (QLinearConv, QLinearMatMul, ...)")
      ->check(CLI::IsMember({"qdq", "qop"}));
  c->add_option("--out", o->out, "ONNX file to write (OUT.plan.json and OUT.manifest.json go beside it)")
      ->check(OutputPath)
      ->required();
  c->add_flag(
      "--uint8-weights", o->uint8_weights,
      "QDQ: store int8 weight grids as uint8 with zero point + 128 (the same values); ONNX Runtime on "
      "x86 without AVX-VNNI then multiplies exactly, as the integer engine does, instead of in saturating "
      "u8 x s8 pairs (its session option session.x64quantprecision=1 does the same at load time)");
  c->add_option("--input-shape", o->input_shapes, "Input shape N,C,H,W when the model's is not fixed");
  c->callback([o] { run_export(*o); });
}

}  // namespace qs::cli
