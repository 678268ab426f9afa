#include "core/algo/eptq.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <numeric>
#include <random>

#include "core/autodiff/reverse.h"
#include "core/quant/calibrate.h"
#include "core/quant/simulate.h"
#include "core/runtime/executor.h"

namespace qs {

namespace {

constexpr double kZeta = 1.1, kGamma = -0.1;

struct Adam {
  std::vector<double> m, v;
  void init(size_t n) { m.assign(n, 0.0), v.assign(n, 0.0); }
  // One step on `x` with gradient `g` at (1-based) step t.
  template <typename T>
  void step(std::vector<T>& x, const std::vector<double>& g, double lr, int t) {
    constexpr double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const double c1 = 1 - std::pow(b1, t), c2 = 1 - std::pow(b2, t);
    for (size_t i = 0; i < x.size(); ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      x[i] = static_cast<T>(x[i] - lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + eps));
    }
  }
};

struct Layer {
  std::string layer, weight, bias, target;
  double factor = 1;
  double features = 1;  // elements of the target per image (the regularizer's scale, see eptq.h)
  QuantParams p;        // the plan's parameters (scales s0)
  Shape shape;
  ChannelLayout cl;
  std::vector<float> w, base;  // float weights, floor(w / s0)
  std::vector<float> V;        // rounding variables
  std::vector<float> u;        // log scale offsets per channel: s = s0·exp(u)
  std::vector<float> b;        // bias (when learned)
  Adam adam_v, adam_u, adam_b;
  std::vector<int32_t> rtn, best;  // integer levels
  std::vector<float> best_u, best_b;

  int64_t channel(int64_t i) const { return cl.channels == 1 ? 0 : (i / cl.inner) % cl.channels; }
  float scale(int64_t c) const {
    const size_t k = p.scale.size() == 1 ? 0 : static_cast<size_t>(c);
    return static_cast<float>(p.scale[k] * std::exp(static_cast<double>(u.empty() ? 0.f : u[k])));
  }
  int32_t zp(int64_t c) const { return p.zero_point[p.zero_point.size() == 1 ? 0 : static_cast<size_t>(c)]; }
};

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// Grid values of integer levels q: (q − zp)·s.
Tensor grid_tensor(const Layer& l, const std::vector<int32_t>& q) {
  Tensor t(DType::Float32, l.shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int64_t c = l.channel(i);
    p[i] = static_cast<float>(q[static_cast<size_t>(i)] - l.zp(c)) * l.scale(c);
  }
  return t;
}

std::vector<int32_t> hard_levels(const Layer& l) {
  std::vector<int32_t> q(l.w.size());
  for (size_t i = 0; i < q.size(); ++i) {
    const int64_t c = l.channel(static_cast<int64_t>(i));
    const double v = static_cast<double>(l.base[i]) + (l.V[i] >= 0 ? 1 : 0) + l.zp(c);
    q[i] = static_cast<int32_t>(std::clamp<double>(v, l.p.qmin, l.p.qmax));
  }
  return q;
}

// Target activation of a layer: its own activation point, or the fused Relu/Clip output that follows it.
std::string target_of(const Graph& g, const QuantPoints& points, const WeightPoint& wp) {
  for (const auto& a : points.activations) {
    if (a.producer == wp.layer) return a.tensor;
    if (a.fused_activation) {
      const int p = g.producer(a.tensor);
      if (p >= 0 && !g.nodes[static_cast<size_t>(p)].inputs.empty() &&
          g.nodes[static_cast<size_t>(p)].inputs[0] == wp.output)
        return a.tensor;
    }
  }
  return wp.output;
}

// Samples `idx` of one input's data, any element type.
Tensor slice_samples(const Tensor& all, const std::vector<int64_t>& idx) {
  Shape s = all.shape();
  const size_t per = all.nbytes() / static_cast<size_t>(s[0]);
  s[0] = static_cast<int64_t>(idx.size());
  Tensor t(all.dtype(), s);
  for (size_t k = 0; k < idx.size(); ++k)
    std::memcpy(static_cast<std::byte*>(t.raw()) + k * per,
                static_cast<const std::byte*>(all.raw()) + static_cast<size_t>(idx[k]) * per, per);
  return t;
}

// Samples `idx` of a batch: of every input alike, so that sample i of each input stays with the others'.
Batch slice_batch(const Batch& all, const std::vector<int64_t>& idx) {
  Batch b;
  b.images = slice_samples(all.images, idx);
  for (const auto& [name, t] : all.more) b.more[name] = slice_samples(t, idx);
  return b;
}

}  // namespace

EptqResult eptq(const Graph& g, Dataset& data, const QuantPlan& plan, const EptqOptions& o) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  if (o.iterations < 0 || o.batch < 1 || o.calib_count < 1 || o.eval_count < 1 || o.eval_every < 1)
    throw Error("EPTQ: iterations must be >= 0; batch, calib_count, eval_count and eval_every >= 1");
  if (!(o.lr > 0) || o.reg_lambda < 0 || o.warmup < 0 || o.warmup > 1)
    throw Error("EPTQ: lr must be positive, reg_lambda >= 0, warmup in [0, 1]");
  const QuantPoints points = quant_points_for(g, data);
  validate_plan(plan, g, points);

  EptqResult r;
  r.plan = plan;
  // ---- layers and their targets ----
  std::vector<Layer> layers;
  for (const auto& wp : points.weights) {
    const PlanEntry* e = plan.active(wp.tensor);
    if (!e) continue;
    if (std::any_of(layers.begin(), layers.end(), [&](const Layer& l) { return l.weight == wp.tensor; }))
      continue;  // a shared weight is tuned once, for its first layer's target
    Layer l;
    l.layer = wp.layer;
    l.weight = wp.tensor;
    l.bias = wp.bias;
    l.target = target_of(g, points, wp);
    l.p = e->params;
    const Tensor& w = *g.initializer(wp.tensor);
    l.shape = w.shape();
    l.cl = channel_layout(w.shape(), l.p.axis);
    l.w = w.to_vector<float>();
    layers.push_back(std::move(l));
  }
  if (layers.empty()) throw Error("EPTQ: the plan quantizes no weight of the model");

  // ---- layer weights ----
  if (!o.layer_weights.empty()) {
    for (auto& l : layers) {
      auto it = o.layer_weights.find(l.target);
      if (it == o.layer_weights.end())
        throw Error("EPTQ: no layer weight given for '" + l.target + "' (the value layer '" + l.layer +
                    "' feeds)");
      l.factor = it->second;
    }
  } else if (o.lfh_weights) {
    const auto tl = Clock::now();
    const LfhResult lfh = compute_lfh(g, data, points, o.lfh);
    r.lfh_seconds = std::chrono::duration<double>(Clock::now() - tl).count();
    for (auto& l : layers) {
      const LfhTensor* t = lfh.find(l.target);
      l.factor = t ? lfh_objective_weight(*t) : 0.0;
    }
  }
  double fsum = 0;
  for (const auto& l : layers) fsum += l.factor;
  // Weights are scaled to mean 1 so that λ means the same with LFH and uniform weights. All zero (given
  // layer weights of 0) falls back to uniform.
  for (auto& l : layers) l.factor = fsum > 0 ? l.factor * static_cast<double>(layers.size()) / fsum : 1.0;

  // ---- rounding variables, RTN levels ----
  for (auto& l : layers) {
    const size_t n = l.w.size();
    l.base.resize(n);
    l.V.resize(n);
    l.rtn.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const int64_t c = l.channel(static_cast<int64_t>(i));
      const float s = l.scale(c);
      const double x = static_cast<double>(l.w[i]) / s;
      l.base[i] = static_cast<float>(std::floor(x));
      const double rest = std::clamp(x - std::floor(x), 1e-6, 1 - 1e-6);
      // σ(V)(ζ−γ)+γ = rest
      l.V[i] = static_cast<float>(-std::log((kZeta - kGamma) / (rest - kGamma) - 1));
      l.rtn[i] = quantize_value(l.w[i], s, l.zp(c), l.p.qmin, l.p.qmax);
    }
    l.adam_v.init(n);
    if (o.learn_scales) {
      l.u.assign(l.p.scale.size(), 0.f);
      l.adam_u.init(l.u.size());
    }
    if (o.learn_bias && !l.bias.empty()) {
      l.b = g.initializer(l.bias)->to_vector<float>();
      l.adam_b.init(l.b.size());
    }
    l.best = l.rtn;
    l.best_u = l.u;
    l.best_b = l.b;
  }

  // ---- models ----
  SimOptions so;
  so.quantize_bias =
      !(o.learn_bias || o.learn_scales);  // a learned bias or scale changes the int32 bias grid
  const Graph qgraph = quantize_weights(g, plan, points, so);
  std::set<std::string> param_names;
  for (const auto& l : layers) {
    param_names.insert(l.weight);
    if (!l.b.empty()) param_names.insert(l.bias);
  }
  const ReverseModel qmodel(qgraph, param_names);
  const Executor fmodel(g);
  std::map<std::string, QuantParams> act_quant;
  for (const auto& a : points.activations)
    if (const PlanEntry* e = plan.active(a.tensor)) act_quant[a.tensor] = e->params;
  std::vector<std::string> targets;
  for (const auto& l : layers) targets.push_back(l.target);
  std::vector<std::string> wrt(param_names.begin(), param_names.end());

  // ---- calibration images, float targets of the evaluation images ----
  const int64_t n = std::min(o.calib_count, data.size());
  if (n < 1) throw Error("EPTQ: the dataset is empty");
  const Batch images = data.read(0, n);  // every input's samples (Batch::more)
  const int64_t ne = std::min(o.eval_count, n);
  constexpr int64_t kEvalChunk = 32;
  std::vector<std::map<std::string, Tensor>> eval_float;
  std::vector<std::map<std::string, Tensor>> eval_images;  // the feeds of each chunk
  for (int64_t b0 = 0; b0 < ne; b0 += kEvalChunk) {
    std::vector<int64_t> idx(static_cast<size_t>(std::min(kEvalChunk, ne - b0)));
    std::iota(idx.begin(), idx.end(), b0);
    eval_images.push_back(feeds_of(g, slice_batch(images, idx)));
    eval_float.push_back(fmodel.run(eval_images.back(), targets));
  }

  auto forward_options = [&](const std::function<Tensor(const Layer&)>& weights) {
    ForwardOptions fo;
    fo.fake_quant = act_quant;
    for (const auto& l : layers) {
      fo.params[l.weight] = weights(l);
      if (!l.b.empty()) fo.params[l.bias] = Tensor::from_vector<float>(g.initializer(l.bias)->shape(), l.b);
    }
    return fo;
  };
  // Distillation loss of given weights on the evaluation images.
  auto evaluate = [&](const std::function<Tensor(const Layer&)>& weights) {
    const ForwardOptions fo = forward_options(weights);
    std::vector<double> sq(layers.size(), 0.0), cnt(layers.size(), 0.0);
    for (size_t k = 0; k < eval_images.size(); ++k) {
      const Tape t = qmodel.forward(eval_images[k], fo);
      for (size_t j = 0; j < layers.size(); ++j) {
        const Tensor& zq = t.value(layers[j].target);
        const Tensor& zf = eval_float[k].at(layers[j].target);
        for (int64_t i = 0; i < zq.numel(); ++i) {
          const double d = static_cast<double>(zq.data<float>()[i]) - zf.data<float>()[i];
          sq[j] += d * d;
        }
        cnt[j] += static_cast<double>(zq.numel());
      }
    }
    double loss = 0;
    for (size_t j = 0; j < layers.size(); ++j) loss += layers[j].factor * sq[j] / std::max(cnt[j], 1.0);
    return loss;
  };
  r.rtn_eval_loss = evaluate([](const Layer& l) { return grid_tensor(l, l.rtn); });
  r.best_eval_loss = r.rtn_eval_loss;

  // ---- optimization ----
  std::mt19937_64 rng(o.seed);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  size_t pos = order.size();
  const int T = o.iterations;
  const int warm = static_cast<int>(std::lround(o.warmup * T));
  for (int it = 1; it <= T; ++it) {
    const bool reg_on = it > warm;
    const double beta = reg_on
                            ? o.beta_end + (o.beta_start - o.beta_end) *
                                               (1.0 - static_cast<double>(it - warm) / std::max(1, T - warm))
                            : o.beta_start;
    // A batch without replacement within an epoch.
    std::vector<int64_t> idx;
    while (static_cast<int64_t>(idx.size()) < std::min(o.batch, n)) {
      if (pos == order.size()) {
        std::shuffle(order.begin(), order.end(), rng);
        pos = 0;
      }
      idx.push_back(order[pos++]);
    }
    const auto x = feeds_of(g, slice_batch(images, idx));
    const auto zf = fmodel.run(x, targets);

    // Soft weights and, per element, dW/dV and whether the level is inside the clamp range.
    std::vector<std::vector<float>> dwdv(layers.size());
    std::vector<std::vector<float>> level(layers.size());
    const ForwardOptions fo = forward_options([&](const Layer& l) {
      const size_t j = static_cast<size_t>(&l - layers.data());
      Tensor t(DType::Float32, l.shape);
      float* p = t.data<float>();
      dwdv[j].resize(l.w.size());
      level[j].resize(l.w.size());
      for (size_t i = 0; i < l.w.size(); ++i) {
        const int64_t c = l.channel(static_cast<int64_t>(i));
        const double sg = sigmoid(l.V[i]);
        const double hr = sg * (kZeta - kGamma) + kGamma;
        const double h = std::clamp(hr, 0.0, 1.0);
        const double q = l.base[i] + h + l.zp(c);
        const double qc = std::clamp<double>(q, l.p.qmin, l.p.qmax);
        const float s = l.scale(c);
        p[i] = static_cast<float>((qc - l.zp(c)) * s);
        level[j][i] = static_cast<float>(qc - l.zp(c));
        const bool inside = q > l.p.qmin && q < l.p.qmax && hr > 0 && hr < 1;
        dwdv[j][i] = inside ? static_cast<float>(s * sg * (1 - sg) * (kZeta - kGamma)) : 0.f;
      }
      return t;
    });
    const Tape tape = qmodel.forward(x, fo);
    std::map<std::string, Tensor> seeds;
    double distill = 0;
    for (auto& l : layers) {
      const Tensor& zq = tape.value(l.target);
      l.features = static_cast<double>(zq.numel()) / static_cast<double>(std::max<int64_t>(zq.dim(0), 1));
      const Tensor& zt = zf.at(l.target);
      Tensor seed(DType::Float32, zq.shape());
      const double k = 2 * l.factor / static_cast<double>(std::max<int64_t>(zq.numel(), 1));
      double sq = 0;
      for (int64_t i = 0; i < zq.numel(); ++i) {
        const double d = static_cast<double>(zq.data<float>()[i]) - zt.data<float>()[i];
        sq += d * d;
        seed.data<float>()[i] = static_cast<float>(k * d);
      }
      distill += l.factor * sq / static_cast<double>(std::max<int64_t>(zq.numel(), 1));
      auto s = seeds.find(l.target);
      if (s == seeds.end()) seeds[l.target] = std::move(seed);
    }
    const auto grads = qmodel.backward(tape, seeds, wrt);

    double reg = 0;
    for (size_t j = 0; j < layers.size(); ++j) {
      Layer& l = layers[j];
      const float* gw = grads.at(l.weight).data<float>();
      const size_t n_el = l.w.size();
      std::vector<double> gv(n_el);
      double reg_l = 0;
      for (size_t i = 0; i < n_el; ++i) {
        double gr = 0;
        const double hr = sigmoid(l.V[i]) * (kZeta - kGamma) + kGamma;
        const double h = std::clamp(hr, 0.0, 1.0);
        const double a = std::abs(2 * h - 1);
        reg_l += 1 - std::pow(a, beta);
        if (reg_on && hr > 0 && hr < 1 && a > 0) {
          const double dr_dh = -2 * beta * std::pow(a, beta - 1) * (2 * h - 1 > 0 ? 1 : -1);
          const double sg = sigmoid(l.V[i]);
          gr = o.reg_lambda / l.features * dr_dh * sg * (1 - sg) * (kZeta - kGamma);
        }
        gv[i] = static_cast<double>(gw[i]) * dwdv[j][i] + gr;
      }
      reg += reg_l / l.features;
      l.adam_v.step(l.V, gv, o.lr, it);
      if (!l.u.empty()) {
        std::vector<double> gu(l.u.size(), 0.0);
        for (size_t i = 0; i < n_el; ++i) {
          const int64_t c = l.channel(static_cast<int64_t>(i));
          gu[l.u.size() == 1 ? 0 : static_cast<size_t>(c)] +=
              static_cast<double>(gw[i]) * level[j][i] * l.scale(c);  // dW/du = level·s
        }
        l.adam_u.step(l.u, gu, o.lr_scale, it);
      }
      if (!l.b.empty()) {
        const Tensor& gb = grads.at(l.bias);
        std::vector<double> gbd(gb.data<float>(), gb.data<float>() + gb.numel());
        l.adam_b.step(l.b, gbd, o.lr_bias, it);
      }
    }

    EptqStep step;
    step.iteration = it;
    step.iterations = T;
    step.distill = distill;
    step.reg = reg;
    step.loss = distill + (reg_on ? o.reg_lambda * reg : 0.0);
    step.beta = beta;
    if (it % o.eval_every == 0 || it == T) {
      std::vector<std::vector<int32_t>> hard;
      for (const auto& l : layers) hard.push_back(hard_levels(l));
      step.eval_loss = evaluate(
          [&](const Layer& l) { return grid_tensor(l, hard[static_cast<size_t>(&l - layers.data())]); });
      if (step.eval_loss < r.best_eval_loss) {
        r.best_eval_loss = step.eval_loss;
        r.best_iteration = it;
        for (size_t j = 0; j < layers.size(); ++j) {
          layers[j].best = std::move(hard[j]);
          layers[j].best_u = layers[j].u;
          layers[j].best_b = layers[j].b;
        }
      }
    }
    step.best_eval_loss = r.best_eval_loss;
    r.curve.push_back(step);
    r.iterations_run = it;
    if (o.progress && !o.progress(step)) {
      r.cancelled = true;
      break;
    }
  }

  // ---- result: the best rounding on the grid ----
  r.graph = g;
  for (auto& l : layers) {
    l.u = l.best_u;  // grid_tensor reads the scales from u
    r.graph.initializers[l.weight] = grid_tensor(l, l.best);
    if (!l.best_b.empty())
      r.graph.initializers[l.bias] = Tensor::from_vector<float>(g.initializer(l.bias)->shape(), l.best_b);
    if (!l.u.empty()) {
      PlanEntry* e = r.plan.find(l.weight);
      for (size_t c = 0; c < l.u.size(); ++c) {
        const float s = l.scale(static_cast<int64_t>(c));
        e->params.scale[c] = s;
        e->lo[c] = static_cast<float>(l.p.qmin - l.p.zero_point[c]) * s;
        e->hi[c] = static_cast<float>(l.p.qmax - l.p.zero_point[c]) * s;
      }
    }
    EptqLayer el;
    el.layer = l.layer;
    el.weight = l.weight;
    el.target = l.target;
    el.weight_factor = l.factor;
    el.elements = static_cast<int64_t>(l.w.size());
    for (size_t i = 0; i < l.w.size(); ++i) el.changed += l.best[i] != l.rtn[i];
    r.layers.push_back(std::move(el));
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

}  // namespace qs
