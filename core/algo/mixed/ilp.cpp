#include "core/algo/mixed/ilp.h"

#include <CbcModel.hpp>
#include <CglClique.hpp>
#include <CglKnapsackCover.hpp>
#include <CglProbing.hpp>
#include <CoinPackedMatrix.hpp>
#include <OsiClpSolverInterface.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "core/common/error.h"

namespace qs {

namespace {

enum class Resource { Loss, WeightBytes, Bops, ActBytes };

double weight_bits_of(const MixedGroup& g, const MixedOption& o) {
  return static_cast<double>(g.elements) * static_cast<double>(o.bits);
}

void check_problem(const MixedProblem& p) {
  for (size_t i = 0; i < p.groups.size(); ++i) {
    const MixedGroup& g = p.groups[i];
    const std::string at = "mixed precision: group " + std::to_string(i) + " ('" + g.tensor + "')";
    if (g.options.empty()) throw Error(at + " has no bit-width to choose from");
    if (g.elements < 0 || g.macs < 0) throw Error(at + ": negative element or MAC count");
    for (const auto& o : g.options) {
      if (o.bits != kFloatBits && (o.bits < 2 || o.bits > 16))
        throw Error(at + ": " + std::to_string(o.bits) + " bits is not a bit-width (2..16, or 32 for float)");
      if (!(o.loss >= 0) || !std::isfinite(o.loss))
        throw Error(at + ": the loss of " + std::to_string(o.bits) + " bits is " + std::to_string(o.loss) +
                    " (must be finite and >= 0)");
    }
    if (g.kind == TensorKind::Weight && g.input >= 0) {
      if (g.input >= static_cast<int>(p.groups.size()) ||
          p.groups[static_cast<size_t>(g.input)].kind != TensorKind::Activation)
        throw Error(at + ": input " + std::to_string(g.input) + " is not an activation group");
    }
  }
  for (const auto* b : {&p.budget.weight_bytes, &p.budget.bops, &p.budget.act_bytes})
    if (*b && (!(**b >= 0) || !std::isfinite(**b)))
      throw Error("mixed precision: a budget is " + std::to_string(**b) + " (must be finite and >= 0)");
}

// The bits of the input activation of weight group g under `choice`.
double input_bits(const MixedProblem& p, const MixedGroup& g, const std::vector<int>& choice) {
  if (g.input < 0) return g.input_bits;
  const MixedGroup& a = p.groups[static_cast<size_t>(g.input)];
  return a.options[static_cast<size_t>(choice[static_cast<size_t>(g.input)])].bits;
}

// A linear program being assembled, in the column/row form CBC loads.
struct Lp {
  std::vector<double> collb, colub, obj;
  std::vector<int> integers;
  std::vector<double> rowlb, rowub;
  std::vector<int> ri, ci;
  std::vector<double> val;

  int col(double lb, double ub, double cost, bool integer) {
    collb.push_back(lb);
    colub.push_back(ub);
    obj.push_back(cost);
    const int c = static_cast<int>(obj.size()) - 1;
    if (integer) integers.push_back(c);
    return c;
  }
  int row(double lb, double ub) {
    rowlb.push_back(lb);
    rowub.push_back(ub);
    return static_cast<int>(rowlb.size()) - 1;
  }
  void coef(int r, int c, double v) {
    if (v == 0) return;
    ri.push_back(r);
    ci.push_back(c);
    val.push_back(v);
  }
};

// Limits the solve respects: scaled upper bounds (1 = the budget) for the rows, or none.
struct Limits {
  std::optional<double> weight_bytes, bops, act_bytes;
  double weight_slack = 0, bops_slack = 0;  // subtracted from the scaled bound after a violation
};

struct Outcome {
  bool feasible = false;
  std::vector<int> choice;
};

Outcome solve_once(const MixedProblem& p, const Limits& lim, Resource objective) {
  const double inf = COIN_DBL_MAX;
  Lp lp;
  std::vector<std::vector<int>> x(p.groups.size());

  double obj_scale = 1;
  if (objective == Resource::Loss) {
    double mx = 0;
    for (const auto& g : p.groups)
      for (const auto& o : g.options) mx = std::max(mx, o.loss);
    obj_scale = mx > 0 ? 1 / mx : 1;
  } else if (objective == Resource::WeightBytes) {
    obj_scale = 1 / std::max(1.0, max_weight_bytes(p) * 8);
  }

  for (size_t gi = 0; gi < p.groups.size(); ++gi) {
    const MixedGroup& g = p.groups[gi];
    for (const auto& o : g.options) {
      double ub = 1;
      const double bytes = static_cast<double>(g.elements) * o.bits / 8.0;
      if (g.kind == TensorKind::Activation && lim.act_bytes && bytes > *lim.act_bytes) ub = 0;
      double cost = 0;
      if (objective == Resource::Loss) cost = o.loss * obj_scale;
      if (objective == Resource::WeightBytes && g.kind == TensorKind::Weight)
        cost = weight_bits_of(g, o) * obj_scale;
      x[gi].push_back(lp.col(0, ub, cost, true));
    }
    const int r = lp.row(1, 1);
    for (int c : x[gi]) lp.coef(r, c, 1);
  }

  if (lim.weight_bytes) {
    const double rhs = *lim.weight_bytes * 8;  // in bits
    const double s = rhs > 0 ? 1 / rhs : 1;
    const int r = lp.row(-inf, (rhs > 0 ? 1 : 0) - lim.weight_slack);
    for (size_t gi = 0; gi < p.groups.size(); ++gi) {
      const MixedGroup& g = p.groups[gi];
      if (g.kind != TensorKind::Weight) continue;
      for (size_t o = 0; o < g.options.size(); ++o) lp.coef(r, x[gi][o], weight_bits_of(g, g.options[o]) * s);
    }
  }

  // BOPs as a row (limit) or as the objective; scale: the budget, or the largest possible value.
  const bool bops_row = lim.bops.has_value(), bops_obj = objective == Resource::Bops;
  if (bops_row || bops_obj) {
    double mx = 0;
    for (const auto& g : p.groups) {
      if (g.kind != TensorKind::Weight) continue;
      double wb = 0, ab = g.input_bits;
      for (const auto& o : g.options) wb = std::max(wb, static_cast<double>(o.bits));
      if (g.input >= 0)
        for (const auto& o : p.groups[static_cast<size_t>(g.input)].options)
          ab = std::max(ab, static_cast<double>(o.bits));
      mx += static_cast<double>(g.macs) * wb * ab;
    }
    const double s = bops_row ? (*lim.bops > 0 ? 1 / *lim.bops : 1) : 1 / std::max(1.0, mx);
    const int r = bops_row ? lp.row(-inf, (*lim.bops > 0 ? 1 : 0) - lim.bops_slack) : -1;
    auto add = [&](int c, double bops) {
      if (bops_row) lp.coef(r, c, bops * s);
      if (bops_obj) lp.obj[static_cast<size_t>(c)] += bops * s;
    };
    for (size_t gi = 0; gi < p.groups.size(); ++gi) {
      const MixedGroup& g = p.groups[gi];
      if (g.kind != TensorKind::Weight || g.macs == 0) continue;
      const double macs = static_cast<double>(g.macs);
      if (g.input < 0) {
        for (size_t o = 0; o < g.options.size(); ++o) add(x[gi][o], macs * g.options[o].bits * g.input_bits);
        continue;
      }
      const size_t ai = static_cast<size_t>(g.input);
      const MixedGroup& a = p.groups[ai];
      if (a.options.size() == 1) {
        for (size_t o = 0; o < g.options.size(); ++o)
          add(x[gi][o], macs * g.options[o].bits * a.options[0].bits);
      } else if (g.options.size() == 1) {
        for (size_t o = 0; o < a.options.size(); ++o)
          add(x[ai][o], macs * g.options[0].bits * a.options[o].bits);
      } else {
        // z = x_w · x_a, from below only (z ≥ x_w + x_a − 1): every use of z is minimized or bounded above.
        for (size_t o = 0; o < g.options.size(); ++o)
          for (size_t k = 0; k < a.options.size(); ++k) {
            const int z = lp.col(0, 1, 0, false);
            const int zr = lp.row(-1, inf);
            lp.coef(zr, z, 1);
            lp.coef(zr, x[gi][o], -1);
            lp.coef(zr, x[ai][k], -1);
            add(z, macs * g.options[o].bits * a.options[k].bits);
          }
      }
    }
  }

  if (objective == Resource::ActBytes) {
    // t ≥ bytes of every activation group; minimize t.
    double mx = 1;
    for (const auto& g : p.groups)
      if (g.kind == TensorKind::Activation)
        for (const auto& o : g.options) mx = std::max(mx, static_cast<double>(g.elements) * o.bits / 8.0);
    const int t = lp.col(0, inf, 1, false);
    for (size_t gi = 0; gi < p.groups.size(); ++gi) {
      const MixedGroup& g = p.groups[gi];
      if (g.kind != TensorKind::Activation) continue;
      const int r = lp.row(0, inf);
      lp.coef(r, t, 1);
      for (size_t o = 0; o < g.options.size(); ++o)
        lp.coef(r, x[gi][o], -static_cast<double>(g.elements) * g.options[o].bits / 8.0 / mx);
    }
  }

  const int ncols = static_cast<int>(lp.obj.size());
  CoinPackedMatrix m(false, lp.ri.data(), lp.ci.data(), lp.val.data(),
                     static_cast<CoinBigIndex>(lp.val.size()));
  m.setDimensions(static_cast<int>(lp.rowlb.size()), ncols);
  OsiClpSolverInterface si;
  si.messageHandler()->setLogLevel(0);
  si.loadProblem(m, lp.collb.data(), lp.colub.data(), lp.obj.data(), lp.rowlb.data(), lp.rowub.data());
  for (int c : lp.integers) si.setInteger(c);
  si.setHintParam(OsiDoReducePrint, true, OsiHintTry);

  CbcModel model(si);
  model.setLogLevel(0);
  model.messageHandler()->setLogLevel(0);
  // Exact optimum: no relative or absolute gap, and a node is kept unless it cannot improve at all.
  model.setAllowableGap(0);
  model.setAllowableFractionGap(0);
  model.setAllowablePercentageGap(0);
  model.setDblParam(CbcModel::CbcCutoffIncrement, 1e-12);
  CglProbing probing;
  probing.setUsingObjective(1);
  CglKnapsackCover knapsack;
  CglClique clique;
  clique.setStarCliqueReport(false);  // it prints to stdout otherwise
  clique.setRowCliqueReport(false);
  model.addCutGenerator(&probing, -1, "Probing");
  model.addCutGenerator(&knapsack, -1, "KnapsackCover");
  model.addCutGenerator(&clique, -1, "Clique");
  model.branchAndBound();

  Outcome out;
  if (model.isProvenInfeasible() || !model.bestSolution()) return out;
  if (!model.isProvenOptimal())
    throw Error("mixed precision: CBC stopped without proving optimality (status " +
                std::to_string(model.status()) + ")");
  const double* sol = model.bestSolution();
  out.feasible = true;
  for (size_t gi = 0; gi < p.groups.size(); ++gi) {
    int best = 0;
    for (size_t o = 1; o < x[gi].size(); ++o)
      if (sol[x[gi][o]] > sol[x[gi][static_cast<size_t>(best)]]) best = static_cast<int>(o);
    out.choice.push_back(best);
  }
  return out;
}

// Solves with exact budget checks: a solution over a budget by the solver's tolerance tightens that row.
Outcome solve_checked(const MixedProblem& p, Limits lim, Resource objective) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    Outcome o = solve_once(p, lim, objective);
    if (!o.feasible) return o;
    const MixedCosts c = evaluate(p, o.choice);
    bool ok = true;
    if (lim.weight_bytes && c.weight_bytes > *lim.weight_bytes) {
      lim.weight_slack += (c.weight_bytes - *lim.weight_bytes) / std::max(*lim.weight_bytes, 1e-300) + 1e-6;
      ok = false;
    }
    if (lim.bops && c.bops > *lim.bops) {
      lim.bops_slack += (c.bops - *lim.bops) / std::max(*lim.bops, 1e-300) + 1e-6;
      ok = false;
    }
    if (ok) return o;
  }
  throw Error("mixed precision: the solver keeps returning allocations over the budget (numerical trouble)");
}

std::string human_bytes(double b) {
  std::ostringstream s;
  s.precision(6);
  s << b << " bytes (" << b / 1000 << " kB)";
  return s.str();
}

}  // namespace

MixedCosts evaluate(const MixedProblem& p, const std::vector<int>& choice) {
  if (choice.size() != p.groups.size())
    throw Error("mixed precision: " + std::to_string(choice.size()) + " choices for " +
                std::to_string(p.groups.size()) + " groups");
  MixedCosts c;
  for (size_t gi = 0; gi < p.groups.size(); ++gi) {
    const MixedGroup& g = p.groups[gi];
    if (choice[gi] < 0 || choice[gi] >= static_cast<int>(g.options.size()))
      throw Error("mixed precision: choice " + std::to_string(choice[gi]) + " for group '" + g.tensor +
                  "' with " + std::to_string(g.options.size()) + " options");
    const MixedOption& o = g.options[static_cast<size_t>(choice[gi])];
    c.loss += o.loss;
    const double bytes = static_cast<double>(g.elements) * o.bits / 8.0;
    if (g.kind == TensorKind::Weight) {
      c.weight_bytes += bytes;
      c.bops += static_cast<double>(g.macs) * o.bits * input_bits(p, g, choice);
    } else {
      c.act_bytes = std::max(c.act_bytes, bytes);
    }
  }
  return c;
}

bool within_budget(const MixedProblem& p, const MixedCosts& c) {
  const MixedBudget& b = p.budget;
  return (!b.weight_bytes || c.weight_bytes <= *b.weight_bytes) && (!b.bops || c.bops <= *b.bops) &&
         (!b.act_bytes || c.act_bytes <= *b.act_bytes);
}

double min_weight_bytes(const MixedProblem& p) {
  double s = 0;
  for (const auto& g : p.groups) {
    if (g.kind != TensorKind::Weight || g.options.empty()) continue;
    int b = g.options[0].bits;
    for (const auto& o : g.options) b = std::min(b, o.bits);
    s += static_cast<double>(g.elements) * b / 8.0;
  }
  return s;
}

double max_weight_bytes(const MixedProblem& p) {
  double s = 0;
  for (const auto& g : p.groups) {
    if (g.kind != TensorKind::Weight || g.options.empty()) continue;
    int b = g.options[0].bits;
    for (const auto& o : g.options) b = std::max(b, o.bits);
    s += static_cast<double>(g.elements) * b / 8.0;
  }
  return s;
}

MixedSolution solve_mixed(const MixedProblem& p) {
  check_problem(p);
  const auto t0 = std::chrono::steady_clock::now();
  MixedSolution s;
  Limits lim;
  lim.weight_bytes = p.budget.weight_bytes;
  lim.bops = p.budget.bops;
  lim.act_bytes = p.budget.act_bytes;
  Outcome o = solve_checked(p, lim, Resource::Loss);
  if (o.feasible) {
    s.feasible = true;
    s.choice = o.choice;
    s.costs = evaluate(p, o.choice);
  } else {
    // For each budget: the least that resource can be while the others hold.
    auto minimum = [&](Resource r) -> std::optional<double> {
      Limits l = lim;
      if (r == Resource::WeightBytes) l.weight_bytes.reset();
      if (r == Resource::Bops) l.bops.reset();
      if (r == Resource::ActBytes) l.act_bytes.reset();
      const Outcome m = solve_checked(p, l, r);
      if (!m.feasible) return std::nullopt;
      const MixedCosts c = evaluate(p, m.choice);
      return r == Resource::WeightBytes ? c.weight_bytes : r == Resource::Bops ? c.bops : c.act_bytes;
    };
    std::ostringstream msg;
    msg << "no bit allocation meets the budget:";
    auto report = [&](const char* what, const std::optional<double>& budget, std::optional<double>& min,
                      Resource r, bool bytes) {
      if (!budget) return;
      min = minimum(r);
      msg << "\n  " << what << " <= " << (bytes ? human_bytes(*budget) : std::to_string(*budget)) << ": ";
      if (!min)
        msg << "cannot be met together with the other budgets";
      else if (*min > *budget)
        msg << "the smallest feasible is " << (bytes ? human_bytes(*min) : std::to_string(*min));
      else
        msg << "can be met alone (smallest " << (bytes ? human_bytes(*min) : std::to_string(*min)) << ")";
    };
    report("weight memory", p.budget.weight_bytes, s.min_weight_bytes, Resource::WeightBytes, true);
    report("BOPs", p.budget.bops, s.min_bops, Resource::Bops, false);
    report("activation memory (largest tensor)", p.budget.act_bytes, s.min_act_bytes, Resource::ActBytes,
           true);
    s.message = msg.str();
  }
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

std::vector<ParetoPoint> pareto_sweep(const MixedProblem& p, int points) {
  if (points < 2)
    throw Error("mixed precision: a Pareto sweep needs at least 2 points, got " + std::to_string(points));
  check_problem(p);
  const double lo = min_weight_bytes(p), hi = max_weight_bytes(p);
  std::vector<ParetoPoint> r;
  for (int i = 0; i < points; ++i) {
    MixedProblem q = p;
    // The last point is exactly the all-maximum size (no rounding below it).
    q.budget.weight_bytes = i == points - 1 ? hi : lo + (hi - lo) * i / (points - 1);
    ParetoPoint pt;
    pt.budget = *q.budget.weight_bytes;
    pt.solution = solve_mixed(q);
    if (!pt.solution.feasible) continue;
    if (!r.empty() && r.back().solution.choice == pt.solution.choice) continue;
    r.push_back(std::move(pt));
  }
  return r;
}

}  // namespace qs
