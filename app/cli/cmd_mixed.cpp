// `mixed MODEL --data DATA (--budget-kb K | --budget-bits B) [--bits 2,3,4,5,6,8] [--pin NAME=BITS|float]...
//   --out PLAN.json [--pareto PARETO.json] [quantize's options]`: mixed-precision bit allocation. Calibrates
// a plan as `quantize` does, measures each weight's sensitivity at every candidate width (model output
// distortion with only that weight quantized — NMSE, or softmax KL with --distortion kl — optionally weighted
// over activations by LFH), and solves the ILP (COIN-OR CBC) for the least predicted loss within the
// weight-memory budget (and optional BOPs and activation-memory budgets). Unless --no-verify, the ILP's plan
// and the widest uniform plan within the budget are then measured whole, and the better one is written.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/cli/commands.h"
#include "app/cli/data_options.h"
#include "app/cli/options.h"
#include "core/algo/lfh.h"
#include "core/algo/mixed/mixed_plan.h"
#include "core/common/file_io.h"
#include "core/quant/calibrate.h"

namespace qs::cli {

namespace {

struct MixedCliOptions {
  std::string model, out, pareto, report, sensitivity_out;
  DataOptions data;
  CalibrationOptions calib;
  bool per_tensor = false, per_channel = false, act_unsigned = false;
  double budget_kb = -1;
  int budget_bits = 0;
  double bops_g = -1;  // giga-BOPs
  double act_budget_kb = -1;
  std::vector<int> bits = {2, 3, 4, 5, 6, 8};
  std::vector<int> act_choices;
  std::vector<std::string> pins;
  int64_t samples = 64;
  std::string weighting = "lfh";    // lfh (EPTQ's label-free Hessian weights, DESIGN.md §5) | output
  std::string distortion = "nmse";  // nmse | kl (graph outputs)
  bool no_verify = false;
  int64_t lfh_samples = 32;
  int pareto_points = 21;
  int threads = 0;
};

void write_text(const std::string& path, const std::string& text) { write_file_atomic(path, text + "\n"); }

std::string bits_name(int b) { return b == kFloatBits ? "float" : std::to_string(b); }

void run_mixed(MixedCliOptions o) {
  apply_threads(o.threads);
  if ((o.budget_kb >= 0) == (o.budget_bits > 0))
    throw Error("give exactly one of --budget-kb and --budget-bits");
  Model m = load_for_cli(o.model, {}, true);
  auto ds = open_data(o.data, m.graph);
  const Graph& g = m.graph;

  o.calib.weight_bits = 8;  // the widths are chosen below; 8 is only the starting point
  o.calib.per_channel = !o.per_tensor;
  o.calib.act_signed = !o.act_unsigned;
  o.calib.batch = o.data.batch;
  o.calib.progress = terminal_progress("calibrate");
  QuantPlan plan = calibrate(g, *ds, o.calib);
  plan.model = o.model;
  const QuantPoints points = quant_points_for(g, *ds);

  MixedSetup setup;
  for (const auto& text : o.pins) {
    auto [name, bits] = parse_pin(text);
    setup.pins[resolve_pin(plan, name)] = bits;
  }

  SensitivityOptions so;
  so.weight_bits = o.bits;
  so.act_bits = o.act_choices;
  for (const auto& [tensor, bits] : setup.pins) so.bits_for[tensor] = {bits};
  so.samples = o.samples;
  so.output_kl = o.distortion == "kl";
  so.batch = o.data.batch;
  double lfh_seconds = 0;
  if (o.weighting == "lfh") {
    LfhOptions lo;
    lo.samples = o.lfh_samples;
    lo.batch = o.data.batch;
    lo.per_channel = false;
    lo.progress = terminal_progress("lfh");
    const LfhResult lfh = compute_lfh(g, *ds, points, lo);
    lfh_seconds = lfh.seconds;
    so.observe = lfh_observe_weights(lfh);
  }
  so.progress = terminal_progress("sensitivity");
  const SensitivityTable table = compute_sensitivity(g, *ds, plan, points, so);
  if (!o.sensitivity_out.empty()) write_text(o.sensitivity_out, sensitivity_to_json(table));

  MixedProblem p = build_problem(g, plan, points, table, setup, *ds);
  if (o.budget_bits > 0) {
    double bytes = 0;
    for (const auto& grp : p.groups)
      if (grp.kind == TensorKind::Weight) bytes += static_cast<double>(grp.elements) * o.budget_bits / 8.0;
    p.budget.weight_bytes = bytes;
  } else {
    p.budget.weight_bytes = o.budget_kb * 1000;
  }
  if (o.bops_g >= 0) p.budget.bops = o.bops_g * 1e9;
  if (o.act_budget_kb >= 0) p.budget.act_bytes = o.act_budget_kb * 1000;

  MixedSolution s = solve_mixed(p);
  // The ILP adds single-tensor sensitivities: measure its plan and the widest uniform one within the budget
  // whole, and keep the better.
  std::string verification;
  if (!o.no_verify) {
    const UniformCheck c = check_against_uniform(g, *ds, plan, points, table, p, s, o.bits, o.data.batch);
    if (c.uniform_bits > 0) {
      char line[256];
      std::snprintf(line, sizeof line,
                    "measured distortion of the whole plan: ILP %.6g, uniform %d-bit %.6g%s", c.ilp,
                    c.uniform_bits, c.uniform, c.kept_uniform ? " — keeping the uniform allocation" : "");
      verification = line;
    }
  }
  std::fprintf(
      stderr,
      "sensitivity: %lld runs over %lld samples in %.2f s (float passes with data reading %.3f s; %.1f%% of "
      "the nodes a "
      "full run per width would evaluate)%s\n",
      static_cast<long long>(table.runs), static_cast<long long>(table.samples), table.seconds,
      table.float_seconds,
      table.runs ? 100.0 * table.nodes_run / (static_cast<double>(table.runs) * table.model_nodes) : 0.0,
      o.weighting == "lfh" ? (", LFH " + std::to_string(lfh_seconds) + " s").c_str() : "");
  if (!verification.empty()) std::fprintf(stderr, "%s\n", verification.c_str());
  if (!o.report.empty()) {
    nlohmann::json j = nlohmann::json::parse(solution_to_json(p, s));
    if (!verification.empty()) j["verification"] = verification;
    write_text(o.report, j.dump(1));
  }
  if (!s.feasible) throw Error(s.message);
  std::printf("%-40s %-10s %6s %12s %12s\n", "tensor", "kind", "bits", "bytes", "loss");
  for (size_t i = 0; i < p.groups.size(); ++i) {
    const MixedGroup& grp = p.groups[i];
    if (grp.kind == TensorKind::Activation && grp.options.size() == 1) continue;
    const MixedOption& opt = grp.options[static_cast<size_t>(s.choice[i])];
    std::printf("%-40s %-10s %6s %12.1f %12.4g%s\n", grp.tensor.substr(0, 40).c_str(),
                grp.kind == TensorKind::Weight ? "weight" : "activation", bits_name(opt.bits).c_str(),
                static_cast<double>(grp.elements) * opt.bits / 8.0, opt.loss,
                grp.options.size() == 1 ? " (pinned)" : "");
  }
  std::printf(
      "weight memory %.0f of %.0f bytes budget; predicted loss %.6g; BOPs %.4g; ILP solved in %.3f s\n",
      s.costs.weight_bytes, *p.budget.weight_bytes, s.costs.loss, s.costs.bops, s.seconds);
  const QuantPlan mixed = apply_choice(g, plan, p, s.choice);
  save_plan(mixed, o.out);
  std::cerr << "wrote " << o.out << "\n";

  if (!o.pareto.empty()) {
    const auto t0 = std::chrono::steady_clock::now();
    MixedProblem q = p;
    q.budget.weight_bytes.reset();
    const auto pts = pareto_sweep(q, o.pareto_points);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    write_text(o.pareto, pareto_to_json(q, pts));
    std::cerr << "wrote " << o.pareto << ": " << pts.size() << " distinct allocations from "
              << min_weight_bytes(q) << " to " << max_weight_bytes(q) << " bytes, " << secs << " s\n";
  }
}

}  // namespace

void add_mixed(CLI::App& app) {
  auto o = std::make_shared<MixedCliOptions>();
  CLI::App* c =
      app.add_subcommand("mixed", "Mixed-precision bit allocation under a memory budget (ILP, COIN-OR CBC)");
  c->add_option("model", o->model, "ONNX model")->required();
  add_data_options(c, o->data);
  c->add_option("--out", o->out, "Plan to write (.json)")->check(OutputPath)->required();
  c->add_option("--budget-kb", o->budget_kb, "Weight memory budget in kB (1 kB = 1000 bytes)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--budget-bits", o->budget_bits, "Weight memory budget: the size of every weight at B bits")
      ->check(CLI::Range(2, 8));
  c->add_option("--bits", o->bits, "Candidate weight widths")->delimiter(',')->check(CLI::Range(2, 8));
  c->add_option("--act-bits-choices", o->act_choices,
                "Candidate activation widths (default: --act-bits for all)")
      ->delimiter(',')
      ->check(CLI::IsMember({4, 5, 6, 7, 8, 16}));
  c->add_option("--pin", o->pins, "NAME=BITS or NAME=float: fix a tensor or layer (repeatable)");
  c->add_option("--bops-budget", o->bops_g, "BOPs budget in giga-BOPs (MACs · weight bits · activation bits)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--act-budget-kb", o->act_budget_kb, "Largest activation tensor, kB per sample")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--pareto", o->pareto, "Write the Pareto sweep (.json)")->check(OutputPath);
  c->add_option("--pareto-points", o->pareto_points, "Budgets in the sweep")->check(CLI::Range(2, 1000));
  c->add_option("--report", o->report, "Write the solution (.json)")->check(OutputPath);
  c->add_option("--sensitivity-out", o->sensitivity_out, "Write the sensitivity table (.json)");
  c->add_option("--samples", o->samples, "Calibration samples for the sensitivity")
      ->check(CLI::PositiveNumber);
  c->add_option("--weighting", o->weighting,
                "lfh (default): output and activations weighted by their label-free Hessian trace, as "
                "EPTQ defines the sensitivity; output: the model output's distortion alone")
      ->check(CLI::IsMember({"output", "lfh"}));
  c->add_option(
       "--distortion", o->distortion,
       "How the model outputs' distortion is measured: nmse, or kl (softmax KL divergence along axis 1, "
       "for classifiers)")
      ->check(CLI::IsMember({"nmse", "kl"}));
  c->add_flag(
      "--no-verify", o->no_verify,
      "Do not measure the ILP's plan against the widest uniform plan within the budget (by default the "
      "one with the smaller measured distortion is kept)");
  c->add_option("--lfh-samples", o->lfh_samples, "Samples for LFH (with --weighting lfh)")
      ->check(CLI::PositiveNumber);
  c->add_option("--act-bits", o->calib.act_bits,
                "Activation bits: 4-8 or 16, or 32 to keep activations in float")
      ->check(CLI::IsMember({4, 5, 6, 7, 8, 16, 32}));
  auto* pc = c->add_flag("--per-channel", o->per_channel, "Weights per output channel (default)");
  c->add_flag("--per-tensor", o->per_tensor, "Weights per tensor")->excludes(pc);
  c->add_flag("--act-unsigned", o->act_unsigned, "uint8 activations instead of int8");
  c->add_option("--method", o->calib.act_method, "Activation range estimator")
      ->check(CLI::IsMember({"minmax", "ema", "percentile", "mse", "kl"}));
  c->add_option("--percentile", o->calib.observer.percentile, "Percentile for --method percentile");
  c->add_option("--weight-method", o->calib.weight_method, "Weight range estimator (re-run at each width)")
      ->check(CLI::IsMember({"minmax", "mse"}));
  c->add_option("--calib-count", o->calib.calib_count, "Calibration samples (the first N)");
  c->add_option("--threads", o->threads, "Threads (default: all cores)");
  c->callback([o] { run_mixed(*o); });
}

}  // namespace qs::cli
