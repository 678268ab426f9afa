#include "core/algo/repvgg/fuse.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "core/common/error.h"
#include "core/runtime/executor.h"

namespace qs::repvgg {

namespace {

const Node& node_named(const Graph& g, const std::string& name, const Block& b) {
  for (const auto& n : g.nodes)
    if (n.name == name) return n;
  throw Error("RepVGG block '" + b.name + "': node '" + name + "' is not in the graph");
}

const Tensor& float_param(const Graph& g, const std::string& name, int64_t numel, const Node& n) {
  const Tensor* t = g.initializer(name);
  if (!t || t->dtype() != DType::Float32 || (numel >= 0 && t->numel() != numel))
    throw Error(n.describe() + ": '" + name + "' is not a float32 initializer" +
                (numel >= 0 ? " of " + std::to_string(numel) + " values" : ""));
  return *t;
}

// t = γ/√(σ² + ε) and shift = β − μ·t of an inference BatchNormalization, in double.
void bn_affine(const Graph& g, const Node& bn, int64_t c, std::vector<double>* t,
               std::vector<double>* shift) {
  const float* gamma = float_param(g, bn.inputs[1], c, bn).data<float>();
  const float* beta = float_param(g, bn.inputs[2], c, bn).data<float>();
  const float* mean = float_param(g, bn.inputs[3], c, bn).data<float>();
  const float* var = float_param(g, bn.inputs[4], c, bn).data<float>();
  const double eps = bn.attr_float("epsilon", 1e-5f);
  t->resize(static_cast<size_t>(c));
  shift->resize(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) {
    (*t)[k] = static_cast<double>(gamma[k]) / std::sqrt(static_cast<double>(var[k]) + eps);
    (*shift)[k] = static_cast<double>(beta[k]) - static_cast<double>(mean[k]) * (*t)[k];
  }
}

// Branch kernel and bias in double: [Cout, Cin/g, kh, kw] and [Cout].
void branch_double(const Graph& g, const Block& b, const Branch& br, std::vector<double>* k,
                   std::vector<double>* c) {
  const int64_t cout = b.out_channels, cpg = b.in_channels / b.group, kh = b.kernel[0], kw = b.kernel[1];
  k->assign(static_cast<size_t>(cout * cpg * kh * kw), 0.0);
  c->assign(static_cast<size_t>(cout), 0.0);
  if (br.kind == BranchKind::Identity) {
    for (int64_t o = 0; o < cout; ++o)
      (*k)[static_cast<size_t>(((o * cpg + o % cpg) * kh + (kh - 1) / 2) * kw + (kw - 1) / 2)] = 1.0;
  } else {
    const Node& conv = node_named(g, br.conv, b);
    const Tensor& w = float_param(g, br.weight, -1, conv);
    if (w.rank() != 4 || w.dim(0) != cout || w.dim(1) != cpg)
      throw Error(conv.describe() + ": weight " + w.str() + " does not fit block '" + b.name + "'");
    const int64_t bh = w.dim(2), bw = w.dim(3), oh = (kh - bh) / 2, ow = (kw - bw) / 2;
    const float* wp = w.data<float>();
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t i = 0; i < cpg; ++i)
        for (int64_t y = 0; y < bh; ++y)
          for (int64_t x = 0; x < bw; ++x)
            (*k)[static_cast<size_t>(((o * cpg + i) * kh + y + oh) * kw + x + ow)] =
                wp[((o * cpg + i) * bh + y) * bw + x];
    if (!br.bias.empty()) {
      const float* bp = float_param(g, br.bias, cout, conv).data<float>();
      for (int64_t o = 0; o < cout; ++o) (*c)[static_cast<size_t>(o)] = bp[o];
    }
  }
  if (!br.bn.empty()) {
    std::vector<double> t, shift;
    bn_affine(g, node_named(g, br.bn, b), cout, &t, &shift);
    const size_t per = k->size() / static_cast<size_t>(cout);
    for (int64_t o = 0; o < cout; ++o) {
      for (size_t j = 0; j < per; ++j) (*k)[static_cast<size_t>(o) * per + j] *= t[o];
      (*c)[static_cast<size_t>(o)] = (*c)[static_cast<size_t>(o)] * t[o] + shift[o];
    }
  }
}

FusedKernel to_float(const Block& b, const std::vector<double>& k, const std::vector<double>& c) {
  FusedKernel f;
  f.weight = Tensor(DType::Float32, {b.out_channels, b.in_channels / b.group, b.kernel[0], b.kernel[1]});
  f.bias = Tensor(DType::Float32, {b.out_channels});
  for (size_t i = 0; i < k.size(); ++i) f.weight.data<float>()[i] = static_cast<float>(k[i]);
  for (size_t i = 0; i < c.size(); ++i) f.bias.data<float>()[i] = static_cast<float>(c[i]);
  return f;
}

bool name_taken(const Graph& g, const std::set<std::string>& extra, const std::string& n) {
  if (extra.count(n) || g.is_initializer(n) || g.producer(n) >= 0) return true;
  for (const auto& in : g.inputs)
    if (in.name == n) return true;
  for (const auto& node : g.nodes)
    if (node.name == n) return true;
  return false;
}

std::string fresh(const Graph& g, std::set<std::string>& taken, const std::string& base) {
  std::string n = base;
  for (int k = 1; name_taken(g, taken, n); ++k) n = base + "_" + std::to_string(k);
  taken.insert(n);
  return n;
}

struct RelErr {
  double diff = 0, ref = 0;
  void add(const Tensor& ref_t, const Tensor& got, const std::string& what) {
    if (ref_t.dtype() != got.dtype() || ref_t.shape() != got.shape())
      throw Error("fusion check: '" + what + "' is " + ref_t.str() + " in the original and " + got.str() +
                  " in the fused model");
    if (ref_t.dtype() != DType::Float32) return;  // integer outputs (e.g. an ArgMax) are not compared
    const float* a = ref_t.data<float>();
    const float* b = got.data<float>();
    for (int64_t i = 0; i < ref_t.numel(); ++i) {
      diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
      ref = std::max(ref, std::fabs(static_cast<double>(a[i])));
    }
  }
  double value() const {
    return ref > 0 ? diff / ref : (diff > 0 ? std::numeric_limits<double>::infinity() : 0.0);
  }
};

}  // namespace

FusedKernel branch_kernel(const Graph& g, const Block& b, const Branch& br) {
  std::vector<double> k, c;
  branch_double(g, b, br, &k, &c);
  return to_float(b, k, c);
}

FusedKernel fuse_block(const Graph& g, const Block& b) {
  if (b.in_channels <= 0 || b.out_channels <= 0 || b.group <= 0 || b.in_channels % b.group != 0 ||
      b.kernel.size() != 2)
    throw Error("RepVGG block '" + b.name + "': inconsistent geometry");
  std::vector<double> k, c, bk, bc;
  for (const auto& br : b.branches) {
    branch_double(g, b, br, &bk, &bc);
    if (k.empty()) {
      k = bk;
      c = bc;
    } else {
      for (size_t i = 0; i < k.size(); ++i) k[i] += bk[i];
      for (size_t i = 0; i < c.size(); ++i) c[i] += bc[i];
    }
  }
  if (k.empty()) throw Error("RepVGG block '" + b.name + "' has no branches");
  if (!b.post_bn.empty()) {
    std::vector<double> t, shift;
    bn_affine(g, node_named(g, b.post_bn, b), b.out_channels, &t, &shift);
    const size_t per = k.size() / static_cast<size_t>(b.out_channels);
    for (int64_t o = 0; o < b.out_channels; ++o) {
      for (size_t j = 0; j < per; ++j) k[static_cast<size_t>(o) * per + j] *= t[o];
      c[static_cast<size_t>(o)] = c[static_cast<size_t>(o)] * t[o] + shift[o];
    }
  }
  return to_float(b, k, c);
}

FusedModel fuse_graph(const Graph& g, const std::vector<Block>& blocks) {
  FusedModel fm;
  fm.graph = g;
  fm.blocks = blocks;
  Graph& out = fm.graph;
  std::set<std::string> taken, removed;
  for (const auto& b : blocks) {
    FusedConv fc;
    fc.block = b.name;
    fc.kernel = fuse_block(g, b);
    fc.replaced = b.replaced_nodes(g);
    for (const auto& r : fc.replaced)
      if (!removed.insert(r).second)
        throw Error("RepVGG block '" + b.name + "': node '" + r + "' is in two blocks");
    const std::string base = b.name + "_fused";
    fc.node.name = fresh(g, taken, base);
    fc.weight = fresh(g, taken, base + ".weight");
    fc.bias = fresh(g, taken, base + ".bias");
    fc.node.op_type = "Conv";
    fc.node.inputs = {b.input, fc.weight, fc.bias};
    fc.node.outputs = {b.output};
    fc.node.attrs["kernel_shape"] = Attribute::of_ints(b.kernel);
    fc.node.attrs["strides"] = Attribute::of_ints(b.strides);
    fc.node.attrs["pads"] = Attribute::of_ints(b.pads);
    fc.node.attrs["dilations"] = Attribute::of_ints({1, 1});
    fc.node.attrs["group"] = Attribute::of_int(b.group);
    out.initializers[fc.weight] = fc.kernel.weight;
    out.initializers[fc.bias] = fc.kernel.bias;
    fm.convs.push_back(std::move(fc));
  }
  // Each fused conv goes where the last node it replaces was (its output's producer), so the order stays
  // topological; the others are dropped.
  std::vector<Node> nodes;
  for (const auto& n : out.nodes) {
    if (!removed.count(n.name)) {
      nodes.push_back(n);
      continue;
    }
    for (const auto& fc : fm.convs)
      if (!n.outputs.empty() && n.outputs[0] == fc.node.outputs[0]) nodes.push_back(fc.node);
  }
  out.nodes = std::move(nodes);
  // Values that no longer exist lose their inferred types; unused parameters go.
  std::set<std::string> live;
  for (const auto& n : out.nodes)
    for (const auto& v : n.outputs) live.insert(v);
  for (auto it = out.value_info.begin(); it != out.value_info.end();) {
    const bool is_input = std::any_of(out.inputs.begin(), out.inputs.end(),
                                      [&](const ValueInfo& v) { return v.name == it->first; });
    if (!live.count(it->first) && !is_input && !out.is_initializer(it->first))
      it = out.value_info.erase(it);
    else
      ++it;
  }
  std::set<std::string> used;
  for (const auto& n : out.nodes)
    for (const auto& v : n.inputs) used.insert(v);
  for (const auto& o : out.outputs) used.insert(o.name);
  for (auto it = out.initializers.begin(); it != out.initializers.end();)
    it = used.count(it->first) ? std::next(it) : out.initializers.erase(it);
  out.topological_sort();
  return fm;
}

double FusionCheck::max_rel_error() const {
  double m = output_rel_error;
  for (double e : block_rel_error) m = std::max(m, e);
  return m;
}

FusionCheck check_fusion(const Graph& original, const Graph& fused, const std::vector<Block>& blocks,
                         Dataset& data, int64_t count, int64_t batch, const ProgressFn& progress) {
  if (batch < 1) throw Error("fusion check: batch must be >= 1");
  Executor eo(original), ef(fused);
  std::vector<std::string> fetch;
  for (const auto& b : blocks) fetch.push_back(b.output);
  for (const auto& o : original.outputs) fetch.push_back(o.name);
  std::sort(fetch.begin(), fetch.end());
  fetch.erase(std::unique(fetch.begin(), fetch.end()), fetch.end());
  std::vector<RelErr> per_block(blocks.size()), outs(original.outputs.size());
  const int64_t n = count > 0 ? std::min(count, data.size()) : data.size();
  for (int64_t begin = 0; begin < n; begin += batch) {
    if (progress && !progress(begin, n)) throw CancelledError();
    Batch bt = data.read(begin, std::min(batch, n - begin));
    auto a = eo.run(feeds_of(original, bt), fetch);  // every input, by name: fusion keeps them
    auto f = ef.run(feeds_of(fused, bt), fetch);
    for (size_t i = 0; i < blocks.size(); ++i)
      per_block[i].add(a.at(blocks[i].output), f.at(blocks[i].output), blocks[i].output);
    for (size_t i = 0; i < outs.size(); ++i) {
      const std::string& name = original.outputs[i].name;
      outs[i].add(a.at(name), f.at(name), name);
    }
  }
  if (progress) progress(n, n);
  FusionCheck c;
  c.samples = n;
  for (const auto& e : per_block) c.block_rel_error.push_back(e.value());
  for (const auto& e : outs) c.output_rel_error = std::max(c.output_rel_error, e.value());
  return c;
}

}  // namespace qs::repvgg
