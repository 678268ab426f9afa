// RepVGG branch diagnostics: why a re-parameterized network collapses under post-training quantization
// (QARepVGG, Chu et al. 2023), block by block, on calibration data.
//
// Per block (see block.h), with the block fused (fuse.h):
//   - each branch: std, mean and max|·| of its output; std and max|·| of its equivalent kernel (BN scaled
//   in);
//   - the fused kernel, per layer and per output channel: std, max|w|, max|w| / std, the share of weights
//     that round to zero at 8 and 4 bits (symmetric, narrow range, min/max scale — per channel, and for the
//     layer also per tensor), and whether the channel's largest tap is the centre tap (where the identity
//     and 1×1 branches land);
//   - isolated weight error: the fused conv alone, run on its float input with the fake-quantized kernel,
//     vs the same conv in float (SQNR of the conv output, as core/quant/analysis.h defines "isolated"),
//     for W8 and W4, per tensor and per channel (min/max), and W4 per channel with the MSE clip search
//     (core/quant/weight_range.h); also the SQNR of the weights themselves;
//   - the block's activation (the activation's output, or the block output when there is none): std,
//     mean, min, max, and the isolated SQNR of fake-quantizing it with an INT8 min/max range, per tensor
//     (QuantScope's convention for activations, asymmetric int8 as in calibrate.h) and per channel;
//   - a verdict on QARepVGG's two conditions (quantization-friendly weights; quantization-friendly
//     activations) at INT8 plus the low-bit weight condition the issue observed at 4 bits, each with a
//     one-line explanation and remedy.
//
// Thresholds (VerdictOptions), from what well-behaved tensors give: a Gaussian-like kernel (max ≈ 4σ)
// quantized per tensor at 8 bits gives ≈ 53 − 20·log10(max/σ) ≈ 41 dB, a ReLU'd Gaussian activation
// ≈ 44 dB; 30 dB means the range is ≳ 3× wider than such a tensor's. At 4 bits per channel a Gaussian
// kernel gives ≈ 18 dB; 12 dB is a bit's worth (6 dB) below that. The isolated SQNR understates the loss
// when the identity branch dominates the block's output (the part that survives is x itself), so the
// low-bit condition also fails when more than half of the fused kernel rounds to zero at 4 bits per
// channel — for a Gaussian-like kernel that share is ~20% (max ≈ 3.5σ), it passes 50% only when the
// largest tap is ≳ 10σ, as a one-hot identity centre tap over small 3×3 taps is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/algo/repvgg/block.h"
#include "core/algo/repvgg/fuse.h"
#include "core/data/dataset.h"
#include "core/quant/analysis.h"

namespace qs::repvgg {

struct VerdictOptions {
  double min_weight_sqnr_db = 30;   // condition 1 fails below: W8 per-tensor isolated SQNR of the fused conv
  double min_act_sqnr_db = 30;      // condition 2 fails below: A8 per-tensor SQNR of the block's activation
  double min_low_bit_sqnr_db = 12;  // low-bit condition fails below: W4 per-channel isolated SQNR,
  double max_w4_zero_share = 0.5;   // or when more than this share of the weights rounds to zero at W4
};

struct Moments {
  double mean = 0, std = 0, min = 0, max = 0, max_abs = 0;
  int64_t count = 0;
};

struct BranchStats {
  std::string label;                          // Branch::label()
  std::string output;                         // the summed value
  Moments out;                                // of the branch output over the calibration data
  double kernel_std = 0, kernel_max_abs = 0;  // its equivalent kernel
};

struct ChannelWeightStats {
  double std = 0, max_abs = 0, max_over_std = 0;
  double zero_share_w8 = 0, zero_share_w4 = 0;  // per-channel scale
  bool max_at_centre = false;                   // the channel's largest |tap| is at the kernel's centre
};

// Isolated error of the fused conv with its kernel fake-quantized one way.
struct WeightQuantError {
  std::string
      name;  // "w8_per_tensor", "w8_per_channel", "w4_per_tensor", "w4_per_channel", "w4_per_channel_mse"
  int bits = 8;
  bool per_channel = false;
  std::string method;         // "minmax" or "mse"
  ErrorStats output;          // conv output, fake-quantized kernel vs float kernel
  double weight_sqnr_db = 0;  // ‖w‖² / ‖w − FQ(w)‖², in dB
};

struct Verdict {
  bool weights_ok = true;      // QARepVGG condition 1: weights quantization-friendly (INT8)
  bool activations_ok = true;  // QARepVGG condition 2: activations quantization-friendly (INT8)
  bool low_bit_ok = true;      // the fused kernel survives 4-bit per-channel weights
  std::string weights, activations, low_bit;  // one line each: what the figures show and the remedy
  bool flagged_int8() const { return !weights_ok || !activations_ok; }
  bool flagged() const { return flagged_int8() || !low_bit_ok; }
};

struct BlockReport {
  Block block;
  std::string fused_node, fused_weight;  // names in the fused model
  std::vector<std::string> replaced;     // nodes of the original the fused conv replaces
  double fusion_rel_error = 0;
  std::vector<BranchStats> branches;
  Moments pre_activation;  // Block::output

  double kernel_std = 0, kernel_max_abs = 0, kernel_max_over_std = 0;
  double zero_share_w8_per_channel = 0, zero_share_w4_per_channel = 0;  // over the whole layer
  double zero_share_w8_per_tensor = 0, zero_share_w4_per_tensor = 0;
  int64_t channels_max_at_centre = 0;
  std::vector<ChannelWeightStats> channels;
  std::vector<WeightQuantError> weight_errors;
  const WeightQuantError* weight_error(const std::string& name) const;

  Moments activation;
  ErrorStats act_per_tensor, act_per_channel;  // INT8 min/max, isolated

  Verdict verdict;
};

struct RepvggOptions {
  int64_t count = 256;  // calibration samples (the first N)
  int64_t batch = 32;
  double tolerance = 1e-4;  // fusion check: max relative error allowed
  VerdictOptions verdict;
  ProgressFn progress;
};

struct RepvggReport {
  std::string model;
  int64_t samples = 0;
  double seconds = 0;
  double tolerance = 1e-4;
  VerdictOptions thresholds;
  FusionCheck fusion;
  std::vector<SkippedCandidate> skipped;
  std::vector<BlockReport> blocks;
  std::string fused_path;  // where the fused model was written ("" when not)
};

// Detects and fuses the blocks of `g` (imported with BatchNormalization unfused), checks the fusion, and
// computes every figure above on the first `o.count` samples of `data` (every input of the model fed from
// `data` and its attached inputs). Throws Error naming an input without data, and Error naming the block
// when the fused model differs from the original by more than o.tolerance. `fused` (when not null)
// receives the fused model.
RepvggReport diagnose(const Graph& g, Dataset& data, const RepvggOptions& o = {},
                      FusedModel* fused = nullptr);

// The verdict for figures already computed (exposed so the rules can be tested on their own).
Verdict make_verdict(const BlockReport& r, const VerdictOptions& o);

std::string report_to_json(const RepvggReport& r);

}  // namespace qs::repvgg
