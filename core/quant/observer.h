// Activation range estimators for calibration. An observer sees a float32 activation batch by batch
// (observe) and then gives one float range per tensor (range), to be turned into scale and zero point by
// params_from_range with the same QuantSpec. Activations are quantized per tensor.
//
// Methods:
//   minmax      exact min and max over all batches.
//   ema         exponential moving average of each batch's min and max, lo ← m·lo + (1 − m)·batch_min with
//               momentum m (0.999 as in QAT, Jacob et al.); the first batch initializes.
//   percentile  the p-th percentile (default 99.99) of a streaming histogram; asymmetric specs take
//               [P(100 − p), P(p)] of x, symmetric specs ±P(p) of |x|.
//   mse         the clip range minimizing the expected squared fake-quantization error of the histogram
//               (rounding and clipping), see mse_optimal_range.
//   kl          TensorRT entropy calibration: the clip range minimizing KL(P‖Q) between the clipped
//               histogram and its quantization into as many groups as the spec has levels, see
//               kl_optimal_range.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/quant/histogram.h"
#include "core/quant/quantizer.h"
#include "core/tensor/tensor.h"

namespace qs {

struct Range {
  float lo = 0.0f;
  float hi = 0.0f;
};

struct ObserverOptions {
  double ema_momentum = 0.999;  // ema: weight of the running value, in [0, 1)
  double percentile = 99.99;    // percentile: upper percentile in [50, 100]; the lower one is 100 − p
  int histogram_bins = Histogram::kDefaultBins;
};

class Observer {
 public:
  // Throws Error for an invalid spec and UnsupportedError for a per-channel one (spec.axis != -1).
  explicit Observer(const QuantSpec& spec);
  virtual ~Observer() = default;
  Observer(const Observer&) = delete;
  Observer& operator=(const Observer&) = delete;

  // Adds one batch; the tensor must be float32 and finite (Error otherwise). Empty tensors are ignored.
  void observe(const Tensor& t);
  // The calibrated range; throws Error when no value has been observed.
  Range range() const;

  virtual std::string method() const = 0;
  const QuantSpec& spec() const { return spec_; }
  int64_t batches() const { return batches_; }

 protected:
  virtual void observe_values(std::span<const float> values) = 0;
  virtual Range compute_range() const = 0;

 private:
  QuantSpec spec_;
  int64_t batches_ = 0;
};

class MinMaxObserver : public Observer {
 public:
  using Observer::Observer;
  std::string method() const override { return "minmax"; }

 protected:
  void observe_values(std::span<const float> values) override;
  Range compute_range() const override { return {lo_, hi_}; }

 private:
  float lo_ = 0.0f, hi_ = 0.0f;
};

class EmaObserver : public Observer {
 public:
  EmaObserver(const QuantSpec& spec, double momentum);
  std::string method() const override { return "ema"; }

 protected:
  void observe_values(std::span<const float> values) override;
  Range compute_range() const override;

 private:
  double momentum_;
  double lo_ = 0.0, hi_ = 0.0;  // accumulated in double so long runs do not drift
};

// Base of the observers working on a streaming histogram (of |x| when absolute()).
class HistogramObserver : public Observer {
 public:
  HistogramObserver(const QuantSpec& spec, int bins, bool absolute);
  const Histogram& histogram() const { return hist_; }
  bool absolute() const { return absolute_; }

 protected:
  void observe_values(std::span<const float> values) override { hist_.add(values, absolute_); }

 private:
  Histogram hist_;
  bool absolute_;
};

class PercentileObserver : public HistogramObserver {
 public:
  PercentileObserver(const QuantSpec& spec, double percentile, int bins);
  std::string method() const override { return "percentile"; }

 protected:
  Range compute_range() const override;

 private:
  double percentile_;
};

class MseObserver : public HistogramObserver {
 public:
  MseObserver(const QuantSpec& spec, int bins) : HistogramObserver(spec, bins, false) {}
  std::string method() const override { return "mse"; }

 protected:
  Range compute_range() const override;
};

class KlObserver : public HistogramObserver {
 public:
  KlObserver(const QuantSpec& spec, int bins) : HistogramObserver(spec, bins, spec.symmetric) {}
  std::string method() const override { return "kl"; }

 protected:
  Range compute_range() const override;
};

// "minmax", "ema", "percentile", "mse", "kl".
const std::vector<std::string>& observer_methods();
// Throws Error for an unknown method (listing the valid ones) or invalid options.
std::unique_ptr<Observer> make_observer(const std::string& method, const QuantSpec& spec,
                                        const ObserverOptions& options = {});

// Expected squared error E[(x − FQ(x))²] of fake-quantizing values distributed as `h`, each bin's mass
// taken as uniform over the part of the bin inside [min, max] seen. The integral is exact for that
// density (per quantization cell in closed form), covering rounding and clipping. `p` is per tensor.
double histogram_quant_mse(const Histogram& h, const QuantParams& p);

// MSE-optimal clip range on a histogram of x. Candidates, with K = h.num_bins(), lo0 = min(min, 0),
// hi0 = max(max, 0):
//   symmetric:  ±t_k, t_k = max(−lo0, hi0)·k/K for k = 1..K, every one evaluated;
//   asymmetric: [lo0·a/K, hi0·b/K] for a, b in 0..K: when one side is 0 the other is searched
//               exhaustively; otherwise the proportional shrinks a = b = k (all k) first, then coordinate
//               descent — move b with a fixed, then a with b fixed, each scan coarse-to-fine (every 8th
//               position, then all within 8 of the best) — until a round improves nothing.
// Ties go to the wider range. Returns {0, 0} when every value is 0.
Range mse_optimal_range(const Histogram& h, const QuantSpec& spec);

// Entropy calibration (TensorRT, Migacz 2017; smoothing as in MXNet). Symmetric specs need a histogram of
// |x| (lo() == 0) and use L = 2^(bits−1) levels; asymmetric ones a histogram of x and L = 2^bits. For each
// window of i bins, i = min(L, K)..K — [0, i) for |x|; for x, i bins placed around zero in proportion to
// the two sides (the clip range shrinks toward 0 by i/K) — P is the window with the mass outside added to
// its edge bins, Q the window (without that mass) merged into L groups of i/L bins (the last takes the
// rest), each group's mass spread evenly over its non-empty bins; both are smoothed (eps = 1e-4 counts
// moved to empty bins) and the window with the smallest KL(P‖Q) wins (ties: the wider). The range is the
// window's edges, limited to [min(min, 0), max(max, 0)]; ±t for symmetric specs.
Range kl_optimal_range(const Histogram& h, const QuantSpec& spec);

}  // namespace qs
