// `repvgg MODEL --data DATA [--json] [--fuse-out FUSED.onnx] [--count N]`: RepVGG branch diagnostics and
// structural re-parameterization (core/algo/repvgg/).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "app/cli/commands.h"
#include "app/cli/data_options.h"
#include "app/cli/options.h"
#include "core/algo/repvgg/diagnose.h"
#include "core/algo/repvgg/export.h"

namespace qs::cli {

namespace {

struct RepvggCliOptions {
  std::string model, fuse_out;
  DataOptions data;
  repvgg::RepvggOptions diag;
  bool json = false;
  int threads = 0;
};

std::string dbs(double v) {
  char buf[32];
  if (!std::isfinite(v)) return "inf";
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

void run_repvgg(RepvggCliOptions o) {
  apply_threads(o.threads);
  LoadOptions lo;
  lo.fold_batchnorm = false;  // the branches as trained
  Model m = load_for_cli(o.model, lo, !o.json);
  auto ds = open_data(o.data, m.graph);
  o.diag.batch = o.data.batch;
  if (!o.json) o.diag.progress = terminal_progress("repvgg");
  repvgg::FusedModel fused;
  repvgg::RepvggReport r = repvgg::diagnose(m.graph, *ds, o.diag, &fused);
  r.model = o.model;
  if (!o.fuse_out.empty()) {
    repvgg::ExportOptions eo;
    eo.count = o.diag.count;
    eo.batch = o.diag.batch;
    eo.tolerance = o.diag.tolerance;
    const repvgg::FusionCheck c = repvgg::export_fused(m.graph, fused, o.model, o.fuse_out, *ds, eo);
    r.fused_path = o.fuse_out;
    if (!o.json)
      std::cerr << "wrote " << o.fuse_out << " (" << fused.convs.size()
                << " blocks fused; reloaded, checked: max "
                << "relative error " << c.max_rel_error() << " on " << c.samples << " samples)\n";
  }
  if (o.json) {
    std::cout << repvgg::report_to_json(r) << "\n";
    return;
  }
  if (r.blocks.empty()) std::printf("no re-parameterizable blocks found in %s\n", o.model.c_str());
  int w = 5;
  for (const auto& b : r.blocks) w = std::max(w, static_cast<int>(b.block.name.size()));
  std::printf("%-*s %-8s %-36s %8s %7s %7s %7s %6s %6s %6s %6s %6s  %s\n", w, "block", "variant", "structure",
              "fuse err", "k std", "max|w|", "max/std", "W8pt", "W8pc", "W4pc", "zero4", "A8pt", "verdict");
  for (const auto& b : r.blocks) {
    const auto* w8t = b.weight_error("w8_per_tensor");
    const auto* w8c = b.weight_error("w8_per_channel");
    const auto* w4c = b.weight_error("w4_per_channel");
    std::string v;
    if (!b.verdict.weights_ok) v += "weights ";
    if (!b.verdict.activations_ok) v += "activations ";
    if (!b.verdict.low_bit_ok) v += "4-bit ";
    std::printf("%-*s %-8s %-36s %8.1e %7.3g %7.3g %7.1f %6s %6s %6s %5.0f%% %6s  %s\n", w,
                b.block.name.c_str(), b.block.variant().c_str(), b.block.structure().substr(0, 36).c_str(),
                b.fusion_rel_error, b.kernel_std, b.kernel_max_abs, b.kernel_max_over_std,
                dbs(w8t->output.sqnr_db).c_str(), dbs(w8c->output.sqnr_db).c_str(),
                dbs(w4c->output.sqnr_db).c_str(), 100 * b.zero_share_w4_per_channel,
                dbs(b.act_per_tensor.sqnr_db).c_str(), v.empty() ? "ok" : ("FAILS: " + v).c_str());
  }
  for (const auto& b : r.blocks) {
    if (!b.verdict.flagged()) continue;
    std::printf("\n%s (%s):\n", b.block.name.c_str(), b.block.structure().c_str());
    if (!b.verdict.weights_ok) std::printf("  weights:     %s\n", b.verdict.weights.c_str());
    if (!b.verdict.activations_ok) std::printf("  activations: %s\n", b.verdict.activations.c_str());
    if (!b.verdict.low_bit_ok) std::printf("  4-bit:       %s\n", b.verdict.low_bit.c_str());
  }
  for (const auto& s : r.skipped)
    std::printf("not a re-parameterizable block at '%s': %s\n", s.node.c_str(), s.reason.c_str());
  std::printf("%zu block(s); fusion max relative error %.2e (tolerance %.0e) over %lld samples; %.1f s\n",
              r.blocks.size(), r.fusion.max_rel_error(), r.tolerance, static_cast<long long>(r.samples),
              r.seconds);
}

}  // namespace

void add_repvgg(CLI::App& app) {
  auto o = std::make_shared<RepvggCliOptions>();
  CLI::App* c = app.add_subcommand("repvgg", "RepVGG branch diagnostics and structural re-parameterization");
  c->add_option("model", o->model, "ONNX model (training-time form, or with BN folded by the exporter)")
      ->required();
  add_data_options(c, o->data);
  c->add_flag("--json", o->json,
              "Print the report as one JSON object (a `blocks` array, one entry per block)");
  c->add_option("--fuse-out", o->fuse_out,
                "Write the re-parameterized model here (.onnx), after checking it")->check(OutputPath);
  c->add_option("--count", o->diag.count, "Calibration samples used (the first N)");
  c->add_option("--tolerance", o->diag.tolerance, "Max relative error of the fused model");
  c->add_option("--min-weight-sqnr", o->diag.verdict.min_weight_sqnr_db,
                "Condition 1 fails below this W8 per-tensor layer SQNR (dB)");
  c->add_option("--min-act-sqnr", o->diag.verdict.min_act_sqnr_db,
                "Condition 2 fails below this A8 per-tensor activation SQNR (dB)");
  c->add_option("--min-low-bit-sqnr", o->diag.verdict.min_low_bit_sqnr_db,
                "4-bit weights fail below this W4 per-channel layer SQNR (dB)");
  c->add_option("--max-w4-zero-share", o->diag.verdict.max_w4_zero_share,
                "4-bit weights fail when more than this share of the fused kernel rounds to zero");
  c->add_option("--threads", o->threads, "Threads (default: all cores)");
  c->callback([o] { run_repvgg(*o); });
}

}  // namespace qs::cli
