#include "core/algo/mixed/sensitivity.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "core/algo/lfh.h"
#include "core/algo/mixed/mixed_plan.h"
#include "core/common/error.h"
#include "core/common/parallel.h"
#include "core/quant/quantizer.h"
#include "core/quant/simulate.h"
#include "core/runtime/executor.h"

namespace qs {

namespace {

// The part of the model a tensor's quantization can change.
struct Downstream {
  std::vector<int> nodes;             // indices into g.nodes, topological
  std::vector<std::string> cut;       // values the nodes read that are computed upstream (or graph inputs)
  std::vector<std::string> observed;  // observed tensors produced by the nodes
};

Downstream downstream_of(const Graph& g, const std::set<int>& seeds,
                         const std::map<std::string, double>& observe) {
  Downstream d;
  if (seeds.empty()) return d;
  std::set<std::string> produced;
  for (int i = *seeds.begin(); i < static_cast<int>(g.nodes.size()); ++i) {
    const Node& n = g.nodes[static_cast<size_t>(i)];
    bool in = seeds.count(i) != 0;
    for (const auto& v : n.inputs) in = in || (!v.empty() && produced.count(v));
    if (!in) continue;
    d.nodes.push_back(i);
    for (const auto& v : n.outputs)
      if (!v.empty()) produced.insert(v);
  }
  std::set<std::string> cut;
  for (int i : d.nodes)
    for (const auto& v : g.nodes[static_cast<size_t>(i)].inputs)
      if (!v.empty() && !produced.count(v) && !g.is_initializer(v) && cut.insert(v).second)
        d.cut.push_back(v);
  for (const auto& [name, w] : observe)
    if (produced.count(name)) d.observed.push_back(name);
  return d;
}

// The downstream nodes as a graph of their own: cut values are its inputs, observed tensors its outputs.
Graph downstream_graph(const Graph& g, const Downstream& d, const std::map<std::string, Tensor>& cut_sample,
                       const std::string& replace, const Tensor& replacement) {
  Graph s;
  s.name = g.name;
  s.opset = g.opset;
  s.opset_imports = g.opset_imports;
  for (int i : d.nodes) {
    const Node& n = g.nodes[static_cast<size_t>(i)];
    s.nodes.push_back(n);
    for (const auto& v : n.inputs)
      if (!v.empty() && g.is_initializer(v))
        s.initializers[v] = v == replace ? replacement : *g.initializer(v);
  }
  for (const auto& c : d.cut) s.inputs.push_back(ValueInfo{c, cut_sample.at(c).dtype(), std::nullopt});
  for (const auto& o : d.observed) s.outputs.push_back(ValueInfo{o, DType::Float32, std::nullopt});
  for (const auto& [k, v] : g.value_info) s.value_info[k] = v;
  return s;
}

void check_observable(const Tensor& f, const Tensor& q, const std::string& name) {
  if (f.dtype() != DType::Float32 || q.dtype() != DType::Float32 || f.numel() != q.numel())
    throw Error("sensitivity: observed tensor '" + name + "' is " + f.str() + " in float and " + q.str() +
                " quantized; only float32 tensors can be observed");
}

// Σ (q − f)² in double.
double sq_diff(const Tensor& f, const Tensor& q, const std::string& name) {
  check_observable(f, q, name);
  const float* a = f.data<float>();
  const float* b = q.data<float>();
  double s = 0;
  for (int64_t i = 0; i < f.numel(); ++i) {
    const double e = static_cast<double>(b[i]) - a[i];
    s += e * e;
  }
  return s;
}

// Distributions along axis 1 of a class-score tensor: every sample and position after axis 1 is one.
int64_t kl_distributions(const Tensor& f, const std::string& name) {
  const Shape& sh = f.shape();
  if (sh.size() < 2 || sh[1] < 2)
    throw Error("sensitivity: output '" + name + "' has shape " + f.str() +
                "; the KL distortion needs class scores along axis 1 (at least 2)");
  return f.numel() / sh[1];
}

// Σ over distributions of KL(softmax(f) ‖ softmax(q)) along axis 1.
double kl_sum(const Tensor& f, const Tensor& q, const std::string& name) {
  check_observable(f, q, name);
  const int64_t count = kl_distributions(f, name), classes = f.shape()[1];
  const int64_t inner = count / f.shape()[0];
  const float* a = f.data<float>();
  const float* b = q.data<float>();
  std::vector<double> la(static_cast<size_t>(classes)), lb(static_cast<size_t>(classes));
  auto log_softmax = [&](const float* x, int64_t stride, std::vector<double>& out) {
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < classes; ++c) mx = std::max(mx, static_cast<double>(x[c * stride]));
    double z = 0;
    for (int64_t c = 0; c < classes; ++c) z += std::exp(static_cast<double>(x[c * stride]) - mx);
    const double lz = mx + std::log(z);
    for (int64_t c = 0; c < classes; ++c)
      out[static_cast<size_t>(c)] = static_cast<double>(x[c * stride]) - lz;
  };
  double s = 0;
  for (int64_t n = 0; n < f.shape()[0]; ++n)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = n * classes * inner + i;
      log_softmax(a + base, inner, la);
      log_softmax(b + base, inner, lb);
      for (size_t c = 0; c < la.size(); ++c) s += std::exp(la[c]) * (la[c] - lb[c]);
    }
  return s;
}

double sq_sum(const Tensor& f) {
  if (f.dtype() != DType::Float32) return 0;
  double s = 0;
  for (float v : f.span<float>()) s += static_cast<double>(v) * v;
  return s;
}

// How the distortion of each observed tensor is measured, for the table and for whole plans alike:
// NMSE = Σ (q − f)² / Σ f² (the plain mean squared error for a tensor that is all zeros in float), or, for
// a graph output with output_kl, the mean softmax KL over its distributions.
class Metric {
 public:
  Metric(const Graph& g, const SensitivityTable& table) {
    if (table.output_kl)
      for (const auto& out : g.outputs)
        if (table.observe.count(out.name)) kl_.insert(out.name);
  }
  // The distortion summed over a batch (the numerator).
  double sum(const std::string& k, const Tensor& f, const Tensor& q) const {
    return kl_.count(k) ? kl_sum(f, q, k) : sq_diff(f, q, k);
  }
  // The float side of a batch: Σ f² and the element (or distribution) count.
  void add_reference(const std::string& k, const Tensor& f) {
    if (kl_.count(k)) {
      count_[k] += kl_distributions(f, k);
    } else {
      den_[k] += sq_sum(f);
      count_[k] += f.numel();
    }
  }
  double normalized(const std::string& k, double s) const {
    auto d = den_.find(k);
    if (d != den_.end() && d->second > 0) return s / d->second;
    auto c = count_.find(k);
    return s / static_cast<double>(std::max<int64_t>(c == count_.end() ? 0 : c->second, 1));
  }

 private:
  std::set<std::string> kl_;
  std::map<std::string, double> den_;
  std::map<std::string, int64_t> count_;
};

struct Row {
  SensitivityRow out;
  const PlanEntry* entry = nullptr;
  Downstream down;
  bool observed_itself = false;  // an activation that is itself observed
};

}  // namespace

double SensitivityRow::loss_at(int b) const {
  for (size_t i = 0; i < bits.size(); ++i)
    if (bits[i] == b) return loss[i];
  throw Error("sensitivity of '" + tensor + "' was not measured at " + std::to_string(b) + " bits");
}

const SensitivityRow* SensitivityTable::find(const std::string& tensor) const {
  for (const auto& r : rows)
    if (r.tensor == tensor) return &r;
  return nullptr;
}

SensitivityTable compute_sensitivity(const Graph& g, Dataset& data, const QuantPlan& plan,
                                     const QuantPoints& points, const SensitivityOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (data.size() == 0) throw Error("sensitivity: the calibration data set is empty");
  if (o.batch < 1) throw Error("sensitivity: batch must be >= 1, got " + std::to_string(o.batch));
  for (int b : o.weight_bits)
    if (!weight_bits_allowed(b))
      throw Error("sensitivity: weight bits " + std::to_string(b) + " is not allowed (2–8)");
  for (int b : o.act_bits)
    if (!activation_bits_allowed(b))
      throw Error("sensitivity: activation bits " + std::to_string(b) + " is not allowed (4–8 or 16)");

  SensitivityTable table;
  table.model_nodes = static_cast<int64_t>(g.nodes.size());
  std::set<std::string> values;  // what can be observed: graph inputs and computed values
  for (const auto& in : g.inputs) values.insert(in.name);
  for (const auto& n : g.nodes)
    for (const auto& v : n.outputs) values.insert(v);
  if (o.observe.empty()) {
    for (const auto& out : g.outputs) table.observe[out.name] = 1;
  } else {
    for (const auto& [name, w] : o.observe) {
      if (!values.count(name))
        throw Error("sensitivity: the model computes no value named '" + name + "' to observe");
      if (!(w >= 0) || !std::isfinite(w))
        throw Error("sensitivity: the weight of '" + name + "' is " + std::to_string(w) +
                    " (must be finite and >= 0)");
      if (w > 0) table.observe[name] = w;
    }
  }

  table.output_kl = o.output_kl;
  Metric metric(g, table);

  std::map<std::string, std::set<int>> consumers;  // value → nodes reading it
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& v : g.nodes[i].inputs)
      if (!v.empty()) consumers[v].insert(static_cast<int>(i));

  // Rows: weights (plan order), then activations when asked.
  std::vector<Row> rows;
  auto add_row = [&](const PlanEntry& e, const std::vector<int>& defaults) {
    Row r;
    r.entry = &e;
    r.out.tensor = e.tensor;
    r.out.kind = e.kind;
    r.out.layer = e.layer;
    auto it = o.bits_for.find(e.tensor);
    std::vector<int> bits = it != o.bits_for.end() ? it->second : defaults;
    for (int b : bits) {
      const bool ok =
          b == 32 || (e.kind == TensorKind::Weight ? weight_bits_allowed(b) : activation_bits_allowed(b));
      if (!ok)
        throw Error("sensitivity: " + std::to_string(b) + " bits is not allowed for '" + e.tensor + "'");
    }
    std::sort(bits.begin(), bits.end());
    bits.erase(std::unique(bits.begin(), bits.end()), bits.end());
    r.out.bits = bits;
    r.out.loss.assign(bits.size(), 0.0);
    r.out.nmse.assign(bits.size(), {});
    auto c = consumers.find(e.tensor);
    r.down = downstream_of(g, c == consumers.end() ? std::set<int>{} : c->second, table.observe);
    r.observed_itself = e.kind == TensorKind::Activation && table.observe.count(e.tensor);
    rows.push_back(std::move(r));
  };
  for (const auto& e : plan.entries)
    if (e.kind == TensorKind::Weight) add_row(e, o.weight_bits);
  if (!o.act_bits.empty() || !o.bits_for.empty())
    for (const auto& e : plan.entries)
      if (e.kind == TensorKind::Activation && (!o.act_bits.empty() || o.bits_for.count(e.tensor)))
        add_row(e, o.act_bits);
  for (const auto& [name, b] : o.bits_for)
    if (!std::any_of(rows.begin(), rows.end(), [&](const Row& r) { return r.out.tensor == name; }))
      throw Error("sensitivity: the plan has no tensor named '" + name + "'");

  // The values the runs read from the float model.
  std::set<std::string> keep_set;
  for (const auto& [name, w] : table.observe) keep_set.insert(name);
  for (const auto& r : rows) {
    keep_set.insert(r.down.cut.begin(), r.down.cut.end());
    if (r.out.kind == TensorKind::Activation) keep_set.insert(r.out.tensor);
  }
  const std::vector<std::string> keep(keep_set.begin(), keep_set.end());
  Executor fex(g);

  // Bytes kept per sample, from a run on the first sample, decide the chunk of samples held at once.
  const int64_t n = std::min(o.samples > 0 ? o.samples : data.size(), data.size());
  int64_t per_sample = 0;
  {
    Batch b = data.read(0, 1);
    for (const auto& [name, t] : fex.run(feeds_of(g, b), keep))
      per_sample += static_cast<int64_t>(t.nbytes());
  }
  int64_t chunk = std::max<int64_t>(o.batch, o.cache_bytes / std::max<int64_t>(per_sample, 1));
  chunk = std::min(chunk, n);

  // Work units: (row, bits index); float widths and rows that reach no observed tensor need no run.
  struct Unit {
    size_t row, bit;
  };
  std::vector<Unit> units;
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t k = 0; k < rows[r].out.bits.size(); ++k)
      if (rows[r].out.bits[k] != 32 && (!rows[r].down.observed.empty() || rows[r].observed_itself))
        units.push_back({r, k});
  // The distortion summed per unit and observed tensor (the metric keeps the float side).
  std::vector<std::map<std::string, double>> num(units.size());
  const int64_t chunks = (n + chunk - 1) / chunk;
  const int64_t total = static_cast<int64_t>(units.size()) * chunks;
  std::atomic<int64_t> done{0};
  std::atomic<bool> cancelled{false};
  std::mutex mu;
  std::exception_ptr failure;

  for (int64_t c0 = 0; c0 < n; c0 += chunk) {
    const int64_t cn = std::min(chunk, n - c0);
    const auto f0 = std::chrono::steady_clock::now();
    std::vector<std::map<std::string, Tensor>> cache;
    for (int64_t b0 = c0; b0 < c0 + cn; b0 += o.batch) {
      Batch b = data.read(b0, std::min(o.batch, c0 + cn - b0));
      cache.push_back(fex.run(feeds_of(g, b), keep));
      for (const auto& [name, w] : table.observe) metric.add_reference(name, cache.back().at(name));
    }
    table.float_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - f0).count();

    const int64_t nu = static_cast<int64_t>(units.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(num_threads())
    for (int64_t ui = 0; ui < nu; ++ui) {
      if (cancelled.load()) continue;
      try {
        const Unit& u = units[static_cast<size_t>(ui)];
        const Row& r = rows[u.row];
        const PlanEntry e = with_bits(*r.entry, g, r.out.bits[u.bit]);
        const Tensor* w = e.kind == TensorKind::Weight ? g.initializer(e.tensor) : nullptr;
        std::unique_ptr<Executor> ex;
        if (!r.down.observed.empty())
          ex = std::make_unique<Executor>(downstream_graph(g, r.down, cache.front(), w ? e.tensor : "",
                                                           w ? fake_quantize(*w, e.params) : Tensor()));
        std::map<std::string, double>& acc = num[static_cast<size_t>(ui)];
        for (const auto& batch : cache) {
          std::map<std::string, Tensor> feeds;
          for (const auto& c : r.down.cut) feeds[c] = batch.at(c);
          Tensor aq;
          if (!w) {
            aq = fake_quantize(batch.at(e.tensor), e.params);
            if (feeds.count(e.tensor)) feeds[e.tensor] = aq;
            if (r.observed_itself) acc[e.tensor] += metric.sum(e.tensor, batch.at(e.tensor), aq);
          }
          if (!ex) continue;
          const auto outs = ex->run(feeds, r.down.observed);
          for (const auto& k : r.down.observed) acc[k] += metric.sum(k, batch.at(k), outs.at(k));
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failure) failure = std::current_exception();
        cancelled = true;
      }
      const int64_t d = ++done;
      if (o.progress) {
        std::lock_guard<std::mutex> lock(mu);
        if (!cancelled.load() && !o.progress(d, total)) cancelled = true;
      }
    }
    if (failure) std::rethrow_exception(failure);
    if (cancelled) throw CancelledError();
  }

  for (size_t ui = 0; ui < units.size(); ++ui) {
    SensitivityRow& row = rows[units[ui].row].out;
    double loss = 0;
    for (const auto& [k, s] : num[ui]) {
      const double nmse = metric.normalized(k, s);
      row.nmse[units[ui].bit][k] = nmse;
      loss += table.observe.at(k) * nmse;
    }
    row.loss[units[ui].bit] = loss;
    table.nodes_run += static_cast<int64_t>(rows[units[ui].row].down.nodes.size());
  }
  table.runs = static_cast<int64_t>(units.size());
  table.samples = n;
  for (auto& r : rows) table.rows.push_back(std::move(r.out));
  table.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return table;
}

double measure_distortion(const Graph& g, Dataset& data, const QuantPlan& plan, const QuantPoints& points,
                          const SensitivityTable& table, int64_t batch) {
  if (batch < 1) throw Error("sensitivity: batch must be >= 1, got " + std::to_string(batch));
  const int64_t n = std::min<int64_t>(table.samples, data.size());
  if (n < 1) throw Error("sensitivity: no samples to measure the plan on");
  std::vector<std::string> fetch;
  for (const auto& [name, w] : table.observe) fetch.push_back(name);
  const Executor fex(g);
  const SimulatedModel sim(g, plan, points);
  Metric metric(g, table);
  std::map<std::string, double> num;
  for (int64_t b0 = 0; b0 < n; b0 += batch) {
    Batch b = data.read(b0, std::min(batch, n - b0));
    const auto feeds = feeds_of(g, b);
    const auto f = fex.run(feeds, fetch);
    const auto q = sim.run(feeds, fetch);
    for (const auto& k : fetch) {
      metric.add_reference(k, f.at(k));
      num[k] += metric.sum(k, f.at(k), q.at(k));
    }
  }
  double loss = 0;
  for (const auto& [k, w] : table.observe) loss += w * metric.normalized(k, num[k]);
  return loss;
}

std::map<std::string, double> lfh_observe_weights(const LfhResult& lfh) {
  std::map<std::string, double> w;
  for (const auto& t : lfh.tensors)
    if (t.kind == TensorKind::Activation) w[t.tensor] = lfh_objective_weight(t);
  return w;
}

std::string sensitivity_to_json(const SensitivityTable& t) {
  nlohmann::json j;
  j["samples"] = t.samples;
  j["runs"] = t.runs;
  j["seconds"] = t.seconds;
  j["float_seconds"] = t.float_seconds;
  j["nodes_run"] = t.nodes_run;
  j["model_nodes"] = t.model_nodes;
  j["observe"] = t.observe;
  j["output_distortion"] = t.output_kl ? "kl" : "nmse";
  j["rows"] = nlohmann::json::array();
  for (const auto& r : t.rows) {
    nlohmann::json jr{{"tensor", r.tensor},
                      {"kind", r.kind == TensorKind::Weight ? "weight" : "activation"},
                      {"layer", r.layer},
                      {"bits", r.bits},
                      {"loss", r.loss}};
    j["rows"].push_back(jr);
  }
  return j.dump(1);
}

}  // namespace qs
