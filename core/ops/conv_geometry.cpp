#include "core/ops/conv_geometry.h"

#include <algorithm>

namespace qs {

namespace {

std::string ints_str(const std::vector<int64_t>& v) { return shape_str(v); }

// Checks W (when its shape is known) against the attributes; `fail` reports the message.
template <typename Fail>
void check_weight(const ConvAttrs& a, const Shape& w, Fail&& fail) {
  const std::string ws = "weight W has shape " + shape_str(w);
  if (w.size() < 3)
    fail(ws + "; expected rank >= 3 (" + (a.transpose ? "C x M/group" : "M x C/group") + " x k1 x ...)");
  const int64_t n = static_cast<int64_t>(w.size()) - 2;
  if (a.n_spatial >= 0 && a.n_spatial != n)
    fail(ws + " (" + std::to_string(n) + " spatial axes) but the attributes describe " +
         std::to_string(a.n_spatial) + " spatial axes");
  const std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (!a.kernel_shape.empty() && a.kernel_shape != kernel)
    fail("kernel_shape " + ints_str(a.kernel_shape) + " does not match the spatial extents of W " +
         shape_str(w));
  for (int64_t k : kernel)
    if (k <= 0) fail(ws + "; kernel extents must be positive");
  if (!a.transpose && w[0] % a.group != 0)
    fail(ws + ": its " + std::to_string(w[0]) + " output channels are not divisible by group " +
         std::to_string(a.group));
  if (a.transpose && w[0] % a.group != 0)
    fail(ws + ": its " + std::to_string(w[0]) + " input channels are not divisible by group " +
         std::to_string(a.group));
}

// Window attributes completed for spatial rank n (defaults when the factory could not know n).
WindowAttrs window_for(const ConvAttrs& a, const std::vector<int64_t>& kernel) {
  WindowAttrs wa = a.window;
  const size_t n = kernel.size();
  if (a.n_spatial < 0) {
    wa.strides.assign(n, 1);
    wa.dilations.assign(n, 1);
    wa.pads.assign(2 * n, 0);
  }
  wa.kernel = kernel;
  return wa;
}

// Common checks of X against W; returns the spatial rank.
void check_input(const Shape& x, const Shape& w) {
  if (x.size() < 3)
    throw Error("input X has shape " + shape_str(x) +
                "; expected (N x C x D1 x ... x Dn) with at least one spatial axis");
  if (x.size() != w.size())
    throw Error("input X has shape " + shape_str(x) + " (rank " + std::to_string(x.size()) +
                ") but weight W has shape " + shape_str(w) + " (rank " + std::to_string(w.size()) + ")");
}

void check_bias(const Tensor* bias, int64_t m) {
  if (!bias) return;
  if (bias->shape() != Shape{m})
    throw Error("bias B has shape " + shape_str(bias->shape()) + ", expected [" + std::to_string(m) +
                "] (one value per output channel)");
}

// Splits a ConvTranspose total padding per the spec: SAME_UPPER puts the odd element at the end, other
// modes at the beginning. A negative total (output_shape larger than the natural extent) extends the
// output at the end, as ONNX's test data and ONNX Runtime do.
void split_total_pad(int64_t total, bool same_upper, int64_t& begin, int64_t& end) {
  if (total < 0) {
    begin = 0;
    end = total;
  } else if (same_upper) {
    begin = total / 2;
    end = total - total / 2;
  } else {
    begin = total - total / 2;
    end = total / 2;
  }
}

}  // namespace

ConvAttrs read_conv_attrs(const KernelInit& init, bool transpose) {
  const Node& n = init.node;
  ConvAttrs a;
  a.transpose = transpose;
  a.group = n.attr_int("group", 1);
  if (a.group < 1) init.invalid("group " + std::to_string(a.group) + " must be >= 1");
  a.kernel_shape = n.attr_ints("kernel_shape");
  if (n.has_attr("kernel_shape") && a.kernel_shape.empty()) init.invalid("kernel_shape is empty");
  if (transpose) {
    a.output_padding = n.attr_ints("output_padding");
    a.output_shape = n.attr_ints("output_shape");
  }
  const Tensor* w = init.constant_input(1);

  // The spatial rank, from whichever attribute or constant fixes it.
  auto note_rank = [&](int64_t r, const std::string& from) {
    if (a.n_spatial >= 0 && a.n_spatial != r)
      init.invalid(from + " implies " + std::to_string(r) + " spatial axes, other attributes or W imply " +
                   std::to_string(a.n_spatial));
    a.n_spatial = r;
  };
  if (!a.kernel_shape.empty()) note_rank(static_cast<int64_t>(a.kernel_shape.size()), "kernel_shape");
  if (w && w->rank() >= 3) note_rank(w->rank() - 2, "the shape of W " + shape_str(w->shape()));
  for (const char* k : {"strides", "dilations"})
    if (n.has_attr(k)) note_rank(static_cast<int64_t>(n.attr_ints(k).size()), k);
  if (n.has_attr("pads")) {
    const auto p = n.attr_ints("pads");
    if (p.size() % 2 != 0)
      init.invalid("pads has an odd number of values (" + std::to_string(p.size()) + ")");
    note_rank(static_cast<int64_t>(p.size() / 2), "pads");
  }
  if (!a.output_padding.empty()) note_rank(static_cast<int64_t>(a.output_padding.size()), "output_padding");
  if (!a.output_shape.empty()) note_rank(static_cast<int64_t>(a.output_shape.size()), "output_shape");

  const size_t ns = a.n_spatial >= 0 ? static_cast<size_t>(a.n_spatial) : 0;
  // The kernel extents here only satisfy read_window_attrs' checks; each run takes them from W.
  std::vector<int64_t> kernel = a.kernel_shape;
  if (kernel.empty()) kernel.assign(ns, 1);
  a.window = read_window_attrs(init, kernel, /*allow_ceil_mode=*/false);

  if (transpose) {
    for (size_t i = 0; i < a.output_padding.size(); ++i) {
      const int64_t p = a.output_padding[i];
      if (p < 0 || (p >= a.window.strides[i] && p >= a.window.dilations[i]))
        init.invalid("output_padding " + ints_str(a.output_padding) +
                     " must be non-negative and less than the stride " + ints_str(a.window.strides) +
                     " or the dilation " + ints_str(a.window.dilations));
    }
    for (int64_t s : a.output_shape)
      if (s < 0) init.invalid("output_shape " + ints_str(a.output_shape) + " has a negative extent");
  }
  if (w) check_weight(a, w->shape(), [&](const std::string& m) { init.invalid(m); });
  return a;
}

ConvGeometry conv_geometry(const ConvAttrs& a, const Shape& x, const Shape& w, const Tensor* bias) {
  check_input(x, w);
  check_weight(a, w, [](const std::string& m) { throw Error(m); });
  ConvGeometry g;
  g.batch = x[0];
  g.in_channels = x[1];
  g.out_channels = w[0];
  g.group = a.group;
  if (g.in_channels % a.group != 0)
    throw Error("input X has shape " + shape_str(x) + ": its " + std::to_string(x[1]) +
                " channels are not divisible by group " + std::to_string(a.group));
  if (w[1] * a.group != g.in_channels)
    throw Error("input X has " + std::to_string(x[1]) + " channels (shape " + shape_str(x) +
                ") but weight W " + shape_str(w) + " with group " + std::to_string(a.group) + " expects " +
                std::to_string(w[1]) + " x " + std::to_string(a.group) + " = " +
                std::to_string(w[1] * a.group));
  check_bias(bias, g.out_channels);
  g.kernel.assign(w.begin() + 2, w.end());
  g.in.assign(x.begin() + 2, x.end());
  const WindowAttrs wa = window_for(a, g.kernel);
  const WindowGeometry wg = compute_window(wa, g.in, "Conv");
  g.out = wg.out;
  g.strides = wa.strides;
  g.dilations = wa.dilations;
  g.pad_begin = wg.pad_begin;
  g.pad_end = wg.pad_end;
  g.y_shape = {g.batch, g.out_channels};
  g.y_shape.insert(g.y_shape.end(), g.out.begin(), g.out.end());
  return g;
}

ConvGeometry conv_transpose_geometry(const ConvAttrs& a, const Shape& x, const Shape& w, const Tensor* bias) {
  check_input(x, w);
  check_weight(a, w, [](const std::string& m) { throw Error(m); });
  ConvGeometry g;
  g.batch = x[0];
  g.in_channels = x[1];
  g.out_channels = w[1] * a.group;
  g.group = a.group;
  if (g.in_channels % a.group != 0)
    throw Error("input X has shape " + shape_str(x) + ": its " + std::to_string(x[1]) +
                " channels are not divisible by group " + std::to_string(a.group));
  if (w[0] != g.in_channels)
    throw Error("input X has " + std::to_string(x[1]) + " channels (shape " + shape_str(x) +
                ") but weight W " + shape_str(w) + " expects " + std::to_string(w[0]) +
                " (W is C x M/group x k1 x ...)");
  check_bias(bias, g.out_channels);
  g.kernel.assign(w.begin() + 2, w.end());
  g.in.assign(x.begin() + 2, x.end());
  const WindowAttrs wa = window_for(a, g.kernel);
  const size_t n = g.kernel.size();
  g.strides = wa.strides;
  g.dilations = wa.dilations;
  g.out.resize(n);
  g.pad_begin.resize(n);
  g.pad_end.resize(n);
  const bool same = wa.auto_pad == "SAME_UPPER" || wa.auto_pad == "SAME_LOWER";
  for (size_t i = 0; i < n; ++i) {
    const int64_t op = a.output_padding.empty() ? 0 : a.output_padding[i];
    const int64_t ek = (g.kernel[i] - 1) * g.dilations[i] + 1;
    const int64_t natural = g.strides[i] * (g.in[i] - 1) + op + ek;  // output extent without padding
    if (!a.output_shape.empty() || same) {
      g.out[i] = !a.output_shape.empty() ? a.output_shape[i] : g.in[i] * g.strides[i];
      split_total_pad(natural - g.out[i], wa.auto_pad == "SAME_UPPER", g.pad_begin[i], g.pad_end[i]);
    } else {
      const bool valid = wa.auto_pad == "VALID";
      g.pad_begin[i] = valid ? 0 : wa.pads[i];
      g.pad_end[i] = valid ? 0 : wa.pads[i + n];
      g.out[i] = natural - g.pad_begin[i] - g.pad_end[i];
    }
    if (g.out[i] < 0)
      throw Error("ConvTranspose output extent " + std::to_string(g.out[i]) + " on spatial axis " +
                  std::to_string(i) + " is negative (input " + shape_str(x) + ", weight " + shape_str(w) +
                  ")");
  }
  g.y_shape = {g.batch, g.out_channels};
  g.y_shape.insert(g.y_shape.end(), g.out.begin(), g.out.end());
  return g;
}

void check_conv_dtypes(const Tensor& x, const Tensor& w, const Tensor* bias) {
  if (x.dtype() != DType::Float32)
    throw UnsupportedError("input X is " + dtype_name(x.dtype()) + "; only float32 is supported");
  if (w.dtype() != x.dtype())
    throw Error("weight W is " + dtype_name(w.dtype()) + " but input X is " + dtype_name(x.dtype()));
  if (bias && bias->dtype() != x.dtype())
    throw Error("bias B is " + dtype_name(bias->dtype()) + " but input X is " + dtype_name(x.dtype()));
}

}  // namespace qs
