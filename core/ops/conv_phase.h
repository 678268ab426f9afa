// Zero-padded "phase planes" of a 2-D convolution input (1-D is height 1), shared by the GEMM path and
// the depthwise kernel.
//
// The padded input is split into sh x sw phase planes: phase (a, b) holds padded rows a, a+sh, ... and
// padded columns b, b+sw, ...; rows are `pitch` floats apart. Output position (oh, ow) becomes flat
// index t = oh*pitch + ow, and kernel tap (kh, kw) reads phase plane ((kh*dh) % sh, (kw*dw) % sw) at
// t + a constant offset: every tap is a contiguous, unit-stride run over all output rows. Indices with
// ow >= OW are computed and dropped. With unit column stride the left padding of a row is the previous
// row's right padding (rows hold W values then max(pads) zeros, after a lead of pw zeros), which keeps
// the dropped columns few.
#pragma once

#include <cstdint>

#include "core/ops/conv_geometry.h"

namespace qs {

class PhasePlanes {
 public:
  explicit PhasePlanes(const ConvGeometry& g);  // g.spatial_rank() is 1 or 2

  int64_t pitch() const { return pitch_; }
  int64_t planes() const { return sh_ * sw_; }
  // Phase-plane rows needed for `out_rows` output rows (the taps reach `halo` rows further, plus one
  // row for the dropped columns of the last output row).
  int64_t rows_for(int64_t out_rows) const { return out_rows + halo_ + 1; }
  // Floats of one phase plane of `rows` rows; the planes of a channel are consecutive.
  int64_t plane_floats(int64_t rows) const { return lead_ + rows * pitch_; }
  // Where tap (kh, kw) reads: for planes of `rows` rows, output index t reads
  // [phase * plane_floats(rows) + fixed + t] from the first phase plane of the channel.
  struct Tap {
    int64_t phase, fixed;
    int64_t offset(const PhasePlanes& p, int64_t rows) const { return phase * p.plane_floats(rows) + fixed; }
  };
  Tap tap(int64_t kh, int64_t kw) const;
  // Writes the planes (rows each) of input plane x (H x W) for output rows oh0, oh0+1, ...:
  // planes() * plane_floats(rows) floats. Reads of the last plane may run up to one pitch past them.
  void fill(const float* x, int64_t oh0, int64_t rows, float* dst) const;

 private:
  int64_t H_, W_, sh_, sw_, dh_, dw_, ph_, pw_;
  int64_t pitch_, lead_, halo_;
};

}  // namespace qs
