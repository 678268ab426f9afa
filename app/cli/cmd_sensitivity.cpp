// `sensitivity MODEL --data DATA [--samples N] [--json] [--hessian]`: the label-free Hessian trace (LFH)
// of every quantizable weight and activation, log-normalized as EPTQ uses it; with --hessian also the
// trace of the labeled cross-entropy Hessian (finite-difference Hessian-vector products) and the Spearman
// rank correlation between the two, per kind.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/data_options.h"
#include "app/cli/options.h"
#include "core/algo/hessian_trace.h"
#include "core/algo/lfh.h"
#include "core/quant/calibrate.h"

namespace qs::cli {

namespace {

struct SensitivityOptions {
  std::string model;
  DataOptions data;
  LfhOptions lfh;
  bool json = false;
  bool no_per_channel = false;
  bool hessian = false;
  HessianTraceOptions hess;
  std::string hessian_method = "gradient";
  int threads = 0;
};

const char* kind_name(TensorKind k) { return k == TensorKind::Weight ? "weight" : "activation"; }

void run_sensitivity(SensitivityOptions o) {
  apply_threads(o.threads);
  Model m = load_for_cli(o.model, {}, !o.json);
  auto ds = open_data(o.data, m.graph);
  const QuantPoints points = quant_points_for(m.graph, *ds);
  o.lfh.batch = o.data.batch;
  o.lfh.per_channel = !o.no_per_channel;
  if (!o.json) o.lfh.progress = terminal_progress("lfh");
  const LfhResult r = compute_lfh(m.graph, *ds, points, o.lfh);

  HessianTraceResult h;
  std::map<std::string, double> hmap;
  double rho_w = NAN, rho_a = NAN;
  if (o.hessian) {
    if (o.hess.samples <= 0) o.hess.samples = o.lfh.samples;
    o.hess.seed = o.lfh.seed;
    o.hess.batch = o.data.batch;
    o.hess.method = o.hessian_method == "gauss-newton" ? HessianMethod::kGaussNewton
                                                       : HessianMethod::kGradientDifferences;
    if (!o.json) o.hess.progress = terminal_progress("hessian");
    h = labeled_hessian_trace(m.graph, *ds, points, o.hess);
    for (const auto& t : h.tensors) hmap[t.tensor] = t.trace;
    for (TensorKind kind : {TensorKind::Weight, TensorKind::Activation}) {
      std::vector<double> a, b;
      for (const auto& t : r.tensors)
        if (t.kind == kind) {
          a.push_back(t.trace);
          b.push_back(hmap.at(t.tensor));
        }
      (kind == TensorKind::Weight ? rho_w : rho_a) = spearman(a, b);
    }
  }
  const int64_t samples = std::min(o.lfh.samples, ds->size());
  const double ratio = r.forward_seconds > 0 ? r.seconds / r.forward_seconds : NAN;
  if (o.json) {
    nlohmann::json j{{"model", o.model},          {"samples", samples},
                     {"seconds", r.seconds},      {"forward_seconds", r.forward_seconds},
                     {"lfh_over_forward", ratio}, {"tensors", nlohmann::json::array()}};
    for (const auto& t : r.tensors) {
      nlohmann::json e{{"tensor", t.tensor}, {"kind", kind_name(t.kind)},  {"layer", t.layer},
                       {"trace", t.trace},   {"normalized", t.normalized}, {"probes", t.probes}};
      if (!t.per_channel.empty()) e["per_channel"] = t.per_channel;
      if (o.hessian) e["hessian_trace"] = hmap.at(t.tensor);
      j["tensors"].push_back(e);
    }
    if (o.hessian) {
      auto num = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
      j["hessian"] = {
          {"method", o.hessian_method == "gauss-newton"
                         ? "Hutchinson, (Jv)' H_CE (Jv), Jv by central differences of outputs"
                         : "Hutchinson, Hessian-vector products by central differences of gradients"},
          {"samples", std::min(o.hess.samples, ds->size())},
          {"probes", o.hess.probes},
          {"epsilon", o.hess.epsilon},
          {"seconds", h.seconds},
          {"spearman_weights", num(rho_w)},
          {"spearman_activations", num(rho_a)}};
    }
    std::cout << j.dump(1) << "\n";
    return;
  }
  std::printf("%-40s %-10s %13s %10s %6s%s\n", "tensor", "kind", "LFH trace", "log-norm", "probes",
              o.hessian ? "   CE Hessian tr" : "");
  for (const auto& t : r.tensors) {
    std::printf("%-40s %-10s %13.5g %10.3f %6d", t.tensor.substr(0, 40).c_str(), kind_name(t.kind), t.trace,
                t.normalized, t.probes);
    if (o.hessian) std::printf(" %16.5g", hmap.at(t.tensor));
    std::printf("\n");
  }
  std::printf("LFH over %lld samples: %.3f s; one forward pass over them: %.4f s (ratio %.1f)\n",
              static_cast<long long>(samples), r.seconds, r.forward_seconds, ratio);
  if (o.hessian)
    std::printf("Spearman(LFH, CE Hessian trace, %s): weights %.3f, activations %.3f (%.1f s)\n",
                o.hessian_method.c_str(), rho_w, rho_a, h.seconds);
}

}  // namespace

void add_sensitivity(CLI::App& app) {
  auto o = std::make_shared<SensitivityOptions>();
  o->data.batch = o->lfh.batch;
  o->hess.samples = 0;
  CLI::App* c =
      app.add_subcommand("sensitivity", "Label-free Hessian trace (LFH) of every quantizable tensor");
  c->add_option("model", o->model, "ONNX model")->required();
  add_data_options(c, o->data);
  c->add_option("--samples", o->lfh.samples, "Calibration samples averaged (the first N)")
      ->check(CLI::PositiveNumber);
  c->add_option("--min-probes", o->lfh.min_probes, "Hutchinson probes per batch before stopping may happen");
  c->add_option("--max-probes", o->lfh.max_probes, "Cap of Hutchinson probes per batch");
  c->add_option("--tol", o->lfh.tol, "Stop when every running mean moves by less than this (relative)");
  c->add_option("--seed", o->lfh.seed, "Probe seed");
  c->add_flag("--no-per-channel", o->no_per_channel, "Do not report per-channel traces");
  c->add_flag("--json", o->json, "Print JSON to stdout");
  c->add_flag("--hessian", o->hessian,
              "Also the labeled cross-entropy Hessian trace (needs labels) and Spearman");
  c->add_option("--hessian-samples", o->hess.samples, "Samples for --hessian (default: --samples)");
  c->add_option("--hessian-probes", o->hess.probes, "Probes per batch and tensor for --hessian");
  c->add_option("--hessian-eps", o->hess.epsilon, "Finite-difference step relative to the tensor's RMS");
  c->add_option("--hessian-method", o->hessian_method,
                "gradient: Hessian-vector products by differences of gradients (any model); gauss-newton: "
                "(Jv)ᵀ H_CE (Jv) with Jv by differences of outputs (exact for piecewise-linear models)")
      ->check(CLI::IsMember({"gradient", "gauss-newton"}));
  c->add_option("--threads", o->threads, "Threads (default: all cores)");
  c->callback([o] { run_sensitivity(*o); });
}

}  // namespace qs::cli
