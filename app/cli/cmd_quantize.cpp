// `quantize MODEL --data DATA --out PLAN.json [--weight-bits B] [--act-bits B] [--per-channel|--per-tensor]
//   [--method minmax|ema|percentile|mse|kl] [--weight-method minmax|mse] [--calib-count N]`
#include <chrono>
#include <iostream>

#include "app/cli/commands.h"
#include "app/cli/data_options.h"
#include "app/cli/options.h"
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
};

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
  c->add_option("--out", o->out, "Plan to write (.json)")->required();
  c->add_option("--weight-bits", o->calib.weight_bits, "Weight bits: 2-8, or 32 to keep weights in float")
      ->check(CLI::IsMember({2, 3, 4, 5, 6, 7, 8, 32}));
  c->add_option("--act-bits", o->calib.act_bits, "Activation bits: 4-8 or 16, or 32 to keep activations in float")
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
  c->callback([o] { run_quantize(*o); });
}

}  // namespace qs::cli
