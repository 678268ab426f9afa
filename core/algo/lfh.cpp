#include "core/algo/lfh.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <set>

#include "core/algo/probes.h"
#include "core/autodiff/reverse.h"
#include "core/runtime/executor.h"

namespace qs {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Target {
  std::string tensor, layer;
  TensorKind kind;
  int axis;  // channel axis for per-channel traces (-1: none)
};

// ‖g‖² in total and per channel along `axis`.
void square_sums(const Tensor& g, int axis, double& total, std::vector<double>* per_channel) {
  const float* p = g.data<float>();
  if (!per_channel || axis < 0 || axis >= g.rank()) {
    double s = 0;
    for (int64_t i = 0; i < g.numel(); ++i) s += static_cast<double>(p[i]) * p[i];
    total = s;
    return;
  }
  const ChannelLayout l = channel_layout(g.shape(), axis);
  per_channel->assign(static_cast<size_t>(l.channels), 0.0);
  total = 0;
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const float* q = p + (o * l.channels + c) * l.inner;
      double s = 0;
      for (int64_t i = 0; i < l.inner; ++i) s += static_cast<double>(q[i]) * q[i];
      (*per_channel)[static_cast<size_t>(c)] += s;
      total += s;
    }
}

}  // namespace

void log_normalize(std::vector<LfhTensor>& tensors) {
  for (TensorKind kind : {TensorKind::Weight, TensorKind::Activation}) {
    double lo = std::numeric_limits<double>::infinity();
    for (const auto& t : tensors)
      if (t.kind == kind && t.trace > 0) lo = std::min(lo, std::log10(t.trace));
    for (auto& t : tensors)
      if (t.kind == kind) t.normalized = t.trace > 0 ? std::log10(t.trace) - lo : 0.0;
  }
}

double lfh_objective_weight(const LfhTensor& t) { return 1.0 + t.normalized; }

LfhResult compute_lfh(const Graph& g, Dataset& data, const QuantPoints& points, const LfhOptions& o) {
  const auto t_start = Clock::now();
  if (o.samples < 1) throw Error("LFH: samples must be at least 1, got " + std::to_string(o.samples));
  if (o.min_probes < 1 || o.max_probes < o.min_probes)
    throw Error("LFH: probes must satisfy 1 <= min_probes <= max_probes, got " +
                std::to_string(o.min_probes) + " and " + std::to_string(o.max_probes));
  if (!(o.tol > 0)) throw Error("LFH: tol must be positive");
  if (o.batch < 1) throw Error("LFH: batch must be at least 1");
  const int64_t n = std::min(o.samples, data.size());
  if (n < 1) throw Error("LFH: the dataset is empty");

  std::vector<Target> targets;
  std::set<std::string> seen;
  for (const auto& w : points.weights)
    if (seen.insert(w.tensor).second) targets.push_back({w.tensor, w.layer, TensorKind::Weight, w.axis});
  for (const auto& a : points.activations)
    if (seen.insert(a.tensor).second) targets.push_back({a.tensor, a.producer, TensorKind::Activation, 1});
  std::vector<std::string> wrt;
  for (const auto& t : targets) wrt.push_back(t.tensor);

  const ReverseModel model(g);
  const Executor reference(g);
  const size_t nt = targets.size();
  std::vector<double> total(nt, 0.0);
  std::vector<std::vector<double>> total_ch(nt);
  double probes_sum = 0;
  int64_t batches = 0;
  double forward_seconds = 0;

  for (int64_t begin = 0; begin < n; begin += o.batch) {
    if (o.progress && !o.progress(begin, n)) throw CancelledError();
    const int64_t count = std::min(o.batch, n - begin);
    const Batch b = data.read(begin, count);
    // Every input of the model; the probes' gradients reach only float values (an integer input such as
    // token ids is fed as it is and is never a quantization point).
    const auto feeds = feeds_of(g, b);
    const auto tf = Clock::now();
    reference.run(inputs_of(g, b));
    forward_seconds += since(tf);

    const Tape tape = model.forward(feeds);
    std::vector<std::string> outs;
    for (const auto& out : g.outputs)
      if (tape.value(out.name).dtype() == DType::Float32) outs.push_back(out.name);
    if (outs.empty()) throw Error("LFH: the model has no float32 output");

    std::vector<double> sum(nt, 0.0), prev_mean(nt, 0.0);
    std::vector<std::vector<double>> sum_ch(nt);
    std::vector<double> est(nt);
    std::vector<std::vector<double>> est_ch(nt);
    int k = 0;
    for (; k < o.max_probes;) {
      std::map<std::string, Tensor> seeds;
      for (size_t j = 0; j < outs.size(); ++j)
        seeds[outs[j]] =
            rademacher(tape.value(outs[j]).shape(),
                       probe_seed(o.seed, static_cast<uint64_t>(begin), static_cast<uint64_t>(k), j));
      const auto grads = model.backward(tape, seeds, wrt);
      ++k;
      bool converged = k >= o.min_probes;
      for (size_t t = 0; t < nt; ++t) {
        square_sums(grads.at(targets[t].tensor), targets[t].axis, est[t],
                    o.per_channel ? &est_ch[t] : nullptr);
        sum[t] += est[t];
        if (o.per_channel) {
          if (sum_ch[t].size() != est_ch[t].size()) sum_ch[t].assign(est_ch[t].size(), 0.0);
          for (size_t c = 0; c < est_ch[t].size(); ++c) sum_ch[t][c] += est_ch[t][c];
        }
        const double mean = sum[t] / k;
        // The running mean moved by less than tol (relative) with this probe.
        if (k < 2 || std::abs(mean - prev_mean[t]) > o.tol * std::abs(mean))
          converged = converged && mean == 0;
        prev_mean[t] = mean;
      }
      if (converged) break;
    }
    for (size_t t = 0; t < nt; ++t) {
      total[t] += sum[t] / k;
      if (total_ch[t].size() != sum_ch[t].size()) total_ch[t].assign(sum_ch[t].size(), 0.0);
      for (size_t c = 0; c < sum_ch[t].size(); ++c) total_ch[t][c] += sum_ch[t][c] / k;
    }
    probes_sum += k;
    ++batches;
  }
  if (o.progress && !o.progress(n, n)) throw CancelledError();

  LfhResult r;
  for (size_t t = 0; t < nt; ++t) {
    LfhTensor x;
    x.tensor = targets[t].tensor;
    x.kind = targets[t].kind;
    x.layer = targets[t].layer;
    x.trace = total[t] / static_cast<double>(n);
    for (double c : total_ch[t]) x.per_channel.push_back(c / static_cast<double>(n));
    x.probes = static_cast<int>(std::lround(probes_sum / static_cast<double>(batches)));
    r.tensors.push_back(std::move(x));
  }
  log_normalize(r.tensors);
  r.forward_seconds = forward_seconds;
  r.seconds = since(t_start) - forward_seconds;
  return r;
}

const LfhTensor* LfhResult::find(const std::string& tensor) const {
  for (const auto& t : tensors)
    if (t.tensor == tensor) return &t;
  return nullptr;
}

}  // namespace qs
