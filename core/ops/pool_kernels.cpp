#include "core/ops/pool_kernels.h"

#include <algorithm>
#include <array>
#include <limits>

#include "core/common/error.h"
#include "core/common/parallel.h"
#include "core/tensor/shape.h"

namespace qs {

namespace {

using Scratch = std::array<int64_t, kMaxPoolSpatial>;

// ceil(a / b) for b > 0 and any sign of a.
int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Kernel taps [lo, hi) of the window of output `o` along one axis whose input positions
// start + k * dilation fall inside [0, in), with start = o * stride - pad_begin.
struct TapRange {
  int64_t start, lo, hi;
};
TapRange tap_range(int64_t o, int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                   int64_t pad_begin) {
  TapRange r;
  r.start = o * stride - pad_begin;
  r.lo = r.start >= 0 ? 0 : ceil_div(-r.start, dilation);
  r.hi = std::min(kernel, ceil_div(in - r.start, dilation));
  if (r.hi < r.lo) r.hi = r.lo;
  return r;
}

// Geometry of the row decomposition: the last spatial axis is the contiguous "row"; the other spatial axes
// ("outer") are walked with an odometer. For each tap kw of the last axis the outputs whose input
// position ow * stride + off[kw] lies inside the row form the contiguous range [lo[kw], hi[kw]), so the
// inner loops carry no bounds checks and vectorize (stride 1).
struct RowGeometry {
  size_t n = 0;  // spatial rank
  int64_t in_plane = 0, out_plane = 0;
  int64_t outer_count = 1;         // product of the outer output extents (rows of one output plane)
  std::vector<int64_t> in_stride;  // row-major strides of the spatial axes of X
  int64_t width = 0, out_width = 0, stride = 1;
  std::vector<int64_t> lo, hi, off;  // per tap of the last axis

  explicit RowGeometry(const PoolPlan& p) {
    n = p.in.size();
    in_plane = numel(p.in);
    out_plane = numel(p.out);
    in_stride = strides_of(p.in);
    for (size_t j = 0; j + 1 < n; ++j) outer_count *= p.out[j];
    width = p.in[n - 1];
    out_width = p.out[n - 1];
    stride = p.strides[n - 1];
    const int64_t k = p.kernel[n - 1];
    lo.resize(static_cast<size_t>(k));
    hi.resize(static_cast<size_t>(k));
    off.resize(static_cast<size_t>(k));
    for (int64_t kw = 0; kw < k; ++kw) {
      const size_t u = static_cast<size_t>(kw);
      off[u] = kw * p.dilations[n - 1] - p.pad_begin[n - 1];
      lo[u] = std::clamp<int64_t>(ceil_div(-off[u], stride), 0, out_width);
      hi[u] = std::clamp<int64_t>(ceil_div(width - off[u], stride), lo[u], out_width);
    }
  }
};

// Calls row(x_row) for every input row (fixed outer coordinates) inside the window of output row `orow`
// (flat index over the outer output axes), with x_row pointing at element 0 of that input row.
template <typename T, typename F>
void for_each_window_row(const PoolPlan& p, const RowGeometry& g, const T* plane, int64_t orow, F&& row) {
  const size_t m = g.n - 1;  // outer axes
  Scratch start{}, lo{}, hi{}, k{};
  for (size_t jj = m; jj-- > 0;) {
    const int64_t o = orow % p.out[jj];
    orow /= p.out[jj];
    const TapRange r = tap_range(o, p.in[jj], p.kernel[jj], p.strides[jj], p.dilations[jj], p.pad_begin[jj]);
    start[jj] = r.start;
    lo[jj] = k[jj] = r.lo;
    hi[jj] = r.hi;
    if (r.lo == r.hi) return;
  }
  for (;;) {
    int64_t offset = 0;
    for (size_t j = 0; j < m; ++j) offset += (start[j] + k[j] * p.dilations[j]) * g.in_stride[j];
    row(plane + offset);
    size_t j = m;
    for (; j-- > 0;) {
      if (++k[j] < hi[j]) break;
      k[j] = lo[j];
    }
    if (j == static_cast<size_t>(-1)) return;  // every outer axis wrapped: the window is done
  }
}

template <typename T>
void max_row(const T* xr, T* yr, const RowGeometry& g) {
  const int64_t s = g.stride;
  for (size_t kw = 0; kw < g.off.size(); ++kw) {
    const T* xs = xr + g.off[kw];
    const int64_t lo = g.lo[kw], hi = g.hi[kw];
    if (s == 1) {
      for (int64_t o = lo; o < hi; ++o) yr[o] = std::max(yr[o], xs[o]);
    } else if (s == 2) {  // constant stride: vectorized with even/odd shuffles
      for (int64_t o = lo; o < hi; ++o) yr[o] = std::max(yr[o], xs[2 * o]);
    } else {
      for (int64_t o = lo; o < hi; ++o) yr[o] = std::max(yr[o], xs[o * s]);
    }
  }
}

template <typename T>
void sum_row(const T* xr, T* yr, const RowGeometry& g) {
  const int64_t s = g.stride;
  for (size_t kw = 0; kw < g.off.size(); ++kw) {
    const T* xs = xr + g.off[kw];
    const int64_t lo = g.lo[kw], hi = g.hi[kw];
    if (s == 1) {
      for (int64_t o = lo; o < hi; ++o) yr[o] += xs[o];
    } else if (s == 2) {
      for (int64_t o = lo; o < hi; ++o) yr[o] += xs[2 * o];
    } else {
      for (int64_t o = lo; o < hi; ++o) yr[o] += xs[o * s];
    }
  }
}

}  // namespace

void check_pool_windows(const PoolPlan& p, const std::string& where) {
  for (size_t j = 0; j < p.in.size(); ++j)
    for (int64_t o = 0; o < p.out[j]; ++o) {
      const TapRange r = tap_range(o, p.in[j], p.kernel[j], p.strides[j], p.dilations[j], p.pad_begin[j]);
      if (r.lo == r.hi)
        throw Error(where + ": pooling window " + std::to_string(o) + " of spatial axis " +
                    std::to_string(j) + " (input extent " + std::to_string(p.in[j]) + ", pad_begin " +
                    std::to_string(p.pad_begin[j]) + ") contains only padding");
    }
}

template <typename T>
void max_pool(const T* x, T* y, const PoolPlan& p) {
  const RowGeometry g(p);
  const int64_t rows = p.planes * g.outer_count;
  const int64_t window = numel(p.kernel);
  if (g.n == 2) {
    // 2-D: a plane per work item, the window's input rows found per output row directly. Per output row,
    // the general path's odometer cost more than the row itself at LeNet's 14- and 5-wide output rows.
    parallel_for(
        0, p.planes,
        [&](int64_t plane) {
          const T* xp = x + plane * g.in_plane;
          T* yp = y + plane * g.out_plane;
          for (int64_t oh = 0; oh < p.out[0]; ++oh) {
            T* yr = yp + oh * g.out_width;
            std::fill(yr, yr + g.out_width, std::numeric_limits<T>::lowest());
            const TapRange r = tap_range(oh, p.in[0], p.kernel[0], p.strides[0], p.dilations[0], p.pad_begin[0]);
            for (int64_t k = r.lo; k < r.hi; ++k) max_row(xp + (r.start + k * p.dilations[0]) * g.width, yr, g);
          }
        },
        g.out_plane * window);
    return;
  }
  parallel_for(
      0, rows,
      [&](int64_t item) {
        const int64_t plane = item / g.outer_count, orow = item % g.outer_count;
        T* yr = y + plane * g.out_plane + orow * g.out_width;
        std::fill(yr, yr + g.out_width, std::numeric_limits<T>::lowest());
        for_each_window_row(p, g, x + plane * g.in_plane, orow, [&](const T* xr) { max_row(xr, yr, g); });
      },
      g.out_width * window);
}

template <typename T>
void average_pool(const T* x, T* y, const PoolPlan& p, bool count_include_pad) {
  const RowGeometry g(p);
  const size_t n = p.in.size();
  // Divisor per output position: a product of per-axis counts, since windows are boxes.
  std::vector<std::vector<int64_t>> count(n);
  for (size_t j = 0; j < n; ++j) {
    count[j].resize(static_cast<size_t>(p.out[j]));
    for (int64_t o = 0; o < p.out[j]; ++o) {
      // With count_include_pad the window is clipped to the padded extent [-pad_begin, in + pad_end).
      const TapRange r = count_include_pad ? tap_range(o, p.in[j] + p.pad_begin[j] + p.pad_end[j],
                                                       p.kernel[j], p.strides[j], p.dilations[j], 0)
                                           : tap_range(o, p.in[j], p.kernel[j], p.strides[j], p.dilations[j],
                                                       p.pad_begin[j]);
      count[j][static_cast<size_t>(o)] = r.hi - r.lo;
    }
  }
  // Counts of the last axis as T (int64 -> float conversion does not vectorize on AVX2). Exact: counts are
  // far below 2^24.
  const std::vector<T> last(count[n - 1].begin(), count[n - 1].end());
  const int64_t rows = p.planes * g.outer_count;
  const int64_t window = numel(p.kernel);
  parallel_for(
      0, rows,
      [&](int64_t item) {
        const int64_t plane = item / g.outer_count, orow = item % g.outer_count;
        T* yr = y + plane * g.out_plane + orow * g.out_width;
        std::fill(yr, yr + g.out_width, T(0));
        for_each_window_row(p, g, x + plane * g.in_plane, orow, [&](const T* xr) { sum_row(xr, yr, g); });
        int64_t outer = 1;
        for (size_t jj = n - 1, r = static_cast<size_t>(orow); jj-- > 0;) {
          outer *= count[jj][r % static_cast<size_t>(p.out[jj])];
          r /= static_cast<size_t>(p.out[jj]);
        }
        const T outer_t = static_cast<T>(outer);
        for (int64_t o = 0; o < g.out_width; ++o) yr[o] = yr[o] / (outer_t * last[static_cast<size_t>(o)]);
      },
      g.out_width * window);
}

template <typename T>
void max_pool_with_indices(const T* x, T* y, int64_t* indices, const PoolPlan& p, bool column_major) {
  const size_t n = p.in.size();
  const int64_t in_plane = numel(p.in), out_plane = numel(p.out);
  const std::vector<int64_t> row_stride = strides_of(p.in);
  std::vector<int64_t> col_stride(n);
  for (size_t j = 0, acc = 1; j < n; ++j) {
    col_stride[j] = static_cast<int64_t>(acc);
    acc *= static_cast<size_t>(p.in[j]);
  }
  parallel_for(
      0, p.planes * out_plane,
      [&](int64_t item) {
        const int64_t plane = item / out_plane;
        int64_t rem = item % out_plane;
        Scratch start{}, lo{}, hi{}, k{};
        for (size_t j = n; j-- > 0;) {
          const int64_t o = rem % p.out[j];
          rem /= p.out[j];
          const TapRange r = tap_range(o, p.in[j], p.kernel[j], p.strides[j], p.dilations[j], p.pad_begin[j]);
          start[j] = r.start;
          lo[j] = k[j] = r.lo;
          hi[j] = r.hi;
        }
        const T* xp = x + plane * in_plane;
        T best = std::numeric_limits<T>::lowest();
        int64_t best_row = -1, best_col = -1;
        for (;;) {
          int64_t r = 0, c = 0;
          for (size_t j = 0; j < n; ++j) {
            const int64_t pos = start[j] + k[j] * p.dilations[j];
            r += pos * row_stride[j];
            c += pos * col_stride[j];
          }
          // Strict comparison: ties keep the first element in row-major window order (ONNX Runtime).
          if (best_row < 0 || xp[r] > best) {
            best = xp[r];
            best_row = r;
            best_col = c;
          }
          size_t j = n;
          for (; j-- > 0;) {
            if (++k[j] < hi[j]) break;
            k[j] = lo[j];
          }
          if (j == static_cast<size_t>(-1)) break;
        }
        y[item] = best;
        indices[item] = plane * in_plane + (column_major ? best_col : best_row);
      },
      numel(p.kernel));
}

template void max_pool<float>(const float*, float*, const PoolPlan&);
template void max_pool<double>(const double*, double*, const PoolPlan&);
template void max_pool<int8_t>(const int8_t*, int8_t*, const PoolPlan&);
template void max_pool<uint8_t>(const uint8_t*, uint8_t*, const PoolPlan&);
template void max_pool_with_indices<float>(const float*, float*, int64_t*, const PoolPlan&, bool);
template void max_pool_with_indices<double>(const double*, double*, int64_t*, const PoolPlan&, bool);
template void max_pool_with_indices<int8_t>(const int8_t*, int8_t*, int64_t*, const PoolPlan&, bool);
template void max_pool_with_indices<uint8_t>(const uint8_t*, uint8_t*, int64_t*, const PoolPlan&, bool);
template void average_pool<float>(const float*, float*, const PoolPlan&, bool);
template void average_pool<double>(const double*, double*, const PoolPlan&, bool);

}  // namespace qs
