// Pad: modes constant, reflect and edge, with negative pads removing elements.
//
// Negative pads are applied first (cropping the input, as ONNX Runtime does), then the positive pads are
// filled relative to the cropped extent. Reflect follows numpy.pad: pads wider than the extent reflect
// repeatedly (period 2 * (n - 1)); an extent of 1 repeats its element.
#include <algorithm>

#include "core/common/parallel.h"
#include "core/ops/resize_pad_factories.h"

namespace qs {

namespace {

enum class PadMode { Constant, Reflect, Edge };

struct PadAttrs {
  PadMode mode = PadMode::Constant;
  bool pads_known = false;  // from the attribute or a constant input
  std::vector<int64_t> pads;
  bool value_from_attr = false;  // opset < 11
  float attr_value = 0;
  bool value_known = false;  // constant_value is a constant input (or omitted)
  Tensor value;              // the constant input when value_known and present
  bool has_axes = false;     // opset 18: pads are given for these axes only
  bool axes_known = false;
  std::vector<int64_t> axes;
};

// Source index along one axis for each output index: -1 for the constant fill, else the input index.
std::vector<int64_t> axis_map(int64_t in, int64_t pb, int64_t pe, PadMode mode, size_t axis,
                              const std::string& where) {
  const int64_t crop_b = std::max<int64_t>(0, -pb), crop_e = std::max<int64_t>(0, -pe);
  const int64_t n = in - crop_b - crop_e;
  if (n < 0)
    throw Error(where + ": pads " + std::to_string(pb) + ", " + std::to_string(pe) +
                " remove more than the extent " + std::to_string(in) + " of axis " + std::to_string(axis));
  const int64_t add_b = std::max<int64_t>(0, pb), add_e = std::max<int64_t>(0, pe);
  if (n == 0 && add_b + add_e > 0 && mode != PadMode::Constant)
    throw Error(where + ": cannot " + (mode == PadMode::Edge ? "edge" : "reflect") + "-pad the empty axis " +
                std::to_string(axis));
  std::vector<int64_t> map(static_cast<size_t>(n + add_b + add_e));
  const int64_t period = 2 * (n - 1);
  for (int64_t o = 0; o < static_cast<int64_t>(map.size()); ++o) {
    int64_t j = o - add_b;  // index into the cropped extent
    if (j < 0 || j >= n) {
      if (mode == PadMode::Constant) {
        map[static_cast<size_t>(o)] = -1;
        continue;
      }
      if (mode == PadMode::Edge || n == 1) {
        j = std::clamp<int64_t>(j, 0, n - 1);
      } else {
        j %= period;
        if (j < 0) j += period;
        if (j >= n) j = period - j;
      }
    }
    map[static_cast<size_t>(o)] = crop_b + j;
  }
  return map;
}

template <typename T>
void pad(const Tensor& x, Tensor& y, const std::vector<std::vector<int64_t>>& maps, T fill) {
  const size_t r = maps.size();
  const T* xp = x.data<T>();
  T* yp = y.data<T>();
  if (r == 0) {
    yp[0] = xp[0];
    return;
  }
  const Shape& ys = y.shape();
  const std::vector<int64_t> xstride = strides_of(x.shape());
  const int64_t width = ys[r - 1];
  const int64_t rows = width == 0 ? 0 : y.numel() / width;
  const std::vector<int64_t>& last = maps[r - 1];
  // The longest run of consecutive source indices in the last axis (the unpadded middle) is copied in one
  // go; the rest goes through the map.
  int64_t mid_b = 0, mid_e = 0;
  for (int64_t o = 0; o < width;) {
    int64_t e = o + 1;
    if (last[static_cast<size_t>(o)] >= 0) {
      while (e < width && last[static_cast<size_t>(e)] == last[static_cast<size_t>(e - 1)] + 1) ++e;
      if (e - o > mid_e - mid_b) {
        mid_b = o;
        mid_e = e;
      }
    }
    o = e;
  }
  parallel_for(
      0, rows,
      [&](int64_t row) {
        T* yr = yp + row * width;
        int64_t src = 0;
        bool filled = false;
        int64_t rem = row;
        for (size_t a = r - 1; a-- > 0;) {
          const int64_t o = rem % ys[a];
          rem /= ys[a];
          const int64_t m = maps[a][static_cast<size_t>(o)];
          if (m < 0) {
            filled = true;
            break;
          }
          src += m * xstride[a];
        }
        if (filled) {
          std::fill(yr, yr + width, fill);
          return;
        }
        const T* xr = xp + src;
        for (int64_t o = 0; o < mid_b; ++o) {
          const int64_t m = last[static_cast<size_t>(o)];
          yr[o] = m < 0 ? fill : xr[m];
        }
        if (mid_e > mid_b)
          std::copy(xr + last[static_cast<size_t>(mid_b)],
                    xr + last[static_cast<size_t>(mid_b)] + (mid_e - mid_b), yr + mid_b);
        for (int64_t o = mid_e; o < width; ++o) {
          const int64_t m = last[static_cast<size_t>(o)];
          yr[o] = m < 0 ? fill : xr[m];
        }
      },
      width);
}

std::vector<int64_t> read_pads(const Tensor& t, const std::string& where) {
  if (t.dtype() != DType::Int64) throw Error(where + ": pads must be int64, got " + dtype_name(t.dtype()));
  // [2 * rank], or [1, 2 * rank] as some exporters write it (ONNX Runtime accepts both).
  if (t.rank() != 1 && !(t.rank() == 2 && t.dim(0) == 1))
    throw Error(where + ": pads must be 1-D, got shape " + shape_str(t.shape()));
  return t.to_vector<int64_t>();
}

std::vector<int64_t> read_axes(const Tensor& t, const std::string& where) {
  if (t.dtype() != DType::Int64 && t.dtype() != DType::Int32)
    throw Error(where + ": axes must be int64 or int32, got " + dtype_name(t.dtype()));
  if (t.rank() != 1) throw Error(where + ": axes must be 1-D, got shape " + shape_str(t.shape()));
  return t.to_vector<int64_t>();
}

// Opset 18: pads [b_0.., e_0..] for the listed axes (negative counts from the end) → pads for every axis,
// 0 for the others.
std::vector<int64_t> pads_for_axes(const std::vector<int64_t>& pads, const std::vector<int64_t>& axes,
                                   size_t r, const std::string& where) {
  if (pads.size() != 2 * axes.size())
    throw Error(where + ": pads has " + std::to_string(pads.size()) + " values for " +
                std::to_string(axes.size()) + " axes");
  std::vector<int64_t> full(2 * r, 0);
  std::vector<bool> seen(r, false);
  for (size_t k = 0; k < axes.size(); ++k) {
    const int64_t ax = axes[k] < 0 ? axes[k] + static_cast<int64_t>(r) : axes[k];
    if (ax < 0 || ax >= static_cast<int64_t>(r) || seen[static_cast<size_t>(ax)])
      throw Error(where + ": axis " + std::to_string(axes[k]) + " is out of range or repeated for rank " +
                  std::to_string(r));
    seen[static_cast<size_t>(ax)] = true;
    full[static_cast<size_t>(ax)] = pads[k];
    full[static_cast<size_t>(ax) + r] = pads[k + axes.size()];
  }
  return full;
}

}  // namespace

std::unique_ptr<Kernel> make_pad(const KernelInit& init) {
  const Node& n = init.node;
  PadAttrs a;
  const std::string mode = n.attr_string("mode", "constant");
  if (mode == "constant") {
    a.mode = PadMode::Constant;
  } else if (mode == "reflect") {
    a.mode = PadMode::Reflect;
  } else if (mode == "edge") {
    a.mode = PadMode::Edge;
  } else {
    init.unsupported("mode '" + mode + "' is not supported (constant, reflect, edge)");
  }
  if (init.opset < 11) {
    const char* name = init.opset < 2 ? "paddings" : "pads";
    if (!n.has_attr(name)) init.invalid(std::string("attribute ") + name + " is required");
    a.pads = n.attr_ints(name);
    a.pads_known = true;
    a.value_from_attr = true;
    a.attr_value = n.attr_float("value", 0.f);
    if (init.opset < 2)
      for (int64_t p : a.pads)
        if (p < 0) init.invalid("paddings must be non-negative at opset 1, got " + std::to_string(p));
  } else {
    if (!n.has_input(1)) init.invalid("the pads input is required");
    if (n.has_input(3)) {
      if (init.opset < 18) init.invalid("the axes input requires opset 18");
      a.has_axes = true;
      if (const Tensor* ax = init.constant_input(3)) {
        a.axes = read_axes(*ax, init.where());
        a.axes_known = true;
      }
    }
    if (const Tensor* p = init.constant_input(1)) {
      a.pads = read_pads(*p, init.where());
      a.pads_known = true;
    }
    if (!n.has_input(2)) {
      a.value_known = true;
    } else if (const Tensor* v = init.constant_input(2)) {
      a.value_known = true;
      a.value = *v;
    }
  }
  const std::string where = init.where();

  return make_kernel([a, where](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    std::vector<int64_t> pads = a.pads_known ? a.pads : read_pads(*in[1], where);
    const size_t r = x.shape().size();
    if (a.has_axes) pads = pads_for_axes(pads, a.axes_known ? a.axes : read_axes(*in[3], where), r, where);
    if (pads.size() != 2 * r)
      throw Error(where + ": pads has " + std::to_string(pads.size()) + " values, expected " +
                  std::to_string(2 * r) + " for input of shape " + shape_str(x.shape()));
    Tensor value = a.value;
    if (!a.value_from_attr && !a.value_known && in.size() > 2 && in[2]) value = *in[2];
    if (value.defined()) {
      if (value.dtype() != x.dtype())
        throw Error(where + ": constant_value is " + dtype_name(value.dtype()) + ", data is " +
                    dtype_name(x.dtype()));
      if (value.numel() != 1)
        throw Error(where + ": constant_value must hold one value, got shape " + shape_str(value.shape()));
    }
    std::vector<std::vector<int64_t>> maps(r);
    Shape yshape(r);
    for (size_t i = 0; i < r; ++i) {
      maps[i] = axis_map(x.shape()[i], pads[i], pads[i + r], a.mode, i, where);
      yshape[i] = static_cast<int64_t>(maps[i].size());
    }
    Tensor y(x.dtype(), yshape);
    dispatch_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T fill = T(0);
      if (a.value_from_attr) {
        fill = static_cast<T>(a.attr_value);
      } else if (value.defined()) {
        fill = value.data<T>()[0];
      }
      if (y.numel() > 0) pad<T>(x, y, maps, fill);
    });
    out[0] = std::move(y);
  });
}

}  // namespace qs
