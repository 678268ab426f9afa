// im2col (Conv) and its adjoint col2im (ConvTranspose) for any spatial rank.
//
// A PatchMap relates a grid of positions (Conv output / ConvTranspose input) to an image (Conv input /
// ConvTranspose output): grid position q and kernel offset k tap image position
// q*stride - pad_begin + k*dilation on each spatial axis (taps outside the image are padding).
// The column matrix has one row per (channel, kernel offset) — channel-major, kernel offsets row-major,
// i.e. the order of a flattened ONNX weight (C/group x k1 x ... x kn) — and one column per grid position.
#pragma once

#include <cstdint>
#include <vector>

#include "core/ops/conv_geometry.h"
#include "core/ops/conv_panels.h"

namespace qs {

struct PatchMap {
  std::vector<int64_t> image, grid, kernel, strides, dilations, pad_begin;
};

PatchMap conv_patch_map(const ConvGeometry& g);            // image = X spatial, grid = Y spatial
PatchMap conv_transpose_patch_map(const ConvGeometry& g);  // image = Y spatial, grid = X spatial

// Row k of the column matrix — channel k / kernel size at kernel offset k % kernel size — over grid
// positions [p0, p1): the tapped image value, or 0 in the padding; value j goes to row dst.first + j of
// the panels (core/ops/conv_panels.h). `image` points at the first channel plane. Any spatial rank: a
// walker splits positions into runs along the innermost axis. (1-D and 2-D convolutions use the faster
// phase planes of core/ops/conv_phase.h instead.)
void im2col_row(const PatchMap& m, const float* image, int64_t k, int64_t p0, int64_t p1,
                const PanelDest& dst);

// The adjoint over all grid positions and rows of `channels` channels: image[tap(r, j)] += col[r][j] (row
// stride = grid size); taps that fall outside the image are dropped. Rows are added in order, so the result
// is deterministic.
void col2im_add(const PatchMap& m, const float* col, int64_t channels, float* image);

}  // namespace qs
