#include "core/int/pool_int.h"

#include <algorithm>
#include <limits>

#include "core/common/error.h"
#include "core/common/parallel.h"

namespace qs {

namespace {

bool next_index(std::vector<int64_t>& idx, const std::vector<int64_t>& ext) {
  for (size_t a = idx.size(); a-- > 0;) {
    if (++idx[a] < ext[a]) return true;
    idx[a] = 0;
  }
  return false;
}

// Calls f(input offset) for every tap of the window of output position `o` that lies inside the input.
template <typename F>
void for_each_tap(const PoolPlan& p, const std::vector<int64_t>& o, const std::vector<int64_t>& ist, F&& f) {
  const size_t r = p.in.size();
  std::vector<int64_t> k(r, 0);
  const int64_t ks = numel(p.kernel);
  for (int64_t t = 0; t < ks; ++t, next_index(k, p.kernel)) {
    int64_t off = 0;
    bool inside = true;
    for (size_t a = 0; a < r; ++a) {
      const int64_t i = o[a] * p.strides[a] - p.pad_begin[a] + k[a] * p.dilations[a];
      inside = inside && i >= 0 && i < p.in[a];
      off += i * ist[a];
    }
    if (inside) f(off);
  }
}

}  // namespace

PoolPlan pool_plan_for(const WindowAttrs& a, const Shape& x, const std::string& where, bool padding_counts) {
  const size_t n = a.kernel.size();
  if (x.size() != n + 2)
    throw Error(where + ": X has shape " + shape_str(x) + ", expected rank " + std::to_string(n + 2));
  PoolPlan p;
  p.planes = x[0] * x[1];
  p.in.assign(x.begin() + 2, x.end());
  const WindowGeometry g = compute_window(a, p.in, where);
  p.out = g.out;
  p.kernel = a.kernel;
  p.strides = a.strides;
  p.dilations = a.dilations;
  p.pad_begin = g.pad_begin;
  p.pad_end = g.pad_end;
  if (!padding_counts) check_pool_windows(p, where);
  return p;
}

Shape pool_output_shape(const Shape& x, const PoolPlan& p) {
  Shape s = {x[0], x[1]};
  s.insert(s.end(), p.out.begin(), p.out.end());
  return s;
}

std::vector<int32_t> average_pool_divisors(const PoolPlan& p, bool count_include_pad) {
  const size_t r = p.in.size();
  std::vector<int32_t> d(static_cast<size_t>(numel(p.out)));
  std::vector<int64_t> o(r, 0);
  for (size_t i = 0; i < d.size(); ++i, next_index(o, p.out)) {
    int64_t count = 1;
    for (size_t a = 0; a < r; ++a) {
      // Taps inside [0, in), or inside the padded extent [-pad_begin, in + pad_end) with count_include_pad;
      // taps of a ceil_mode window beyond the end padding never count.
      const int64_t lo = count_include_pad ? -p.pad_begin[a] : 0;
      const int64_t hi = count_include_pad ? p.in[a] + p.pad_end[a] : p.in[a];
      int64_t n = 0;
      for (int64_t k = 0; k < p.kernel[a]; ++k) {
        const int64_t pos = o[a] * p.strides[a] - p.pad_begin[a] + k * p.dilations[a];
        n += pos >= lo && pos < hi;
      }
      count *= n;
    }
    d[i] = static_cast<int32_t>(count);
  }
  return d;
}

std::vector<int64_t> window_sums(const std::vector<int32_t>& x, int32_t zp, const PoolPlan& p) {
  const int64_t in_plane = numel(p.in), out_plane = numel(p.out);
  const std::vector<int64_t> ist = strides_of(p.in);
  std::vector<int64_t> s(static_cast<size_t>(p.planes * out_plane));
  parallel_for(
      0, p.planes,
      [&](int64_t c) {
        const int32_t* xc = x.data() + c * in_plane;
        std::vector<int64_t> o(p.in.size(), 0);
        for (int64_t i = 0; i < out_plane; ++i, next_index(o, p.out)) {
          int64_t acc = 0;
          for_each_tap(p, o, ist, [&](int64_t off) { acc += xc[off] - zp; });
          s[static_cast<size_t>(c * out_plane + i)] = acc;
        }
      },
      out_plane * numel(p.kernel));
  return s;
}

std::vector<int32_t> window_max(const std::vector<int32_t>& x, const PoolPlan& p) {
  const int64_t in_plane = numel(p.in), out_plane = numel(p.out);
  const std::vector<int64_t> ist = strides_of(p.in);
  std::vector<int32_t> m(static_cast<size_t>(p.planes * out_plane));
  parallel_for(
      0, p.planes,
      [&](int64_t c) {
        const int32_t* xc = x.data() + c * in_plane;
        std::vector<int64_t> o(p.in.size(), 0);
        for (int64_t i = 0; i < out_plane; ++i, next_index(o, p.out)) {
          int32_t best = std::numeric_limits<int32_t>::min();
          for_each_tap(p, o, ist, [&](int64_t off) { best = std::max(best, xc[off]); });
          m[static_cast<size_t>(c * out_plane + i)] = best;
        }
      },
      out_plane * numel(p.kernel));
  return m;
}

bool max_pool_8bit(IntIsa isa, const Tensor& x, Tensor& y, const PoolPlan& p) {
  if (isa != IntIsa::Avx2 || p.in.size() != 2 || (x.dtype() != DType::Int8 && x.dtype() != DType::UInt8))
    return false;
  detail::max_pool_8bit_avx2(x.raw(), y.raw(), x.dtype() == DType::Int8, p);
  return true;
}

}  // namespace qs
