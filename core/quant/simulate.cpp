#include "core/quant/simulate.h"

#include <cmath>
#include <limits>

namespace qs {

namespace {

bool applies(const SimOptions& o, const std::string& tensor) { return !o.only || o.only->count(tensor); }

// Bias quantized to int32 with scale s_in · s_w[c] (zero point 0), then dequantized.
Tensor quantize_bias(const Tensor& b, float s_in, const QuantParams& w) {
  Tensor out = b.clone();
  float* p = out.data<float>();
  for (int64_t c = 0; c < b.numel(); ++c) {
    const float s = s_in * w.scale[w.scale.size() == 1 ? 0 : static_cast<size_t>(c)];
    double q = std::nearbyint(static_cast<double>(p[c]) / s);
    q = std::clamp(q, static_cast<double>(std::numeric_limits<int32_t>::min()),
                   static_cast<double>(std::numeric_limits<int32_t>::max()));
    p[c] = static_cast<float>(q * s);
  }
  return out;
}

}  // namespace

Graph quantize_weights(const Graph& g, const QuantPlan& plan, const QuantPoints& points, const SimOptions& o) {
  Graph q = g;
  for (const auto& wp : points.weights) {
    const PlanEntry* e = plan.active(wp.tensor);
    if (!e || !applies(o, wp.tensor)) continue;
    const Tensor& w = *g.initializer(wp.tensor);
    // A weight shared by several layers is quantized once; its name stays.
    q.initializers[wp.tensor] = fake_quantize(w, e->params);
    if (!o.quantize_bias || wp.bias.empty()) continue;
    // The bias scale needs the layer input's activation scale (through data movement).
    auto c = points.carrier.find(wp.input);
    const PlanEntry* in = c == points.carrier.end() ? nullptr : plan.active(c->second);
    if (!in || !applies(o, in->tensor)) continue;
    const Node* node = nullptr;
    for (const auto& n : q.nodes)
      if (n.name == wp.layer) node = &n;
    if (!node || node->attr_float("beta", 1.f) != 1.f || node->attr_float("alpha", 1.f) != 1.f) continue;
    const Tensor& b = *g.initializer(wp.bias);
    const int64_t out_ch = e->params.channels() == 1 ? b.numel() : e->params.channels();
    if (b.numel() != out_ch) continue;
    // A new name per layer: a bias shared by layers with different scales must not be overwritten.
    const std::string name = wp.bias + "::int32@" + wp.layer;
    q.initializers[name] = quantize_bias(b, in->params.scale[0], e->params);
    for (auto& n : q.nodes)
      if (n.name == wp.layer) n.inputs[2] = name;
  }
  return q;
}

SimulatedModel::SimulatedModel(const Graph& g, const QuantPlan& plan, const QuantPoints& points,
                               const SimOptions& options)
    : ex_(quantize_weights(g, plan, points, options)) {
  for (const auto& a : points.activations) {
    const PlanEntry* e = plan.active(a.tensor);
    if (e && applies(options, a.tensor)) act_params_[a.tensor] = e->params;
  }
}

RunOptions SimulatedModel::wrap(const RunOptions& options) const {
  RunOptions r = options;
  r.rewrite = [this, user = options.rewrite](const std::string& name, Tensor& value) {
    auto it = act_params_.find(name);
    if (it != act_params_.end() && value.dtype() == DType::Float32) value = fake_quantize(value, it->second);
    if (user) user(name, value);
  };
  return r;
}

std::vector<Tensor> SimulatedModel::run(const std::vector<Tensor>& inputs, const RunOptions& options) const {
  return ex_.run(inputs, wrap(options));
}

std::map<std::string, Tensor> SimulatedModel::run(const std::map<std::string, Tensor>& feeds,
                                                  const std::vector<std::string>& fetch,
                                                  const RunOptions& options) const {
  return ex_.run(feeds, fetch, wrap(options));
}

}  // namespace qs
