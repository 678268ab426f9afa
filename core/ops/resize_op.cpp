// Resize (opsets 10, 11, 13, 18) and Upsample (7, 9): modes nearest and linear (N-linear). Opset 18's
// `axes` (scales/sizes for those axes only) is supported; antialias (linear downsampling) and the
// aspect-ratio policies other than "stretch" are refused.
//
// Nearest is a gather through per-axis index tables (any dtype). Linear is separable: when only the last
// two axes are resized (the NCHW image case) one bilinear pass per plane; otherwise one 1-D pass per
// resized axis, which equals N-linear interpolation up to float rounding.
#include <algorithm>
#include <cmath>

#include "core/common/parallel.h"
#include "core/ops/resize_pad_factories.h"
#include "core/ops/resize_tables.h"

namespace qs {

namespace {

struct ResizeAttrs {
  bool linear = false;
  CoordMode coord = CoordMode::Asymmetric;
  NearestMode nearest = NearestMode::Simple;
  bool upsample = false;  // Upsample: every scale must be >= 1
  int scales_input = -1, sizes_input = -1;
  bool scales_known = false, sizes_known = false;  // from an attribute or constant input
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  std::vector<int64_t> axes;  // opset 18: the axes scales/sizes refer to (empty: every axis, in order)
};

std::vector<float> read_scales(const Tensor& t, const std::string& where) {
  if (t.dtype() != DType::Float32 && t.dtype() != DType::Float64)
    throw Error(where + ": scales must be float, got " + dtype_name(t.dtype()));
  return t.to_vector<float>();
}

std::vector<int64_t> read_sizes(const Tensor& t, const std::string& where) {
  if (t.dtype() != DType::Int64) throw Error(where + ": sizes must be int64, got " + dtype_name(t.dtype()));
  return t.to_vector<int64_t>();
}

// Output extents and the per-axis scale used by the coordinate transform.
void output_geometry(const ResizeAttrs& a, const Shape& in_shape, std::span<const Tensor* const> in,
                     const std::string& where, Shape& out_shape, std::vector<AxisScale>& axes) {
  const size_t r = in_shape.size();
  std::vector<float> given_scales = a.scales;
  std::vector<int64_t> sizes = a.sizes;
  if (!a.scales_known && a.scales_input >= 0 && static_cast<size_t>(a.scales_input) < in.size() &&
      in[static_cast<size_t>(a.scales_input)])
    given_scales = read_scales(*in[static_cast<size_t>(a.scales_input)], where);
  if (!a.sizes_known && a.sizes_input >= 0 && static_cast<size_t>(a.sizes_input) < in.size() &&
      in[static_cast<size_t>(a.sizes_input)])
    sizes = read_sizes(*in[static_cast<size_t>(a.sizes_input)], where);
  if (!given_scales.empty() && !sizes.empty()) throw Error(where + ": both scales and sizes are given");
  if (given_scales.empty() && sizes.empty()) throw Error(where + ": neither scales nor sizes is given");
  if (!a.axes.empty()) {
    // Scales/sizes for the listed axes only: the others keep their extent.
    const size_t given = given_scales.empty() ? sizes.size() : given_scales.size();
    if (given != a.axes.size())
      throw Error(where + ": " + (given_scales.empty() ? "sizes" : "scales") + " has " +
                  std::to_string(given) + " values for " + std::to_string(a.axes.size()) + " axes");
    std::vector<float> full_scales(given_scales.empty() ? 0 : r, 1.f);
    std::vector<int64_t> full_sizes;
    if (!sizes.empty()) full_sizes.assign(in_shape.begin(), in_shape.end());
    std::vector<bool> seen(r, false);
    for (size_t k = 0; k < a.axes.size(); ++k) {
      const int64_t ax = a.axes[k] < 0 ? a.axes[k] + static_cast<int64_t>(r) : a.axes[k];
      if (ax < 0 || ax >= static_cast<int64_t>(r) || seen[static_cast<size_t>(ax)])
        throw Error(where + ": axis " + std::to_string(a.axes[k]) +
                    " is out of range or repeated for input of shape " + shape_str(in_shape));
      seen[static_cast<size_t>(ax)] = true;
      if (!given_scales.empty())
        full_scales[static_cast<size_t>(ax)] = given_scales[k];
      else
        full_sizes[static_cast<size_t>(ax)] = sizes[k];
    }
    given_scales = std::move(full_scales);
    sizes = std::move(full_sizes);
  }
  out_shape.resize(r);
  axes.resize(r);
  if (!sizes.empty()) {
    if (sizes.size() != r)
      throw Error(where + ": sizes has " + std::to_string(sizes.size()) + " values for input of shape " +
                  shape_str(in_shape));
    for (size_t i = 0; i < r; ++i) {
      if (sizes[i] < 0) throw Error(where + ": negative output size " + std::to_string(sizes[i]));
      if (in_shape[i] == 0 && sizes[i] != 0)
        throw Error(where + ": cannot resize the empty axis " + std::to_string(i) + " to " +
                    std::to_string(sizes[i]));
      out_shape[i] = sizes[i];
      axes[i].in = in_shape[i];
      axes[i].out = sizes[i];
      axes[i].scale = in_shape[i] == 0 ? 1.f : static_cast<float>(sizes[i]) / static_cast<float>(in_shape[i]);
      axes[i].length = static_cast<float>(sizes[i]);
    }
  } else {
    if (given_scales.size() != r)
      throw Error(where + ": scales has " + std::to_string(given_scales.size()) +
                  " values for input of shape " + shape_str(in_shape));
    for (size_t i = 0; i < r; ++i) {
      const float s = given_scales[i];
      if (!(s > 0.f) || !std::isfinite(s))
        throw Error(where + ": scale " + std::to_string(s) + " must be positive");
      if (a.upsample && s < 1.f)
        throw Error(where + ": Upsample scale " + std::to_string(s) + " must be greater than or equal to 1");
      // floor(in * scale) computed in float, as ONNX Runtime does.
      const float length = static_cast<float>(in_shape[i]) * s;
      out_shape[i] = static_cast<int64_t>(length);
      axes[i] = AxisScale{in_shape[i], out_shape[i], s, length};
    }
  }
}

template <typename T>
void resize_nearest(const Tensor& x, Tensor& y, const ResizeAttrs& a, const std::vector<AxisScale>& axes) {
  const Shape& xs = x.shape();
  const Shape& ys = y.shape();
  const size_t r = xs.size();
  const T* xp = x.data<T>();
  T* yp = y.data<T>();
  if (r == 0) {
    yp[0] = xp[0];
    return;
  }
  // Per axis: input offset (index * stride) of every output index.
  const std::vector<int64_t> stride = strides_of(xs);
  std::vector<std::vector<int64_t>> off(r);
  for (size_t i = 0; i < r; ++i) {
    off[i] = nearest_table(a.coord, a.nearest, axes[i]);
    for (int64_t& v : off[i]) v *= stride[i];
  }
  const int64_t width = ys[r - 1];
  const int64_t rows = y.numel() / width;
  const std::vector<int64_t>& last = off[r - 1];
  // Rows in blocks: an output row reading the same input row as the previous one (upsampling) is a copy.
  constexpr int64_t kBlock = 16;
  parallel_for(
      0, (rows + kBlock - 1) / kBlock,
      [&](int64_t block) {
        int64_t prev_base = -1;
        for (int64_t row = block * kBlock; row < std::min(rows, (block + 1) * kBlock); ++row) {
          int64_t base = 0, rem = row;
          for (size_t i = r - 1; i-- > 0;) {
            base += off[i][static_cast<size_t>(rem % ys[i])];
            rem /= ys[i];
          }
          T* yr = yp + row * width;
          if (base == prev_base) {
            std::copy(yr - width, yr, yr);
            continue;
          }
          const T* xr = xp + base;
          for (int64_t o = 0; o < width; ++o) yr[o] = xr[last[static_cast<size_t>(o)]];
          prev_base = base;
        }
      },
      width * kBlock);
}

// Bilinear over planes of H x W -> OH x OW (the other axes unchanged). Each output row is the vertical
// lerp of two horizontally interpolated input rows; those are cached across consecutive output rows
// (upsampling reads the same pair several times), and the vertical lerp vectorizes.
void bilinear_planes(const float* x, float* y, int64_t planes, int64_t h, int64_t w, const LinearTable& ty,
                     const LinearTable& tx) {
  const int64_t oh = static_cast<int64_t>(ty.w.size()), ow = static_cast<int64_t>(tx.w.size());
  constexpr int64_t kBlock = 16;  // output rows per work item
  const int64_t blocks = (oh + kBlock - 1) / kBlock;
  const int64_t* x0 = tx.i0.data();
  const int64_t* x1 = tx.i1.data();
  const float* wx = tx.w.data();
  parallel_for(
      0, planes * blocks,
      [&](int64_t item) {
        const int64_t plane = item / blocks, b = item % blocks;
        const float* xplane = x + plane * h * w;
        std::vector<float> buf(static_cast<size_t>(2 * ow));
        float* row_a = buf.data();  // holds input row cached_a, horizontally resized
        float* row_b = buf.data() + ow;
        int64_t cached_a = -1, cached_b = -1;
        auto horizontal = [&](int64_t iy, float* dst) {
          const float* r = xplane + iy * w;
          for (int64_t ox = 0; ox < ow; ++ox) {
            const float v0 = r[x0[ox]], v1 = r[x1[ox]];
            dst[ox] = v0 + wx[ox] * (v1 - v0);
          }
        };
        for (int64_t oy = b * kBlock; oy < std::min(oh, (b + 1) * kBlock); ++oy) {
          const size_t uy = static_cast<size_t>(oy);
          const int64_t i0 = ty.i0[uy], i1 = ty.i1[uy];
          if (cached_a != i0 && cached_b == i0) {
            std::swap(row_a, row_b);
            std::swap(cached_a, cached_b);
          }
          if (cached_a != i0) {
            horizontal(i0, row_a);
            cached_a = i0;
          }
          if (cached_b != i1) {
            if (i1 == i0) {
              std::copy(row_a, row_a + ow, row_b);
            } else {
              horizontal(i1, row_b);
            }
            cached_b = i1;
          }
          const float wy = ty.w[uy];
          float* yr = y + plane * oh * ow + oy * ow;
          for (int64_t ox = 0; ox < ow; ++ox) yr[ox] = row_a[ox] + wy * (row_b[ox] - row_a[ox]);
        }
      },
      ow * kBlock * 8);
}

// One 1-D linear pass along the middle axis of an outer x n x inner layout (n -> table size).
void linear_axis(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, const LinearTable& t) {
  const int64_t m = static_cast<int64_t>(t.w.size());
  parallel_for(
      0, outer * m,
      [&](int64_t item) {
        const int64_t o = item / m, k = item % m;
        const size_t u = static_cast<size_t>(k);
        const float* a = x + (o * n + t.i0[u]) * inner;
        const float* b = x + (o * n + t.i1[u]) * inner;
        const float w = t.w[u];
        float* yr = y + (o * m + k) * inner;
        for (int64_t i = 0; i < inner; ++i) yr[i] = a[i] + w * (b[i] - a[i]);
      },
      inner * 4);
}

void resize_linear(const Tensor& x, Tensor& y, const ResizeAttrs& a, const std::vector<AxisScale>& axes,
                   const std::string& where) {
  if (x.dtype() != DType::Float32)
    throw UnsupportedError(where + ": linear resize of " + dtype_name(x.dtype()) + " is not supported");
  const Shape& xs = x.shape();
  const Shape& ys = y.shape();
  const size_t r = xs.size();
  std::vector<LinearTable> tables(r);
  std::vector<size_t> resized;
  for (size_t i = 0; i < r; ++i) {
    tables[i] = linear_table(a.coord, axes[i]);
    if (!tables[i].identity) resized.push_back(i);
  }
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  if (resized.empty()) {
    std::copy(xp, xp + x.numel(), yp);
    return;
  }
  if (resized.front() + 2 >= r) {  // only the last two axes (or fewer) change: planes of H x W
    const int64_t w = xs[r - 1];
    const int64_t h = r >= 2 ? xs[r - 2] : 1;
    const int64_t planes = w * h == 0 ? 0 : x.numel() / (w * h);
    LinearTable ty = r >= 2 ? tables[r - 2] : linear_table(a.coord, AxisScale{1, 1, 1.f, 1.f});
    bilinear_planes(xp, yp, planes, h, w, ty, tables[r - 1]);
    return;
  }
  // General N-d: one pass per resized axis through intermediate buffers.
  Shape cur = xs;
  std::vector<float> buf_a, buf_b;
  const float* src = xp;
  for (size_t k = 0; k < resized.size(); ++k) {
    const size_t ax = resized[k];
    int64_t outer = 1, inner = 1;
    for (size_t i = 0; i < ax; ++i) outer *= cur[i];
    for (size_t i = ax + 1; i < r; ++i) inner *= cur[i];
    const bool final_pass = k + 1 == resized.size();
    std::vector<float>& buf = (k % 2 == 0) ? buf_a : buf_b;
    float* dst = yp;
    if (!final_pass) {
      buf.resize(static_cast<size_t>(outer * ys[ax] * inner));
      dst = buf.data();
    }
    linear_axis(src, dst, outer, cur[ax], inner, tables[ax]);
    cur[ax] = ys[ax];
    src = dst;
  }
}

void run_resize(const ResizeAttrs& a, const std::string& where, std::span<const Tensor* const> in,
                std::span<Tensor> out) {
  const Tensor& x = *in[0];
  Shape ys;
  std::vector<AxisScale> axes;
  output_geometry(a, x.shape(), in, where, ys, axes);
  Tensor y(x.dtype(), ys);
  if (y.numel() > 0) {
    if (a.linear) {
      resize_linear(x, y, a, axes, where);
    } else {
      dispatch_dtype(x.dtype(), [&](auto tag) { resize_nearest<decltype(tag)>(x, y, a, axes); });
    }
  }
  out[0] = std::move(y);
}

void read_mode(const KernelInit& init, ResizeAttrs& a) {
  const std::string mode = init.node.attr_string("mode", "nearest");
  if (mode == "nearest") {
    a.linear = false;
  } else if (mode == "linear") {
    a.linear = true;
  } else {
    init.unsupported("mode '" + mode + "' is not supported (nearest, linear)");
  }
}

}  // namespace

std::unique_ptr<Kernel> make_resize(const KernelInit& init) {
  const Node& n = init.node;
  ResizeAttrs a;
  read_mode(init, a);
  if (init.opset < 11) {
    // Resize-10: asymmetric coordinates and ONNX Runtime's legacy nearest rounding.
    a.scales_input = 1;
    if (!n.has_input(1)) init.invalid("the scales input is required");
  } else {
    const std::string cm = n.attr_string("coordinate_transformation_mode", "half_pixel");
    if (cm == "tf_crop_and_resize")
      init.unsupported("coordinate_transformation_mode 'tf_crop_and_resize' is not supported");
    if (!parse_coord_mode(cm, a.coord))
      init.unsupported("coordinate_transformation_mode '" + cm + "' is not supported");
    const std::string nm = n.attr_string("nearest_mode", "round_prefer_floor");
    if (!parse_nearest_mode(nm, a.nearest)) init.unsupported("nearest_mode '" + nm + "' is not supported");
    // roi (input 1) only matters for tf_crop_and_resize; cubic_coeff_a and exclude_outside only for cubic.
    if (init.opset >= 18) {
      if (n.attr_int("antialias", 0) != 0 && a.linear)
        init.unsupported("antialias = 1 (an anti-aliasing filter when downsampling) is not supported");
      const std::string policy = n.attr_string("keep_aspect_ratio_policy", "stretch");
      if (policy != "stretch")
        init.unsupported("keep_aspect_ratio_policy '" + policy + "' is not supported (stretch is)");
      if (n.has_attr("axes")) a.axes = n.attr_ints("axes");
    } else {
      for (const char* attr : {"antialias", "axes", "keep_aspect_ratio_policy"})
        if (n.has_attr(attr)) init.invalid(std::string("attribute '") + attr + "' requires opset 18");
    }
    a.scales_input = 2;
    a.sizes_input = 3;
  }
  if (const Tensor* s = init.constant_input(static_cast<size_t>(a.scales_input))) {
    a.scales = read_scales(*s, init.where());
    a.scales_known = true;
  } else if (!n.has_input(static_cast<size_t>(a.scales_input))) {
    a.scales_known = true;  // omitted (opset 13): empty
  }
  if (a.sizes_input >= 0) {
    if (const Tensor* s = init.constant_input(static_cast<size_t>(a.sizes_input))) {
      a.sizes = read_sizes(*s, init.where());
      a.sizes_known = true;
    } else if (!n.has_input(static_cast<size_t>(a.sizes_input))) {
      a.sizes_known = true;
    }
  }
  if (a.scales_known && a.sizes_known && a.scales.empty() && a.sizes.empty())
    init.invalid("neither scales nor sizes is given");
  if (a.scales_known && a.sizes_known && !a.scales.empty() && !a.sizes.empty())
    init.invalid("both scales and sizes are given");
  const std::string where = init.where();
  return make_kernel([a, where](std::span<const Tensor* const> in, std::span<Tensor> out) {
    run_resize(a, where, in, out);
  });
}

std::unique_ptr<Kernel> make_upsample(const KernelInit& init) {
  const Node& n = init.node;
  ResizeAttrs a;
  read_mode(init, a);
  a.upsample = true;
  if (init.opset < 9) {
    if (!n.has_attr("scales")) init.invalid("attribute scales is required");
    a.scales = n.attr_floats("scales");
    a.scales_known = true;
  } else {
    if (!n.has_input(1)) init.invalid("the scales input is required");
    a.scales_input = 1;
    if (const Tensor* s = init.constant_input(1)) {
      a.scales = read_scales(*s, init.where());
      a.scales_known = true;
    }
  }
  for (float s : a.scales)
    if (!(s >= 1.f)) init.invalid("scale " + std::to_string(s) + " must be greater than or equal to 1");
  a.sizes_known = true;  // Upsample has no sizes
  const std::string where = init.where();
  return make_kernel([a, where](std::span<const Tensor* const> in, std::span<Tensor> out) {
    run_resize(a, where, in, out);
  });
}

}  // namespace qs
