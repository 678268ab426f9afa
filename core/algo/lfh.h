// LFH — the label-free Hessian of EPTQ: for every quantizable tensor z (weights and activation points), the
// trace of JᵀJ where J = ∂y/∂z is the Jacobian of the model output y with respect to z. Because
// Tr(JᵀJ) = E_v ‖Jᵀv‖² for Rademacher v on the output, one backward pass per probe gives every tensor at
// once (Hutchinson). The estimate needs no labels: it is the Gauss–Newton Hessian of ½‖y − y*‖² at y = y*.
//
// Per batch of images, probes are drawn until the running mean of every tensor's trace changes by less
// than `tol` (relative) after at least `min_probes`, or `max_probes` is reached; traces are averaged over
// `samples` calibration images (the first ones of the dataset). Seeded: the same seed and batch size give
// the same numbers. With a batch of B images (one probe vector per image) an activation's estimate splits
// exactly per image
// (Σ_b ‖J_bᵀ v_b‖²); a weight's gradient sums over the batch, so its estimate ‖Σ_b J_bᵀ v_b‖² is unbiased for
// Σ_b Tr(J_bᵀ J_b) (the cross terms have mean 0) but noisier: batch = 1 gives per-image estimates.
// Log-normalization (DESIGN.md §5): normalized = log10(t) − min log10(t), the minimum taken over the
// tensors of the same kind (weights and activations have different units) with t > 0; a tensor whose
// trace is 0 gets 0.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/quant/plan.h"
#include "core/quant/quant_points.h"

namespace qs {

struct LfhOptions {
  int64_t samples = 32;     // calibration images averaged (capped at the dataset's size)
  int min_probes = 10;      // Hutchinson probes per batch before the stopping rule may fire
  int max_probes = 100;     // cap of probes per batch
  double tol = 1e-3;        // stop when every tensor's running mean moves by < tol·|mean| after a probe
  uint64_t seed = 0;        // probes are drawn from this seed (and the batch's first sample and probe index)
  int64_t batch = 8;        // images per forward/backward pass
  bool per_channel = true;  // also report the trace per output channel (weights: their channel axis;
                            // activations: axis 1)
  ProgressFn progress;      // (samples done, total); false cancels (CancelledError)
};

struct LfhTensor {
  std::string tensor;  // ONNX value name (weight initializer or activation value)
  TensorKind kind = TensorKind::Activation;
  std::string layer;      // weights: the layer node; activations: the producer ("" for a graph input)
  double trace = 0;       // Tr(JᵀJ), averaged over samples
  double normalized = 0;  // log10(trace) − min of log10(trace) over the tensors of this kind (DESIGN.md §5)
  std::vector<double> per_channel;  // the trace split over channels (sums to `trace`); empty unless asked
  int probes = 0;                   // probes used per batch, averaged over batches (rounded)
};

struct LfhResult {
  std::vector<LfhTensor> tensors;  // weights then activations, each in the quantization points' order
  double seconds = 0;              // wall time of compute_lfh, less the reference forward passes below
  double forward_seconds = 0;      // one plain forward pass over the same samples, for the ratio

  const LfhTensor* find(const std::string& tensor) const;  // nullptr when absent
};

// Sets `normalized` of every tensor from the traces (per kind, as above).
void log_normalize(std::vector<LfhTensor>& tensors);

// The weight of a tensor's distortion in an objective summed over activations (EPTQ's distillation loss,
// the mixed-precision sensitivity): 1 + normalized. The log-normalized trace alone is 0 for the least
// sensitive activation, which is typically the model output itself (its trace is exactly its size, while
// earlier values feed it with gain), so the last layer's error would count for nothing; the offset keeps
// every observed tensor in the objective with the LFH ordering unchanged.
double lfh_objective_weight(const LfhTensor& t);

// The probes go on every float32 graph output. Throws UnsupportedError naming the node when an op on the
// path from a point to the output has no VJP, Error for bad options or a model without float32 outputs,
// CancelledError when progress returns false.
LfhResult compute_lfh(const Graph& g, Dataset& data, const QuantPoints& points, const LfhOptions& o);

}  // namespace qs
