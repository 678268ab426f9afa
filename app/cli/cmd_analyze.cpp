// `analyze MODEL --data DATA --plan PLAN.json --report REPORT.json [--count N]`
#include <cmath>
#include <cstdio>
#include <iostream>

#include "app/cli/commands.h"
#include "app/cli/data_options.h"
#include "app/cli/options.h"
#include "core/int/lowering.h"
#include "core/quant/analysis.h"
#include "core/quant/calibrate.h"

namespace qs::cli {

namespace {

struct AnalyzeOptions {
  std::string model, plan, report;
  DataOptions data;
  int64_t count = 256;
  int threads = 0;
  bool quiet = false;
};

void run_analyze(const AnalyzeOptions& o) {
  apply_threads(o.threads);
  Model m = load_for_cli(o.model, {}, true);
  auto ds = open_data(o.data, m.graph);
  const QuantPlan plan = load_plan(o.plan);
  AnalysisOptions ao;
  ao.count = o.count;
  ao.batch = o.data.batch;
  ao.progress = terminal_progress("analyze");
  AnalysisReport r = analyze(m.graph, plan, *ds, ao);
  r.model = o.model;
  r.plan = o.plan;
  save_report(r, o.report);
  if (o.quiet) return;
  std::printf("%-44s %-10s %4s %10s %10s %9s\n", "tensor", "kind", "bits", "iso SQNR", "cum SQNR", "clipped");
  for (const auto& t : r.tensors)
    std::printf("%-44s %-10s %4d %10.2f %10.2f %8.4f%%\n", t.tensor.substr(0, 44).c_str(),
                t.kind == TensorKind::Weight ? "weight" : "activation", t.quantized ? t.bits : 32, t.isolated.sqnr_db,
                t.cumulative.sqnr_db, 100 * t.clipped_fraction);
  std::printf("output: SQNR %.2f dB, top-1 agreement %.4f over %lld samples (%.1f s)\n", r.output.sqnr_db,
              r.top1_agreement, static_cast<long long>(r.samples), r.seconds);
  // Float islands of the integer engine under this plan (no integer form, or left in float by the plan).
  const Lowering L = lower(m.graph, plan, quant_points_for(m.graph, *ds));
  const auto islands = L.float_islands();
  std::printf("float islands under this plan: %s\n", islands.empty() ? "none" : std::to_string(islands.size()).c_str());
  for (const LoweredNode* n : islands) std::printf("  %s\n", describe_island(*n).c_str());
  std::cerr << "wrote " << o.report << "\n";
}

}  // namespace

void add_analyze(CLI::App& app) {
  auto o = std::make_shared<AnalyzeOptions>();
  CLI::App* c = app.add_subcommand("analyze", "Per-tensor error analysis of a plan (isolated and cumulative)");
  c->add_option("model", o->model, "ONNX model")->required();
  add_data_options(c, o->data);
  c->add_option("--plan", o->plan, "Quantization plan")->required();
  c->add_option("--report", o->report, "Report to write (.json)")->check(OutputPath)->required();
  c->add_option("--count", o->count, "Samples analyzed (the first N)");
  c->add_option("--threads", o->threads, "Threads (default: all cores)");
  c->add_flag("--quiet", o->quiet, "Do not print the table");
  c->callback([o] { run_analyze(*o); });
}

}  // namespace qs::cli
