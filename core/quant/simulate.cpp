#include "core/quant/simulate.h"

#include <cmath>
#include <limits>

#include "core/int/layer_quant.h"
#include "core/int/lowering.h"
#include "core/int/pool_int.h"
#include "core/int/requant.h"
#include "core/ops/broadcast.h"
#include "core/runtime/batching.h"

namespace qs {

namespace {

bool applies(const SimOptions& o, const std::string& tensor) { return !o.only || o.only->count(tensor); }

// Bias quantized to int32 with scale s_in · s_w[c] (zero point 0), then dequantized.
Tensor quantize_bias(const Tensor& b, float s_in, const QuantParams& w) {
  Tensor out = b.clone();
  float* p = out.data<float>();
  for (int64_t c = 0; c < b.numel(); ++c) {
    const float s = s_in * w.scale[static_cast<size_t>(c) % w.scale.size()];  // bias_channels()
    double q = std::nearbyint(static_cast<double>(p[c]) / s);
    q = std::clamp(q, static_cast<double>(std::numeric_limits<int32_t>::min()),
                   static_cast<double>(std::numeric_limits<int32_t>::max()));
    p[c] = static_cast<float>(q * s);
  }
  return out;
}

// The integer a float value stands for, in units of `unit` (exact while the float error is < unit/2).
int64_t recover(double v, double unit) {
  const double q = std::nearbyint(v / unit);
  constexpr double kMax = 4.0e18;
  return static_cast<int64_t>(std::clamp(q, -kMax, kMax));
}

}  // namespace

// How the simulation models each node the integer engine runs with integer arithmetic (lowering.h).
struct SimulatedModel::IntegerArithmetic {
  struct Model {
    IntKind kind = IntKind::Float;
    const Node* node = nullptr;
    QuantParams out;
    std::vector<QuantParams> in;        // per operand (Add/Sub/Mul, Concat, Activation, pools: input 0)
    std::vector<std::string> operands;  // the values `in` describes, read from the stash
    std::vector<double> acc_scale;      // Layer / MatMulInt: per output channel
    std::vector<FixedMultiplier> mult;  // Layer: per channel; Concat: per input; Activation: [pos, neg...]
    int channel_axis = 1;
    AddMultipliers add;
    int32_t lo = 0, hi = 0;             // Activation clamp
    Shape slope_shape;                  // PRelu
    WindowAttrs window;                 // AveragePool
    bool count_include_pad = false;
    ConstAffine affine;  // ConstOperand
    Shape k_shape;       // ConstOperand: the constant's shape
  };
  Graph graph;
  Lowering lowering;
  std::map<std::string, Model> models;   // by the value the node produces (before a fused activation)
  std::map<std::string, int> stash_uses;  // operands the models read, with their number of readers

  struct RunState {
    std::map<std::string, Tensor> stash;
    std::map<std::string, int> uses;
  };

  Tensor apply(const Model& m, const Tensor& y, RunState& st) const;
  const Tensor& operand(const Model& m, size_t i, RunState& st) const { return st.stash.at(m.operands[i]); }
};

Tensor SimulatedModel::IntegerArithmetic::apply(const Model& m, const Tensor& y, RunState& st) const {
  const QuantParams& o = m.out;
  const float so = o.scale[0];
  const int32_t zo = o.zero_point[0];
  Tensor r(DType::Float32, y.shape());
  float* py = r.data<float>();
  const float* yv = y.data<float>();
  auto put = [&](int64_t i, int64_t v, int32_t lo, int32_t hi) {
    py[i] = dequantize_value(clamp_q(static_cast<int64_t>(zo) + v, lo, hi), so, zo);
  };
  switch (m.kind) {
    case IntKind::Layer:
    case IntKind::MatMulInt: {
      // A 1-D output (MatMul with a vector operand) holds the channels themselves.
      const int axis = y.rank() <= 1 ? 0 : static_cast<int>(m.channel_axis < 0 ? y.rank() + m.channel_axis : m.channel_axis);
      const ChannelLayout l = channel_layout(y.shape(), m.kind == IntKind::MatMulInt ? -1 : axis);
      for (int64_t a = 0; a < l.outer; ++a)
        for (int64_t c = 0; c < l.channels; ++c) {
          const size_t k = m.acc_scale.size() == 1 ? 0 : static_cast<size_t>(c);
          for (int64_t i = 0; i < l.inner; ++i) {
            const int64_t e = (a * l.channels + c) * l.inner + i;
            put(e, requantize(recover(yv[e], m.acc_scale[k]), m.mult[k]), o.qmin, o.qmax);
          }
        }
      break;
    }
    case IntKind::Add:
    case IntKind::Sub:
    case IntKind::Mul: {
      const Tensor& a = operand(m, 0, st);
      const Tensor& b = operand(m, 1, st);
      const float* pa = a.data<float>();
      const float* pb = b.data<float>();
      const double sa = m.in[0].scale[0], sb = m.in[1].scale[0];
      for_each_broadcast<2>(y.shape(), {broadcast_strides(a.shape(), y.shape()), broadcast_strides(b.shape(), y.shape())},
                            [&](int64_t i, int64_t ia, int64_t ib) {
                              const int64_t da = recover(pa[ia], sa), db = recover(pb[ib], sb);
                              const int64_t v = m.kind == IntKind::Mul ? requantize(da * db, m.mult[0])
                                                                       : add_requantize(da, db, m.add);
                              put(i, v, o.qmin, o.qmax);
                            });
      break;
    }
    case IntKind::ConstOperand: {
      const Tensor& x = operand(m, 0, st);
      const float* px = x.data<float>();
      const double sx = m.in[0].scale[0];
      for_each_broadcast<2>(
          y.shape(), {broadcast_strides(x.shape(), y.shape()), broadcast_strides(m.k_shape, y.shape())},
          [&](int64_t i, int64_t ix, int64_t ik) {
            put(i, m.affine.at(recover(px[ix], sx), static_cast<size_t>(ik)), m.lo, m.hi);
          });
      break;
    }
    case IntKind::Concat: {
      const int64_t rank = y.rank();
      const int64_t axis = normalize_axis(m.node->attr_int("axis", 0), rank, m.node->describe());
      int64_t outer = 1, inner = 1;
      for (int64_t d = 0; d < axis; ++d) outer *= y.dim(d);
      for (int64_t d = axis + 1; d < rank; ++d) inner *= y.dim(d);
      const int64_t row = y.dim(axis) * inner;
      int64_t at = 0;
      for (size_t i = 0; i < m.node->inputs.size(); ++i) {
        const Tensor& x = operand(m, i, st);
        const float* px = x.data<float>();
        const int64_t len = x.dim(axis) * inner;
        for (int64_t a = 0; a < outer; ++a)
          for (int64_t j = 0; j < len; ++j)
            put(a * row + at + j, requantize(recover(px[a * len + j], m.in[i].scale[0]), m.mult[i]), o.qmin, o.qmax);
        at += len;
      }
      break;
    }
    case IntKind::Activation: {
      const Tensor& x = operand(m, 0, st);
      const float* px = x.data<float>();
      const double sx = m.in[0].scale[0];
      auto one = [&](int64_t i, int64_t si) {
        const int64_t d = recover(px[i], sx);
        const FixedMultiplier& f = d >= 0 ? m.mult[0] : m.mult[1 + static_cast<size_t>(si)];
        put(i, requantize(d, f), m.lo, m.hi);
      };
      if (m.node->op_type == "PRelu")
        for_each_broadcast<1>(y.shape(), {broadcast_strides(m.slope_shape, y.shape())}, one);
      else
        for (int64_t i = 0; i < y.numel(); ++i) one(i, 0);
      break;
    }
    case IntKind::AveragePool:
    case IntKind::GlobalAveragePool: {
      // The float kernel's mean times the window's divisor is the window sum of the grid levels.
      const Tensor& x = operand(m, 0, st);
      std::vector<int32_t> div;
      if (m.kind == IntKind::GlobalAveragePool) {
        div.assign(1, static_cast<int32_t>(numel(Shape(x.shape().begin() + 2, x.shape().end()))));
      } else {
        div = average_pool_divisors(pool_plan_for(m.window, x.shape(), m.node->describe(), m.count_include_pad),
                                    m.count_include_pad);
      }
      const double sx = m.in[0].scale[0];
      const int64_t per_plane = static_cast<int64_t>(div.size());
      std::map<int32_t, FixedMultiplier> f;  // one multiplier per divisor
      for (int32_t d : div)
        if (!f.count(d)) f[d] = fixed_multiplier(sx / (static_cast<double>(so) * d), m.node->describe());
      for (int64_t i = 0; i < y.numel(); ++i) {
        const int32_t d = div[static_cast<size_t>(i % per_plane)];
        put(i, requantize(recover(static_cast<double>(yv[i]) * d, sx), f.at(d)), o.qmin, o.qmax);
      }
      break;
    }
    default:
      return y;
  }
  return r;
}

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
    if (b.numel() != bias_channels(*node, e->params.channels(), b.numel())) continue;
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
  // The plan as this simulation applies it (entries outside `only` disabled), lowered as the engine does.
  QuantPlan eff = plan;
  for (auto& e : eff.entries) e.quantize = e.quantize && applies(options, e.tensor);
  auto ia = std::make_shared<IntegerArithmetic>();
  ia->graph = g;
  // Tables are not built: a Table equals its float island, which is how the simulation runs it anyway.
  ia->lowering = lower(ia->graph, eff, points, LowerOptions{options.quantize_bias, false});
  const Lowering& L = ia->lowering;
  for (const LoweredNode& ln : L.nodes) {
    if (!is_integer_kind(ln.kind) || ln.kind == IntKind::Movement || ln.kind == IntKind::Meta ||
        ln.kind == IntKind::Fused)
      continue;
    const Node& n = *ln.node;
    IntegerArithmetic::Model m;
    m.kind = ln.kind;
    m.node = &n;
    m.out = *L.params_of(ln.result);
    const std::string where = n.describe();
    const double so = m.out.scale[0];
    bool reads_operands = true;
    if (ln.kind == IntKind::Layer) {
      const LayerQuant q = prepare_layer(ia->graph, ln, eff, L);
      m.acc_scale = q.acc_scale;
      m.mult = q.mult;
      m.channel_axis = ln.channel_axis;
      reads_operands = false;
    } else if (ln.kind == IntKind::MatMulInt) {
      const double s = static_cast<double>(L.params_of(n.inputs[0])->scale[0]) * L.params_of(n.inputs[1])->scale[0];
      m.acc_scale = {s};
      m.mult = {fixed_multiplier(s / so, where)};
      reads_operands = false;
    } else if (ln.kind == IntKind::ConstOperand) {
      const std::string& x = n.inputs[static_cast<size_t>(1 - ln.const_input)];
      const Tensor& k = *ia->graph.initializer(n.inputs[static_cast<size_t>(ln.const_input)]);
      m.in = {*L.params_of(x)};
      m.operands = {x};
      m.k_shape = k.shape();
      m.affine = const_operand_affine(ln, L, k);
      activation_clamp(m.out, ln.act_lo, ln.act_hi, &m.lo, &m.hi);
    } else {
      const size_t k = ln.kind == IntKind::Activation || ln.kind == IntKind::AveragePool ||
                               ln.kind == IntKind::GlobalAveragePool
                           ? 1
                           : n.inputs.size();
      for (size_t i = 0; i < k; ++i) {
        m.in.push_back(*L.params_of(n.inputs[i]));
        m.operands.push_back(n.inputs[i]);
      }
      if (ln.kind == IntKind::Add || ln.kind == IntKind::Sub) {
        const double sb = m.in[1].scale[0];
        m.add = add_multipliers(m.in[0].scale[0] / so, (ln.kind == IntKind::Sub ? -sb : sb) / so, where);
      } else if (ln.kind == IntKind::Mul) {
        m.mult = {fixed_multiplier(static_cast<double>(m.in[0].scale[0]) * m.in[1].scale[0] / so, where)};
      } else if (ln.kind == IntKind::Concat) {
        for (const auto& p : m.in) m.mult.push_back(fixed_multiplier(p.scale[0] / so, where));
      } else if (ln.kind == IntKind::Activation) {
        const double r = m.in[0].scale[0] / so;
        m.mult = {fixed_multiplier(r, where)};
        if (n.op_type == "LeakyRelu") {
          m.mult.push_back(fixed_multiplier(static_cast<double>(n.attr_float("alpha", 0.01f)) * r, where));
        } else if (n.op_type == "PRelu") {
          const Tensor& s = *ia->graph.initializer(n.inputs[1]);
          m.slope_shape = s.shape();
          for (int64_t i = 0; i < s.numel(); ++i)
            m.mult.push_back(fixed_multiplier(static_cast<double>(s.data<float>()[i]) * r, where));
        } else {
          m.mult.push_back(m.mult[0]);
        }
        activation_clamp(m.out, ln.act_lo, ln.act_hi, &m.lo, &m.hi);
      } else if (ln.kind == IntKind::AveragePool) {
        KernelInit init{n, g.opset, [&g](const std::string& v) { return g.initializer(v); }};
        m.window = read_window_attrs(init, n.attr_ints("kernel_shape"), g.opset >= 10);
        m.count_include_pad = n.attr_int("count_include_pad", 0) != 0;
      }
    }
    if (reads_operands)
      for (const auto& v : m.operands) ++ia->stash_uses[v];
    ia->models[n.outputs[0]] = std::move(m);
  }
  int_ = std::move(ia);
}

RunOptions SimulatedModel::wrap(const RunOptions& options) const {
  RunOptions r = options;
  auto st = std::make_shared<IntegerArithmetic::RunState>();
  r.rewrite = [this, st, user = options.rewrite](const std::string& name, Tensor& value) {
    auto m = int_->models.find(name);
    if (m != int_->models.end() && value.dtype() == DType::Float32) {
      value = int_->apply(m->second, value, *st);
      // Operands read only by models that have run are dropped.
      for (const auto& v : m->second.operands)
        if (--st->uses[v] == 0) st->stash.erase(v);
    } else {
      auto it = act_params_.find(name);
      if (it != act_params_.end() && value.dtype() == DType::Float32) value = fake_quantize(value, it->second);
    }
    // The count of readers restarts each time the value is produced: the executor runs a fixed-batch model
    // once per chunk of rows with these same options (runtime/batching.h).
    auto readers = int_->stash_uses.find(name);
    if (readers != int_->stash_uses.end() && readers->second > 0) {
      st->uses[name] = readers->second;
      st->stash[name] = value;
    }
    if (user) user(name, value);
  };
  return r;
}

std::vector<Tensor> SimulatedModel::run(const std::vector<Tensor>& inputs, const RunOptions& options) const {
  return run_positional(ex_.graph(), inputs, [&](const auto& feeds, const auto& fetch) {
    return run(feeds, fetch, options);
  });
}

std::map<std::string, Tensor> SimulatedModel::run(const std::map<std::string, Tensor>& feeds,
                                                  const std::vector<std::string>& fetch,
                                                  const RunOptions& options) const {
  // A fixed-batch model on more rows: with no callback of the caller's to see them in order, the chunks
  // run in parallel, each with a state of its own (wrap), as the float executor and the integer engine
  // run theirs (runtime/batching.h). The caller's callbacks keep the executor's in-order chunks.
  const int64_t rows = rows_to_batch(ex_.fixed_batch(), feeds);
  if (rows > 0 && !options.tap && !options.rewrite)
    return run_in_batches<std::string>(
        ex_.fixed_batch(), rows, feeds,
        [&](const std::map<std::string, Tensor>& chunk) { return ex_.run(chunk, fetch, wrap(options)); },
        true);
  return ex_.run(feeds, fetch, wrap(options));
}

}  // namespace qs
