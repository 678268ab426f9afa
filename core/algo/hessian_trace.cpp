#include "core/algo/hessian_trace.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include "core/algo/probes.h"
#include "core/autodiff/reverse.h"

namespace qs {

namespace {

// dL/dlogits of the summed cross-entropy: softmax(y) − onehot(label), per row.
Tensor cross_entropy_grad(const Tensor& y, const std::vector<int64_t>& labels, int64_t first) {
  if (y.rank() != 2)
    throw Error("labeled Hessian: the model output should be logits [B, K], got " + shape_str(y.shape()));
  const int64_t B = y.dim(0), K = y.dim(1);
  Tensor g(DType::Float32, y.shape());
  const float* yp = y.data<float>();
  float* gp = g.data<float>();
  for (int64_t b = 0; b < B; ++b) {
    const int64_t label = labels[static_cast<size_t>(first + b)];
    if (label < 0 || label >= K)
      throw Error("labeled Hessian: label " + std::to_string(label) + " of sample " +
                  std::to_string(first + b) + " is outside [0, " + std::to_string(K) + ")");
    const float* r = yp + b * K;
    const double m = *std::max_element(r, r + K);
    double s = 0;
    for (int64_t k = 0; k < K; ++k) s += std::exp(r[k] - m);
    for (int64_t k = 0; k < K; ++k) gp[b * K + k] = static_cast<float>(std::exp(r[k] - m) / s - (k == label));
  }
  return g;
}

// Σ_b uᵀ(diag(p) − ppᵀ)u with u = (y+ − y−)/2h the directional derivative of the logits, p = softmax(y).
double gauss_newton(const Tensor& y, const Tensor& yp, const Tensor& ym, double h) {
  const int64_t B = y.dim(0), K = y.dim(1);
  double s = 0;
  for (int64_t b = 0; b < B; ++b) {
    const float* r = y.data<float>() + b * K;
    const double m = *std::max_element(r, r + K);
    double z = 0;
    for (int64_t k = 0; k < K; ++k) z += std::exp(r[k] - m);
    double pu = 0, puu = 0;
    for (int64_t k = 0; k < K; ++k) {
      const double p = std::exp(r[k] - m) / z;
      const double u =
          (static_cast<double>(yp.data<float>()[b * K + k]) - ym.data<float>()[b * K + k]) / (2 * h);
      pu += p * u;
      puu += p * u * u;
    }
    s += puu - pu * pu;
  }
  return s;
}

Tensor axpy(const Tensor& x, float a, const Tensor& v) {
  Tensor r(DType::Float32, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) r.data<float>()[i] = x.data<float>()[i] + a * v.data<float>()[i];
  return r;
}

double rms(const Tensor& t) {
  double s = 0;
  for (int64_t i = 0; i < t.numel(); ++i) s += static_cast<double>(t.data<float>()[i]) * t.data<float>()[i];
  return t.numel() ? std::sqrt(s / static_cast<double>(t.numel())) : 0.0;
}

}  // namespace

HessianTraceResult labeled_hessian_trace(const Graph& g, Dataset& data, const QuantPoints& points,
                                         const HessianTraceOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!data.has_labels()) throw Error("labeled Hessian: the dataset has no labels");
  if (g.outputs.size() != 1)
    throw UnsupportedError("labeled Hessian: the model should have one output (logits), it has " +
                           std::to_string(g.outputs.size()));
  if (o.probes < 1 || o.batch < 1 || o.samples < 1 || !(o.epsilon > 0))
    throw Error("labeled Hessian: probes, batch, samples and epsilon must be positive");
  const int64_t n = std::min(o.samples, data.size());
  std::vector<HessianTraceTensor> out;
  std::set<std::string> seen, weights;
  for (const auto& w : points.weights)
    if (seen.insert(w.tensor).second) {
      out.push_back({w.tensor, TensorKind::Weight, 0});
      weights.insert(w.tensor);
    }
  for (const auto& a : points.activations)
    if (seen.insert(a.tensor).second) out.push_back({a.tensor, TensorKind::Activation, 0});
  const ReverseModel model(g, weights);
  const std::string output = g.outputs[0].name;

  for (int64_t begin = 0; begin < n; begin += o.batch) {
    if (o.progress && !o.progress(begin, n)) throw CancelledError();
    const int64_t count = std::min(o.batch, n - begin);
    const Batch b = data.read(begin, count);
    const auto feeds = feeds_of(g, b);  // every input of the model
    const Tape base = model.forward(feeds);
    cross_entropy_grad(base.value(output), data.labels(), begin);  // checks the output's shape and the labels
    for (size_t t = 0; t < out.size(); ++t) {
      const std::string& name = out[t].tensor;
      const Tensor& z = base.value(name);
      const double h = o.epsilon * std::max(rms(z), 1e-6);
      double sum = 0;
      for (int p = 0; p < o.probes; ++p) {
        const Tensor v = rademacher(
            z.shape(), probe_seed(o.seed, static_cast<uint64_t>(begin), static_cast<uint64_t>(p), t));
        double vhv = 0;
        Tensor y[2];
        for (int sign : {1, -1}) {
          ForwardOptions fo;
          const float step = static_cast<float>(sign * h);
          if (weights.count(name))
            fo.params[name] = axpy(z, step, v);
          else
            fo.perturb[name] = axpy(Tensor::zeros(DType::Float32, z.shape()), step, v);
          const Tape tape = model.forward(feeds, fo);
          if (o.method == HessianMethod::kGaussNewton) {
            y[sign > 0 ? 0 : 1] = tape.value(output);
            continue;
          }
          const Tensor seed = cross_entropy_grad(tape.value(output), data.labels(), begin);
          const Tensor gz = model.backward(tape, {{output, seed}}, {name}).at(name);
          double dot = 0;
          for (int64_t i = 0; i < gz.numel(); ++i)
            dot += static_cast<double>(gz.data<float>()[i]) * v.data<float>()[i];
          vhv += sign * dot;
        }
        if (o.method == HessianMethod::kGaussNewton)
          sum += gauss_newton(base.value(output), y[0], y[1], h);
        else
          sum += vhv / (2 * h);
      }
      out[t].trace += sum / o.probes;
    }
  }
  if (o.progress && !o.progress(n, n)) throw CancelledError();
  for (auto& t : out) t.trace /= static_cast<double>(n);
  HessianTraceResult r;
  r.tensors = std::move(out);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw Error("spearman: sequences of different lengths");
  const size_t n = a.size();
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  auto ranks = [n](const std::vector<double>& x) {
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](size_t i, size_t j) { return x[i] < x[j]; });
    std::vector<double> r(n);
    for (size_t i = 0; i < n;) {
      size_t j = i;
      while (j + 1 < n && x[idx[j + 1]] == x[idx[i]]) ++j;
      for (size_t k = i; k <= j; ++k) r[idx[k]] = (static_cast<double>(i + j) / 2.0) + 1.0;
      i = j + 1;
    }
    return r;
  };
  const auto ra = ranks(a), rb = ranks(b);
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n,
               mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  if (saa == 0 || sbb == 0) return std::numeric_limits<double>::quiet_NaN();
  return sab / std::sqrt(saa * sbb);
}

}  // namespace qs
