#include "core/ops/conv_phase.h"

#include <algorithm>

#include "core/ops/conv_panels.h"

namespace qs {

namespace {
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
}  // namespace

PhasePlanes::PhasePlanes(const ConvGeometry& g) {
  const bool two = g.spatial_rank() == 2;
  H_ = two ? g.in[0] : 1;
  W_ = g.in.back();
  sh_ = two ? g.strides[0] : 1;
  sw_ = g.strides.back();
  dh_ = two ? g.dilations[0] : 1;
  dw_ = g.dilations.back();
  ph_ = two ? g.pad_begin[0] : 0;
  pw_ = g.pad_begin.back();
  const int64_t pe = g.pad_end.back(), OW = g.out.back();
  const int64_t KH = two ? g.kernel[0] : 1;
  pitch_ = sw_ == 1 ? std::max(W_ + std::max(pw_, pe), OW) : ceil_div(W_ + pw_ + pe, sw_);
  lead_ = sw_ == 1 ? pw_ : 0;
  halo_ = (KH - 1) * dh_ / sh_;
}

PhasePlanes::Tap PhasePlanes::tap(int64_t kh, int64_t kw) const {
  const int64_t phase = (kh * dh_ % sh_) * sw_ + kw * dw_ % sw_;
  // Unit column stride: columns are input columns, so the tap moves by kw*dw - pw (into the lead or the
  // previous row's trailing zeros when negative). Otherwise the phase index moves by (kw*dw) / sw.
  const int64_t col = sw_ == 1 ? kw * dw_ - pw_ : kw * dw_ / sw_;
  return {phase, lead_ + (kh * dh_ / sh_) * pitch_ + col};
}

void PhasePlanes::fill(const float* x, int64_t oh0, int64_t rows, float* dst) const {
  // Rows are short (small feature maps): inline loops, not library calls.
  auto zero = [](float* d, int64_t n) {
    for (int64_t j = 0; j < n; ++j) d[j] = 0.f;
  };
  const int64_t plane = plane_floats(rows);
  if (sw_ == 1) {
    for (int64_t a = 0; a < sh_; ++a) {
      float* d = dst + a * plane;
      zero(d, lead_);
      d += lead_;
      for (int64_t r = 0; r < rows; ++r, d += pitch_) {
        const int64_t ih = (oh0 + r) * sh_ + a - ph_;  // input row of this phase row
        if (ih < 0 || ih >= H_) {
          zero(d, pitch_);
          continue;
        }
        copy_run(d, x + ih * W_, W_);
        zero(d + W_, pitch_ - W_);
      }
    }
    return;
  }
  // Column stride > 1: each input row is dealt out to the sw column phases in one pass, straight from X
  // (building a padded row first and reading it back misaligned stalls on store forwarding).
  // Index j of phase b is input column j*sw + b - pw. Inside [lo, hi) every phase's column is in the
  // row; outside, columns are checked one by one.
  const int64_t lo = std::min(pitch_, ceil_div(pw_, sw_));
  const int64_t last = W_ - sw_ + pw_;  // j*sw <= last  <=>  all phases inside
  const int64_t hi = last < 0 ? lo : std::clamp<int64_t>(last / sw_ + 1, lo, pitch_);
  for (int64_t a = 0; a < sh_; ++a)
    for (int64_t r = 0; r < rows; ++r) {
      float* d = dst + a * sw_ * plane + r * pitch_;  // phase (a, b) row r is d + b * plane; lead is 0
      const int64_t ih = (oh0 + r) * sh_ + a - ph_;   // input row of this phase row
      if (ih < 0 || ih >= H_) {
        for (int64_t b = 0; b < sw_; ++b) zero(d + b * plane, pitch_);
        continue;
      }
      const float* src = x + ih * W_;
      auto edge = [&](int64_t j) {
        for (int64_t b = 0; b < sw_; ++b) {
          const int64_t c = j * sw_ + b - pw_;
          d[b * plane + j] = c >= 0 && c < W_ ? src[c] : 0.f;
        }
      };
      for (int64_t j = 0; j < lo; ++j) edge(j);
      const float* s = src + (lo * sw_ - pw_);  // input column of phase 0 at j = lo
      if (sw_ == 2) {                           // the common case: a constant stride the compiler vectorizes
        for (int64_t j = 0; j < hi - lo; ++j) {
          d[lo + j] = s[2 * j];
          d[plane + lo + j] = s[2 * j + 1];
        }
      } else {
        for (int64_t j = 0; j < hi - lo; ++j)
          for (int64_t b = 0; b < sw_; ++b) d[b * plane + lo + j] = s[j * sw_ + b];
      }
      for (int64_t j = hi; j < pitch_; ++j) edge(j);
    }
}

}  // namespace qs
