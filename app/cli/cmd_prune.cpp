// `prune MODEL --data DATA (--sparsity S | --nm N:M) [--method exactobs|magnitude] [--then-quantize
//   [--weight-bits B] [--act-bits B] [--per-tensor] [--method-act ...]] [--damp L] [--no-sequential]
//   [--calib-count N] [--plan-out PLAN.json] [--report R.json] --out OUT.onnx`
//
// Prunes every Conv/Gemm/MatMul weight to the sparsity (unstructured, global selection across each
// layer's rows) or to the N:M pattern along input channels, with ExactOBS (optimal compensation from the
// layer Hessian) or by magnitude (the baseline), and writes the pruned model. With --then-quantize it also
// calibrates a plan and quantizes the remaining weights (ExactOBS: continued as OBQ, OBC's compound
// compression; magnitude: round to nearest), writes the plan (default OUT.json) with "weights_model"
// naming OUT.onnx, so `eval OUT.onnx --plan OUT.json` (or the original model with the plan) evaluates it.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "app/cli/commands.h"
#include "app/cli/data_options.h"
#include "app/cli/obc_report.h"
#include "app/cli/options.h"
#include "core/algo/obc/weights_model.h"
#include "core/onnx/save.h"
#include "core/quant/calibrate.h"

namespace qs::cli {

namespace {

struct PruneOptions {
  std::string model, out, plan_out, report, nm, method = "exactobs";
  double sparsity = -1;
  DataOptions data;
  obc::CompressOptions obc;
  bool then_quantize = false;
  CalibrationOptions calib;
  bool per_tensor = false, act_unsigned = false;
  int threads = 0;
};

void parse_nm(const std::string& s, obc::PruneSpec& spec) {
  const auto colon = s.find(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument(s);
    size_t used1 = 0, used2 = 0;
    const std::string a = s.substr(0, colon), b = s.substr(colon + 1);
    spec.nm_n = std::stoi(a, &used1);
    spec.nm_m = std::stoi(b, &used2);
    if (used1 != a.size() || used2 != b.size()) throw std::invalid_argument(s);
  } catch (const std::exception&) {
    throw Error("--nm '" + s + "': expected N:M, e.g. 2:4");
  }
  if (spec.nm_m < 1 || spec.nm_n < 1 || spec.nm_n >= spec.nm_m)
    throw Error("--nm '" + s + "': N:M keeps N of every M weights and needs 1 <= N < M");
}

void run_prune(PruneOptions o) {
  apply_threads(o.threads);
  if ((o.sparsity >= 0) == !o.nm.empty()) throw Error("give exactly one of --sparsity and --nm");
  if (o.nm.empty()) {
    o.obc.prune_spec.sparsity = o.sparsity;
    o.obc.prune_spec.nm_m = 0;
  } else {
    parse_nm(o.nm, o.obc.prune_spec);
  }
  o.obc.prune = obc::parse_prune_method(o.method);
  if (o.obc.prune == obc::PruneMethod::None) throw Error("--method none prunes nothing");
  std::error_code ec;
  if (std::filesystem::equivalent(o.out, o.model, ec))
    throw Error("--out " + o.out + " is the input model; write to another file");
  Model m = load_for_cli(o.model, {}, true);
  auto ds = open_data(o.data, m.graph);
  o.obc.calib_count = o.calib.calib_count;
  o.obc.batch = o.data.batch;
  o.obc.progress = terminal_compress_progress("prune");
  QuantPlan plan;
  if (o.then_quantize) {
    if (o.calib.weight_bits == 32) throw Error("--then-quantize needs --weight-bits 2..8");
    o.calib.per_channel = !o.per_tensor;
    o.calib.act_signed = !o.act_unsigned;
    o.calib.batch = o.data.batch;
    o.calib.progress = terminal_progress("calibrate");
    plan = calibrate(m.graph, *ds, o.calib);
    plan.model = o.model;
    o.obc.quant = o.obc.prune == obc::PruneMethod::ExactObs ? obc::QuantAlgo::Obq : obc::QuantAlgo::Rtn;
    o.obc.weight_method = o.calib.weight_method;
  } else {
    o.obc.quant = obc::QuantAlgo::None;
  }
  obc::CompressResult r = obc::compress_model(m.graph, *ds, plan, o.obc);
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\r\033[K");
  print_layer_reports(r, o.then_quantize ? "mag+rtn" : "magnitude");
  save_model(r.graph, o.model, o.out);
  int64_t zeros = 0, total = 0;
  for (const auto& l : r.layers)
    if (l.pruned) {
      total += l.rows * l.cols;  // rows are all output channels; cols per group
      zeros += static_cast<int64_t>(l.sparsity * static_cast<double>(l.rows * l.cols) + 0.5);
    }
  std::cerr << "wrote " << o.out << ": " << zeros << " of " << total
            << " weights of the pruned layers are 0 ("
            << (total ? 100.0 * static_cast<double>(zeros) / static_cast<double>(total) : 0.0) << "%)\n";
  if (o.then_quantize) {
    if (o.plan_out.empty()) o.plan_out = replace_extension(o.out, ".json");
    r.plan.weights_model = obc::weights_model_reference(o.out, o.plan_out);
    save_plan(r.plan, o.plan_out);
    std::cerr << "wrote " << o.plan_out << " (plan; weights_model " << r.plan.weights_model << ")\n";
  }
  if (!o.report.empty()) {
    nlohmann::json j{{"model", o.model},
                     {"out", o.out},
                     {"method", o.method},
                     {"seconds", r.seconds},
                     {"layers", layer_reports_json(r)}};
    if (o.nm.empty())
      j["sparsity"] = o.sparsity;
    else
      j["nm"] = o.nm;
    if (o.then_quantize) j["plan"] = o.plan_out;
    write_json_file(j, o.report);
  }
}

}  // namespace

void add_prune(CLI::App& app) {
  auto o = std::make_shared<PruneOptions>();
  CLI::App* c = app.add_subcommand(
      "prune", "Prune weights (ExactOBS or magnitude), optionally then quantize; writes ONNX");
  c->add_option("model", o->model, "ONNX model")->required();
  add_data_options(c, o->data);
  c->add_option("--out", o->out, "Pruned model to write (.onnx)")->check(OutputPath)->required();
  c->add_option("--sparsity", o->sparsity, "Unstructured: fraction of each layer's weights set to 0")
      ->check(CLI::Range(0.0, 0.999999));
  c->add_option("--nm", o->nm, "N:M sparsity along input channels (keep N of every M), e.g. 2:4 or 4:8");
  c->add_option("--method", o->method, "exactobs (optimal compensation) or magnitude (baseline)")
      ->check(CLI::IsMember({"exactobs", "magnitude"}));
  add_obc_common_options(c, o->obc);
  c->add_option("--calib-count", o->calib.calib_count, "Calibration samples (the first N)");
  c->add_flag("--then-quantize", o->then_quantize, "Also quantize the remaining weights and write a plan");
  c->add_option("--weight-bits", o->calib.weight_bits, "With --then-quantize: weight bits 2-8")
      ->check(CLI::IsMember({2, 3, 4, 5, 6, 7, 8}));
  c->add_option("--act-bits", o->calib.act_bits,
                "With --then-quantize: activation bits 4-8, 16, or 32 (float)")
      ->check(CLI::IsMember({4, 5, 6, 7, 8, 16, 32}));
  c->add_flag("--per-tensor", o->per_tensor,
              "With --then-quantize: weights per tensor (default per channel)");
  c->add_flag("--act-unsigned", o->act_unsigned, "With --then-quantize: uint8 activations");
  c->add_option("--act-method", o->calib.act_method, "With --then-quantize: activation range estimator")
      ->check(CLI::IsMember({"minmax", "ema", "percentile", "mse", "kl"}));
  c->add_option("--weight-method", o->calib.weight_method, "With --then-quantize: weight range estimator")
      ->check(CLI::IsMember({"minmax", "mse"}));
  c->add_option("--plan-out", o->plan_out, "With --then-quantize: plan to write (default OUT.json)")->check(OutputPath);
  c->add_option("--report", o->report, "Per-layer losses and times (JSON)")->check(OutputPath);
  c->add_option("--threads", o->threads, "Threads (default: all cores)");
  c->callback([o] { run_prune(*o); });
}

}  // namespace qs::cli
