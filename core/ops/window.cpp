#include "core/ops/window.h"

namespace qs {

WindowAttrs read_window_attrs(const KernelInit& init, std::vector<int64_t> kernel, bool allow_ceil_mode) {
  const Node& n = init.node;
  const size_t k = kernel.size();
  WindowAttrs a;
  a.kernel = std::move(kernel);
  a.strides = n.attr_ints("strides", std::vector<int64_t>(k, 1));
  a.dilations = n.attr_ints("dilations", std::vector<int64_t>(k, 1));
  a.pads = n.attr_ints("pads", std::vector<int64_t>(2 * k, 0));
  a.auto_pad = n.attr_string("auto_pad", "NOTSET");
  a.ceil_mode = n.attr_int("ceil_mode", 0) != 0;
  if (a.ceil_mode && !allow_ceil_mode) init.unsupported("ceil_mode is not defined for this op");
  if (a.strides.size() != k) init.invalid("strides has " + std::to_string(a.strides.size()) + " values, expected " + std::to_string(k));
  if (a.dilations.size() != k) init.invalid("dilations has " + std::to_string(a.dilations.size()) + " values, expected " + std::to_string(k));
  if (a.pads.size() != 2 * k) init.invalid("pads has " + std::to_string(a.pads.size()) + " values, expected " + std::to_string(2 * k));
  for (size_t i = 0; i < k; ++i) {
    if (a.kernel[i] <= 0) init.invalid("kernel extent " + std::to_string(a.kernel[i]) + " must be positive");
    if (a.strides[i] <= 0) init.invalid("stride " + std::to_string(a.strides[i]) + " must be positive");
    if (a.dilations[i] <= 0) init.invalid("dilation " + std::to_string(a.dilations[i]) + " must be positive");
  }
  for (int64_t p : a.pads)
    if (p < 0) init.invalid("negative pad " + std::to_string(p));
  if (a.auto_pad != "NOTSET" && a.auto_pad != "VALID" && a.auto_pad != "SAME_UPPER" && a.auto_pad != "SAME_LOWER")
    init.unsupported("auto_pad '" + a.auto_pad + "' is not supported");
  return a;
}

WindowGeometry compute_window(const WindowAttrs& a, const std::vector<int64_t>& in, const std::string& where) {
  const size_t k = a.kernel.size();
  if (in.size() != k)
    throw Error(where + ": input has " + std::to_string(in.size()) + " spatial axes, the window has " + std::to_string(k));
  WindowGeometry g;
  g.out.resize(k);
  g.pad_begin.resize(k);
  g.pad_end.resize(k);
  for (size_t i = 0; i < k; ++i) {
    const int64_t ek = (a.kernel[i] - 1) * a.dilations[i] + 1;  // effective kernel extent
    const int64_t s = a.strides[i];
    if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
      const int64_t out = (in[i] + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + ek - in[i]);
      const int64_t small = total / 2, large = total - small;
      g.pad_begin[i] = a.auto_pad == "SAME_UPPER" ? small : large;
      g.pad_end[i] = a.auto_pad == "SAME_UPPER" ? large : small;
      g.out[i] = out;
      continue;
    }
    if (a.auto_pad == "VALID") {
      g.pad_begin[i] = g.pad_end[i] = 0;
    } else {
      g.pad_begin[i] = a.pads[i];
      g.pad_end[i] = a.pads[i + k];
    }
    const int64_t span = in[i] + g.pad_begin[i] + g.pad_end[i] - ek;
    if (span < 0)
      throw Error(where + ": the window (extent " + std::to_string(ek) + ") is larger than the padded input (" +
                  std::to_string(in[i] + g.pad_begin[i] + g.pad_end[i]) + ") on spatial axis " + std::to_string(i));
    int64_t out = (a.ceil_mode ? (span + s - 1) / s : span / s) + 1;
    // A window must start inside the input or the begin padding.
    if (a.ceil_mode && (out - 1) * s >= in[i] + g.pad_begin[i]) --out;
    g.out[i] = out;
  }
  return g;
}

}  // namespace qs
