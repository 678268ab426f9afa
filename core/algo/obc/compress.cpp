#include "core/algo/obc/compress.h"

#include <chrono>
#include <memory>
#include <set>

#include "core/algo/obc/hessian.h"
#include "core/algo/obc/obq.h"
#include "core/common/error.h"
#include "core/quant/calibrate.h"
#include "core/quant/simulate.h"
#include "core/quant/weight_range.h"
#include "core/runtime/executor.h"

namespace qs::obc {

QuantAlgo parse_quant_algo(const std::string& s) {
  if (s == "none") return QuantAlgo::None;
  if (s == "rtn") return QuantAlgo::Rtn;
  if (s == "obq") return QuantAlgo::Obq;
  if (s == "gptq") return QuantAlgo::Gptq;
  throw Error("quantization algorithm '" + s + "' is not one of none, rtn, obq, gptq");
}
PruneMethod parse_prune_method(const std::string& s) {
  if (s == "none") return PruneMethod::None;
  if (s == "magnitude") return PruneMethod::Magnitude;
  if (s == "exactobs") return PruneMethod::ExactObs;
  throw Error("pruning method '" + s + "' is not one of none, magnitude, exactobs");
}
const char* quant_algo_name(QuantAlgo a) {
  switch (a) {
    case QuantAlgo::None:
      return "none";
    case QuantAlgo::Rtn:
      return "rtn";
    case QuantAlgo::Obq:
      return "obq";
    case QuantAlgo::Gptq:
      return "gptq";
  }
  return "?";
}
const char* prune_method_name(PruneMethod m) {
  switch (m) {
    case PruneMethod::None:
      return "none";
    case PruneMethod::Magnitude:
      return "magnitude";
    case PruneMethod::ExactObs:
      return "exactobs";
  }
  return "?";
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The part of `g` that computes `value` (its producers, transitively), with `value` as the only output.
// Every initializer is kept (the simulation looks weights up by name).
Graph truncated(const Graph& g, const std::string& value) {
  Graph sub = g;
  std::set<std::string> need{value};
  std::vector<bool> keep(g.nodes.size(), false);
  for (size_t i = g.nodes.size(); i-- > 0;) {
    const Node& n = g.nodes[i];
    for (const auto& o : n.outputs)
      if (!o.empty() && need.count(o)) keep[i] = true;
    if (keep[i])
      for (const auto& in : n.inputs)
        if (!in.empty()) need.insert(in);
  }
  sub.nodes.clear();
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (keep[i]) sub.nodes.push_back(g.nodes[i]);
  ValueInfo out;
  out.name = value;
  if (auto it = g.value_info.find(value); it != g.value_info.end()) out = it->second;
  sub.outputs = {out};
  return sub;
}

struct Pending {
  ObcLayer layer;
  size_t report = 0;
  bool prunable = true;
  std::vector<int32_t> nm_groups;
};

double zero_fraction(const RowMat<float>& w) {
  return w.size() ? static_cast<double>((w.array() == 0.f).count()) / static_cast<double>(w.size()) : 0.0;
}

double half_quadratic(const RowMat<float>& w, const Eigen::MatrixXd& h) {
  const Eigen::MatrixXd wd = w.cast<double>();
  return 0.5 * (wd * h).cwiseProduct(wd).sum();
}

}  // namespace

CompressResult compress_model(const Graph& g, Dataset& data, const QuantPlan& plan_in,
                              const CompressOptions& o) {
  const auto t_start = Clock::now();
  if (o.quant == QuantAlgo::None && o.prune == PruneMethod::None)
    throw Error("nothing to do: neither quantization nor pruning was asked for");
  if (o.prune != PruneMethod::None) o.prune_spec.validate();
  if (o.prune != PruneMethod::None && o.quant == QuantAlgo::Gptq)
    throw Error(
        "quantizing after pruning uses OBQ (the continuation of ExactOBS) or round-to-nearest, not GPTQ");
  if (o.prune == PruneMethod::Magnitude && o.quant == QuantAlgo::Obq)
    throw Error(
        "the magnitude-pruning baseline quantizes by round-to-nearest (use --algo rtn), OBQ follows "
        "ExactOBS");
  if (!(o.damp >= 0)) throw Error("dampening must be >= 0");
  if (o.batch < 1) throw Error("batch must be >= 1");
  if (data.size() == 0) throw Error("the calibration data set is empty");
  const bool quantizing = o.quant != QuantAlgo::None;
  const bool pruning = o.prune != PruneMethod::None;

  const QuantPoints points = quant_points_for(g, data);
  CompressResult res;
  res.graph = g;
  res.plan = plan_in;
  if (quantizing) validate_plan(res.plan, g, points);

  std::vector<Pending> todo;
  for (const auto& wp : points.weights) {
    LayerReport rep;
    rep.layer = wp.layer;
    rep.op_type = wp.op_type;
    rep.weight = wp.tensor;
    const PlanEntry* e = quantizing ? res.plan.find(wp.tensor) : nullptr;
    if (quantizing && (!e || !e->quantize)) {
      rep.note = e ? "kept in float by the plan" : "not in the plan";
      res.layers.push_back(rep);
      continue;
    }
    Pending p;
    try {
      p.layer = describe_obc_layer(g, wp);
    } catch (const UnsupportedError& err) {
      rep.note = std::string(err.what()) + (quantizing ? "; left to round-to-nearest" : "; left dense");
      res.layers.push_back(rep);
      continue;
    }
    rep.rows = p.layer.rows;
    rep.cols = p.layer.cols;
    rep.groups = p.layer.groups;
    if (pruning && o.prune_spec.nm()) {
      try {
        p.nm_groups = nm_column_groups(p.layer, o.prune_spec.nm_m);
      } catch (const Error& err) {
        p.prunable = false;
        rep.note = std::string(err.what()) + "; left dense";
      }
    }
    if (!quantizing && !p.prunable) {
      res.layers.push_back(rep);
      continue;
    }
    p.report = res.layers.size();
    res.layers.push_back(rep);
    todo.push_back(std::move(p));
  }

  const int64_t n = std::min(o.calib_count > 0 ? o.calib_count : data.size(), data.size());
  std::set<std::string> act_points;
  if (quantizing)
    for (const auto& a : points.activations)
      if (res.plan.active(a.tensor)) act_points.insert(a.tensor);
  std::set<std::string> processed;
  std::vector<bool> done(todo.size(), false);

  size_t current = 0;
  auto report = [&](const std::string& phase, int64_t d, int64_t t) {
    if (!o.progress) return;
    CompressProgress pr;
    pr.layer = static_cast<int64_t>(current);
    pr.layers = static_cast<int64_t>(todo.size());
    pr.name = todo[current].layer.layer;
    pr.phase = phase;
    pr.done = d;
    pr.total = t;
    if (!o.progress(pr)) throw CancelledError();
  };
  auto fn = [&](const std::string& phase, int64_t offset, int64_t total) -> ProgressFn {
    if (!o.progress) return nullptr;
    return [&report, phase, offset, total](int64_t d, int64_t) {
      report(phase, offset + d, total);
      return true;
    };
  };

  for (size_t i = 0; i < todo.size(); ++i) {
    if (done[i]) continue;
    current = i;
    const std::string input = todo[i].layer.input;
    std::vector<size_t> stage;
    for (size_t j = i; j < todo.size(); ++j)
      if (!done[j] && todo[j].layer.input == input) stage.push_back(j);

    // Inputs of the stage's layers, from the model compressed so far (or the float model).
    const auto t_in = Clock::now();
    const Graph sub = truncated(o.sequential ? res.graph : g, input);
    std::unique_ptr<SimulatedModel> sim;
    std::unique_ptr<Executor> ex;
    if (o.sequential && quantizing && (!act_points.empty() || !processed.empty())) {
      SimOptions so;
      std::set<std::string> only = act_points;
      only.insert(processed.begin(), processed.end());
      so.only = only;
      sim = std::make_unique<SimulatedModel>(sub, res.plan, points, so);
    } else {
      ex = std::make_unique<Executor>(sub);
    }
    std::vector<HessianAccumulator> accs;
    for (size_t j : stage) accs.emplace_back(todo[j].layer);
    for (int64_t b0 = 0; b0 < n; b0 += o.batch) {
      report("inputs", b0, n);
      const Batch b = data.read(b0, std::min(o.batch, n - b0));
      const auto feeds = feeds_of(g, b);  // every model input (sub keeps them all)
      const auto out = sim ? sim->run(feeds, {input}) : ex->run(feeds, {input});
      const Tensor& x = out.at(input);
      for (auto& a : accs) a.add(x);
    }
    report("inputs", n, n);
    const double in_secs = since(t_in);

    for (size_t s = 0; s < stage.size(); ++s) {
      current = stage[s];
      Pending& p = todo[current];
      LayerReport& rep = res.layers[p.report];
      const ObcLayer& L = p.layer;
      const HessianAccumulator& acc = accs[s];
      const auto t_solve = Clock::now();
      rep.samples = acc.columns();
      rep.seconds_inputs = in_secs;
      const int64_t rg = L.rows_per_group(), d = L.cols;
      std::vector<Eigen::MatrixXd> hs;
      for (int64_t gi = 0; gi < L.groups; ++gi) hs.push_back(acc.hessian(gi));
      const RowMat<float> w0 = weight_matrix(*g.initializer(L.weight), L);
      RowMat<float> w = w0;
      auto rows_of = [&](const RowMat<float>& m, int64_t gi) -> RowMat<float> {
        return m.middleRows(gi * rg, rg);
      };
      auto loss_of = [&](const RowMat<float>& m) {
        double l = 0;
        for (int64_t gi = 0; gi < L.groups; ++gi)
          l += layer_loss(rows_of(w0, gi), rows_of(m, gi), hs[static_cast<size_t>(gi)]);
        return l;
      };
      for (int64_t gi = 0; gi < L.groups; ++gi)
        rep.signal += half_quadratic(rows_of(w0, gi), hs[static_cast<size_t>(gi)]);

      const bool prune_here = pruning && p.prunable;
      const std::vector<int32_t>* groups = o.prune_spec.nm() && prune_here ? &p.nm_groups : nullptr;
      const int nm_zeros = o.prune_spec.nm_m - o.prune_spec.nm_n;
      RowMat<float> wmag = w0;
      if (prune_here) magnitude_prune(wmag, o.prune_spec, groups);

      // ExactOBS state per group: the prepared inverse Hessians and each row's prune count.
      std::vector<ColMat<float>> hinv(static_cast<size_t>(L.groups));
      std::vector<std::vector<uint8_t>> dead(static_cast<size_t>(L.groups));
      std::vector<int64_t> counts;
      if (prune_here && o.prune == PruneMethod::ExactObs) {
        for (int64_t gi = 0; gi < L.groups; ++gi) {
          const PreparedHessian ph = prepare_hessian(hs[static_cast<size_t>(gi)], o.damp);
          hinv[static_cast<size_t>(gi)] = hessian_inverse(ph, L.describe()).cast<float>();
          dead[static_cast<size_t>(gi)] = ph.dead;
        }
        if (groups) {
          counts.assign(static_cast<size_t>(L.rows), d / o.prune_spec.nm_m * nm_zeros);
        } else {
          std::vector<ObsTrace> all;
          for (int64_t gi = 0; gi < L.groups; ++gi) {
            RowMat<float> wg = rows_of(w0, gi);
            zero_dead_columns(wg, dead[static_cast<size_t>(gi)]);
            ObsTask scan;
            scan.prune.assign(static_cast<size_t>(rg), d);
            scan.block = o.obs_block;
            scan.record = true;
            std::vector<ObsTrace> tr;
            const ObsStats st = obs_rows<float>(wg, hinv[static_cast<size_t>(gi)], scan, &tr,
                                                fn("prune-scan", gi * rg, L.rows));
            rep.breakdowns += st.breakdowns;
            for (auto& t : tr) all.push_back(std::move(t));
          }
          counts = select_prune_counts(all, o.prune_spec.sparsity);
        }
      }
      // ExactOBS rows of group gi: prune to the counts, then (with a grid) quantize the rest.
      auto exactobs_group = [&](int64_t gi, const RowGrid* grid, const std::string& phase) {
        RowMat<float> wg = rows_of(w0, gi);
        zero_dead_columns(wg, dead[static_cast<size_t>(gi)]);
        ObsTask task;
        task.prune.assign(counts.begin() + gi * rg, counts.begin() + (gi + 1) * rg);
        task.nm_groups = groups;
        task.nm_max_zeros = nm_zeros;
        task.grid = grid;
        task.block = o.obs_block;
        const ObsStats st =
            obs_rows<float>(wg, hinv[static_cast<size_t>(gi)], task, nullptr, fn(phase, gi * rg, L.rows));
        rep.breakdowns += st.breakdowns;
        w.middleRows(gi * rg, rg) = wg;
      };

      if (prune_here) {
        if (o.prune == PruneMethod::Magnitude) {
          w = wmag;
        } else {
          for (int64_t gi = 0; gi < L.groups; ++gi) exactobs_group(gi, nullptr, "prune");
        }
      }

      if (quantizing) {
        PlanEntry* e = res.plan.find(L.weight);
        if (prune_here) {  // the grid follows the pruned weights
          const ChannelRanges r = weight_range(weight_tensor(w, L), e->spec, o.weight_method);
          e->lo = r.lo;
          e->hi = r.hi;
          e->params = params_from_range(e->spec, e->lo, e->hi);
        }
        const RowGrid grid = RowGrid::from_params(e->spec, e->params, L.rows);
        RowMat<float> base = prune_here ? wmag : w0;
        round_to_grid(base, grid);
        rep.loss_before = loss_of(base);
        switch (o.quant) {
          case QuantAlgo::Rtn:
            round_to_grid(w, grid);
            break;
          case QuantAlgo::Obq:
            if (prune_here) {
              for (int64_t gi = 0; gi < L.groups; ++gi) {
                const RowGrid gg = grid.slice(gi * rg, rg);
                exactobs_group(gi, &gg, "quantize");
              }
            } else {
              for (int64_t gi = 0; gi < L.groups; ++gi) {
                RowMat<float> wg = rows_of(w, gi);
                ObqOptions oo;
                oo.damp = o.damp;
                oo.block = o.obs_block;
                const ObsStats st = obq_quantize(wg, hs[static_cast<size_t>(gi)], grid.slice(gi * rg, rg), oo,
                                                 fn("quantize", gi * rg, L.rows), L.describe());
                rep.breakdowns += st.breakdowns;
                w.middleRows(gi * rg, rg) = wg;
              }
            }
            break;
          case QuantAlgo::Gptq: {
            GptqOptions go = o.gptq;
            go.damp = o.damp;
            for (int64_t gi = 0; gi < L.groups; ++gi) {
              RowMat<float> wg = rows_of(w, gi);
              gptq_quantize(wg, hs[static_cast<size_t>(gi)], grid.slice(gi * rg, rg), go,
                            fn("quantize", gi * d, L.groups * d), L.describe());
              w.middleRows(gi * rg, rg) = wg;
            }
            if (go.group > 0) {
              // Per-group scales are not expressible in a v1 plan: the weights carry their own grid, and
              // the plan keeps the entry in float so simulation does not requantize them.
              e->quantize = false;
              e->method = "gptq-group" + std::to_string(go.group);
            }
            break;
          }
          case QuantAlgo::None:
            break;
        }
        const bool grouped = o.quant == QuantAlgo::Gptq && o.gptq.group > 0;
        if (o.rtn_guard && !prune_here && !grouped &&
            (o.quant == QuantAlgo::Obq || o.quant == QuantAlgo::Gptq)) {
          for (int64_t gi = 0; gi < L.groups; ++gi) {
            const Eigen::MatrixXd& h = hs[static_cast<size_t>(gi)];
            const Eigen::MatrixXd da = (rows_of(w0, gi) - rows_of(w, gi)).cast<double>();
            const Eigen::MatrixXd db = (rows_of(w0, gi) - rows_of(base, gi)).cast<double>();
            const Eigen::VectorXd la = (da * h).cwiseProduct(da).rowwise().sum();
            const Eigen::VectorXd lb = (db * h).cwiseProduct(db).rowwise().sum();
            for (int64_t r = 0; r < rg; ++r)
              if (lb[r] < la[r]) {
                w.row(gi * rg + r) = base.row(gi * rg + r);
                ++rep.rows_rtn;
              }
          }
        }
      } else {
        rep.loss_before = loss_of(wmag);
      }
      rep.loss_after = loss_of(w);
      rep.sparsity = zero_fraction(w);
      rep.compressed = true;
      rep.pruned = prune_here;
      rep.seconds_solve = since(t_solve);
      res.graph.initializers[L.weight] = weight_tensor(w, L);
      processed.insert(L.weight);
      done[current] = true;
    }
  }
  res.seconds = since(t_start);
  return res;
}

}  // namespace qs::obc
