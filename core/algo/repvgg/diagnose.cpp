#include "core/algo/repvgg/diagnose.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <set>

#include "core/common/error.h"
#include "core/quant/calibrate.h"
#include "core/quant/quantizer.h"
#include "core/quant/weight_range.h"
#include "core/runtime/executor.h"

namespace qs::repvgg {

namespace {

struct MomentAcc {
  double s = 0, s2 = 0, mn = std::numeric_limits<double>::infinity(),
         mx = -std::numeric_limits<double>::infinity();
  int64_t n = 0;
  void add(const Tensor& t) {
    if (t.dtype() != DType::Float32) return;
    for (float v : t.span<float>()) {
      const double d = v;
      s += d;
      s2 += d * d;
      mn = std::min(mn, d);
      mx = std::max(mx, d);
    }
    n += t.numel();
  }
  Moments get() const {
    Moments m;
    m.count = n;
    if (n == 0) return m;
    m.mean = s / static_cast<double>(n);
    m.std = std::sqrt(std::max(0.0, s2 / static_cast<double>(n) - m.mean * m.mean));
    m.min = mn;
    m.max = mx;
    m.max_abs = std::max(std::fabs(mn), std::fabs(mx));
    return m;
  }
};

void tensor_moments(const Tensor& t, double* std, double* max_abs) {
  MomentAcc a;
  a.add(t);
  const Moments m = a.get();
  *std = m.std;
  *max_abs = m.max_abs;
}

// Symmetric signed narrow-range weight spec (calibrate.h's weight convention) at `bits`.
QuantSpec wspec(int bits, bool per_channel) {
  CalibrationOptions c;
  c.weight_bits = bits;
  c.per_channel = per_channel;
  return weight_spec(c, 0);
}

QuantParams minmax_params(const Tensor& w, const QuantSpec& spec) {
  const ChannelRanges r = weight_minmax(w, spec.axis);
  return params_from_range(spec, r.lo, r.hi);
}

// Share of each channel's weights (axis 0) that quantize to the zero point under `p` (per tensor: one
// parameter set for all channels).
std::vector<double> zero_shares(const Tensor& w, const QuantParams& p) {
  const int64_t c = w.dim(0), per = w.numel() / c;
  std::vector<double> out(static_cast<size_t>(c));
  const float* d = w.data<float>();
  for (int64_t o = 0; o < c; ++o) {
    const size_t k = p.axis < 0 ? 0 : static_cast<size_t>(o);
    int64_t zeros = 0;
    for (int64_t j = 0; j < per; ++j)
      zeros += quantize_value(d[o * per + j], p.scale[k], p.zero_point[k], p.qmin, p.qmax) == p.zero_point[k];
    out[static_cast<size_t>(o)] = static_cast<double>(zeros) / static_cast<double>(per);
  }
  return out;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

double sqnr_db(double signal, double noise) {
  return noise == 0 ? std::numeric_limits<double>::infinity() : 10 * std::log10(signal / noise);
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
std::string db(double v) { return std::isfinite(v) ? fmt("%.1f dB", v) : std::string("lossless"); }

struct WeightConfig {
  const char* name;
  int bits;
  bool per_channel;
  const char* method;
};
constexpr WeightConfig kWeightConfigs[] = {{"w8_per_tensor", 8, false, "minmax"},
                                           {"w8_per_channel", 8, true, "minmax"},
                                           {"w4_per_tensor", 4, false, "minmax"},
                                           {"w4_per_channel", 4, true, "minmax"},
                                           {"w4_per_channel_mse", 4, true, "mse"}};

// Per block: one graph holding the fused conv in float and once per weight configuration, all reading x.
struct BlockWork {
  std::unique_ptr<Executor> convs;
  std::vector<std::string> conv_outputs;  // [0] float, then one per kWeightConfigs
  std::vector<MomentAcc> branch;
  MomentAcc pre, act;
  std::vector<double> ch_lo, ch_hi;  // activation per channel
  std::vector<ErrorAccumulator> werr;
  ErrorAccumulator act_pt, act_pc;
  QuantParams act_params_pt, act_params_pc;
  bool per_channel_act = false;
};

Graph conv_bank(const FusedConv& fc, const std::vector<Tensor>& kernels, std::vector<std::string>* outs) {
  Graph s;
  s.opset = 13;
  s.opset_imports[""] = 13;
  const std::string x = "x";
  s.inputs.push_back(ValueInfo{x, DType::Float32, std::nullopt});
  s.initializers["b"] = fc.kernel.bias;
  for (size_t i = 0; i < kernels.size(); ++i) {
    Node n = fc.node;
    n.name = "conv" + std::to_string(i);
    const std::string w = "w" + std::to_string(i), y = "y" + std::to_string(i);
    n.inputs = {x, w, "b"};
    n.outputs = {y};
    s.initializers[w] = kernels[i];
    s.nodes.push_back(std::move(n));
    s.outputs.push_back(ValueInfo{y, DType::Float32, std::nullopt});
    outs->push_back(y);
  }
  return s;
}

std::string branch_stds(const BlockReport& r) {
  std::string s;
  for (const auto& b : r.branches) s += (s.empty() ? "" : ", ") + b.label + " " + fmt("%.3g", b.out.std);
  return s;
}

}  // namespace

const WeightQuantError* BlockReport::weight_error(const std::string& name) const {
  for (const auto& e : weight_errors)
    if (e.name == name) return &e;
  return nullptr;
}

Verdict make_verdict(const BlockReport& r, const VerdictOptions& o) {
  Verdict v;
  const WeightQuantError* w8t = r.weight_error("w8_per_tensor");
  const WeightQuantError* w8c = r.weight_error("w8_per_channel");
  const WeightQuantError* w4c = r.weight_error("w4_per_channel");
  const WeightQuantError* w4m = r.weight_error("w4_per_channel_mse");
  if (!w8t || !w8c || !w4c || !w4m)
    throw Error("RepVGG block '" + r.block.name + "': weight figures missing");
  const std::string centre =
      std::to_string(r.channels_max_at_centre) + "/" + std::to_string(r.channels.size());
  const std::string kernel = "fused kernel max|w| " + fmt("%.3g", r.kernel_max_abs) + " = " +
                             fmt("%.1f", r.kernel_max_over_std) + "x its std (largest tap at the centre in " +
                             centre + " channels)";

  v.weights_ok = !(w8t->output.sqnr_db < o.min_weight_sqnr_db);
  v.weights =
      std::string(v.weights_ok ? "ok" : "FAILS") + " (weights quantization-friendly): " + kernel +
      "; INT8 per-tensor layer SQNR " + db(w8t->output.sqnr_db) + ", per-channel " + db(w8c->output.sqnr_db) +
      (v.weights_ok ? ""
                    : ". Paper's remedy: train without RepVGG's custom L2 (plain weight decay), as "
                      "QARepVGG does, so the fused kernel stays narrow; per-channel weight scales also "
                      "help here");

  v.activations_ok = !(r.act_per_tensor.sqnr_db < o.min_act_sqnr_db);
  const double ratio = r.activation.std > 0 ? r.activation.max_abs / r.activation.std : 0;
  v.activations =
      std::string(v.activations_ok ? "ok" : "FAILS") +
      " (activations quantization-friendly): activation std " + fmt("%.3g", r.activation.std) + ", max " +
      fmt("%.3g", r.activation.max) + " (" + fmt("%.1f", ratio) + "x std); INT8 per-tensor SQNR " +
      db(r.act_per_tensor.sqnr_db) + " (per-channel " + db(r.act_per_channel.sqnr_db) +
      "); branch output std: " + branch_stds(r) +
      (v.activations_ok ? ""
                        : ". Paper's remedy: QARepVGG - no BN on the identity and 1x1 branches, one BN "
                          "after the sum, which keeps the summed variance in check");

  v.low_bit_ok =
      !(w4c->output.sqnr_db < o.min_low_bit_sqnr_db) && !(r.zero_share_w4_per_channel > o.max_w4_zero_share);
  v.low_bit =
      std::string(v.low_bit_ok ? "ok" : "FAILS") +
      " (4-bit weights, per channel): " + fmt("%.0f", 100 * r.zero_share_w4_per_channel) +
      "% of the weights round to zero (" + fmt("%.0f", 100 * r.zero_share_w8_per_channel) +
      "% at 8 bits); the largest tap sets each channel's " + "scale and is the centre tap in " + centre +
      " channels; W4 per-channel layer SQNR " + db(w4c->output.sqnr_db) + ", with MSE clipping " +
      db(w4m->output.sqnr_db) +
      (v.low_bit_ok ? ""
                    : ". Remedies that work at 4 bits: keep this layer at 8 bits (or float), per-channel "
                      "error-search clipping (quantize --weight-method mse), or OBQ/GPTQ error compensation");
  return v;
}

RepvggReport diagnose(const Graph& g, Dataset& data, const RepvggOptions& o, FusedModel* fused_out) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.batch < 1) throw Error("RepVGG diagnostics: batch must be >= 1");
  if (data.size() == 0) throw Error("RepVGG diagnostics: the calibration data set is empty");
  RepvggReport rep;
  rep.tolerance = o.tolerance;
  rep.thresholds = o.verdict;
  Detection det = detect_blocks(g);
  rep.skipped = det.skipped;
  FusedModel fm = fuse_graph(g, det.blocks);
  const int64_t n = o.count > 0 ? std::min(o.count, data.size()) : data.size();
  rep.samples = n;
  // Three passes over the data: the fusion check, statistics, activation error (needs the ranges).
  auto stage = [&](int k) -> ProgressFn {
    if (!o.progress) return nullptr;
    return [&, k](int64_t done, int64_t) { return o.progress(k * n + done, 3 * n); };
  };
  rep.fusion = check_fusion(g, fm.graph, det.blocks, data, n, o.batch, stage(0));
  for (size_t i = 0; i < det.blocks.size(); ++i)
    if (!(rep.fusion.block_rel_error[i] <= o.tolerance))
      throw Error("RepVGG block '" + det.blocks[i].name +
                  "': the fused conv differs from the original block by " +
                  fmt("%.3g", rep.fusion.block_rel_error[i]) + " (relative, max allowed " +
                  fmt("%.3g", o.tolerance) + ") at '" + det.blocks[i].output + "'");
  if (!(rep.fusion.output_rel_error <= o.tolerance))
    throw Error("RepVGG fusion: the fused model's output differs from the original's by " +
                fmt("%.3g", rep.fusion.output_rel_error) + " (relative, max allowed " +
                fmt("%.3g", o.tolerance) + ")");

  // Static figures of every fused kernel and the per-block conv banks.
  std::vector<BlockWork> work(det.blocks.size());
  for (size_t i = 0; i < det.blocks.size(); ++i) {
    const Block& b = det.blocks[i];
    const FusedConv& fc = fm.convs[i];
    BlockReport r;
    r.block = b;
    r.fused_node = fc.node.name;
    r.fused_weight = fc.weight;
    r.replaced = fc.replaced;
    r.fusion_rel_error = rep.fusion.block_rel_error[i];
    for (const auto& br : b.branches) {
      BranchStats bs;
      bs.label = br.label();
      bs.output = br.output;
      tensor_moments(branch_kernel(g, b, br).weight, &bs.kernel_std, &bs.kernel_max_abs);
      r.branches.push_back(bs);
    }
    const Tensor& w = fc.kernel.weight;
    tensor_moments(w, &r.kernel_std, &r.kernel_max_abs);
    r.kernel_max_over_std = r.kernel_std > 0 ? r.kernel_max_abs / r.kernel_std : 0;
    const auto z8c = zero_shares(w, minmax_params(w, wspec(8, true)));
    const auto z4c = zero_shares(w, minmax_params(w, wspec(4, true)));
    r.zero_share_w8_per_channel = mean_of(z8c);
    r.zero_share_w4_per_channel = mean_of(z4c);
    r.zero_share_w8_per_tensor = mean_of(zero_shares(w, minmax_params(w, wspec(8, false))));
    r.zero_share_w4_per_tensor = mean_of(zero_shares(w, minmax_params(w, wspec(4, false))));
    const int64_t cout = w.dim(0), per = w.numel() / cout, kh = w.dim(2), kw = w.dim(3);
    const int64_t centre = ((kh - 1) / 2) * kw + (kw - 1) / 2;
    for (int64_t c = 0; c < cout; ++c) {
      ChannelWeightStats cs;
      const Tensor wc = Tensor::from_vector<float>(
          {per}, std::vector<float>(w.data<float>() + c * per, w.data<float>() + (c + 1) * per));
      tensor_moments(wc, &cs.std, &cs.max_abs);
      cs.max_over_std = cs.std > 0 ? cs.max_abs / cs.std : 0;
      cs.zero_share_w8 = z8c[static_cast<size_t>(c)];
      cs.zero_share_w4 = z4c[static_cast<size_t>(c)];
      const float* p = wc.data<float>();
      int64_t arg = 0;
      for (int64_t j = 1; j < per; ++j)
        if (std::fabs(p[j]) > std::fabs(p[arg])) arg = j;
      cs.max_at_centre = arg % (kh * kw) == centre;
      r.channels_max_at_centre += cs.max_at_centre;
      r.channels.push_back(cs);
    }
    std::vector<Tensor> kernels{w};
    const double w2 = [&] {
      double s = 0;
      for (float v : w.span<float>()) s += static_cast<double>(v) * v;
      return s;
    }();
    for (const auto& cfg : kWeightConfigs) {
      const QuantSpec spec = wspec(cfg.bits, cfg.per_channel);
      const ChannelRanges cr = weight_range(w, spec, cfg.method);
      const QuantParams p = params_from_range(spec, cr.lo, cr.hi);
      kernels.push_back(fake_quantize(w, p));
      WeightQuantError e;
      e.name = cfg.name;
      e.bits = cfg.bits;
      e.per_channel = cfg.per_channel;
      e.method = cfg.method;
      double err = 0;
      for (double x : weight_quant_sq_error(w, p)) err += x;
      e.weight_sqnr_db = sqnr_db(w2, err);
      r.weight_errors.push_back(e);
    }
    BlockWork& wk = work[i];
    wk.convs = std::make_unique<Executor>(conv_bank(fc, kernels, &wk.conv_outputs));
    wk.branch.resize(b.branches.size());
    wk.werr.resize(std::size(kWeightConfigs));
    rep.blocks.push_back(std::move(r));
  }

  Executor ex(g);
  std::vector<std::string> fetch;
  for (const auto& b : det.blocks) {
    fetch.push_back(b.input);
    fetch.push_back(b.output);
    fetch.push_back(b.activation);
    for (const auto& br : b.branches) fetch.push_back(br.output);
  }
  std::sort(fetch.begin(), fetch.end());
  fetch.erase(std::unique(fetch.begin(), fetch.end()), fetch.end());

  // Pass 2: statistics and weight errors.
  const ProgressFn p1 = stage(1);
  for (int64_t begin = 0; begin < n && !det.blocks.empty(); begin += o.batch) {
    if (p1 && !p1(begin, n)) throw CancelledError();
    Batch bt = data.read(begin, std::min(o.batch, n - begin));
    auto v = ex.run(feeds_of(g, bt), fetch);
    for (size_t i = 0; i < det.blocks.size(); ++i) {
      const Block& b = det.blocks[i];
      BlockWork& wk = work[i];
      for (size_t k = 0; k < b.branches.size(); ++k) wk.branch[k].add(v.at(b.branches[k].output));
      wk.pre.add(v.at(b.output));
      const Tensor& a = v.at(b.activation);
      wk.act.add(a);
      if (a.dtype() == DType::Float32 && a.rank() >= 2) {
        const ChannelLayout L = channel_layout(a.shape(), 1);
        if (wk.ch_lo.empty()) {
          wk.ch_lo.assign(static_cast<size_t>(L.channels), std::numeric_limits<double>::infinity());
          wk.ch_hi.assign(static_cast<size_t>(L.channels), -std::numeric_limits<double>::infinity());
        }
        const float* d = a.data<float>();
        for (int64_t ou = 0; ou < L.outer; ++ou)
          for (int64_t c = 0; c < L.channels; ++c)
            for (int64_t j = 0; j < L.inner; ++j) {
              const double x = d[(ou * L.channels + c) * L.inner + j];
              wk.ch_lo[static_cast<size_t>(c)] = std::min(wk.ch_lo[static_cast<size_t>(c)], x);
              wk.ch_hi[static_cast<size_t>(c)] = std::max(wk.ch_hi[static_cast<size_t>(c)], x);
            }
      }
      auto y = wk.convs->run({{"x", v.at(b.input)}}, wk.conv_outputs);
      const Tensor& ref = y.at(wk.conv_outputs[0]);
      for (size_t k = 0; k < wk.werr.size(); ++k) wk.werr[k].add(ref, y.at(wk.conv_outputs[k + 1]));
    }
  }

  // Activation ranges → INT8 parameters (calibrate.h's activation convention; per channel along axis 1).
  const QuantSpec aspec = activation_spec(CalibrationOptions{});
  for (size_t i = 0; i < det.blocks.size(); ++i) {
    BlockWork& wk = work[i];
    const Moments m = wk.act.get();
    wk.act_params_pt = params_from_range(aspec, {static_cast<float>(m.count ? m.min : 0)},
                                         {static_cast<float>(m.count ? m.max : 0)});
    if (!wk.ch_lo.empty()) {
      QuantSpec pc = aspec;
      pc.axis = 1;
      std::vector<float> lo(wk.ch_lo.begin(), wk.ch_lo.end()), hi(wk.ch_hi.begin(), wk.ch_hi.end());
      wk.act_params_pc = params_from_range(pc, lo, hi);
      wk.per_channel_act = true;
    }
  }
  // Pass 3: activation error.
  std::vector<std::string> afetch;
  for (const auto& b : det.blocks) afetch.push_back(b.activation);
  std::sort(afetch.begin(), afetch.end());
  afetch.erase(std::unique(afetch.begin(), afetch.end()), afetch.end());
  const ProgressFn p2 = stage(2);
  for (int64_t begin = 0; begin < n && !det.blocks.empty(); begin += o.batch) {
    if (p2 && !p2(begin, n)) throw CancelledError();
    Batch bt = data.read(begin, std::min(o.batch, n - begin));
    auto v = ex.run(feeds_of(g, bt), afetch);
    for (size_t i = 0; i < det.blocks.size(); ++i) {
      BlockWork& wk = work[i];
      const Tensor& a = v.at(det.blocks[i].activation);
      if (a.dtype() != DType::Float32) continue;
      wk.act_pt.add(a, fake_quantize(a, wk.act_params_pt));
      if (wk.per_channel_act) wk.act_pc.add(a, fake_quantize(a, wk.act_params_pc));
    }
  }
  if (o.progress) o.progress(3 * n, 3 * n);

  for (size_t i = 0; i < rep.blocks.size(); ++i) {
    BlockReport& r = rep.blocks[i];
    BlockWork& wk = work[i];
    for (size_t k = 0; k < r.branches.size(); ++k) r.branches[k].out = wk.branch[k].get();
    r.pre_activation = wk.pre.get();
    r.activation = wk.act.get();
    for (size_t k = 0; k < r.weight_errors.size(); ++k) r.weight_errors[k].output = wk.werr[k].stats();
    r.act_per_tensor = wk.act_pt.stats();
    r.act_per_channel = wk.act_pc.stats();
    r.verdict = make_verdict(r, o.verdict);
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (fused_out) *fused_out = std::move(fm);
  return rep;
}

}  // namespace qs::repvgg
