#include "core/graph/passes.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "core/ops/kernel.h"

namespace qs {

namespace {

bool is_graph_output(const Graph& g, const std::string& v) {
  for (const auto& o : g.outputs)
    if (o.name == v) return true;
  return false;
}
void rename_uses(Graph& g, const std::string& from, const std::string& to) {
  for (auto& n : g.nodes)
    for (auto& in : n.inputs)
      if (in == from) in = to;
}

// `base`, or `base` with a numeric suffix, such that no initializer and no node output has that name.
std::string fresh_value_name(const Graph& g, const std::string& base) {
  std::string name = base;
  for (int k = 1; g.is_initializer(name) || g.producer(name) >= 0; ++k) name = base + "_" + std::to_string(k);
  return name;
}

// Ops whose value depends on something other than their inputs.
bool is_nondeterministic(const Node& n) {
  return n.op_type.rfind("Random", 0) == 0 || n.op_type == "Multinomial" || n.op_type == "Bernoulli";
}

}  // namespace

int remove_identity(Graph& g) {
  int removed = 0;
  for (size_t i = 0; i < g.nodes.size();) {
    Node& n = g.nodes[i];
    bool removable =
        n.domain.empty() && (n.op_type == "Identity" || n.op_type == "Dropout") && n.has_input(0);
    if (removable && n.op_type == "Dropout") {
      // Inference-mode only: no mask output used and training_mode absent or a constant false.
      if (n.outputs.size() > 1 && !n.outputs[1].empty() &&
          (!g.consumers(n.outputs[1]).empty() || is_graph_output(g, n.outputs[1])))
        removable = false;
      if (n.has_input(2)) {
        const Tensor* t = g.initializer(n.inputs[2]);
        if (!t || t->value_as_int(0) != 0) removable = false;
      }
    }
    if (!removable) {
      ++i;
      continue;
    }
    const std::string in = n.inputs[0], out = n.outputs[0];
    if (is_graph_output(g, out)) {
      // Keep the output's name: rename the producer's output instead, if there is a producer.
      const int p = g.producer(in);
      if (p < 0 || is_graph_output(g, in)) {
        ++i;
        continue;
      }
      for (auto& o : g.nodes[static_cast<size_t>(p)].outputs)
        if (o == in) o = out;
      rename_uses(g, in, out);
    } else {
      rename_uses(g, out, in);
    }
    g.nodes.erase(g.nodes.begin() + static_cast<long>(i));
    ++removed;
  }
  return removed;
}

int fold_constants(Graph& g) {
  int folded = 0;
  const auto lookup = [&g](const std::string& v) { return g.initializer(v); };
  for (size_t i = 0; i < g.nodes.size();) {
    const Node& n = g.nodes[i];
    bool all_const = !is_nondeterministic(n) && n.domain.empty();
    for (const auto& in : n.inputs)
      if (!in.empty() && !g.is_initializer(in)) all_const = false;
    // Shape of a value whose shape is fully known statically.
    std::optional<Shape> static_shape;
    if (!all_const && n.op_type == "Shape" && n.domain.empty() && n.has_input(0)) {
      auto it = g.value_info.find(n.inputs[0]);
      if (it != g.value_info.end() && it->second.shape) {
        Shape s;
        bool known = true;
        for (const auto& d : *it->second.shape) {
          known = known && d.known();
          s.push_back(d.value);
        }
        if (known) static_shape = s;
      }
    }
    bool any_graph_output = false;
    for (const auto& o : n.outputs) any_graph_output = any_graph_output || is_graph_output(g, o);
    if ((!all_const && !static_shape) || any_graph_output) {
      ++i;
      continue;
    }
    std::vector<Tensor> outs(n.outputs.size());
    try {
      if (static_shape) {
        // Shape-15 start/end semantics (clamped); older opsets have neither attribute.
        const int64_t r = static_cast<int64_t>(static_shape->size());
        int64_t start = n.attr_int("start", 0), end = n.attr_int("end", r);
        if (start < 0) start += r;
        if (end < 0) end += r;
        start = std::clamp<int64_t>(start, 0, r);
        end = std::clamp<int64_t>(end, 0, r);
        std::vector<int64_t> v(static_shape->begin() + start, static_shape->begin() + std::max(start, end));
        outs[0] = Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
      } else {
        KernelInit init{n, g.opset, lookup};
        auto k = OpRegistry::instance().create(init);
        std::vector<const Tensor*> ins;
        for (const auto& in : n.inputs) ins.push_back(in.empty() ? nullptr : g.initializer(in));
        k->run(ins, outs);
      }
    } catch (const UnsupportedError&) {
      ++i;  // reported later, when every kernel is checked
      continue;
    }
    for (size_t k = 0; k < n.outputs.size(); ++k)
      if (!n.outputs[k].empty()) g.initializers[n.outputs[k]] = outs[k];
    g.nodes.erase(g.nodes.begin() + static_cast<long>(i));
    ++folded;
  }
  return folded;
}

namespace {

// Whether value v depends on the data of a graph input (not only on input shapes, through Shape/Size).
bool reads_input_data(const Graph& g, const std::string& v, std::map<std::string, bool>& memo) {
  if (v.empty() || g.is_initializer(v)) return false;
  if (auto it = memo.find(v); it != memo.end()) return it->second;
  memo[v] = true;  // a cycle (invalid graph) counts as data
  const int p = g.producer(v);
  bool r = p < 0;  // a graph input
  if (p >= 0) {
    const Node& n = g.nodes[static_cast<size_t>(p)];
    // Outputs whose shape follows the data values would make a shape check data-dependent.
    static const std::set<std::string> data_shaped = {"NonZero", "Compress", "Unique", "NonMaxSuppression",
                                                      "TopK",    "If",       "Loop",   "Scan"};
    if (!n.domain.empty() || data_shaped.count(n.op_type)) {
      r = true;
    } else if (n.op_type == "Shape" || n.op_type == "Size") {
      // Only the input's shape is read; it must not be one that follows data values itself.
      const int q = n.has_input(0) ? g.producer(n.inputs[0]) : -1;
      r = q >= 0 && data_shaped.count(g.nodes[static_cast<size_t>(q)].op_type) != 0;
    } else {
      r = false;
      for (const auto& in : n.inputs) r = r || reads_input_data(g, in, memo);
    }
  }
  memo[v] = r;
  return r;
}

// v computed from zero-filled inputs of the declared shapes, unknown extents set to `unknown`: the nodes v
// depends on, in graph order. nullopt when an input's rank is unknown or a node cannot run.
std::optional<Tensor> evaluate_from_shapes(const Graph& g, const std::string& v, int64_t unknown) {
  std::set<std::string> need = {v};
  std::vector<bool> run(g.nodes.size(), false);
  for (size_t k = g.nodes.size(); k-- > 0;) {
    const Node& n = g.nodes[k];
    bool wanted = false;
    for (const auto& o : n.outputs) wanted = wanted || need.count(o);
    if (!wanted) continue;
    run[k] = true;
    for (const auto& in : n.inputs)
      if (!in.empty()) need.insert(in);
  }
  std::map<std::string, Tensor> values;
  for (const auto& in : g.inputs) {
    if (!need.count(in.name)) continue;
    if (!in.shape || in.dtype == DType::Undefined) return std::nullopt;
    Shape s;
    for (const auto& d : *in.shape) s.push_back(d.known() ? d.value : unknown);
    values[in.name] = Tensor::zeros(in.dtype, s);
  }
  const auto lookup = [&g](const std::string& name) { return g.initializer(name); };
  try {
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      if (!run[k]) continue;
      const Node& n = g.nodes[k];
      auto kernel = OpRegistry::instance().create(KernelInit{n, g.opset, lookup});
      std::vector<const Tensor*> ins;
      for (const auto& in : n.inputs) {
        const Tensor* t = in.empty() ? nullptr : g.initializer(in);
        if (!in.empty() && !t) {
          auto it = values.find(in);
          if (it == values.end()) return std::nullopt;  // not computed before (the order is not topological)
          t = &it->second;
        }
        ins.push_back(t);
      }
      std::vector<Tensor> outs(n.outputs.size());
      kernel->run(ins, outs);
      for (size_t o = 0; o < outs.size(); ++o)
        if (!n.outputs[o].empty()) values[n.outputs[o]] = std::move(outs[o]);
    }
  } catch (const Error&) {
    return std::nullopt;
  }
  auto it = values.find(v);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

// An If's condition when it is known at load time: a constant, or a value that depends on the inputs'
// shapes only and comes out the same with unknown extents set to 1 and to 3 (torch's shape checks).
std::optional<bool> known_condition(const Graph& g, const Node& n) {
  if (!n.has_input(0)) return std::nullopt;
  if (const Tensor* c = g.initializer(n.inputs[0])) {
    if (c->numel() != 1) return std::nullopt;
    return c->value_as_double(0) != 0;
  }
  std::map<std::string, bool> memo;
  if (reads_input_data(g, n.inputs[0], memo)) return std::nullopt;
  const auto a = evaluate_from_shapes(g, n.inputs[0], 1), b = evaluate_from_shapes(g, n.inputs[0], 3);
  if (!a || !b || a->numel() != 1 || b->numel() != 1) return std::nullopt;
  const bool ca = a->value_as_double(0) != 0, cb = b->value_as_double(0) != 0;
  if (ca != cb) return std::nullopt;
  return ca;
}

// Removes the node producing v when nothing reads v any more (an inlined If's condition), and then its
// producers that became unread the same way; graph outputs and nodes with other readers stay. Returns how
// many of the removed nodes stood before index `before`.
size_t remove_dead_producers(Graph& g, const std::string& v, size_t before) {
  size_t earlier = 0;
  std::vector<std::string> pending = {v};
  while (!pending.empty()) {
    const std::string x = pending.back();
    pending.pop_back();
    if (x.empty() || is_graph_output(g, x) || !g.consumers(x).empty()) continue;
    const int p = g.producer(x);
    if (p < 0) continue;
    const Node& n = g.nodes[static_cast<size_t>(p)];
    bool unread = true;
    for (const auto& o : n.outputs)
      unread = unread && (o.empty() || (!is_graph_output(g, o) && g.consumers(o).empty()));
    if (!unread || !n.domain.empty()) continue;
    const std::vector<std::string> ins = n.inputs;
    g.nodes.erase(g.nodes.begin() + p);
    if (static_cast<size_t>(p) < before) {
      ++earlier;
      --before;
    }
    pending.insert(pending.end(), ins.begin(), ins.end());
  }
  return earlier;
}

}  // namespace

int inline_constant_ifs(Graph& g) {
  int inlined = 0;
  for (size_t i = 0; i < g.nodes.size();) {
    const Node n = g.nodes[i];
    const std::optional<bool> cond =
        n.op_type == "If" && n.domain.empty() ? known_condition(g, n) : std::nullopt;
    if (!cond) {
      ++i;
      continue;
    }
    const std::string which = *cond ? "then_branch" : "else_branch";
    auto at = n.attrs.find(which);
    if (at == n.attrs.end() || !at->second.graph) {
      ++i;
      continue;
    }
    const Graph& b = *at->second.graph;
    // A branch holding subgraphs of its own would need their outer names renamed as well: left as it is.
    bool nested = false;
    for (const Node& bn : b.nodes)
      for (const auto& [k, a] : bn.attrs) nested = nested || a.kind == Attribute::Kind::Graph;
    if (nested) {
      ++i;
      continue;
    }
    if (b.outputs.size() != n.outputs.size())
      throw Error(n.describe() + ": its " + which + " has " + std::to_string(b.outputs.size()) +
                  " outputs for " + std::to_string(n.outputs.size()));
    // Values made inside the branch (node outputs, initializers) get the prefix; the rest are the
    // enclosing graph's. A branch output made inside takes the If's output name instead.
    const std::string prefix = n.name + "/";
    std::map<std::string, std::string> rename;
    for (const auto& [name, t] : b.initializers) rename[name] = prefix + name;
    for (const Node& bn : b.nodes)
      for (const auto& o : bn.outputs)
        if (!o.empty()) rename[o] = prefix + o;
    std::vector<Node> extra;
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      const std::string& bo = b.outputs[k].name;
      bool made_by_node = false;
      for (const Node& bn : b.nodes)
        made_by_node =
            made_by_node || std::find(bn.outputs.begin(), bn.outputs.end(), bo) != bn.outputs.end();
      if (made_by_node && !n.outputs[k].empty()) {
        rename[bo] = n.outputs[k];
      } else if (!n.outputs[k].empty()) {  // an outer value or an initializer passed through
        Node id;
        id.name = prefix + "output_" + std::to_string(k);
        id.op_type = "Identity";
        id.inputs = {rename.count(bo) ? rename.at(bo) : bo};
        id.outputs = {n.outputs[k]};
        extra.push_back(std::move(id));
      }
    }
    auto mapped = [&](const std::string& v) { return v.empty() || !rename.count(v) ? v : rename.at(v); };
    for (const auto& [name, t] : b.initializers) g.initializers[prefix + name] = t;
    std::vector<Node> body;
    for (Node bn : b.nodes) {
      bn.name = prefix + bn.name;
      for (auto& v : bn.inputs) v = mapped(v);
      for (auto& v : bn.outputs) v = mapped(v);
      body.push_back(std::move(bn));
    }
    body.insert(body.end(), extra.begin(), extra.end());
    g.nodes.erase(g.nodes.begin() + static_cast<long>(i));
    g.nodes.insert(g.nodes.begin() + static_cast<long>(i), body.begin(), body.end());
    ++inlined;
    i -= remove_dead_producers(g, n.inputs[0], i);  // i stays on the branch's first node
  }
  return inlined;
}

int fold_batchnorm(Graph& g) {
  int folded = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& bn = g.nodes[i];
    if (bn.op_type != "BatchNormalization" || !bn.domain.empty() || bn.num_inputs() != 5) continue;
    if (bn.attr_int("training_mode", 0) != 0) continue;
    bool extra_outputs = false;
    for (size_t k = 1; k < bn.outputs.size(); ++k) extra_outputs = extra_outputs || !bn.outputs[k].empty();
    if (extra_outputs) continue;
    const int p = g.producer(bn.inputs[0]);
    if (p < 0) continue;
    Node& prev = g.nodes[static_cast<size_t>(p)];
    if ((prev.op_type != "Conv" && prev.op_type != "ConvTranspose" && prev.op_type != "Gemm") ||
        !prev.domain.empty())
      continue;
    if (g.consumers(bn.inputs[0]).size() != 1 || is_graph_output(g, bn.inputs[0])) continue;
    const Tensor* gamma = g.initializer(bn.inputs[1]);
    const Tensor* beta = g.initializer(bn.inputs[2]);
    const Tensor* mean = g.initializer(bn.inputs[3]);
    const Tensor* var = g.initializer(bn.inputs[4]);
    const Tensor* w = prev.has_input(1) ? g.initializer(prev.inputs[1]) : nullptr;
    const Tensor* b = prev.has_input(2) ? g.initializer(prev.inputs[2]) : nullptr;
    if (!gamma || !beta || !mean || !var || !w || (prev.has_input(2) && !b)) continue;
    bool all_float = !b || b->dtype() == DType::Float32;
    for (const Tensor* t : {gamma, beta, mean, var, w}) all_float = all_float && t->dtype() == DType::Float32;
    if (!all_float) continue;
    const int64_t c = gamma->numel();
    if (beta->numel() != c || mean->numel() != c || var->numel() != c) continue;
    const float eps = bn.attr_float("epsilon", 1e-5f);

    std::vector<float> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
    for (int64_t k = 0; k < c; ++k) {
      scale[k] = gamma->data<float>()[k] / std::sqrt(var->data<float>()[k] + eps);
      shift[k] = beta->data<float>()[k] - mean->data<float>()[k] * scale[k];
    }
    Tensor nw = w->clone();
    std::vector<float> nb(static_cast<size_t>(c), 0.f);
    if (prev.op_type == "Conv") {
      if (w->rank() < 3 || w->dim(0) != c || (b && b->numel() != c)) continue;
      const int64_t per = w->numel() / c;
      for (int64_t k = 0; k < c; ++k)
        for (int64_t j = 0; j < per; ++j) nw.data<float>()[k * per + j] *= scale[k];
      for (int64_t k = 0; k < c; ++k) {
        const float b0 = b ? b->data<float>()[k] : 0.f;
        nb[k] = b0 * scale[k] + shift[k];
      }
    } else if (prev.op_type == "ConvTranspose") {
      // W is [Cin, Cout / group, k...]: output channel o = (ci / (Cin / group))·(Cout / group) + j of W[ci,
      // j].
      const int64_t group = prev.attr_int("group", 1);
      if (w->rank() < 3 || group < 1 || w->dim(0) % group != 0 || w->dim(1) * group != c ||
          (b && b->numel() != c))
        continue;
      const int64_t cin_g = w->dim(0) / group, cout_g = w->dim(1), per = w->numel() / (w->dim(0) * cout_g);
      for (int64_t ci = 0; ci < w->dim(0); ++ci)
        for (int64_t j = 0; j < cout_g; ++j) {
          const float sc = scale[(ci / cin_g) * cout_g + j];
          float* row = nw.data<float>() + (ci * cout_g + j) * per;
          for (int64_t e = 0; e < per; ++e) row[e] *= sc;
        }
      for (int64_t k = 0; k < c; ++k) nb[k] = (b ? b->data<float>()[k] : 0.f) * scale[k] + shift[k];
    } else {  // Gemm: Y = alpha·A'·B' + beta·C with B' of shape [K, M]
      if (w->rank() != 2 || prev.attr_int("transA", 0) != 0) continue;
      const bool transB = prev.attr_int("transB", 0) != 0;
      const int64_t m = transB ? w->dim(0) : w->dim(1), kdim = transB ? w->dim(1) : w->dim(0);
      if (m != c) continue;
      // C must broadcast along rows only: a scalar, [M] or [1, M]. ([N, 1] or [N, M] vary per row.)
      if (b && !(b->numel() == 1 || (b->numel() == c && b->dim(-1) == c))) continue;
      for (int64_t r = 0; r < kdim; ++r)
        for (int64_t col = 0; col < m; ++col)
          nw.data<float>()[transB ? col * kdim + r : r * m + col] *= scale[col];
      const float bcoef = prev.attr_float("beta", 1.f);
      for (int64_t k = 0; k < c; ++k) {
        const float b0 = b ? bcoef * b->data<float>()[b->numel() == 1 ? 0 : k] : 0.f;
        nb[k] = b0 * scale[k] + shift[k];
      }
      prev.attrs["beta"] = Attribute::of_float(1.f);
    }
    // New initializers, named after the (unique) node: a weight shared with other nodes stays as it is,
    // and two folds into convs sharing one weight do not overwrite each other's result.
    const std::string wname = fresh_value_name(g, prev.name + "_weight_bnfold");
    g.initializers[wname] = nw;
    const std::string bname = fresh_value_name(g, prev.name + "_bias_bnfold");
    g.initializers[bname] = Tensor::from_vector<float>({c}, nb);
    prev.inputs[1] = wname;
    if (prev.inputs.size() < 3) prev.inputs.resize(3);
    prev.inputs[2] = bname;
    // The conv now produces the BN's output value directly.
    const std::string old_out = bn.inputs[0];
    for (auto& o : prev.outputs)
      if (o == old_out) o = bn.outputs[0];
    g.nodes.erase(g.nodes.begin() + static_cast<long>(i));
    --i;
    ++folded;
  }
  return folded;
}

void remove_unused_initializers(Graph& g) {
  std::set<std::string> used;
  for (const auto& n : g.nodes)
    for (const auto& in : n.inputs) used.insert(in);
  for (const auto& o : g.outputs) used.insert(o.name);
  for (auto it = g.initializers.begin(); it != g.initializers.end();)
    it = used.count(it->first) ? std::next(it) : g.initializers.erase(it);
}

}  // namespace qs
