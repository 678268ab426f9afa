// JSON form of a RepvggReport (`quantscope-cli repvgg --json`). Infinite SQNR (no error) is written as
// null, as in core/quant/analysis.cpp's reports.
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/algo/repvgg/diagnose.h"

namespace qs::repvgg {

namespace {

using nlohmann::json;

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json moments(const Moments& m) {
  return {{"mean", num(m.mean)}, {"std", num(m.std)},         {"min", num(m.min)},
          {"max", num(m.max)},   {"max_abs", num(m.max_abs)}, {"count", m.count}};
}

json err(const ErrorStats& e) {
  return {{"sqnr_db", num(e.sqnr_db)}, {"mse", num(e.mse)}, {"cosine", num(e.cosine)}, {"count", e.count}};
}

json block_json(const BlockReport& r) {
  const Block& b = r.block;
  json j;
  j["name"] = b.name;
  j["variant"] = b.variant();
  j["structure"] = b.structure();
  j["bn_folded_by_exporter"] = b.bn_folded();
  j["input"] = b.input;
  j["output"] = b.output;
  j["activation"] = b.activation;
  j["activation_op"] = b.activation_op;
  j["in_channels"] = b.in_channels;
  j["out_channels"] = b.out_channels;
  j["group"] = b.group;
  j["kernel"] = b.kernel;
  j["strides"] = b.strides;
  j["pads"] = b.pads;
  j["replaced_nodes"] = r.replaced;
  j["fused"] = {
      {"node", r.fused_node}, {"weight", r.fused_weight}, {"max_rel_error", num(r.fusion_rel_error)}};
  j["branches"] = json::array();
  for (size_t k = 0; k < r.branches.size(); ++k) {
    const BranchStats& s = r.branches[k];
    const Branch& br = b.branches[k];
    j["branches"].push_back({{"label", s.label},
                             {"kind", br.kind == BranchKind::Identity ? "identity" : "conv"},
                             {"conv", br.conv},
                             {"weight", br.weight},
                             {"bn", br.bn},
                             {"output", s.output},
                             {"output_stats", moments(s.out)},
                             {"kernel_std", num(s.kernel_std)},
                             {"kernel_max_abs", num(s.kernel_max_abs)}});
  }
  j["pre_activation"] = moments(r.pre_activation);
  j["fused_kernel"] = {{"std", num(r.kernel_std)},
                       {"max_abs", num(r.kernel_max_abs)},
                       {"max_over_std", num(r.kernel_max_over_std)},
                       {"zero_share_w8_per_channel", r.zero_share_w8_per_channel},
                       {"zero_share_w4_per_channel", r.zero_share_w4_per_channel},
                       {"zero_share_w8_per_tensor", r.zero_share_w8_per_tensor},
                       {"zero_share_w4_per_tensor", r.zero_share_w4_per_tensor},
                       {"channels_max_at_centre", r.channels_max_at_centre}};
  json ch = json::array();
  for (const auto& c : r.channels)
    ch.push_back({{"std", num(c.std)},
                  {"max_abs", num(c.max_abs)},
                  {"max_over_std", num(c.max_over_std)},
                  {"zero_share_w8", c.zero_share_w8},
                  {"zero_share_w4", c.zero_share_w4},
                  {"max_at_centre", c.max_at_centre}});
  j["fused_kernel"]["channels"] = std::move(ch);
  json we = json::object();
  for (const auto& e : r.weight_errors)
    we[e.name] = {{"bits", e.bits},
                  {"per_channel", e.per_channel},
                  {"method", e.method},
                  {"output", err(e.output)},
                  {"weight_sqnr_db", num(e.weight_sqnr_db)}};
  j["weight_error"] = std::move(we);
  j["activation_stats"] = moments(r.activation);
  j["activation_error"] = {{"a8_per_tensor", err(r.act_per_tensor)},
                           {"a8_per_channel", err(r.act_per_channel)}};
  j["verdict"] = {{"weights_ok", r.verdict.weights_ok},   {"activations_ok", r.verdict.activations_ok},
                  {"low_bit_ok", r.verdict.low_bit_ok},   {"flagged_int8", r.verdict.flagged_int8()},
                  {"flagged", r.verdict.flagged()},       {"weights", r.verdict.weights},
                  {"activations", r.verdict.activations}, {"low_bit", r.verdict.low_bit}};
  return j;
}

}  // namespace

std::string report_to_json(const RepvggReport& r) {
  json j;
  j["format"] = "quantscope-repvgg";
  j["version"] = 1;
  j["model"] = r.model;
  j["samples"] = r.samples;
  j["seconds"] = r.seconds;
  j["fusion"] = {{"tolerance", r.tolerance},
                 {"max_rel_error", num(r.fusion.max_rel_error())},
                 {"output_rel_error", num(r.fusion.output_rel_error)},
                 {"ok", r.fusion.ok(r.tolerance)},
                 {"samples", r.fusion.samples},
                 {"fused_model", r.fused_path}};
  j["thresholds"] = {{"min_weight_sqnr_db", r.thresholds.min_weight_sqnr_db},
                     {"min_act_sqnr_db", r.thresholds.min_act_sqnr_db},
                     {"min_low_bit_sqnr_db", r.thresholds.min_low_bit_sqnr_db},
                     {"max_w4_zero_share", r.thresholds.max_w4_zero_share}};
  j["skipped"] = json::array();
  for (const auto& s : r.skipped) j["skipped"].push_back({{"node", s.node}, {"reason", s.reason}});
  j["blocks"] = json::array();
  for (const auto& b : r.blocks) j["blocks"].push_back(block_json(b));
  return j.dump(1);
}

}  // namespace qs::repvgg
