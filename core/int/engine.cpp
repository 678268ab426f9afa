#include "core/int/engine.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>

#include "core/int/int_ops.h"
#include "core/int/int_tensor.h"
#include "core/int/layer_quant.h"
#include "core/quant/simulate.h"
#include "core/runtime/batching.h"

namespace qs {

struct IntegerModel::Impl {
  struct Step {
    std::unique_ptr<Kernel> kernel;
    std::string label;
    std::string op_type, detail;  // for QS_PROFILE
    std::vector<int> in, out, release;
    // A MaxPool fused into this layer (int_ops.h, MaxPoolFusingKernel): unless a run fetches this step's
    // result, `fused` runs instead and writes the pooled value to slot fused_out, and step fused_skip (the
    // MaxPool's) is skipped.
    std::unique_ptr<Kernel> fused;
    int fused_out = -1;
    size_t fused_skip = 0;
  };
  Graph orig;  // as given: lowering and the integer kernels read it
  Graph fq;    // weights fake-quantized as the simulation has them: float islands run on it
  QuantPlan plan;
  QuantPoints points;
  Lowering L;
  IntIsa isa = IntIsa::Portable;
  bool use_channels_last = true;
  std::vector<Step> steps;
  std::vector<IntStepInfo> infos;
  std::map<std::string, int> slot_of;
  std::vector<Tensor> constants;
  std::vector<int> feed_slot;    // per graph input: where the float feed goes
  std::vector<int> output_slot;  // per graph output: its float value

  int slot(const std::string& name) {
    auto [it, inserted] = slot_of.emplace(name, static_cast<int>(slot_of.size()));
    return it->second;
  }
  static std::string tag(const std::string& v, const char* what) { return v + '\x01' + what; }

  void add_step(std::unique_ptr<Kernel> k, std::string label, std::vector<int> in, std::vector<int> out) {
    Step s;
    s.kernel = std::move(k);
    s.label = std::move(label);
    s.in = std::move(in);
    s.out = std::move(out);
    steps.push_back(std::move(s));
  }

  // Values held channels-last ([N, H, W, C]; int_ops.h, ChannelsLastKernel) by their slot, and the copies
  // in the other layout made for readers that need it (one per value and layout).
  std::set<int> channels_last;
  std::map<std::string, int> layout_copy;
  int layout_slot(const std::string& v, bool want_last) {
    const int s = slot(v);
    if (channels_last.count(s) == static_cast<size_t>(want_last)) return s;
    const std::string name = tag(v, want_last ? "nhwc" : "nchw");
    auto it = layout_copy.find(name);
    if (it != layout_copy.end()) return it->second;
    const int c = slot(name);
    add_step(make_kernel([want_last](std::span<const Tensor* const> in, std::span<Tensor> out) {
               out[0] = want_last ? to_channels_last(*in[0]) : from_channels_last(*in[0]);
             }),
             std::string(want_last ? "to channels-last '" : "to channels-first '") + v + "'", {s}, {c});
    steps.back().op_type = "(layout)";
    steps.back().detail = "layout";
    if (want_last) channels_last.insert(c);
    layout_copy[name] = c;
    return c;
  }
  std::vector<char> channels_last_nodes(const std::vector<std::unique_ptr<Kernel>>& made) const;
  std::vector<int> max_pool_fusions(const std::vector<std::unique_ptr<Kernel>>& made,
                                    const std::vector<char>& cl) const;

  int64_t node_opset(const Node& n) const {
    if (n.domain.empty()) return orig.opset;
    auto it = orig.opset_imports.find(n.domain);
    return it == orig.opset_imports.end() ? 0 : it->second;
  }

  // The float version of value v: v itself, or its dequantized copy (made once).
  std::map<std::string, int> dequantized;
  int float_slot(const std::string& v) {
    const QuantParams* p = L.params_of(v);
    if (!p) return slot(v);
    auto it = dequantized.find(v);
    if (it != dequantized.end()) return it->second;
    const int s = slot(tag(v, "dq"));
    const QuantParams params = *p;
    add_step(make_kernel([params](std::span<const Tensor* const> in, std::span<Tensor> out) {
               out[0] = dequantize(*in[0], params);
             }),
             "dequantize '" + v + "'", {layout_slot(v, false)}, {s});
    dequantized[v] = s;
    return s;
  }

  // A float value produced into `raw` and quantized into v's slot.
  void quantize_into(const std::string& v, int raw) {
    const QuantParams params = *L.params_of(v);
    const std::string what = "'" + v + "'";
    add_step(make_kernel([params, what](std::span<const Tensor* const> in, std::span<Tensor> out) {
               if (in[0]->dtype() != DType::Float32)
                 throw Error("quantizing " + what + ": the value is " + in[0]->str() + ", not float32");
               out[0] = quantize(*in[0], params, storage_dtype(params));
             }),
             "quantize " + what, {raw}, {slot(v)});
  }

  // QS_PROFILE=1 (as for the float executor, core/runtime/executor.cpp): every run times its steps and the
  // totals per op type and the slowest steps go to stderr when the model is destroyed. Off: one branch.
  struct Profile {
    std::mutex mu;
    std::vector<double> ms;
    int64_t runs = 0;
    bool all = false;
  };
  std::unique_ptr<Profile> profile;
  ~Impl() { print_profile(); }
  void print_profile() const;

  // The batch every input fixes (0: dynamic): other row counts run in chunks of it (runtime/batching.h).
  int64_t fixed_batch = 0;

  void build();
  std::map<int, Tensor> run_slots(const std::map<std::string, Tensor>& feeds,
                                  const std::set<int>& fetch) const;
  std::map<int, Tensor> run_slots_once(const std::map<std::string, Tensor>& feeds,
                                       const std::set<int>& fetch) const;
};

void IntegerModel::Impl::build() {
  for (size_t i = 0; i < orig.inputs.size(); ++i) {
    const std::string& v = orig.inputs[i].name;
    if (L.integer(v)) {
      const int raw = slot(tag(v, "raw"));
      feed_slot.push_back(raw);
      quantize_into(v, raw);
    } else {
      feed_slot.push_back(slot(v));
    }
  }
  for (const auto& [name, t] : fq.initializers) slot(name);

  // The integer kernels first: which values are held channels-last depends on what their readers can take.
  std::vector<std::unique_ptr<Kernel>> made(L.nodes.size());
  for (size_t i = 0; i < L.nodes.size(); ++i) {
    const LoweredNode& ln = L.nodes[i];
    if (!is_integer_kind(ln.kind) || ln.kind == IntKind::Fused) continue;
    const Node& n = *ln.node;
    const int64_t opset = node_opset(n);
    IntNodeContext c{orig, ln, L, plan, opset, isa};
    try {
      switch (ln.kind) {
        case IntKind::Layer:
        case IntKind::MatMulInt:
          made[i] = make_int_layer_kernel(c);
          break;
        case IntKind::Add:
        case IntKind::Sub:
        case IntKind::Mul:
        case IntKind::ConstOperand:
        case IntKind::Concat:
        case IntKind::Activation:
        case IntKind::Table:
          made[i] = make_int_elementwise_kernel(c);
          break;
        case IntKind::AveragePool:
        case IntKind::GlobalAveragePool:
          made[i] = make_int_pool_kernel(c);
          break;
        default:
          made[i] = make_int_movement_kernel(c);
          break;
      }
    } catch (const UnsupportedError&) {
      throw;
    } catch (const Error& e) {
      const std::string msg = e.what();
      throw Error(msg.find("node '" + n.name + "'") != std::string::npos ? msg : n.describe() + ": " + msg);
    }
  }
  const std::vector<char> cl =
      use_channels_last ? channels_last_nodes(made) : std::vector<char>(made.size(), 0);
  std::vector<char> cl_out = cl;  // whose output is channels-last too
  for (size_t i = 0; i < cl.size(); ++i)
    if (cl[i])
      if (auto* k = dynamic_cast<ChannelsLastKernel*>(made[i].get())) {
        k->set_channels_last();
        cl_out[i] = k->output_channels_last();
      }

  const std::vector<int> pool_into = max_pool_fusions(made, cl);
  std::vector<size_t> step_of(L.nodes.size(), 0);  // integer nodes' steps

  for (size_t i = 0; i < L.nodes.size(); ++i) {
    const LoweredNode& ln = L.nodes[i];
    const Node& n = *ln.node;
    const Node& nf = fq.nodes[i];  // the same node in the fake-quantized graph (bias may be renamed)
    const int64_t opset = node_opset(n);
    IntStepInfo info{n.name, n.op_type, ln.kind, ""};
    if (ln.kind == IntKind::Fused) {
      info.detail = "fused into the node before it";
      infos.push_back(info);
      continue;
    }
    if (is_integer_kind(ln.kind)) {
      std::unique_ptr<Kernel> k = std::move(made[i]);
      std::vector<int> in, out;
      for (const auto& v : n.inputs)
        in.push_back(v.empty() ? -1 : L.integer(v) ? layout_slot(v, cl[i] != 0) : slot(v));
      for (size_t k2 = 0; k2 < n.outputs.size(); ++k2) {
        const std::string& o = k2 == 0 ? ln.result : n.outputs[k2];
        out.push_back(o.empty() ? -1 : slot(o));
      }
      if (cl_out[i]) channels_last.insert(out[0]);
      if (ln.kind == IntKind::Layer) {
        const LayerQuant q = prepare_layer(orig, ln, plan, L);
        const int64_t K = static_cast<int64_t>(q.w.size()) / q.out_channels;
        // Spatial rank 1 or 2 for the packed convolutions (the weight's rank, 3 or 4); 3-D ones run the
        // reference loops.
        const bool conv = n.op_type == "Conv" || n.op_type == "ConvTranspose";
        const bool packed = isa != IntIsa::Reference && q.int32_safe(K) && (!conv || q.wshape.size() <= 4);
        info.detail = packed ? std::string("packed ") + int_isa_name(isa) : "reference (int64 accumulators)";
      } else {
        info.detail = int_kind_name(ln.kind);
      }
      if (cl[i]) info.detail += ", channels-last";
      if (std::find(pool_into.begin(), pool_into.end(), static_cast<int>(i)) != pool_into.end())
        info.detail += ", writes the MaxPool after it";
      if (pool_into[i] >= 0) info.detail += ", fused into the layer before it";
      add_step(std::move(k), n.name, std::move(in), std::move(out));
      steps.back().op_type = n.op_type;
      steps.back().detail = info.detail;
      step_of[i] = steps.size() - 1;
      if (pool_into[i] >= 0) {
        Step& layer = steps[step_of[static_cast<size_t>(pool_into[i])]];
        IntNodeContext c{orig, ln, L, plan, opset, isa};
        layer.fused = make_fused_max_pool_kernel(c, dynamic_cast<const MaxPoolFusingKernel&>(*layer.kernel),
                                                 *layer.kernel, *steps.back().kernel);
        layer.fused_out = steps.back().out[0];
        layer.fused_skip = steps.size() - 1;
      }
      infos.push_back(info);
      continue;
    }
    // Float island or float node: quantized inputs are dequantized, outputs that are points quantized.
    std::vector<int> in, out;
    for (const auto& v : nf.inputs) in.push_back(v.empty() ? -1 : float_slot(v));
    std::vector<std::pair<std::string, int>> requant;
    for (const auto& o : nf.outputs) {
      if (o.empty()) {
        out.push_back(-1);
      } else if (L.integer(o)) {
        const int raw = slot(tag(o, "raw"));
        out.push_back(raw);
        requant.emplace_back(o, raw);
      } else {
        out.push_back(slot(o));
      }
    }
    KernelInit init{nf, opset, [this](const std::string& v) { return fq.initializer(v); }};
    add_step(OpRegistry::instance().create(init), n.name, std::move(in), std::move(out));
    steps.back().op_type = n.op_type;
    steps.back().detail = "float";
    for (const auto& [o, raw] : requant) quantize_into(o, raw);
    info.detail = ln.kind == IntKind::FloatIsland ? ln.reason : "float (no quantized value involved)";
    infos.push_back(info);
  }
  for (const auto& o : orig.outputs) output_slot.push_back(float_slot(o.name));

  constants.resize(slot_of.size());
  for (const auto& [name, t] : fq.initializers) constants[static_cast<size_t>(slot_of.at(name))] = t;
  // Liveness: a computed slot is released after its last reader.
  std::vector<int> last(slot_of.size(), -1);
  for (size_t i = 0; i < steps.size(); ++i)
    for (int s : steps[i].in)
      if (s >= 0) last[static_cast<size_t>(s)] = static_cast<int>(i);
  std::set<int> keep(output_slot.begin(), output_slot.end());
  for (size_t s = 0; s < last.size(); ++s)
    if (last[s] >= 0 && !keep.count(static_cast<int>(s)) && !constants[s].defined())
      steps[static_cast<size_t>(last[s])].release.push_back(static_cast<int>(s));
}

// Which integer nodes run on channels-last data. Candidates: the kernels that can (1×1 and depthwise
// convolutions, ChannelsLastKernel), and the elementwise ops that do not care about the layout as long as
// all their integer operands share it (Add, Sub, Mul of two such values, Relu/Clip/LeakyRelu, tables). An
// elementwise node runs channels-last when one of its operands comes channels-last and the others can be
// made so (4-D: a 2-D convolution's result, or declared so). Only the depthwise layers gain from the
// layout (their kernel works on 16 channels of a position per vector, and no longer transposes its input
// and output), so a group of channels-last nodes linked by their values is kept only when it holds a
// depthwise layer and another convolution, which it then passes its values to without a transpose; the
// transposes into and out of the group are paid once. A GlobalAveragePool reading a channels-last value
// does so (its output is NCHW) instead of waiting for a transpose. Values are per-tensor quantized
// (activation points are), so no parameter follows the channel axis.
std::vector<char> IntegerModel::Impl::channels_last_nodes(
    const std::vector<std::unique_ptr<Kernel>>& made) const {
  const size_t n = L.nodes.size();
  std::vector<char> conv(n, 0), gains(n, 0), elementwise(n, 0), sink(n, 0);
  std::map<std::string, size_t> producer;
  for (size_t i = 0; i < n; ++i) {
    const LoweredNode& ln = L.nodes[i];
    if (!is_integer_kind(ln.kind) || ln.kind == IntKind::Fused) continue;
    producer[ln.result] = i;
    const auto* k = dynamic_cast<const ChannelsLastKernel*>(made[i].get());
    const std::string& op = ln.node->op_type;
    const bool can = k && k->can_run_channels_last();
    sink[i] = can && !k->output_channels_last();
    conv[i] = can && !sink[i];
    int64_t width = -1;  // the output's, when shape inference knows it
    auto vi = orig.value_info.find(ln.node->outputs[0]);
    if (vi != orig.value_info.end() && vi->second.shape && vi->second.shape->size() == 4 &&
        vi->second.shape->back().known())
      width = vi->second.shape->back().value;
    gains[i] = conv[i] && k->gains_from_channels_last(width);
    elementwise[i] = ln.kind == IntKind::Add || ln.kind == IntKind::Sub || ln.kind == IntKind::Mul ||
                     ln.kind == IntKind::Table ||
                     (ln.kind == IntKind::Activation && (op == "Relu" || op == "Clip" || op == "LeakyRelu"));
  }
  const auto integer_inputs = [&](size_t i) {
    std::vector<std::string> r;
    for (const auto& v : L.nodes[i].node->inputs)
      if (!v.empty() && L.integer(v)) r.push_back(v);
    return r;
  };
  const auto four_d = [&](const std::string& v) {
    auto p = producer.find(v);
    if (p != producer.end() && L.nodes[p->second].kind == IntKind::Layer &&
        L.nodes[p->second].node->op_type == "Conv") {
      const Tensor* w = orig.initializer(L.nodes[p->second].weight);
      if (w && w->rank() == 4) return true;
    }
    auto vi = orig.value_info.find(v);
    if (vi != orig.value_info.end() && vi->second.shape) return vi->second.shape->size() == 4;
    for (const auto& in : orig.inputs)
      if (in.name == v && in.shape) return in.shape->size() == 4;
    return false;
  };
  std::vector<char> last = conv;
  const auto from_last = [&](const std::string& v) {
    auto it = producer.find(v);
    return it != producer.end() && last[it->second];
  };
  for (bool changed = true; changed;) {
    for (size_t i = 0; i < n; ++i)  // in graph order: producers first
      if (elementwise[i]) {
        const auto ins = integer_inputs(i);
        last[i] = std::any_of(ins.begin(), ins.end(), from_last) &&
                  std::all_of(ins.begin(), ins.end(),
                              [&](const std::string& v) { return from_last(v) || four_d(v); });
      } else if (sink[i]) {
        const auto ins = integer_inputs(i);
        last[i] = ins.size() == 1 && from_last(ins[0]);
      }
    // Groups: nodes linked by a value passed channels-last.
    std::vector<size_t> root(n);
    for (size_t i = 0; i < n; ++i) root[i] = i;
    const std::function<size_t(size_t)> find = [&](size_t i) {
      return root[i] == i ? i : root[i] = find(root[i]);
    };
    for (size_t i = 0; i < n; ++i)
      if (last[i] && !sink[i])  // a sink's output is NCHW: it links nothing
        for (const auto& v : integer_inputs(i)) {
          auto p = producer.find(v);
          if (p != producer.end() && last[p->second]) root[find(p->second)] = find(i);
        }
    std::vector<int> convs(n, 0), depthwise(n, 0);
    for (size_t i = 0; i < n; ++i)
      if (last[i]) convs[find(i)] += conv[i], depthwise[find(i)] += gains[i];
    changed = false;
    for (size_t i = 0; i < n; ++i)
      if (conv[i] && last[i] && (convs[find(i)] < 2 || depthwise[find(i)] < 1)) last[i] = 0, changed = true;
  }
  return last;
}

// Per node: the layer a MaxPool is fused into (Step::fused), else −1. A 2-D MaxPool without Indices whose
// input is a layer's result read by nothing else (and no graph output), both NCHW, and a layer kernel that
// can pool (MaxPoolFusingKernel); whether the geometry allows is decided per run.
std::vector<int> IntegerModel::Impl::max_pool_fusions(const std::vector<std::unique_ptr<Kernel>>& made,
                                                      const std::vector<char>& cl) const {
  std::vector<int> into(L.nodes.size(), -1);
  std::map<std::string, size_t> layer_of;
  for (size_t i = 0; i < L.nodes.size(); ++i)
    if (L.nodes[i].kind == IntKind::Layer && dynamic_cast<const MaxPoolFusingKernel*>(made[i].get()))
      layer_of[L.nodes[i].result] = i;
  std::set<std::string> outputs;
  for (const auto& o : orig.outputs) outputs.insert(o.name);
  for (size_t i = 0; i < L.nodes.size(); ++i) {
    const Node& n = *L.nodes[i].node;
    if (L.nodes[i].kind != IntKind::Movement || n.op_type != "MaxPool" || !n.domain.empty() || !made[i] ||
        cl[i] || !n.has_attr("kernel_shape") || n.attr_ints("kernel_shape").size() != 2 ||
        (n.outputs.size() > 1 && !n.outputs[1].empty()) || n.outputs[0].empty())
      continue;
    auto it = layer_of.find(n.inputs[0]);
    if (it == layer_of.end() || cl[it->second] || outputs.count(n.inputs[0]) ||
        orig.consumers(n.inputs[0]).size() != 1)
      continue;
    into[i] = static_cast<int>(it->second);
  }
  return into;
}

void IntegerModel::Impl::print_profile() const {
  if (!profile || profile->runs == 0) return;
  const double runs = static_cast<double>(profile->runs);
  std::map<std::string, std::pair<double, int64_t>> by_type;
  double total = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string& l = steps[i].label;
    const std::string type = l.rfind("quantize ", 0) == 0     ? "(quantize)"
                             : l.rfind("dequantize ", 0) == 0 ? "(dequantize)"
                                                              : steps[i].op_type;
    auto& e = by_type[type];
    e.first += profile->ms[i];
    e.second += 1;
    total += profile->ms[i];
  }
  std::vector<std::pair<std::string, std::pair<double, int64_t>>> rows(by_type.begin(), by_type.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  std::fprintf(stderr, "QS_PROFILE (integer engine): %lld run(s), %.3f ms per run in kernels\n",
               static_cast<long long>(profile->runs), total / runs);
  for (const auto& [type, e] : rows)
    std::fprintf(stderr, "  %-24s %8lld %12.4f %6.1f%%\n", type.c_str(), static_cast<long long>(e.second),
                 e.first / runs, total > 0 ? 100 * e.first / total : 0.0);
  std::vector<size_t> order(steps.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return profile->ms[a] > profile->ms[b]; });
  const size_t shown = profile->all ? order.size() : std::min<size_t>(10, order.size());
  std::fprintf(stderr, "  slowest steps:\n");
  for (size_t k = 0; k < shown; ++k)
    std::fprintf(stderr, "  %12.4f ms/run  %s (%s)\n", profile->ms[order[k]] / runs,
                 steps[order[k]].label.c_str(), steps[order[k]].detail.c_str());
}

std::map<int, Tensor> IntegerModel::Impl::run_slots(const std::map<std::string, Tensor>& feeds,
                                                    const std::set<int>& fetch) const {
  const int64_t rows = rows_to_batch(fixed_batch, feeds);
  if (rows == 0) return run_slots_once(feeds, fetch);
  return run_in_batches<int>(
      fixed_batch, rows, feeds,
      [&](const std::map<std::string, Tensor>& chunk) { return run_slots_once(chunk, fetch); }, true);
}

std::map<int, Tensor> IntegerModel::Impl::run_slots_once(const std::map<std::string, Tensor>& feeds,
                                                         const std::set<int>& fetch) const {
  std::vector<Tensor> slots = constants;
  for (size_t i = 0; i < orig.inputs.size(); ++i) {
    const ValueInfo& vi = orig.inputs[i];
    auto it = feeds.find(vi.name);
    if (it == feeds.end()) throw Error("input '" + vi.name + "' was not given");
    if (vi.dtype != DType::Undefined && it->second.dtype() != vi.dtype)
      throw Error("input '" + vi.name + "' should be " + dtype_name(vi.dtype) + ", got " + it->second.str());
    if (vi.shape) {
      const auto& d = *vi.shape;
      bool ok = d.size() == it->second.shape().size();
      for (size_t k = 0; ok && k < d.size(); ++k) ok = !d[k].known() || d[k].value == it->second.shape()[k];
      if (!ok)
        throw Error("input '" + vi.name + "' has shape " + shape_str(it->second.shape()) +
                    ", which the model does not take");
    }
    slots[static_cast<size_t>(feed_slot[i])] = it->second;
  }
  for (const auto& [name, t] : feeds)
    if (std::none_of(orig.inputs.begin(), orig.inputs.end(),
                     [&](const ValueInfo& v) { return v.name == name; }))
      throw Error("the model has no input named '" + name + "'");
  std::vector<const Tensor*> ins;
  std::vector<Tensor> outs;
  std::vector<double> step_ms(profile ? steps.size() : 0);
  std::vector<char> skip(steps.size(), 0);  // done by a fused step before them
  for (size_t si = 0; si < steps.size(); ++si) {
    const Step& s = steps[si];
    const bool fuse = s.fused && !fetch.count(s.out[0]);
    if (!skip[si]) {
      ins.clear();
      for (int i : s.in) ins.push_back(i >= 0 ? &slots[static_cast<size_t>(i)] : nullptr);
      outs.assign(fuse ? 1 : s.out.size(), Tensor());
      const Kernel& kernel = fuse ? *s.fused : *s.kernel;
      try {
        if (profile) {
          const auto t0 = std::chrono::steady_clock::now();
          kernel.run(ins, outs);
          step_ms[si] =
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        } else {
          kernel.run(ins, outs);
        }
      } catch (const Error& e) {
        const std::string msg = e.what();
        if (msg.find("'" + s.label + "'") != std::string::npos) throw;
        throw Error("integer engine, step '" + s.label + "': " + msg);
      }
      if (fuse) {
        slots[static_cast<size_t>(s.fused_out)] = std::move(outs[0]);
        skip[s.fused_skip] = 1;
      } else {
        for (size_t k = 0; k < s.out.size(); ++k)
          if (s.out[k] >= 0) slots[static_cast<size_t>(s.out[k])] = std::move(outs[k]);
      }
    }
    for (int r : s.release)
      if (!fetch.count(r)) slots[static_cast<size_t>(r)] = Tensor();
  }
  if (profile) {
    std::lock_guard<std::mutex> lock(profile->mu);
    for (size_t i = 0; i < step_ms.size(); ++i) profile->ms[i] += step_ms[i];
    ++profile->runs;
  }
  std::map<int, Tensor> r;
  for (int f : fetch) {
    const Tensor& t = slots[static_cast<size_t>(f)];
    r[f] = channels_last.count(f) ? from_channels_last(t) : t;
  }
  return r;
}

IntegerModel::IntegerModel(const Graph& g, const QuantPlan& plan, const QuantPoints& points,
                           const IntOptions& options)
    : impl_(std::make_unique<Impl>()) {
  validate_plan(plan, g, points);
  if (!int_isa_available(options.isa))
    throw UnsupportedError(std::string("integer kernels '") + int_isa_name(options.isa) +
                           "' need a CPU with AVX2");
  Impl& m = *impl_;
  m.orig = g;
  m.plan = plan;
  m.points = points;
  m.isa = options.isa;
  m.use_channels_last = options.channels_last;
  m.fq = quantize_weights(g, plan, points, SimOptions{});
  m.L = lower(m.orig, plan, points);
  m.fixed_batch = fixed_batch_of(m.orig);
  m.build();
  const char* prof = std::getenv("QS_PROFILE");
  if (prof && *prof && std::strcmp(prof, "0") != 0) {
    m.profile = std::make_unique<Impl::Profile>();
    m.profile->ms.assign(m.steps.size(), 0.0);
    m.profile->all = std::strcmp(prof, "2") == 0;
  }
}

IntegerModel::~IntegerModel() = default;
IntegerModel::IntegerModel(IntegerModel&&) noexcept = default;
IntegerModel& IntegerModel::operator=(IntegerModel&&) noexcept = default;

std::vector<Tensor> IntegerModel::run(const std::vector<Tensor>& inputs) const {
  const Impl& m = *impl_;
  if (inputs.size() != m.orig.inputs.size())
    throw Error("the model takes " + std::to_string(m.orig.inputs.size()) + " input(s), " +
                std::to_string(inputs.size()) + " given");
  std::map<std::string, Tensor> feeds;
  for (size_t i = 0; i < inputs.size(); ++i) feeds[m.orig.inputs[i].name] = inputs[i];
  const std::set<int> fetch(m.output_slot.begin(), m.output_slot.end());
  auto r = m.run_slots(feeds, fetch);
  std::vector<Tensor> out;
  for (int s : m.output_slot) out.push_back(r.at(s));
  return out;
}

std::map<std::string, Tensor> IntegerModel::run(const std::map<std::string, Tensor>& feeds,
                                                const std::vector<std::string>& fetch) const {
  const Impl& m = *impl_;
  std::set<int> slots;
  for (const auto& f : fetch) {
    auto it = m.slot_of.find(f);
    if (it == m.slot_of.end()) throw Error("the model has no value named '" + f + "'");
    slots.insert(it->second);
  }
  auto r = m.run_slots(feeds, slots);
  std::map<std::string, Tensor> out;
  for (const auto& f : fetch) out[f] = r.at(m.slot_of.at(f));
  return out;
}

const Graph& IntegerModel::graph() const { return impl_->orig; }
const Lowering& IntegerModel::lowering() const { return impl_->L; }
const QuantParams* IntegerModel::params(const std::string& value) const { return impl_->L.params_of(value); }
const std::vector<IntStepInfo>& IntegerModel::steps() const { return impl_->infos; }
IntIsa IntegerModel::isa() const { return impl_->isa; }

}  // namespace qs
