// `run MODEL --input X.npy --output Y.npy [--threads N]`: one inference.
#include <filesystem>
#include <iostream>

#include "app/cli/commands.h"
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
  std::string model, input, output;
  int threads = 0;
  std::string plan, engine;  // engine: float | sim | int (default: int with a plan, float without)
};

void run_run(const RunCmdOptions& o) {
  apply_threads(o.threads);
  Model m = load_for_cli(o.model);
  Executor ex(std::move(m.graph));
  if (ex.graph().inputs.size() != 1)
    throw Error(o.model + ": the model has " + std::to_string(ex.graph().inputs.size()) +
                " inputs; `run` feeds models with one input");
  Tensor x = read_npy(o.input);
  const DType want = ex.graph().inputs[0].dtype;
  if (want != DType::Undefined && x.dtype() != want) {
    if (want == DType::Float32 && (x.dtype() == DType::Float64 || x.dtype() == DType::UInt8))
      x = x.cast(DType::Float32);  // a common convenience; values are not rescaled
    else
      throw Error(o.input + ": holds " + dtype_name(x.dtype()) + ", the model's input '" + ex.graph().inputs[0].name +
                  "' takes " + dtype_name(want));
  }
  const std::string engine = o.engine.empty() ? (o.plan.empty() ? "float" : "int") : o.engine;
  if (engine != "float" && o.plan.empty()) throw Error("--engine " + engine + " needs --plan");
  std::vector<Tensor> y;
  if (engine == "float") {
    y = ex.run({x});
  } else {
    const QuantPlan plan = load_plan(o.plan);
    Graph g = ex.graph();
    obc::apply_weights_model(g, plan, o.plan);
    const QuantPoints points = quant_points_for(g, Shape(x.shape().begin() + (x.rank() > 0 ? 1 : 0), x.shape().end()));
    validate_plan(plan, g, points);
    y = engine == "int" ? IntegerModel(g, plan, points).run({x}) : SimulatedModel(g, plan, points).run({x});
  }
  // Write atomically: a temporary file beside the target, then rename.
  const std::string tmp = o.output + ".tmp";
  write_npy(tmp, y[0]);
  std::filesystem::rename(tmp, o.output);
  std::cerr << "wrote " << o.output << " " << y[0].str() << "\n";
}

}  // namespace

void add_run(CLI::App& app) {
  auto o = std::make_shared<RunCmdOptions>();
  CLI::App* c = app.add_subcommand("run", "One inference: .npy in, .npy out (the model's first output)");
  c->add_option("model", o->model, "ONNX model")->required();
  c->add_option("--input", o->input, "Input array (.npy, float32)")->required();
  c->add_option("--output", o->output, "Where to write the output (.npy)")->check(OutputPath)->required();
  c->add_option("--threads", o->threads, "Threads (default: all cores)");
  c->add_option("--plan", o->plan, "Quantization plan: run the quantized model");
  c->add_option("--engine", o->engine, "float, sim (fake-quant simulation) or int (integer-only engine; default with --plan)")
      ->check(CLI::IsMember({"float", "sim", "int"}));
  c->callback([o] { run_run(*o); });
}

}  // namespace qs::cli
