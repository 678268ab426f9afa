#include "core/quant/plan.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/common/error.h"
#include "core/common/file_io.h"

namespace qs {

using nlohmann::json;

void PlanEntry::set_spec(const QuantSpec& s) {
  spec = s;
  params = params_from_range(spec, lo, hi);
}

PlanEntry* QuantPlan::find(const std::string& tensor) {
  for (auto& e : entries)
    if (e.tensor == tensor) return &e;
  return nullptr;
}
const PlanEntry* QuantPlan::find(const std::string& tensor) const {
  for (const auto& e : entries)
    if (e.tensor == tensor) return &e;
  return nullptr;
}
const PlanEntry* QuantPlan::active(const std::string& tensor) const {
  const PlanEntry* e = find(tensor);
  return e && e->quantize ? e : nullptr;
}

double QuantPlan::weight_bytes(const Graph& g) const {
  double bytes = 0;
  for (const auto& e : entries) {
    if (e.kind != TensorKind::Weight) continue;
    const Tensor* t = g.initializer(e.tensor);
    if (!t) continue;
    bytes += static_cast<double>(t->numel()) * (e.quantize ? e.spec.bits : 32) / 8.0;
  }
  return bytes;
}

bool weight_bits_allowed(int bits) { return bits >= 2 && bits <= 8; }
bool activation_bits_allowed(int bits) { return (bits >= 4 && bits <= 8) || bits == 16; }

std::string plan_to_json(const QuantPlan& plan) {
  json j;
  j["format"] = "quantscope-plan";
  j["version"] = QuantPlan::kVersion;
  j["model"] = plan.model;
  if (!plan.weights_model.empty()) j["weights_model"] = plan.weights_model;
  j["entries"] = json::array();
  for (const auto& e : plan.entries) {
    j["entries"].push_back({{"tensor", e.tensor},
                            {"kind", e.kind == TensorKind::Weight ? "weight" : "activation"},
                            {"layer", e.layer},
                            {"op_type", e.op_type},
                            {"quantize", e.quantize},
                            {"bits", e.spec.bits},
                            {"symmetric", e.spec.symmetric},
                            {"signed", e.spec.is_signed},
                            {"axis", e.spec.axis},
                            {"method", e.method},
                            {"min", e.lo},
                            {"max", e.hi},
                            {"scale", e.params.scale},
                            {"zero_point", e.params.zero_point}});
  }
  return j.dump(1);
}

QuantPlan plan_from_json(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(source + ": not valid JSON: " + e.what());
  }
  if (!j.is_object() || j.value("format", "") != "quantscope-plan")
    throw Error(source + ": not a QuantScope plan (\"format\" should be \"quantscope-plan\")");
  const int version = j.value("version", 0);
  if (version != QuantPlan::kVersion)
    throw Error(source + ": plan version " + std::to_string(version) +
                " is not supported (this build reads " + std::to_string(QuantPlan::kVersion) + ")");
  QuantPlan p;
  p.model = j.value("model", "");
  p.weights_model = j.value("weights_model", "");
  if (!j.contains("entries") || !j["entries"].is_array())
    throw Error(source + ": \"entries\" should be a list");
  std::set<std::string> seen;
  int index = 0;
  for (const auto& je : j["entries"]) {
    const std::string where = source + ": entry " + std::to_string(index++);
    try {
      PlanEntry e;
      e.tensor = je.at("tensor").get<std::string>();
      const std::string at = where + " ('" + e.tensor + "')";
      if (!seen.insert(e.tensor).second) throw Error(at + ": the tensor has more than one entry");
      const std::string kind = je.at("kind").get<std::string>();
      if (kind != "weight" && kind != "activation")
        throw Error(at + ": kind '" + kind + "' should be \"weight\" or \"activation\"");
      e.kind = kind == "weight" ? TensorKind::Weight : TensorKind::Activation;
      e.layer = je.value("layer", "");
      e.op_type = je.value("op_type", "");
      e.quantize = je.value("quantize", true);
      e.spec.bits = je.at("bits").get<int>();
      e.spec.symmetric = je.at("symmetric").get<bool>();
      e.spec.is_signed = je.at("signed").get<bool>();
      e.spec.axis = je.value("axis", -1);
      e.method = je.value("method", "");
      e.lo = je.at("min").get<std::vector<float>>();
      e.hi = je.at("max").get<std::vector<float>>();
      const bool bits_ok = e.kind == TensorKind::Weight ? weight_bits_allowed(e.spec.bits)
                                                        : activation_bits_allowed(e.spec.bits);
      if (!bits_ok)
        throw Error(at + ": " + std::to_string(e.spec.bits) + " bits is not allowed for " + kind +
                    "s (weights 2–8, activations 4–8 or 16)");
      if (e.kind == TensorKind::Activation && e.spec.axis != -1)
        throw Error(at + ": activations are quantized per tensor (axis must be -1)");
      try {
        e.params = params_from_range(e.spec, e.lo, e.hi);
      } catch (const Error& err) {
        throw Error(at + ": " + err.what());
      }
      // Stored scale/zero point are informational; when present they must agree with the range.
      if (je.contains("scale")) {
        const auto s = je["scale"].get<std::vector<float>>();
        if (s.size() != e.params.scale.size())
          throw Error(at + ": " + std::to_string(s.size()) + " scales for " +
                      std::to_string(e.params.scale.size()) + " ranges");
        for (size_t c = 0; c < s.size(); ++c)
          if (std::abs(s[c] - e.params.scale[c]) > 1e-6f * std::max(1.f, std::abs(e.params.scale[c])))
            throw Error(at + ": scale[" + std::to_string(c) + "] = " + std::to_string(s[c]) +
                        " does not follow from its range (expected " + std::to_string(e.params.scale[c]) +
                        "); edit min/max, not scale");
      }
      p.entries.push_back(std::move(e));
    } catch (const json::exception& err) {
      throw Error(where + ": " + err.what());
    }
  }
  return p;
}

QuantPlan load_plan(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error(path + ": cannot open plan");
  std::stringstream ss;
  ss << f.rdbuf();
  return plan_from_json(ss.str(), path);
}

void save_plan(const QuantPlan& plan, const std::string& path) {
  write_file_atomic(path, plan_to_json(plan) + "\n");
}

void validate_plan(const QuantPlan& plan, const Graph& g, const QuantPoints& points) {
  std::map<std::string, const WeightPoint*> weights;
  for (const auto& w : points.weights) weights[w.tensor] = &w;
  std::set<std::string> values;
  for (const auto& in : g.inputs) values.insert(in.name);
  for (const auto& n : g.nodes)
    for (const auto& o : n.outputs) values.insert(o);
  for (size_t i = 0; i < plan.entries.size(); ++i) {
    const PlanEntry& e = plan.entries[i];
    const std::string at = "plan entry " + std::to_string(i) + " ('" + e.tensor + "')";
    if (e.kind == TensorKind::Weight) {
      auto it = weights.find(e.tensor);
      if (it == weights.end()) throw Error(at + ": the model has no layer weight of that name");
      const Tensor& w = *g.initializer(e.tensor);
      if (e.spec.axis >= w.rank())
        throw Error(at + ": axis " + std::to_string(e.spec.axis) + " is out of range for weight " + w.str());
      // Per-channel grids follow the layer's output channels: any other axis would give the integer
      // engine a scale that varies along the reduction, which no requantization can express.
      if (e.spec.axis >= 0 && e.spec.axis != it->second->axis)
        throw Error(at + ": axis " + std::to_string(e.spec.axis) + " is not the output-channel axis of " +
                    it->second->op_type + " '" + e.layer + "' (" + std::to_string(it->second->axis) + ")");
      const int64_t ch = e.spec.axis < 0 ? 1 : w.dim(e.spec.axis);
      if (static_cast<int64_t>(e.lo.size()) != ch)
        throw Error(at + ": " + std::to_string(e.lo.size()) + " ranges, the weight " + w.str() + " has " +
                    std::to_string(ch) +
                    (e.spec.axis < 0 ? " (per tensor)" : " channels on axis " + std::to_string(e.spec.axis)));
    } else {
      if (!values.count(e.tensor)) throw Error(at + ": the model has no value of that name");
      if (e.lo.size() != 1) throw Error(at + ": an activation has one range");
    }
  }
}

}  // namespace qs
