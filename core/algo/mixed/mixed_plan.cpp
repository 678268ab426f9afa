#include "core/algo/mixed/mixed_plan.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/analysis/model_summary.h"
#include "core/common/error.h"
#include "core/quant/weight_range.h"
#include "core/runtime/executor.h"

namespace qs {

std::pair<std::string, int> parse_pin(const std::string& text) {
  const auto eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw Error("pin '" + text + "' should be NAME=BITS or NAME=float");
  const std::string name = text.substr(0, eq), v = text.substr(eq + 1);
  if (v == "float" || v == "32") return {name, kFloatBits};
  int bits = 0;
  try {
    size_t used = 0;
    bits = std::stoi(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
  } catch (const std::exception&) {
    throw Error("pin '" + text + "': '" + v + "' is not a bit-width (2..8, 16, or float)");
  }
  return {name, bits};
}

std::string resolve_pin(const QuantPlan& plan, const std::string& name) {
  if (plan.find(name)) return name;
  for (const auto& e : plan.entries)
    if (e.kind == TensorKind::Weight && e.layer == name) return e.tensor;
  throw Error("pin '" + name + "': the plan has no tensor or layer of that name");
}

PlanEntry with_bits(const PlanEntry& e, const Graph& g, int bits) {
  PlanEntry r = e;
  if (bits == kFloatBits) {
    r.quantize = false;
    return r;
  }
  r.quantize = true;
  QuantSpec s = e.spec;
  s.bits = bits;
  if (e.kind == TensorKind::Activation && (bits == 16) != (e.spec.bits == 16)) {
    // int16 activations are symmetric (TFLite's 16x8 mode, as calibrate.h); narrower ones asymmetric.
    s.symmetric = bits == 16;
    if (bits == 16) s.is_signed = true;
  }
  const auto& methods = weight_range_methods();
  if (e.kind == TensorKind::Weight && std::find(methods.begin(), methods.end(), e.method) != methods.end()) {
    const Tensor* w = g.initializer(e.tensor);
    if (!w) throw Error("plan entry '" + e.tensor + "': the model has no weight of that name");
    const ChannelRanges cr = weight_range(*w, s, e.method);
    r.lo = cr.lo;
    r.hi = cr.hi;
  }
  r.set_spec(s);
  return r;
}

MixedProblem build_problem(const Graph& g, const QuantPlan& plan, const QuantPoints& points,
                           const SensitivityTable& table, const MixedSetup& setup,
                           const Shape& sample_shape) {
  if (g.inputs.size() != 1)
    throw UnsupportedError("mixed precision: the model has " + std::to_string(g.inputs.size()) +
                           " inputs and one sample shape was given; give one per input");
  return build_problem(g, plan, points, table, setup,
                       std::map<std::string, Shape>{{g.inputs[0].name, sample_shape}});
}

MixedProblem build_problem(const Graph& g, const QuantPlan& plan, const QuantPoints& points,
                           const SensitivityTable& table, const MixedSetup& setup, const Dataset& data) {
  if (g.inputs.empty()) throw Error("mixed precision: the model has no inputs");
  return build_problem(g, plan, points, table, setup, data.sample_shapes(g.inputs[0].name));
}

MixedProblem build_problem(const Graph& g, const QuantPlan& plan, const QuantPoints& points,
                           const SensitivityTable& table, const MixedSetup& setup,
                           const std::map<std::string, Shape>& sample_shapes) {
  for (const auto& [name, bits] : setup.pins) {
    const PlanEntry* e = plan.find(name);
    if (!e) throw Error("pin '" + name + "': the plan has no tensor of that name");
    const bool ok = bits == kFloatBits || (e->kind == TensorKind::Weight ? weight_bits_allowed(bits)
                                                                         : activation_bits_allowed(bits));
    if (!ok)
      throw Error(
          "pin '" + name + "': " + std::to_string(bits) + " bits is not allowed for " +
          (e->kind == TensorKind::Weight ? "weights (2–8 or float)" : "activations (4–8, 16 or float)"));
  }
  // Element counts per sample and MACs at batch 1: one zero sample of every input, in its own type.
  std::map<std::string, Shape> in_shapes;
  std::map<std::string, Tensor> feeds;
  for (const auto& in : g.inputs) {
    auto it = sample_shapes.find(in.name);
    if (it == sample_shapes.end())
      throw Error("mixed precision: input '" + in.name + "' has no sample shape (no data)");
    Shape s = it->second;
    s.insert(s.begin(), 1);
    feeds[in.name] = Tensor::zeros(in.dtype == DType::Undefined ? DType::Float32 : in.dtype, s);
    in_shapes[in.name] = std::move(s);
  }
  Executor ex(g);
  const auto meta = probe_values(ex, feeds);
  const ModelSummary summary = summarize(g, in_shapes);
  std::map<std::string, int64_t> macs;
  for (const auto& L : summary.layers) macs[L.weight] += L.macs.value_or(0);

  MixedProblem p;
  p.budget = setup.budget;
  std::map<std::string, int> group_of;
  for (const auto& e : plan.entries) {
    MixedGroup grp;
    grp.tensor = e.tensor;
    grp.kind = e.kind;
    if (e.kind == TensorKind::Weight) {
      const Tensor* w = g.initializer(e.tensor);
      if (!w) throw Error("plan entry '" + e.tensor + "': the model has no weight of that name");
      grp.elements = w->numel();
      grp.macs = macs.count(e.tensor) ? macs.at(e.tensor) : 0;
    } else {
      auto it = meta.find(e.tensor);
      if (it == meta.end())
        throw Error("plan entry '" + e.tensor + "': the model computes no value of that name");
      grp.elements = numel(it->second.shape);
    }
    const SensitivityRow* row = table.find(e.tensor);
    auto loss_of = [&](int bits) {
      if (bits == kFloatBits) return 0.0;
      if (!row) return 0.0;
      return row->loss_at(bits);
    };
    auto pin = setup.pins.find(e.tensor);
    if (pin != setup.pins.end()) {
      const int bits = pin->second;
      const bool measured = bits == kFloatBits ||
                            (row && std::find(row->bits.begin(), row->bits.end(), bits) != row->bits.end());
      grp.options.push_back({bits, measured ? loss_of(bits) : 0.0});
    } else if (row) {
      for (int b : row->bits) grp.options.push_back({b, loss_of(b)});
    } else if (e.kind == TensorKind::Weight) {
      throw Error("mixed precision: the sensitivity table has no row for weight '" + e.tensor + "'");
    } else {
      grp.options.push_back({e.quantize ? e.spec.bits : kFloatBits, 0.0});
    }
    if (grp.options.empty()) throw Error("mixed precision: no bit-width measured for '" + e.tensor + "'");
    group_of[e.tensor] = static_cast<int>(p.groups.size());
    p.groups.push_back(std::move(grp));
  }
  // A layer's input activation: the point whose parameters its input carries.
  for (const auto& wp : points.weights) {
    auto gi = group_of.find(wp.tensor);
    if (gi == group_of.end()) continue;
    MixedGroup& grp = p.groups[static_cast<size_t>(gi->second)];
    auto c = points.carrier.find(wp.input);
    auto ai = c == points.carrier.end() ? group_of.end() : group_of.find(c->second);
    if (ai != group_of.end())
      grp.input = ai->second;
    else
      grp.input_bits = kFloatBits;
  }
  return p;
}

QuantPlan apply_choice(const Graph& g, const QuantPlan& plan, const MixedProblem& p,
                       const std::vector<int>& choice) {
  if (choice.size() != p.groups.size())
    throw Error("mixed precision: " + std::to_string(choice.size()) + " choices for " +
                std::to_string(p.groups.size()) + " groups");
  QuantPlan r = plan;
  for (size_t i = 0; i < p.groups.size(); ++i) {
    const MixedGroup& grp = p.groups[i];
    PlanEntry* e = r.find(grp.tensor);
    if (!e) throw Error("mixed precision: the plan has no tensor '" + grp.tensor + "'");
    const int bits = grp.options.at(static_cast<size_t>(choice[i])).bits;
    const bool unchanged = bits == kFloatBits ? !e->quantize : (e->quantize && e->spec.bits == bits);
    if (!unchanged) *e = with_bits(*e, g, bits);
  }
  return r;
}

namespace {

nlohmann::json costs_json(const MixedCosts& c) {
  return {{"loss", c.loss}, {"weight_bytes", c.weight_bytes}, {"bops", c.bops}, {"act_bytes", c.act_bytes}};
}

nlohmann::json allocation_json(const MixedProblem& p, const std::vector<int>& choice) {
  nlohmann::json a = nlohmann::json::array();
  for (size_t i = 0; i < p.groups.size(); ++i) {
    const MixedGroup& g = p.groups[i];
    if (g.options.size() == 1 && g.kind == TensorKind::Activation) continue;  // unchanged activations
    const MixedOption& o = g.options[static_cast<size_t>(choice[i])];
    a.push_back({{"tensor", g.tensor},
                 {"kind", g.kind == TensorKind::Weight ? "weight" : "activation"},
                 {"bits", o.bits == kFloatBits ? nlohmann::json("float") : nlohmann::json(o.bits)},
                 {"loss", o.loss},
                 {"bytes", static_cast<double>(g.elements) * o.bits / 8.0},
                 {"pinned", g.options.size() == 1}});
  }
  return a;
}

nlohmann::json budget_json(const MixedBudget& b) {
  nlohmann::json j = nlohmann::json::object();
  if (b.weight_bytes) j["weight_bytes"] = *b.weight_bytes;
  if (b.bops) j["bops"] = *b.bops;
  if (b.act_bytes) j["act_bytes"] = *b.act_bytes;
  return j;
}

}  // namespace

std::vector<int> uniform_choice(const MixedProblem& p, int bits) {
  std::vector<int> choice;
  for (const auto& grp : p.groups) {
    int pick = 0;
    if (grp.options.size() > 1) {
      auto it = std::find_if(grp.options.begin(), grp.options.end(),
                             [&](const MixedOption& o) { return o.bits == bits; });
      // Activations with a choice of widths have no single uniform counterpart.
      if (it == grp.options.end() || grp.kind != TensorKind::Weight) return {};
      pick = static_cast<int>(it - grp.options.begin());
    }
    choice.push_back(pick);
  }
  return choice;
}

UniformCheck check_against_uniform(const Graph& g, Dataset& data, const QuantPlan& plan,
                                   const QuantPoints& points, const SensitivityTable& table,
                                   const MixedProblem& p, MixedSolution& s, std::vector<int> widths,
                                   int64_t batch) {
  UniformCheck c;
  if (!s.feasible) return c;
  std::sort(widths.rbegin(), widths.rend());
  for (int b : widths) {
    const std::vector<int> uni = uniform_choice(p, b);
    if (uni.empty() || !within_budget(p, evaluate(p, uni))) continue;
    if (uni == s.choice) return c;
    c.uniform_bits = b;
    c.ilp = measure_distortion(g, data, apply_choice(g, plan, p, s.choice), points, table, batch);
    c.uniform = measure_distortion(g, data, apply_choice(g, plan, p, uni), points, table, batch);
    if (c.uniform < c.ilp) {
      c.kept_uniform = true;
      s.choice = uni;
      s.costs = evaluate(p, uni);
    }
    return c;
  }
  return c;
}

std::string solution_to_json(const MixedProblem& p, const MixedSolution& s) {
  nlohmann::json j{{"feasible", s.feasible}, {"budget", budget_json(p.budget)}, {"solve_seconds", s.seconds}};
  if (s.feasible) {
    j["costs"] = costs_json(s.costs);
    j["allocation"] = allocation_json(p, s.choice);
  } else {
    j["message"] = s.message;
    if (s.min_weight_bytes) j["min_weight_bytes"] = *s.min_weight_bytes;
    if (s.min_bops) j["min_bops"] = *s.min_bops;
    if (s.min_act_bytes) j["min_act_bytes"] = *s.min_act_bytes;
  }
  return j.dump(1);
}

std::string pareto_to_json(const MixedProblem& p, const std::vector<ParetoPoint>& points) {
  nlohmann::json j{{"min_weight_bytes", min_weight_bytes(p)},
                   {"max_weight_bytes", max_weight_bytes(p)},
                   {"budget", budget_json(p.budget)},
                   {"points", nlohmann::json::array()}};
  for (const auto& pt : points) {
    nlohmann::json jp = costs_json(pt.solution.costs);
    jp["budget_weight_bytes"] = pt.budget;
    jp["solve_seconds"] = pt.solution.seconds;
    jp["allocation"] = allocation_json(p, pt.solution.choice);
    j["points"].push_back(jp);
  }
  return j.dump(1);
}

}  // namespace qs
