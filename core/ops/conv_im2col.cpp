#include "core/ops/conv_im2col.h"

#include <algorithm>

#include "core/ops/conv_panels.h"

namespace qs {

namespace {

// Calls visit(row, col0, len, jlo, jhi, base, step) for every row (channel, kernel offset) and every run of
// grid positions [p0, p1) that lies along the innermost grid axis: columns col0 .. col0+len-1 (relative to
// p0) tap image elements base + j*step for j in [jlo, jhi) and padding elsewhere. Splitting at the
// innermost axis makes the per-element work a tight strided loop whatever the spatial rank.
template <typename Visit>
void walk_patches(const PatchMap& m, int64_t row0, int64_t row1, int64_t p0, int64_t p1, Visit&& visit) {
  if (p0 >= p1) return;  // also guards the divisions below when the grid is empty
  const size_t n = m.kernel.size();
  const size_t last = n - 1;
  const int64_t image_size = numel(m.image), ksize = numel(m.kernel);
  const std::vector<int64_t> image_strides = strides_of(m.image);
  const int64_t inner_grid = m.grid[last], inner_image = m.image[last];
  const int64_t step = m.strides[last];
  std::vector<int64_t> q0(n), q(n), k(n);
  for (int64_t a = static_cast<int64_t>(last), r = p0; a >= 0; --a) {
    q0[static_cast<size_t>(a)] = r % m.grid[static_cast<size_t>(a)];
    r /= m.grid[static_cast<size_t>(a)];
  }
  for (int64_t row = row0; row < row1;) {
    const int64_t c = row / ksize;
    for (int64_t a = static_cast<int64_t>(last), r = row % ksize; a >= 0; --a) {
      k[static_cast<size_t>(a)] = r % m.kernel[static_cast<size_t>(a)];
      r /= m.kernel[static_cast<size_t>(a)];
    }
    for (int64_t kk = row % ksize; kk < ksize && row < row1; ++kk, ++row) {
      q = q0;
      for (int64_t p = p0; p < p1;) {
        const int64_t len = std::min(inner_grid - q[last], p1 - p);
        int64_t base = c * image_size, jlo = 0, jhi = 0;
        bool inside = true;
        for (size_t a = 0; a < last && inside; ++a) {
          const int64_t i = q[a] * m.strides[a] - m.pad_begin[a] + k[a] * m.dilations[a];
          inside = i >= 0 && i < m.image[a];
          base += i * image_strides[a];
        }
        if (inside) {
          const int64_t i0 = q[last] * step - m.pad_begin[last] + k[last] * m.dilations[last];
          jlo = i0 >= 0 ? 0 : (-i0 + step - 1) / step;
          jhi = i0 >= inner_image ? 0 : (inner_image - 1 - i0) / step + 1;
          jlo = std::min(jlo, len);
          jhi = std::max(jlo, std::min(jhi, len));
          base += i0;
        }
        visit(row, p - p0, len, jlo, jhi, base, step);
        p += len;
        q[last] += len;
        for (size_t a = last; a > 0 && q[a] == m.grid[a]; --a) {
          q[a] = 0;
          ++q[a - 1];
        }
      }
      for (size_t a = n; a-- > 0;) {  // next kernel offset, last axis fastest
        if (++k[a] < m.kernel[a]) break;
        k[a] = 0;
      }
    }
  }
}

PatchMap make_map(const ConvGeometry& g, bool transpose) {
  PatchMap m;
  m.image = transpose ? g.out : g.in;
  m.grid = transpose ? g.in : g.out;
  m.kernel = g.kernel;
  m.strides = g.strides;
  m.dilations = g.dilations;
  m.pad_begin = g.pad_begin;
  return m;
}

}  // namespace

PatchMap conv_patch_map(const ConvGeometry& g) { return make_map(g, false); }
PatchMap conv_transpose_patch_map(const ConvGeometry& g) { return make_map(g, true); }

void im2col_row(const PatchMap& m, const float* image, int64_t k, int64_t p0, int64_t p1,
                const PanelDest& dst) {
  PanelWriter out(dst);
  walk_patches(m, k, k + 1, p0, p1,
               [&](int64_t, int64_t, int64_t len, int64_t jlo, int64_t jhi, int64_t base, int64_t step) {
                 // base may be negative (the run starts in the padding); only base + j*step for
                 // j in [jlo, jhi) is inside the image.
                 out.zeros(jlo);
                 out.gather(image, base + jlo * step, step, jhi - jlo);
                 out.zeros(len - jhi);
               });
}

void col2im_add(const PatchMap& m, const float* col, int64_t channels, float* image) {
  const int64_t ld = numel(m.grid);
  walk_patches(m, 0, channels * numel(m.kernel), 0, ld,
               [&](int64_t row, int64_t col0, int64_t, int64_t jlo, int64_t jhi, int64_t base, int64_t step) {
                 const float* src = col + row * ld + col0;
                 if (step == 1) {
                   float* dst = image + base + jlo;
                   for (int64_t j = 0; j < jhi - jlo; ++j) dst[j] += src[jlo + j];
                 } else {
                   for (int64_t j = jlo; j < jhi; ++j) image[base + j * step] += src[j];
                 }
               });
}

}  // namespace qs
