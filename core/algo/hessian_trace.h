// The trace of the Hessian of the labeled cross-entropy loss with respect to each quantizable tensor: the
// reference LFH is validated against (LFH needs no labels; this does). Hutchinson with Rademacher probes v
// on the tensor itself, Tr(H) = E_v vᵀHv, one tensor perturbed at a time by ±h·v, h = epsilon · RMS(z).
// Two ways to get vᵀHv:
//   - kGradientDifferences: the Hessian-vector product by central differences of gradients,
//     Hv ≈ (∇L(z + h·v) − ∇L(z − h·v)) / 2h (2 forward + backward passes). The full Hessian of any model,
//     but in a ReLU network every activation kink the perturbation crosses adds a gradient jump divided
//     by 2h, so the estimate is noisy there unless h is tiny, which float32 gradients do not allow.
//   - kGaussNewton: vᵀHv = (Jv)ᵀ H_CE (Jv), H_CE = diag(p) − ppᵀ the Hessian of the cross-entropy in the
//     logits, Jv by central differences of the outputs (2 forward passes). The output is continuous, so a
//     crossed kink costs O(h) only. This is the exact Hessian where the model is piecewise linear in z
//     (ReLU/Clip/MaxPool networks: every per-tensor diagonal block of the weight Hessian too, since such a
//     network is piecewise linear in any one layer's weights); with smooth nonlinearities (Tanh, Softmax
//     inside the model, LayerNorm) it omits the curvature of the model itself.
// The loss is the cross-entropy of the model's output read as logits [B, K] against the dataset's labels,
// summed over the batch; traces are averaged over samples. For weights the batch shares one perturbation,
// so batch = 1 gives per-image Hessians (a larger batch gives an unbiased, noisier estimate).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/quant/plan.h"
#include "core/quant/quant_points.h"

namespace qs {

enum class HessianMethod { kGradientDifferences, kGaussNewton };

struct HessianTraceOptions {
  HessianMethod method = HessianMethod::kGradientDifferences;
  int64_t samples = 32;
  int probes = 16;        // Hutchinson probes per batch and tensor
  double epsilon = 1e-3;  // finite-difference step relative to the tensor's RMS
  uint64_t seed = 0;
  int64_t batch = 8;
  ProgressFn progress;  // (samples done, total); false cancels
};

struct HessianTraceTensor {
  std::string tensor;
  TensorKind kind = TensorKind::Activation;
  double trace = 0;
};

struct HessianTraceResult {
  std::vector<HessianTraceTensor> tensors;  // weights then activations, as compute_lfh
  double seconds = 0;
};

// Throws Error when the dataset has no labels or the output is not [B, K] with labels in [0, K).
HessianTraceResult labeled_hessian_trace(const Graph& g, Dataset& data, const QuantPoints& points,
                                         const HessianTraceOptions& o);

// Spearman rank correlation of two equally long sequences (ties get their average rank); NaN when fewer
// than 2 values or when either sequence is constant.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace qs
