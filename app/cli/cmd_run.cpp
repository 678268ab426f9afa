// `run MODEL --input X.npy [--input NAME=Y.npy ...] --output Y.npy [--output NAME=Z.npy ...] [--threads N]`:
// one inference, each named output (or the first ones, in order) written to its .npy file.
#include <filesystem>
#include <iostream>

#include "app/cli/commands.h"
#include "app/cli/data_options.h"
#include "app/cli/options.h"
#include "core/algo/obc/weights_model.h"
#include "core/data/npy.h"
#include "core/int/engine.h"
#include "core/quant/calibrate.h"
#include "core/quant/simulate.h"
#include "core/runtime/executor.h"

namespace qs::cli {

namespace {

struct RunCmdOptions {
  std::string model;
  std::vector<std::string> inputs;   // one per model input: PATH (in order) or NAME=PATH
  std::vector<std::string> outputs;  // per model output to write: PATH (in order) or NAME=PATH
  int threads = 0;
  std::string plan, engine;  // engine: float | sim | int (default: int with a plan, float without)
};

void run_run(const RunCmdOptions& o) {
  apply_threads(o.threads);
  Model m = load_for_cli(o.model);
  Executor ex(std::move(m.graph));
  const Graph& graph = ex.graph();
  const std::vector<std::string> paths = values_per_input(o.inputs, graph, "--input");
  std::vector<std::string> output_names;
  for (const auto& v : graph.outputs) output_names.push_back(v.name);
  const std::vector<std::string> out_paths = values_by_name(o.outputs, output_names, "--output", "output");
  for (std::string p : out_paths)  // checked before the inference, which may take long
    if (const std::string problem = p.empty() ? std::string() : OutputPath(p); !problem.empty())
      throw Error("--output " + problem);
  std::vector<Tensor> x;
  std::map<std::string, Shape> sample_shapes;
  for (size_t i = 0; i < paths.size(); ++i) {
    const ValueInfo& in = graph.inputs[i];
    Tensor t = read_npy(paths[i]);
    if (in.dtype != DType::Undefined && t.dtype() != in.dtype) {
      if (in.dtype == DType::Float32 && (t.dtype() == DType::Float64 || t.dtype() == DType::UInt8))
        t = t.cast(DType::Float32);  // a common convenience; values are not rescaled
      else
        throw Error(paths[i] + ": holds " + dtype_name(t.dtype()) + ", the model's input '" + in.name +
                    "' takes " + dtype_name(in.dtype));
    }
    sample_shapes[in.name] = Shape(t.shape().begin() + (t.rank() > 0 ? 1 : 0), t.shape().end());
    x.push_back(std::move(t));
  }
  const std::string engine = o.engine.empty() ? (o.plan.empty() ? "float" : "int") : o.engine;
  if (engine != "float" && o.plan.empty()) throw Error("--engine " + engine + " needs --plan");
  std::vector<Tensor> y;
  if (engine == "float") {
    y = ex.run(x);
  } else {
    const QuantPlan plan = load_plan(o.plan);
    Graph g = graph;
    obc::apply_weights_model(g, plan, o.plan);
    const QuantPoints points = quant_points_for(g, sample_shapes);
    validate_plan(plan, g, points);
    y = engine == "int" ? IntegerModel(g, plan, points).run(x) : SimulatedModel(g, plan, points).run(x);
  }
  for (size_t k = 0; k < out_paths.size(); ++k) {
    if (out_paths[k].empty()) {
      std::cerr << "output '" << output_names[k] << "' " << y[k].str() << " not written (--output "
                << output_names[k] << "=FILE.npy writes it)\n";
      continue;
    }
    // Write atomically: a temporary file beside the target, then rename.
    const std::string tmp = out_paths[k] + ".tmp";
    write_npy(tmp, y[k]);
    std::filesystem::rename(tmp, out_paths[k]);
    std::cerr << "wrote " << out_paths[k] << " " << y[k].str() << " (output '" << output_names[k] << "')\n";
  }
}

}  // namespace

void add_run(CLI::App& app) {
  auto o = std::make_shared<RunCmdOptions>();
  CLI::App* c = app.add_subcommand("run", "One inference: .npy in, .npy out (one file per output)");
  c->add_option("model", o->model, "ONNX model")->required();
  c->add_option(
       "--input", o->inputs,
       "Input array (.npy); a model with several inputs takes one --input per input, NAME=PATH or in "
       "the inputs' order")
      ->allow_extra_args(false)
      ->required();
  c->add_option("--output", o->outputs,
                "Where to write an output (.npy); one --output per output to write, NAME=PATH or in the "
                "outputs' order (outputs without one are listed, not written)")
      ->allow_extra_args(false)
      ->required();
  c->add_option("--threads", o->threads, "Threads (default: all cores)");
  c->add_option("--plan", o->plan, "Quantization plan: run the quantized model");
  c->add_option("--engine", o->engine, "float, sim (fake-quant simulation) or int (integer-only engine; default with --plan)")
      ->check(CLI::IsMember({"float", "sim", "int"}));
  c->callback([o] { run_run(*o); });
}

}  // namespace qs::cli
