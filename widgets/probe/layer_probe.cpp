#include "widgets/probe/layer_probe.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/common/error.h"
#include "core/quant/weight_range.h"
#include "core/runtime/executor.h"

namespace qs::ui {

namespace {

// Σx², Σy², Σxy, Σ(x−y)² in double, as analyze() accumulates them, so the figures agree with its report.
struct ErrAcc {
  double sx2 = 0, sy2 = 0, sxy = 0, sd2 = 0;
  int64_t n = 0;
  void add(const Tensor& x, const Tensor& y) {
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
  ErrorStats stats() const {
    ErrorStats s;
    s.count = n;
    s.mse = n ? sd2 / static_cast<double>(n) : 0;
    s.sqnr_db = sd2 == 0 ? std::numeric_limits<double>::infinity() : 10 * std::log10(sx2 / sd2);
    s.cosine = (sx2 == 0 || sy2 == 0) ? (sx2 == sy2 ? 1.0 : 0.0) : sxy / std::sqrt(sx2 * sy2);
    return s;
  }
};

// Representable range of channel c, extended by half a step: values beyond it are clipped.
void clip_bounds(const QuantParams& p, size_t c, float* lo, float* hi) {
  const float s = p.scale[c];
  *lo = (static_cast<float>(p.qmin - p.zero_point[c]) - 0.5f) * s;
  *hi = (static_cast<float>(p.qmax - p.zero_point[c]) + 0.5f) * s;
}

const WeightPoint* find_weight_point(const QuantPoints& points, const std::string& tensor) {
  for (const auto& w : points.weights)
    if (w.tensor == tensor) return &w;
  return nullptr;
}

}  // namespace

std::unique_ptr<LayerProbe> LayerProbe::build(const Graph& g, const QuantPoints& points,
                                              const PlanEntry& entry, Dataset* data, const ProbeOptions& o) {
  std::unique_ptr<LayerProbe> p(new LayerProbe());
  p->tensor_ = entry.tensor;
  p->kind_ = entry.kind;
  p->hist_ = Histogram(o.histogram_bins);

  std::vector<std::string> fetch;
  std::string observed;
  if (entry.kind == TensorKind::Weight) {
    const WeightPoint* wp = find_weight_point(points, entry.tensor);
    if (!wp) throw Error("'" + entry.tensor + "' is not a layer weight of the model");
    const Tensor* w = g.initializer(entry.tensor);
    if (!w || w->dtype() != DType::Float32)
      throw Error("'" + entry.tensor + "' is not a float32 initializer");
    p->weight_ = *w;
    p->weight_name_ = entry.tensor;
    p->output_name_ = wp->output;
    // Small weights get fewer bins (about eight values per bin), so their histogram is not a comb.
    p->hist_ = Histogram(static_cast<int>(std::clamp<int64_t>(w->numel() / 8, 16, o.histogram_bins)));
    p->hist_.add(w->span<float>());
    p->min_ = p->hist_.min();
    p->max_ = p->hist_.max();
    // The layer alone: its non-constant inputs become graph inputs (as analyze's single-node graph).
    const Node* node = nullptr;
    for (const auto& n : g.nodes)
      if (n.name == wp->layer) node = &n;
    if (!node) throw Error("layer '" + wp->layer + "' of weight '" + entry.tensor + "' is not in the model");
    Graph& s = p->layer_;
    s.opset = g.opset;
    s.opset_imports = g.opset_imports;
    s.nodes.push_back(*node);
    for (const auto& in : node->inputs) {
      if (in.empty()) continue;
      if (const Tensor* t = g.initializer(in)) {
        s.initializers[in] = *t;
      } else {
        s.inputs.push_back(ValueInfo{in, DType::Float32, std::nullopt});
        fetch.push_back(in);
      }
    }
    s.outputs.push_back(ValueInfo{node->outputs[0], DType::Float32, std::nullopt});
    observed = wp->output;
  } else {
    bool known = false;
    for (const auto& a : points.activations) known = known || a.tensor == entry.tensor;
    if (!known) throw Error("'" + entry.tensor + "' is not an activation point of the model");
    observed = entry.tensor;
  }
  if (!data || o.samples == 0) {
    if (entry.kind == TensorKind::Activation)
      throw Error("activation '" + entry.tensor + "' needs calibration data");
    return p;
  }
  fetch.push_back(observed);
  if (g.inputs.empty()) throw Error("the model has no inputs");

  if (data->size() == 0) throw Error(data->description() + ": no samples");
  Executor ex(g);
  // Elements per sample of what is cached, from a dry run on the first sample (of every input, in its
  // type), to bound memory.
  int64_t per_sample = 0;
  {
    const auto meta = probe_values(ex, feeds_of(g, data->read(0, 1)));
    for (const auto& f : fetch) {
      auto it = meta.find(f);
      if (it == meta.end()) throw Error("value '" + f + "' is not computed by the model");
      per_sample += numel(it->second.shape);
    }
  }
  int64_t n = std::min(o.samples > 0 ? o.samples : data->size(), data->size());
  if (per_sample > 0) n = std::max<int64_t>(1, std::min(n, o.max_elements / per_sample));
  if (o.batch < 1) throw Error("probe batch must be positive");

  for (int64_t begin = 0; begin < n; begin += o.batch) {
    if (o.progress && !o.progress(begin, n)) throw CancelledError();
    Batch b = data->read(begin, std::min(o.batch, n - begin));
    auto v = ex.run(feeds_of(g, b), fetch);
    if (entry.kind == TensorKind::Activation) {
      const Tensor& x = v.at(observed);
      if (x.dtype() != DType::Float32) throw Error("activation '" + entry.tensor + "' is not float32");
      p->hist_.add(x.span<float>());
      p->values_.push_back(x);
    } else {
      p->values_.push_back(v.at(observed));
      v.erase(observed);
      p->inputs_.push_back(std::move(v));
    }
  }
  if (o.progress) o.progress(n, n);
  p->samples_ = n;
  if (entry.kind == TensorKind::Activation) {
    p->min_ = std::numeric_limits<float>::infinity();
    p->max_ = -p->min_;
    for (const auto& t : p->values_)
      for (float x : t.span<float>()) {
        p->min_ = std::min(p->min_, x);
        p->max_ = std::max(p->max_, x);
      }
  }
  return p;
}

ProbeResult LayerProbe::evaluate(const PlanEntry& e) const {
  ProbeResult r;
  if (e.tensor != tensor_) throw Error("probe of '" + tensor_ + "' asked about '" + e.tensor + "'");
  const QuantParams& qp = e.params;
  if (qp.scale.empty()) throw Error("plan entry '" + e.tensor + "' has no quantization parameters");
  if (kind_ == TensorKind::Activation) {
    ErrAcc acc;
    float lo, hi;
    clip_bounds(qp, 0, &lo, &hi);
    int64_t clipped = 0, seen = 0;
    for (const auto& x : values_) {
      acc.add(x, e.quantize ? fake_quantize(x, qp) : x);
      for (float v : x.span<float>()) clipped += (v < lo || v > hi);
      seen += x.numel();
    }
    r.isolated = acc.stats();
    r.clipped_fraction = seen ? static_cast<double>(clipped) / static_cast<double>(seen) : 0;
    r.clip_lo = lo;
    r.clip_hi = hi;
    r.grid = quant_grid(qp);
    return r;
  }

  // Weight: the layer with the fake-quantized weight on the cached float inputs.
  const Tensor wq = e.quantize ? fake_quantize(weight_, qp) : weight_;
  if (!inputs_.empty()) {
    Graph one = layer_;
    one.initializers[weight_name_] = wq;
    Executor ex(std::move(one));
    ErrAcc acc;
    for (size_t i = 0; i < inputs_.size(); ++i)
      acc.add(values_[i], ex.run(inputs_[i], {output_name_}).at(output_name_));
    r.isolated = acc.stats();
  }
  // Weight-domain figures per channel, as analyze's report.
  const ChannelRanges mm = weight_minmax(weight_, e.spec.axis);
  const auto err = weight_quant_sq_error(weight_, qp);
  const ChannelLayout L = channel_layout(weight_.shape(), e.spec.axis);
  r.clip_lo = std::numeric_limits<float>::infinity();
  r.clip_hi = -r.clip_lo;
  int64_t clipped = 0;
  const float* w = weight_.data<float>();
  for (int64_t c = 0; c < L.channels; ++c) {
    const auto cc = static_cast<size_t>(c);
    ChannelStats cs;
    cs.min = mm.lo[cc];
    cs.max = mm.hi[cc];
    cs.scale = qp.scale[cc];
    cs.zero_point = qp.zero_point[cc];
    float lo, hi;
    clip_bounds(qp, cc, &lo, &hi);
    double s2 = 0;
    int64_t zeros = 0, count = 0;
    for (int64_t o2 = 0; o2 < L.outer; ++o2)
      for (int64_t i = 0; i < L.inner; ++i) {
        const float v = w[(o2 * L.channels + c) * L.inner + i];
        s2 += static_cast<double>(v) * v;
        clipped += (v < lo || v > hi);
        zeros += quantize_value(v, cs.scale, cs.zero_point, qp.qmin, qp.qmax) == cs.zero_point;
        ++count;
      }
    cs.sqnr_db =
        !e.quantize || err[cc] == 0 ? std::numeric_limits<double>::infinity() : 10 * std::log10(s2 / err[cc]);
    cs.zero_fraction = count ? static_cast<double>(zeros) / static_cast<double>(count) : 0;
    r.clip_lo = std::min(r.clip_lo, lo);
    r.clip_hi = std::max(r.clip_hi, hi);
    r.channels.push_back(cs);
  }
  r.clipped_fraction =
      e.quantize && weight_.numel() ? static_cast<double>(clipped) / static_cast<double>(weight_.numel()) : 0;
  if (e.spec.axis < 0) r.grid = quant_grid(qp);
  return r;
}

std::vector<size_t> network_order(const Graph& g, const QuantPlan& plan) {
  std::map<std::string, int> index;
  for (size_t i = 0; i < g.nodes.size(); ++i) index[g.nodes[i].name] = static_cast<int>(i);
  std::vector<size_t> order(plan.entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](size_t i) {
    const PlanEntry& e = plan.entries[i];
    auto it = index.find(e.layer);
    const int node = e.layer.empty() || it == index.end() ? -1 : it->second;
    return std::pair<int, int>(node, e.kind == TensorKind::Weight ? 0 : 1);
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  return order;
}

}  // namespace qs::ui
