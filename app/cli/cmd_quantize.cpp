// `quantize MODEL --data DATA --out PLAN.json [--weight-bits B] [--act-bits B] [--per-channel|--per-tensor]
//   [--method minmax|ema|percentile|mse|kl] [--weight-method minmax|mse] [--calib-count N]
//   [--algo rtn|obq|gptq|eptq [--damp L] [--block B] [--act-order] [--group G] [--no-sequential]
//    [--iters N] [--eptq-batch B] [--eptq-lr LR] [--eptq-uniform] [--model-out W.onnx] [--report R.json]]
//   [--bias-correction]`
//
// With --algo obq|gptq|eptq the weights are tuned on the plan's grid (core/algo/obc) and written as an ONNX
// model (--model-out, default: the plan's path with .onnx); the plan's "weights_model" names it, so
// `eval MODEL --plan PLAN.json` evaluates the tuned weights. --bias-correction (after any --algo) adds the
// per-channel mean output error of each layer to its bias (core/quant/bias_correction.h) and writes the
// corrected weights model the same way.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "app/cli/commands.h"
#include "app/cli/data_options.h"
#include "app/cli/obc_report.h"
#include "app/cli/options.h"
#include "core/algo/eptq.h"
#include "core/algo/obc/weights_model.h"
#include "core/onnx/save.h"
#include "core/quant/bias_correction.h"
#include "core/quant/calibrate.h"

namespace qs::cli {

namespace {

struct QuantizeOptions {
  std::string model, out;
  DataOptions data;
  CalibrationOptions calib;
  bool per_tensor = false;
  bool per_channel = false;  // the default; the flag exists so scripts can say it
  bool act_unsigned = false;
  int threads = 0;
  std::string algo = "rtn";
  obc::CompressOptions obc;
  EptqOptions eptq;
  bool eptq_uniform = false;
  std::string model_out, report;
  bool bias_correction = false;
};

// Where the tuned weights go; refuses the input model itself.
void resolve_model_out(QuantizeOptions& o) {
  if (o.model_out.empty()) o.model_out = replace_extension(o.out, ".onnx");
  std::error_code ec;
  if (std::filesystem::equivalent(o.model_out, o.model, ec))
    throw Error("--model-out " + o.model_out +
                " is the input model; write the tuned weights to another file");
  if (o.calib.weight_bits == 32)
    throw Error((o.algo == "rtn" ? std::string("--bias-correction") : "--algo " + o.algo) +
                " needs quantized weights (--weight-bits 2..8)");
}

// EPTQ (core/algo/eptq.h): learns every weight's rounding on the plan's grid for the whole model at once,
// LFH-weighted (or uniformly with --eptq-uniform); writes the tuned weights next to the plan.
void tune_weights_eptq(QuantizeOptions& o, const Model& m, Dataset& ds, QuantPlan& plan) {
  resolve_model_out(o);
  o.eptq.lfh_weights = !o.eptq_uniform;
  o.eptq.calib_count = std::min<int64_t>(o.eptq.calib_count, o.calib.calib_count);
  const bool tty = isatty(STDERR_FILENO);
  o.eptq.progress = [tty](const EptqStep& st) {
    if (tty && (st.iteration % 10 == 0 || st.eval_loss >= 0))
      std::fprintf(stderr, "\r\033[Keptq %d/%d loss %.4g (best hard-rounding loss %.4g)", st.iteration,
                   st.iterations, st.loss, st.best_eval_loss);
    return true;
  };
  const EptqResult r = eptq(m.graph, ds, plan, o.eptq);
  if (tty) std::fprintf(stderr, "\r\033[K");
  int64_t changed = 0, elements = 0;
  for (const auto& l : r.layers) changed += l.changed, elements += l.elements;
  std::fprintf(stderr,
               "eptq: %d iterations in %.1f s (LFH %.1f s); distillation loss of the hard rounding on %lld "
               "images: round-to-nearest %.5g, EPTQ %.5g (iteration %d); %lld of %lld weights rounded "
               "differently\n",
               r.iterations_run, r.seconds, r.lfh_seconds, static_cast<long long>(o.eptq.eval_count),
               r.rtn_eval_loss, r.best_eval_loss, r.best_iteration, static_cast<long long>(changed),
               static_cast<long long>(elements));
  save_model(r.graph, o.model, o.model_out);
  plan = r.plan;
  plan.weights_model = obc::weights_model_reference(o.model_out, o.out);
  if (!o.report.empty()) {
    nlohmann::json layers = nlohmann::json::array(), curve = nlohmann::json::array();
    for (const auto& l : r.layers)
      layers.push_back({{"layer", l.layer},
                        {"weight", l.weight},
                        {"target", l.target},
                        {"weight_factor", l.weight_factor},
                        {"elements", l.elements},
                        {"changed", l.changed}});
    for (const auto& st : r.curve) {
      nlohmann::json p{
          {"iteration", st.iteration}, {"loss", st.loss}, {"distill", st.distill}, {"beta", st.beta}};
      if (st.eval_loss >= 0) p["eval_loss"] = st.eval_loss;
      curve.push_back(std::move(p));
    }
    write_json_file({{"model", o.model},
                     {"algo", "eptq"},
                     {"layer_weights", o.eptq_uniform ? "uniform" : "lfh"},
                     {"weights_model", o.model_out},
                     {"iterations", r.iterations_run},
                     {"seconds", r.seconds},
                     {"lfh_seconds", r.lfh_seconds},
                     {"rtn_eval_loss", r.rtn_eval_loss},
                     {"best_eval_loss", r.best_eval_loss},
                     {"best_iteration", r.best_iteration},
                     {"layers", layers},
                     {"curve", curve}},
                    o.report);
  }
  std::cerr << "wrote " << o.model_out << " (tuned weights)\n";
}

// Runs OBQ/GPTQ on the calibrated plan's grid and writes the tuned weights next to the plan.
void tune_weights(QuantizeOptions& o, const Model& m, Dataset& ds, QuantPlan& plan) {
  o.obc.quant = obc::parse_quant_algo(o.algo);
  o.obc.calib_count = o.calib.calib_count;
  o.obc.batch = o.data.batch;
  o.obc.progress = terminal_compress_progress(o.algo);
  resolve_model_out(o);
  obc::CompressResult r = obc::compress_model(m.graph, ds, plan, o.obc);
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\r\033[K");
  print_layer_reports(r, "rtn");
  save_model(r.graph, o.model, o.model_out);
  plan = r.plan;
  plan.weights_model = obc::weights_model_reference(o.model_out, o.out);
  if (!o.report.empty()) {
    nlohmann::json j{{"model", o.model},
                     {"algo", o.algo},
                     {"weights_model", o.model_out},
                     {"seconds", r.seconds},
                     {"layers", layer_reports_json(r)}};
    write_json_file(j, o.report);
  }
  std::cerr << "wrote " << o.model_out << " (tuned weights)\n";
}

// Empirical bias correction on the plan's weights (the tuned ones when an --algo wrote them): the corrected
// biases go into the weights model next to the plan, which eval/analyze/export apply.
void correct_bias(QuantizeOptions& o, const Model& m, Dataset& ds, QuantPlan& plan) {
  if (o.algo == "rtn") resolve_model_out(o);
  Graph weights = m.graph;
  if (!plan.weights_model.empty()) obc::apply_weights_model(weights, plan, o.out);
  BiasCorrectionOptions bo;
  bo.calib_count = o.calib.calib_count;
  bo.batch = o.data.batch;
  bo.progress = terminal_progress("bias correction");
  const BiasCorrectionResult r = correct_biases(m.graph, weights, ds, plan, bo);
  int corrected = 0, created = 0;
  double mean_abs = 0;
  int64_t channels = 0;
  for (const auto& l : r.layers) {
    if (!l.skipped.empty()) {
      std::cerr << "bias correction: layer '" << l.layer << "' skipped: " << l.skipped << "\n";
      continue;
    }
    ++corrected;
    created += l.created;
    for (double c : l.correction) mean_abs += std::abs(c), ++channels;
  }
  std::fprintf(stderr,
               "bias correction: %d layers corrected (%d biases created), mean |correction| %.4g over %lld "
               "channels, %d passes over %lld images in %.1f s\n",
               corrected, created, channels ? mean_abs / static_cast<double>(channels) : 0.0,
               static_cast<long long>(channels), r.passes, static_cast<long long>(r.samples), r.seconds);
  save_model(r.graph, o.model, o.model_out);
  plan.weights_model = obc::weights_model_reference(o.model_out, o.out);
  std::cerr << "wrote " << o.model_out << " (bias-corrected weights)\n";
}

void run_quantize(QuantizeOptions o) {
  apply_threads(o.threads);
  Model m = load_for_cli(o.model, {}, true);
  auto ds = open_data(o.data, m.graph);
  o.calib.per_channel = !o.per_tensor;
  o.calib.act_signed = !o.act_unsigned;
  o.calib.batch = o.data.batch;
  o.calib.progress = terminal_progress("calibrate");
  const auto t0 = std::chrono::steady_clock::now();
  QuantPlan plan = calibrate(m.graph, *ds, o.calib);
  plan.model = o.model;
  if (o.algo == "eptq")
    tune_weights_eptq(o, m, *ds, plan);
  else if (o.algo != "rtn")
    tune_weights(o, m, *ds, plan);
  if (o.bias_correction) correct_bias(o, m, *ds, plan);
  save_plan(plan, o.out);
  int w = 0, a = 0;
  for (const auto& e : plan.entries) (e.kind == TensorKind::Weight ? w : a) += e.quantize;
  std::cerr << "wrote " << o.out << ": " << w << " weight and " << a << " activation tensors quantized, "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
}

}  // namespace

void add_quantize(CLI::App& app) {
  auto o = std::make_shared<QuantizeOptions>();
  CLI::App* c = app.add_subcommand("quantize", "Calibrate on data and write a quantization plan (JSON)");
  c->add_option("model", o->model, "ONNX model")->required();
  add_data_options(c, o->data);
  c->add_option("--out", o->out, "Plan to write (.json)")->check(OutputPath)->required();
  c->add_option("--weight-bits", o->calib.weight_bits, "Weight bits: 2-8, or 32 to keep weights in float")
      ->check(CLI::IsMember({2, 3, 4, 5, 6, 7, 8, 32}));
  c->add_option("--act-bits", o->calib.act_bits,
                "Activation bits: 4-8 or 16, or 32 to keep activations in float")
      ->check(CLI::IsMember({4, 5, 6, 7, 8, 16, 32}));
  auto* pc = c->add_flag("--per-channel", o->per_channel, "Weights per output channel (default)");
  c->add_flag("--per-tensor", o->per_tensor, "Weights per tensor")->excludes(pc);
  c->add_flag("--act-unsigned", o->act_unsigned, "uint8 activations instead of int8");
  c->add_option("--method", o->calib.act_method, "Activation range estimator")
      ->check(CLI::IsMember({"minmax", "ema", "percentile", "mse", "kl"}));
  c->add_option("--percentile", o->calib.observer.percentile, "Percentile for --method percentile");
  c->add_option("--weight-method", o->calib.weight_method, "Weight range estimator")
      ->check(CLI::IsMember({"minmax", "mse"}));
  c->add_option("--calib-count", o->calib.calib_count, "Calibration samples (the first N)");
  c->add_option("--threads", o->threads, "Threads (default: all cores)");
  c->add_option(
       "--algo", o->algo,
       "Weight rounding: rtn (round to nearest), obq or gptq (layer-wise second-order), eptq (whole-model "
       "LFH-weighted distillation); all but rtn write tuned weights")
      ->check(CLI::IsMember({"rtn", "obq", "gptq", "eptq"}));
  c->add_option("--iters", o->eptq.iterations, "EPTQ: iterations")->check(CLI::PositiveNumber);
  c->add_option("--eptq-batch", o->eptq.batch, "EPTQ: images per iteration")->check(CLI::PositiveNumber);
  c->add_option("--eptq-lr", o->eptq.lr, "EPTQ: Adam learning rate of the rounding variables")
      ->check(CLI::PositiveNumber);
  c->add_flag("--eptq-learn-bias", o->eptq.learn_bias, "EPTQ: also learn the biases");
  c->add_flag("--eptq-uniform", o->eptq_uniform,
              "EPTQ: weight every layer's distillation term equally instead of by its LFH sensitivity");
  add_obc_common_options(c, o->obc);
  c->add_option("--block", o->obc.gptq.block, "GPTQ: columns per lazy-update block")
      ->check(CLI::PositiveNumber);
  c->add_flag("--act-order", o->obc.gptq.act_order, "GPTQ: quantize columns by decreasing Hessian diagonal");
  c->add_option("--group", o->obc.gptq.group,
                "GPTQ: columns per quantization group (own scale per row and group; the plan then "
                "keeps those weights unquantized and the weights model holds them)")
      ->check(CLI::NonNegativeNumber);
  c->add_flag("--bias-correction", o->bias_correction,
              "Empirical bias correction: add each layer's mean output error on the calibration data to its "
              "bias (sequentially, after --algo; with obq|gptq it is OBC's statistics correction, which "
              "matters at 3 bits and below); writes the corrected weights model");
  c->add_option("--model-out", o->model_out,
                "Where --algo obq|gptq|eptq or --bias-correction writes the weights (default: PLAN.onnx)")
      ->check(OutputPath);
  c->add_option("--report", o->report,
                "Per-layer losses and times of --algo obq|gptq, or the EPTQ loss curve (JSON)")
      ->check(OutputPath);
  c->callback([o] { run_quantize(*o); });
}

}  // namespace qs::cli
