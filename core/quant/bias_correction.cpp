#include "core/quant/bias_correction.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "core/common/error.h"
#include "core/quant/calibrate.h"
#include "core/quant/simulate.h"
#include "core/runtime/executor.h"

namespace qs {

namespace {

int find_node(const Graph& g, const std::string& name) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].name == name) return static_cast<int>(i);
  return -1;
}

bool same_values(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// A name no initializer or value of `g` uses.
std::string fresh_name(const Graph& g, const std::string& base) {
  std::set<std::string> used;
  for (const auto& [k, v] : g.initializers) used.insert(k);
  for (const auto& in : g.inputs) used.insert(in.name);
  for (const auto& n : g.nodes) {
    used.insert(n.inputs.begin(), n.inputs.end());
    used.insert(n.outputs.begin(), n.outputs.end());
  }
  std::string name = base;
  for (int i = 1; used.count(name); ++i) name = base + "_" + std::to_string(i);
  return name;
}

// Per-channel sums of a layer output [rows, ..., C (axis), ...] over its first `rows` rows.
struct ChannelMean {
  std::vector<double> sum;
  std::vector<int64_t> count;

  void add(const Tensor& y, int axis, int64_t rows, const std::string& where) {
    if (y.dtype() != DType::Float32 || y.rank() < 2 || axis < 1 || axis >= static_cast<int>(y.rank()))
      throw Error(where + ": output " + y.str() + " has no channel axis " + std::to_string(axis));
    const int64_t channels = y.dim(axis);
    if (sum.empty())
      sum.assign(static_cast<size_t>(channels), 0.0), count.assign(static_cast<size_t>(channels), 0);
    if (static_cast<int64_t>(sum.size()) != channels)
      throw Error(where + ": output has " + std::to_string(channels) + " channels, expected " +
                  std::to_string(sum.size()));
    rows = std::min(rows, y.dim(0));
    int64_t outer = 1, inner = 1;
    for (int d = 1; d < axis; ++d) outer *= y.dim(d);
    for (int d = axis + 1; d < static_cast<int>(y.rank()); ++d) inner *= y.dim(d);
    const float* p = y.data<float>();
    for (int64_t a = 0; a < rows * outer; ++a)
      for (int64_t c = 0; c < channels; ++c) {
        const float* q = p + (a * channels + c) * inner;
        double s = 0;
        for (int64_t i = 0; i < inner; ++i) s += q[i];
        sum[static_cast<size_t>(c)] += s;
        count[static_cast<size_t>(c)] += inner;
      }
  }
  double mean(size_t c) const { return count[c] ? sum[c] / static_cast<double>(count[c]) : 0.0; }
};

struct Target {
  size_t report;  // index into result.layers
  std::string layer, weight, input, output, bias;
  int axis = 1;  // channel axis of the output
  int64_t channels = 0;
  double beta = 1;  // Gemm: the bias enters as beta·C
  int wave = 1;
  ChannelMean f, q;
  std::vector<float> base;  // the bias as the simulation holds it (on the int32 grid when quantized)
};

// Output channels of a layer's output, and why it cannot be corrected ("" when it can).
std::string classify(const Graph& g, const Node& n, const std::string& weight, int64_t* channels,
                     double* beta) {
  const Tensor& w = *g.initializer(weight);
  *beta = 1;
  if (n.op_type == "MatMul") return "MatMul has no bias input";
  if (n.inputs.size() < 2 || n.inputs[1] != weight) return "the weight is not the layer's second input";
  if (w.rank() < 2) return "weight " + w.str() + " has no output-channel axis";
  if (n.op_type == "Conv") {
    *channels = w.dim(0);
  } else if (n.op_type == "ConvTranspose") {
    *channels = w.dim(1) * n.attr_int("group", 1);
  } else if (n.op_type == "Gemm") {
    *channels = n.attr_int("transB", 0) ? w.dim(0) : w.dim(1);
    *beta = n.attr_float("beta", 1.f);
    if (*beta == 0) return "Gemm with beta = 0 ignores its bias";
  } else {
    return n.op_type + " is not a layer with a bias";
  }
  if (n.has_input(2)) {
    const Tensor* b = g.initializer(n.inputs[2]);
    if (!b) return "bias '" + n.inputs[2] + "' is not a constant";
    if (b->dtype() != DType::Float32 || b->numel() != *channels)
      return "bias '" + n.inputs[2] + "' is " + b->str() + ", not one value per output channel";
  }
  return "";
}

}  // namespace

BiasCorrectionResult correct_biases(const Graph& float_graph, const Graph& weights, Dataset& data,
                                    const QuantPlan& plan, const BiasCorrectionOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (data.size() == 0) throw Error("bias correction: the calibration data set is empty");
  if (o.batch <= 0) throw Error("bias correction: batch must be positive");
  const int64_t n = o.calib_count > 0 ? std::min(o.calib_count, data.size()) : data.size();

  BiasCorrectionResult r;
  r.graph = weights;
  Graph& g = r.graph;
  std::vector<Target> targets;
  {
    const QuantPoints points = quant_points_for(g, data);
    for (const auto& wp : points.weights) {
      const PlanEntry* e = plan.find(wp.tensor);
      if (!e || e->kind != TensorKind::Weight) continue;
      BiasCorrectionLayer rep;
      rep.layer = wp.layer;
      rep.op_type = wp.op_type;
      const int fi = find_node(float_graph, wp.layer);
      const Tensor* fw = float_graph.initializer(wp.tensor);
      if (fi < 0 || float_graph.nodes[static_cast<size_t>(fi)].outputs.empty() ||
          float_graph.nodes[static_cast<size_t>(fi)].outputs[0] != wp.output || !fw)
        throw Error("bias correction: layer '" + wp.layer + "' (output '" + wp.output + "', weight '" +
                    wp.tensor + "') is not in the float model as in the weights model");
      const Tensor& w = *g.initializer(wp.tensor);
      if (fw->shape() != w.shape())
        throw Error("bias correction: weight '" + wp.tensor + "' is " + w.str() + ", the float model's is " +
                    fw->str());
      Target t;
      if (!plan.active(wp.tensor) && same_values(*fw, w)) {
        rep.skipped = "weights kept in float";
      } else {
        const Node& node = g.nodes[static_cast<size_t>(find_node(g, wp.layer))];
        rep.skipped = classify(g, node, wp.tensor, &t.channels, &t.beta);
      }
      if (rep.skipped.empty()) {
        t.report = r.layers.size();
        t.layer = wp.layer;
        t.weight = wp.tensor;
        t.input = wp.input;
        t.output = wp.output;
        t.bias = wp.bias;
        targets.push_back(std::move(t));
      }
      r.layers.push_back(std::move(rep));
    }
  }

  // Every corrected layer gets a bias of its own: created when missing, copied when shared with another node
  // (correcting it in place would shift the other layer's outputs too).
  for (auto& t : targets) {
    Node& node = g.nodes[static_cast<size_t>(find_node(g, t.layer))];
    int uses = 0;
    if (!t.bias.empty())
      for (const auto& m : g.nodes)
        for (const auto& in : m.inputs) uses += in == t.bias;
    if (t.bias.empty()) {
      t.bias = fresh_name(g, t.layer + "_bias");
      g.initializers[t.bias] = Tensor::zeros(DType::Float32, {t.channels});
      if (node.inputs.size() < 3) node.inputs.resize(3);
      node.inputs[2] = t.bias;
      r.layers[t.report].created = true;
    } else if (uses > 1) {
      const std::string copy = fresh_name(g, t.bias + "_" + t.layer);
      g.initializers[copy] = g.initializers.at(t.bias).clone();
      node.inputs[2] = copy;
      t.bias = copy;
    }
    r.layers[t.report].bias = t.bias;
  }
  // The points again: created biases are now found (and quantized to int32) like the others.
  const QuantPoints points = quant_points_for(g, data);

  // Waves: a layer is measured once every corrected layer upstream of its input is done.
  std::map<std::string, std::set<size_t>> upstream;  // value → corrected layers it depends on
  std::map<std::string, size_t> target_of;
  for (size_t k = 0; k < targets.size(); ++k) target_of[targets[k].layer] = k;
  int waves = targets.empty() ? 0 : 1;
  for (const Node& node : g.nodes) {
    std::set<size_t> s;
    for (const auto& in : node.inputs) {
      auto it = upstream.find(in);
      if (it != upstream.end()) s.insert(it->second.begin(), it->second.end());
    }
    auto k = target_of.find(node.name);
    if (k != target_of.end()) {
      Target& t = targets[k->second];
      int wave = 1;
      if (o.sequential) {
        auto it = upstream.find(t.input);
        if (it != upstream.end())
          for (size_t u : it->second) wave = std::max(wave, targets[u].wave + 1);
      }
      t.wave = wave;
      waves = std::max(waves, wave);
      s.insert(k->second);
    }
    if (!s.empty())
      for (const auto& out : node.outputs) upstream[out] = s;
  }
  r.passes = waves;
  r.samples = n;
  if (targets.empty()) {
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  }

  std::map<std::string, std::vector<size_t>> float_taps;  // layer output → targets
  for (size_t k = 0; k < targets.size(); ++k) float_taps[targets[k].output].push_back(k);
  const Executor float_ex(float_graph);
  const int64_t total = static_cast<int64_t>(waves) * n;

  for (int wave = 1; wave <= waves; ++wave) {
    std::vector<size_t> now;
    for (size_t k = 0; k < targets.size(); ++k)
      if (targets[k].wave == wave) now.push_back(k);
    // The layer under the plan alone, fed the simulated model's (quantized) input: its fake-quantized
    // weights and int32-grid bias as the simulation holds them, output before requantization.
    const Graph q = quantize_weights(g, plan, points, SimOptions{});
    std::vector<std::unique_ptr<Executor>> layer_ex;
    std::map<std::string, std::vector<Tensor>> inputs;  // layer input value → the chunks of this batch
    for (size_t k : now) {
      const Target& t = targets[k];
      const Node& node = q.nodes[static_cast<size_t>(find_node(q, t.layer))];
      Graph one;
      one.opset = q.opset;
      one.opset_imports = q.opset_imports;
      one.inputs.push_back({t.input, DType::Float32, std::nullopt});
      one.outputs.push_back({t.output, DType::Float32, std::nullopt});
      one.nodes.push_back(node);
      for (size_t i = 1; i < node.inputs.size(); ++i)
        if (node.has_input(i)) one.initializers[node.inputs[i]] = *q.initializer(node.inputs[i]);
      targets[k].base = q.initializer(node.inputs[2])->to_vector<float>();
      layer_ex.push_back(std::make_unique<Executor>(std::move(one)));
      inputs[t.input];
    }
    const SimulatedModel sim(g, plan, points);

    for (int64_t begin = 0; begin < n; begin += o.batch) {
      if (o.progress && !o.progress(static_cast<int64_t>(wave - 1) * n + begin, total))
        throw CancelledError();
      const int64_t rows = std::min(o.batch, n - begin);
      Batch b = data.read(begin, rows);
      if (wave == 1) {
        // A model with a fixed batch size sees chunks, the last one padded: only the first `rows` count.
        std::map<std::string, int64_t> left;
        for (const auto& [name, ks] : float_taps) left[name] = rows;
        RunOptions ro;
        ro.tap = [&](const std::string& name, const Tensor& v) {
          auto it = float_taps.find(name);
          if (it == float_taps.end() || left[name] <= 0) return;
          for (size_t k : it->second)
            targets[k].f.add(v, targets[k].axis, left[name], "float layer '" + targets[k].layer + "'");
          left[name] -= v.rank() > 0 ? v.dim(0) : 1;
        };
        float_ex.run(inputs_of(float_graph, b), ro);
      }
      for (auto& [name, chunks] : inputs) chunks.clear();
      RunOptions ro;
      ro.tap = [&](const std::string& name, const Tensor& v) {
        auto it = inputs.find(name);
        if (it != inputs.end()) it->second.push_back(v);
      };
      sim.run(inputs_of(g, b), ro);
      for (size_t j = 0; j < now.size(); ++j) {
        Target& t = targets[now[j]];
        int64_t left = rows;
        for (const Tensor& x : inputs.at(t.input)) {
          if (left <= 0) break;
          const Tensor y = layer_ex[j]->run({x})[0];
          t.q.add(y, t.axis, left, "quantized layer '" + t.layer + "'");
          left -= x.rank() > 0 ? x.dim(0) : 1;
        }
      }
    }

    for (size_t k : now) {
      Target& t = targets[k];
      if (t.f.sum.size() != static_cast<size_t>(t.channels) ||
          t.q.sum.size() != static_cast<size_t>(t.channels))
        throw Error("bias correction: layer '" + t.layer + "': output has " + std::to_string(t.q.sum.size()) +
                    " channels, its weight " + std::to_string(t.channels));
      BiasCorrectionLayer& rep = r.layers[t.report];
      rep.pass = wave;
      rep.correction.resize(static_cast<size_t>(t.channels));
      // Corrected from the bias the measurement used: starting from the float bias instead would add its
      // int32 rounding error again, up to half a grid unit, to the residual.
      Tensor b = g.initializers.at(t.bias).clone();
      float* pb = b.data<float>();
      for (size_t c = 0; c < rep.correction.size(); ++c) {
        rep.correction[c] = t.f.mean(c) - t.q.mean(c);
        pb[c] = static_cast<float>(t.base[c] + rep.correction[c] / t.beta);
      }
      g.initializers[t.bias] = b;
    }
  }
  if (o.progress) o.progress(total, total);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace qs
