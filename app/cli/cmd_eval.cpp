// `eval MODEL --data IMAGES [--labels LABELS] [preprocessing] [--limit N] [--batch B] [--json]`
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/data_options.h"
#include "app/cli/options.h"
#include "core/algo/obc/weights_model.h"
#include "core/int/engine.h"
#include "core/quant/calibrate.h"
#include "core/quant/simulate.h"
#include "core/runtime/executor.h"

namespace qs::cli {

namespace {

struct EvalOptions {
  std::string model;
  DataOptions data;
  bool json = false;
  int threads = 0;
  std::string plan;
  std::string engine;  // float | sim | int (default: sim with a plan, float without)
};

// Index of the largest of `n` logits (first one on ties, as numpy's argmax).
int64_t argmax(const float* p, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (p[i] > p[best]) best = i;
  return best;
}

void run_eval(const EvalOptions& o) {
  apply_threads(o.threads);
  Model m = load_for_cli(o.model, {}, !o.json);
  const std::string engine = o.engine.empty() ? (o.plan.empty() ? "float" : "sim") : o.engine;
  if (engine != "float" && o.plan.empty()) throw Error("--engine " + engine + " needs --plan");
  Executor ex(m.graph);
  auto ds = open_data(o.data, ex.graph());
  if (!ds->has_labels())
    throw Error(ds->description() + ": no labels (give --labels, or a folder with class subfolders)");
  std::unique_ptr<SimulatedModel> sim;
  std::unique_ptr<IntegerModel> integer;
  if (engine == "int") {
    const QuantPlan plan = load_plan(o.plan);
    Graph int_graph = m.graph;
    obc::apply_weights_model(int_graph, plan, o.plan);
    const QuantPoints points = quant_points_for(int_graph, *ds);
    integer = std::make_unique<IntegerModel>(int_graph, plan, points);
    if (!o.json)
      for (const LoweredNode* n : integer->lowering().float_islands()) std::cerr << "float island: " << describe_island(*n) << "\n";
  } else if (engine == "sim") {
    const QuantPlan plan = load_plan(o.plan);
    // A plan made by OBQ/GPTQ/pruning applies to its tuned weights (its "weights_model").
    Graph sim_graph = m.graph;
    obc::apply_weights_model(sim_graph, plan, o.plan);
    const QuantPoints points = quant_points_for(sim_graph, *ds);
    validate_plan(plan, sim_graph, points);
    sim = std::make_unique<SimulatedModel>(sim_graph, plan, points);
  } else if (engine != "float") {
    throw Error("--engine " + engine + " is not available (float, sim, int)");
  }
  const auto t0 = std::chrono::steady_clock::now();
  BatchReader reader(*ds, o.data.batch, o.json ? nullptr : terminal_progress("eval"));
  Batch b;
  int64_t correct = 0, count = 0, agree = 0, float_correct = 0;
  while (reader.next(b)) {
    const std::vector<Tensor> x = inputs_of(ex.graph(), b);
    const Tensor yf = ex.run(x)[0];
    const Tensor y = sim ? sim->run(x)[0] : integer ? integer->run(x)[0] : yf;
    if (y.dtype() != DType::Float32 || y.rank() != 2 || y.dim(0) != b.images.dim(0))
      throw Error(o.model + ": output '" + ex.graph().outputs[0].name + "' is " + y.str() +
                  "; eval needs float32 [batch, classes] scores");
    const int64_t classes = y.dim(1);
    for (int64_t i = 0; i < y.dim(0); ++i) {
      const int64_t label = b.labels[static_cast<size_t>(i)];
      const int64_t pq = argmax(y.data<float>() + i * classes, classes);
      const int64_t pf = argmax(yf.data<float>() + i * classes, classes);
      correct += pq == label;
      float_correct += pf == label;
      agree += pq == pf;
      ++count;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto frac = [&](int64_t k) { return count ? static_cast<double>(k) / static_cast<double>(count) : 0.0; };
  if (o.json) {
    nlohmann::json j{{"model", o.model}, {"engine", engine}, {"top1", frac(correct)}, {"correct", correct},
                     {"count", count}, {"seconds", secs}, {"data", ds->description()}};
    if (integer) j["kernels"] = int_kernels_name(integer->isa());
    if (sim || integer) {
      j["plan"] = o.plan;
      j["agreement"] = frac(agree);
      j["float_top1"] = frac(float_correct);
    }
    std::cout << j.dump() << "\n";
  } else {
    std::printf("top-1 (%s): %.4f (%lld / %lld) in %.2f s\n", engine.c_str(), frac(correct),
                static_cast<long long>(correct), static_cast<long long>(count), secs);
    if (sim || integer) std::printf("float top-1: %.4f, top-1 agreement with float: %.4f\n", frac(float_correct), frac(agree));
    if (integer) std::printf("integer kernels: %s\n", int_kernels_name(integer->isa()).c_str());
  }
}

}  // namespace

void add_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* c = app.add_subcommand("eval", "Top-1 accuracy over a labeled data set");
  c->add_option("model", o->model, "ONNX model")->required();
  add_data_options(c, o->data);
  c->add_flag("--json", o->json, "Print one JSON object");
  c->add_option("--threads", o->threads, "Threads (default: all cores)");
  c->add_option("--plan", o->plan, "Quantization plan (from `quantize`) to evaluate");
  c->add_option("--engine", o->engine, "float, sim (fake-quantized simulation of the plan) or int (integer-only engine)")
      ->check(CLI::IsMember({"float", "sim", "int"}));
  c->callback([o] { run_eval(*o); });
}

}  // namespace qs::cli
