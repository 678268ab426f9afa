#include "core/quant/analysis.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "core/common/file_io.h"
#include "core/int/lowering.h"
#include "core/quant/calibrate.h"
#include "core/quant/histogram.h"
#include "core/quant/simulate.h"
#include "core/quant/weight_range.h"
#include "core/runtime/executor.h"

namespace qs {

namespace {

using ErrAcc = ErrorAccumulator;

// A graph of one layer: its non-constant inputs become graph inputs, constants stay initializers.
Graph single_node_graph(const Graph& g, const Node& n, const std::string& weight, const Tensor& wq) {
  Graph s;
  s.opset = g.opset;
  s.opset_imports = g.opset_imports;
  s.nodes.push_back(n);
  for (const auto& in : n.inputs) {
    if (in.empty()) continue;
    if (const Tensor* t = g.initializer(in))
      s.initializers[in] = in == weight ? wq : *t;
    else
      s.inputs.push_back(ValueInfo{in, DType::Float32, std::nullopt});
  }
  s.outputs.push_back(ValueInfo{n.outputs[0], DType::Float32, std::nullopt});
  return s;
}

int64_t argmax_row(const float* p, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (p[i] > p[best]) best = i;
  return best;
}

// Representable range of a per-tensor/per-channel entry, extended by half a step (values beyond are clipped).
void clip_bounds(const QuantParams& p, size_t c, float* lo, float* hi) {
  const float s = p.scale[c];
  *lo = (static_cast<float>(p.qmin - p.zero_point[c]) - 0.5f) * s;
  *hi = (static_cast<float>(p.qmax - p.zero_point[c]) + 0.5f) * s;
}

}  // namespace

void ErrorAccumulator::add(const Tensor& x, const Tensor& y) {
  if (x.dtype() != DType::Float32 || y.dtype() != DType::Float32 || x.numel() != y.numel()) return;
  const float* a = x.data<float>();
  const float* b = y.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double u = a[i], v = b[i];
    sx2 += u * u;
    sy2 += v * v;
    sxy += u * v;
    sd2 += (u - v) * (u - v);
  }
  n += x.numel();
}

ErrorStats ErrorAccumulator::stats() const {
  ErrorStats s;
  s.count = n;
  s.mse = n ? sd2 / static_cast<double>(n) : 0;
  s.sqnr_db = sd2 == 0 ? std::numeric_limits<double>::infinity() : 10 * std::log10(sx2 / sd2);
  s.cosine = (sx2 == 0 || sy2 == 0) ? (sx2 == sy2 ? 1.0 : 0.0) : sxy / std::sqrt(sx2 * sy2);
  return s;
}

AnalysisReport analyze(const Graph& g, const QuantPlan& plan, Dataset& data, const AnalysisOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  AnalysisReport r;
  const QuantPoints points = quant_points_for(g, data);
  validate_plan(plan, g, points);
  // The integer engine's islands under this plan (lowering.h), which also counts ops of integer type that
  // have no integer form with these operands (a Concat with a constant input, ...); points.float_islands does
  // not.
  const Lowering lowering = lower(g, plan, points);
  for (const LoweredNode* n : lowering.float_islands()) r.float_islands.push_back(n->node->name);
  Executor fex(g);
  SimulatedModel sim(g, plan, points);

  std::map<std::string, const WeightPoint*> wpoint;
  for (const auto& w : points.weights) wpoint[w.tensor] = &w;
  std::map<std::string, const Node*> node_by_name;
  for (const auto& n : g.nodes) node_by_name[n.name] = &n;

  // Per entry: what is observed, accumulators, and for weights a one-layer executor.
  struct Work {
    const PlanEntry* e;
    std::string observed;
    ErrAcc iso, cum;
    std::unique_ptr<Executor> layer;  // weights: the layer with the fake-quantized weight
    std::vector<std::string> layer_inputs;
    Histogram hist;
    int64_t clipped = 0, seen = 0;
    float mn = std::numeric_limits<float>::infinity(), mx = -std::numeric_limits<float>::infinity();
    explicit Work(int bins) : hist(bins) {}
  };
  std::vector<std::unique_ptr<Work>> work;
  std::set<std::string> float_fetch, sim_fetch;
  for (const auto& e : plan.entries) {
    auto w = std::make_unique<Work>(o.histogram_bins);
    w->e = &e;
    if (e.kind == TensorKind::Weight) {
      const WeightPoint& wp = *wpoint.at(e.tensor);
      w->observed = wp.output;
      const Node& n = *node_by_name.at(wp.layer);
      Graph one = single_node_graph(
          g, n, e.tensor,
          e.quantize ? fake_quantize(*g.initializer(e.tensor), e.params) : *g.initializer(e.tensor));
      for (const auto& in : one.inputs) {
        w->layer_inputs.push_back(in.name);
        float_fetch.insert(in.name);
      }
      w->layer = std::make_unique<Executor>(std::move(one));
    } else {
      w->observed = e.tensor;
    }
    float_fetch.insert(w->observed);
    sim_fetch.insert(w->observed);
    work.push_back(std::move(w));
  }

  const int64_t n = o.count > 0 ? std::min(o.count, data.size()) : data.size();
  ErrAcc out_acc;
  int64_t agree = 0;
  const std::string out_name = g.outputs.at(0).name;
  float_fetch.insert(out_name);
  sim_fetch.insert(out_name);
  const std::vector<std::string> ff(float_fetch.begin(), float_fetch.end()),
      sf(sim_fetch.begin(), sim_fetch.end());
  for (int64_t begin = 0; begin < n; begin += o.batch) {
    if (o.progress && !o.progress(begin, n)) throw CancelledError();
    Batch b = data.read(begin, std::min(o.batch, n - begin));
    const auto feeds = feeds_of(g, b);
    auto fv = fex.run(feeds, ff);
    auto sv = sim.run(feeds, sf);
    for (auto& wp : work) {
      Work& w = *wp;
      const PlanEntry& e = *w.e;
      const Tensor& xf = fv.at(w.observed);
      w.cum.add(xf, sv.at(w.observed));
      if (e.kind == TensorKind::Activation) {
        w.iso.add(xf, e.quantize ? fake_quantize(xf, e.params) : xf);
        w.hist.add(xf.span<float>());
        float lo, hi;
        clip_bounds(e.params, 0, &lo, &hi);
        for (float v : xf.span<float>()) {
          w.clipped += (v < lo || v > hi);
          w.mn = std::min(w.mn, v);
          w.mx = std::max(w.mx, v);
        }
        w.seen += xf.numel();
      } else {
        std::map<std::string, Tensor> feeds;
        for (const auto& in : w.layer_inputs) feeds[in] = fv.at(in);
        w.iso.add(xf, w.layer->run(feeds, {w.observed}).at(w.observed));
      }
    }
    out_acc.add(fv.at(out_name), sv.at(out_name));
    const Tensor& yf = fv.at(out_name);
    const Tensor& yq = sv.at(out_name);
    if (yf.rank() == 2 && yf.dtype() == DType::Float32)
      for (int64_t i = 0; i < yf.dim(0); ++i)
        agree += argmax_row(yf.data<float>() + i * yf.dim(1), yf.dim(1)) ==
                 argmax_row(yq.data<float>() + i * yq.dim(1), yq.dim(1));
  }
  if (o.progress) o.progress(n, n);

  for (auto& wp : work) {
    Work& w = *wp;
    const PlanEntry& e = *w.e;
    TensorReport t;
    t.tensor = e.tensor;
    t.kind = e.kind;
    t.layer = e.layer;
    t.op_type = e.op_type;
    t.observed = w.observed;
    t.quantized = e.quantize;
    t.bits = e.spec.bits;
    t.method = e.method;
    t.isolated = w.iso.stats();
    t.cumulative = w.cum.stats();
    if (e.kind == TensorKind::Weight) {
      const Tensor& wt = *g.initializer(e.tensor);
      w.hist.add(wt.span<float>());
      const ChannelRanges mm = weight_minmax(wt, e.spec.axis);
      const auto err = weight_quant_sq_error(wt, e.params);
      const ChannelLayout L = channel_layout(wt.shape(), e.spec.axis);
      t.float_min = std::numeric_limits<float>::infinity();
      t.float_max = -t.float_min;
      t.clip_lo = t.float_min;
      t.clip_hi = t.float_max;
      int64_t clipped = 0;
      for (int64_t c = 0; c < L.channels; ++c) {
        ChannelStats cs;
        cs.min = mm.lo[static_cast<size_t>(c)];
        cs.max = mm.hi[static_cast<size_t>(c)];
        cs.scale = e.params.scale[static_cast<size_t>(c)];
        cs.zero_point = e.params.zero_point[static_cast<size_t>(c)];
        float lo, hi;
        clip_bounds(e.params, static_cast<size_t>(c), &lo, &hi);
        double s2 = 0;
        int64_t zeros = 0, count = 0;
        for (int64_t o2 = 0; o2 < L.outer; ++o2)
          for (int64_t i = 0; i < L.inner; ++i) {
            const float v = wt.data<float>()[(o2 * L.channels + c) * L.inner + i];
            s2 += static_cast<double>(v) * v;
            clipped += (v < lo || v > hi);
            zeros +=
                quantize_value(v, cs.scale, cs.zero_point, e.params.qmin, e.params.qmax) == cs.zero_point;
            ++count;
          }
        const double e2 = err[static_cast<size_t>(c)];
        cs.sqnr_db = e2 == 0 ? std::numeric_limits<double>::infinity() : 10 * std::log10(s2 / e2);
        cs.zero_fraction = count ? static_cast<double>(zeros) / static_cast<double>(count) : 0;
        t.float_min = std::min(t.float_min, cs.min);
        t.float_max = std::max(t.float_max, cs.max);
        t.clip_lo = std::min(t.clip_lo, lo);
        t.clip_hi = std::max(t.clip_hi, hi);
        t.channels.push_back(cs);
      }
      t.clipped_fraction = wt.numel() ? static_cast<double>(clipped) / static_cast<double>(wt.numel()) : 0;
      if (e.spec.axis < 0) t.grid = quant_grid(e.params);
    } else {
      t.float_min = w.mn;
      t.float_max = w.mx;
      clip_bounds(e.params, 0, &t.clip_lo, &t.clip_hi);
      t.clipped_fraction = w.seen ? static_cast<double>(w.clipped) / static_cast<double>(w.seen) : 0;
      t.grid = quant_grid(e.params);
    }
    t.hist_lo = w.hist.lo();
    t.hist_hi = w.hist.hi();
    t.hist = w.hist.bins();
    r.tensors.push_back(std::move(t));
  }
  r.samples = n;
  r.output = out_acc.stats();
  r.top1_agreement = n ? static_cast<double>(agree) / static_cast<double>(n) : 0;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

namespace {
nlohmann::json num(double v) {
  // JSON has no infinity: +inf SQNR (no error at all) is written as null.
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}
nlohmann::json err_json(const ErrorStats& e) {
  return {{"sqnr_db", num(e.sqnr_db)}, {"mse", num(e.mse)}, {"cosine", num(e.cosine)}, {"count", e.count}};
}
}  // namespace

std::string report_to_json(const AnalysisReport& r) {
  nlohmann::json j;
  j["format"] = "quantscope-report";
  j["version"] = 1;
  j["model"] = r.model;
  j["plan"] = r.plan;
  j["samples"] = r.samples;
  j["seconds"] = r.seconds;
  j["output"] = err_json(r.output);
  j["output"]["top1_agreement"] = r.top1_agreement;
  j["float_islands"] = r.float_islands;
  j["tensors"] = nlohmann::json::array();
  for (const auto& t : r.tensors) {
    nlohmann::json x{{"tensor", t.tensor},
                     {"kind", t.kind == TensorKind::Weight ? "weight" : "activation"},
                     {"layer", t.layer},
                     {"op_type", t.op_type},
                     {"observed", t.observed},
                     {"quantized", t.quantized},
                     {"bits", t.bits},
                     {"method", t.method},
                     {"float_range", {t.float_min, t.float_max}},
                     {"clip_range", {t.clip_lo, t.clip_hi}},
                     {"clipped_fraction", t.clipped_fraction},
                     {"histogram", {{"lo", t.hist_lo}, {"hi", t.hist_hi}, {"counts", t.hist}}},
                     {"grid", t.grid},
                     {"isolated", err_json(t.isolated)},
                     {"cumulative", err_json(t.cumulative)}};
    if (!t.channels.empty()) {
      x["channels"] = nlohmann::json::array();
      for (const auto& c : t.channels)
        x["channels"].push_back({{"min", c.min},
                                 {"max", c.max},
                                 {"scale", c.scale},
                                 {"zero_point", c.zero_point},
                                 {"sqnr_db", num(c.sqnr_db)},
                                 {"zero_fraction", c.zero_fraction}});
    }
    j["tensors"].push_back(std::move(x));
  }
  return j.dump(1);
}

void save_report(const AnalysisReport& r, const std::string& path) {
  write_file_atomic(path, report_to_json(r) + "\n");
}

}  // namespace qs
