// Ops whose output is the input with another shape: Identity, Dropout (inference), Flatten, Reshape,
// Squeeze, Unsqueeze. Every output is a view sharing the input buffer (Tensor::reshaped), never a copy:
// the executor never writes into a kernel's inputs, so sharing is safe.
#include <algorithm>
#include <cstring>
#include <set>

#include "core/ops/shape_common.h"

namespace qs {

namespace {

std::unique_ptr<Kernel> make_identity(const KernelInit& init) {
  require_inputs(init, 1);
  return make_kernel([](std::span<const Tensor* const> in, std::span<Tensor> out) { out[0] = *in[0]; });
}

// Inference-mode Dropout: output = input; the optional mask is all "kept". The mask is bool from opset 10;
// before that it has the input's type (ones). The ratio is irrelevant in inference. A training_mode input
// must be a constant false: a value known only at run time could turn on training (random) mode.
std::unique_ptr<Kernel> make_dropout(const KernelInit& init) {
  require_inputs(init, 1);
  const Node& n = init.node;
  if (init.opset >= 12 && n.has_input(2)) {
    const Tensor* t = init.constant_input(2);
    if (!t)
      init.unsupported("input 'training_mode' computed at run time is not supported (only a constant false)");
    if (t->dtype() != DType::Bool || t->numel() != 1)
      init.invalid("input 'training_mode' should be a bool scalar, got " + t->str());
    if (t->data<bool>()[0]) init.unsupported("training_mode=true (training-mode Dropout) is not supported");
  }
  const bool want_mask = n.outputs.size() > 1 && !n.outputs[1].empty();
  const bool bool_mask = init.opset >= 10;
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    out[0] = x;
    if (!want_mask) return;
    if (bool_mask) {
      Tensor m(DType::Bool, x.shape());
      std::fill_n(m.data<bool>(), m.numel(), true);
      out[1] = std::move(m);
    } else {
      Tensor m(x.dtype(), x.shape());
      dispatch_dtype(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        std::fill_n(m.data<T>(), m.numel(), static_cast<T>(1));
      });
      out[1] = std::move(m);
    }
  });
}

std::unique_ptr<Kernel> make_flatten(const KernelInit& init) {
  require_inputs(init, 1);
  const int64_t axis = init.node.attr_int("axis", 1);
  return make_kernel([axis](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    const int64_t r = x.rank();
    const int64_t a = axis < 0 ? axis + r : axis;
    if (a < 0 || a > r)
      throw Error("axis " + std::to_string(axis) + " is out of range for input " + x.str() + " (allowed [" +
                  std::to_string(-r) + ", " + std::to_string(r) + "])");
    int64_t outer = 1;
    for (int64_t i = 0; i < a; ++i) outer *= x.dim(i);
    int64_t inner = 1;
    for (int64_t i = a; i < r; ++i) inner *= x.dim(i);
    out[0] = x.reshaped({outer, inner});
  });
}

// Resolves Reshape's requested shape against the input shape: 0 copies the input extent at the same
// index (unless allowzero), one -1 is inferred from the element count.
Shape reshape_target(const Shape& in, const std::vector<int64_t>& req, bool allowzero) {
  const auto fail = [&](const std::string& why) -> Error {
    return Error("cannot reshape " + shape_str(in) + " to " + ints_str(req) + ": " + why);
  };
  Shape out(req.size());
  int64_t infer = -1;
  int64_t known = 1;
  bool has_zero = false;
  for (size_t i = 0; i < req.size(); ++i) {
    const int64_t v = req[i];
    if (v == -1) {
      if (infer >= 0) throw fail("more than one -1");
      infer = static_cast<int64_t>(i);
      continue;
    }
    if (v < -1) throw fail("invalid extent " + std::to_string(v));
    if (v == 0 && !allowzero) {
      if (i >= in.size()) throw fail("0 at index " + std::to_string(i) + " has no input extent to copy");
      out[i] = in[i];
    } else {
      out[i] = v;
      has_zero = has_zero || v == 0;
    }
    known *= out[i];
  }
  if (allowzero && has_zero && infer >= 0) throw fail("with allowzero=1 the shape cannot hold both 0 and -1");
  const int64_t total = numel(in);
  if (infer >= 0) {
    if (known == 0 || total % known != 0)
      throw fail("the element count " + std::to_string(total) + " does not fit");
    out[static_cast<size_t>(infer)] = total / known;
  } else if (known != total) {
    throw fail("element counts differ (" + std::to_string(total) + " vs " + std::to_string(known) + ")");
  }
  return out;
}

std::unique_ptr<Kernel> make_reshape(const KernelInit& init) {
  require_inputs(init, 2);
  const Node& n = init.node;
  const int64_t allowzero_attr = n.attr_int("allowzero", 0);
  if (init.opset < 14 && allowzero_attr != 0) init.invalid("allowzero requires opset 14");
  if (allowzero_attr != 0 && allowzero_attr != 1)
    init.invalid("allowzero must be 0 or 1, got " + std::to_string(allowzero_attr));
  const bool allowzero = allowzero_attr == 1;
  IntListInput shape(init, 1, "input 'shape'");
  if (shape.constant() && init.constant_input(1)->rank() != 1)
    init.invalid("input 'shape' should be 1-D, got " + init.constant_input(1)->str());
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    out[0] = x.reshaped(reshape_target(x.shape(), shape.get(in), allowzero));
  });
}

std::unique_ptr<Kernel> make_squeeze(const KernelInit& init) {
  require_inputs(init, 1);
  const Node& n = init.node;
  std::optional<std::vector<int64_t>> attr_axes;
  IntListInput axes_in;
  if (init.opset < 13) {
    if (n.has_attr("axes")) attr_axes = n.attr_ints("axes");
  } else {
    axes_in = IntListInput(init, 1, "input 'axes'");
  }
  // An empty axes list squeezes nothing per the spec text and ONNX's reference, but everything in ONNX
  // Runtime; refuse rather than pick one.
  const char* kEmptyAxes =
      "an empty 'axes' is ambiguous (ONNX Runtime squeezes every unit axis); omit it instead";
  if ((attr_axes && attr_axes->empty()) || (axes_in.constant() && axes_in.constant()->empty()))
    init.unsupported(kEmptyAxes);
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    std::optional<std::vector<int64_t>> axes = attr_axes;
    if (axes_in.present()) axes = axes_in.get(in);
    if (axes && axes->empty()) throw UnsupportedError(kEmptyAxes);
    Shape s;
    if (!axes) {
      for (int64_t d : x.shape())
        if (d != 1) s.push_back(d);
    } else {
      const auto ax = normalize_axes(*axes, x.rank(), "axes");
      const std::set<int64_t> drop(ax.begin(), ax.end());
      for (int64_t i = 0; i < x.rank(); ++i) {
        if (!drop.count(i)) {
          s.push_back(x.dim(i));
        } else if (x.dim(i) != 1) {
          throw Error("cannot squeeze axis " + std::to_string(i) + " of " + x.str() +
                      ": its extent is not 1");
        }
      }
    }
    out[0] = x.reshaped(std::move(s));
  });
}

std::unique_ptr<Kernel> make_unsqueeze(const KernelInit& init) {
  require_inputs(init, 1);
  const Node& n = init.node;
  std::vector<int64_t> attr_axes;
  IntListInput axes_in;
  if (init.opset < 13) {
    if (!n.has_attr("axes")) init.invalid("attribute 'axes' is required");
    attr_axes = n.attr_ints("axes");
  } else {
    if (!n.has_input(1)) init.invalid("input 'axes' is required");
    axes_in = IntListInput(init, 1, "input 'axes'");
  }
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    const std::vector<int64_t> axes = axes_in.present() ? axes_in.get(in) : attr_axes;
    const int64_t r = x.rank() + static_cast<int64_t>(axes.size());
    const auto ax = normalize_axes(axes, r, "axes");
    const std::set<int64_t> ins(ax.begin(), ax.end());
    Shape s;
    size_t k = 0;
    for (int64_t i = 0; i < r; ++i) s.push_back(ins.count(i) ? 1 : x.shape()[k++]);
    out[0] = x.reshaped(std::move(s));
  });
}

}  // namespace

void register_view_ops(OpRegistry& r) {
  r.add("", "Identity", 1, 21, make_identity);
  r.add("", "Dropout", 7, 21, make_dropout);
  r.add("", "Flatten", 1, 21, make_flatten);
  r.add("", "Reshape", 5, 21, make_reshape);
  r.add("", "Squeeze", 1, 21, make_squeeze);
  r.add("", "Unsqueeze", 1, 21, make_unsqueeze);
}

}  // namespace qs
