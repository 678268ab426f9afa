// EPTQ: whole-model Hessian-aware distillation (Gordon et al., "EPTQ: Enhanced Post-Training Quantization
// via Hessian-guided Network-wise Optimization"; DESIGN.md §5). The rounding of every quantized weight is
// learned jointly for the whole model, on unlabeled calibration data:
//
//   W_soft = (clamp(floor(W/s) + h(V) + zp, qmin, qmax) − zp)·s,  h(V) = clip(σ(V)(ζ−γ) + γ, 0, 1),
//   ζ = 1.1, γ = −0.1 (AdaRound's rectified sigmoid), V initialized so that W_soft = W inside the range;
//   loss = Σ_l w_l · mean((z_l^quant − z_l^float)²) + λ · Σ_l (1/F_l) Σ_{i in l} (1 − |2h_i − 1|^β),
//
// where z_l is the activation point that follows layer l (its output, or its fused Relu/Clip's output),
// fake-quantized per the plan in the quantized model (straight-through rounding), and z_l^float the same
// value of the float model on the same images. w_l is the layer's LFH weight (lfh_objective_weight of
// z_l, core/algo/lfh.h) or 1 (uniform), scaled to mean 1. F_l is the number of elements of z_l per image:
// AdaRound balances λ Σ_i (1 − |2h_i − 1|^β) against a reconstruction error summed over a sample's
// features; dividing both by F_l keeps each layer's balance AdaRound's (λ = 0.01) while the distillation
// term stays a mean, as the paper writes it. (A mean over each layer's weights, tried first, left the
// zoo LeNet's rounding far from binary after 500 iterations: hard and soft losses differed 200-fold.) β
// anneals linearly from 20 to 2 after a warm-up (20 % of the iterations) without regularizer. Adam on V
// (and, optionally, on the biases and on the log of the per-channel weight scales).
//
// The hard rounding (h = 1 where V ≥ 0) is evaluated on a fixed set of calibration images every
// `eval_every` iterations and at the end; the result is the best hard rounding seen, starting from
// round-to-nearest, so it is never worse than RTN on those images and a cancel keeps the best so far.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/algo/lfh.h"
#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/quant/plan.h"
#include "core/quant/quant_points.h"

namespace qs {

struct EptqStep {
  int iteration = 0;   // 1-based
  int iterations = 0;  // total planned
  double loss = 0;     // distillation + λ·regularizer on this iteration's batch (soft rounding)
  double distill = 0;
  double reg = 0;  // the regularizer before λ: Σ_l (1/F_l) Σ_i (1 − |2h_i − 1|^β)
  double beta = 0;
  double eval_loss =
      -1;  // distillation loss of the hard rounding on the evaluation images, -1 if not evaluated
  double best_eval_loss = 0;
};

struct EptqOptions {
  int iterations = 1000;
  int64_t batch = 16;         // images per iteration, drawn from the first calib_count
  int64_t calib_count = 256;  // calibration images (the first N of the dataset)
  double lr = 3e-2;           // Adam on the rounding variables V
  bool learn_bias = false;
  double lr_bias = 1e-3;
  bool learn_scales = false;  // per-channel weight scales, as log-scale offsets
  double lr_scale = 1e-3;
  double reg_lambda = 0.01;
  double beta_start = 20, beta_end = 2;
  double warmup = 0.2;      // fraction of iterations without the regularizer
  bool lfh_weights = true;  // false: uniform layer weights
  LfhOptions lfh;           // for the LFH weights (when lfh_weights and layer_weights is empty)
  std::map<std::string, double> layer_weights;  // given weights by target activation (overrides LFH)
  int eval_every = 50;
  int64_t eval_count = 64;  // evaluation images (the first N of the calibration images)
  uint64_t seed = 0;
  // Called after every iteration; false cancels (the best rounding so far is returned, not an error).
  std::function<bool(const EptqStep&)> progress;
};

struct EptqLayer {
  std::string layer, weight, target;  // node, weight initializer, activation point distilled
  double weight_factor = 0;           // w_l
  int64_t elements = 0;
  int64_t changed = 0;  // weights rounded differently from round-to-nearest
};

struct EptqResult {
  // The model with every tuned weight replaced by its value on the plan's grid, (q − zp)·s (and learned
  // biases when learn_bias); simulating it under `plan` gives the EPTQ model.
  Graph graph;
  QuantPlan plan;  // the input plan, with learned weight scales when learn_scales
  std::vector<EptqLayer> layers;
  std::vector<EptqStep> curve;
  double rtn_eval_loss = 0;   // round-to-nearest on the evaluation images
  double best_eval_loss = 0;  // the returned rounding on the evaluation images
  int best_iteration = 0;     // 0: round-to-nearest was never beaten
  int iterations_run = 0;
  bool cancelled = false;
  double seconds = 0, lfh_seconds = 0;
};

// Throws Error for bad options, a plan that does not fit the model, or a plan without quantized weights;
// UnsupportedError naming the node when an op on the way from a weight to a distilled value has no VJP.
EptqResult eptq(const Graph& g, Dataset& data, const QuantPlan& plan, const EptqOptions& o);

}  // namespace qs
