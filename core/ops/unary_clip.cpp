// Clip: y = min(max(x, min), max). Opset 6-10 takes min/max as float attributes; opset 11+ as optional
// scalar inputs of X's type (integer types from opset 12), constant or computed at run time. A missing
// bound defaults to numeric_limits<T>::lowest() / max() as the spec says. When min > max every element
// becomes max, which the formula gives by itself.
#include <limits>
#include <optional>

#include "core/ops/elementwise_groups.h"
#include "core/ops/unary_kernel.h"

namespace qs::ew {

namespace {

template <typename T>
void clip_loop(const T* x, T* y, int64_t n, T lo, T hi) {
  for (int64_t i = 0; i < n; ++i) {
    const T v = x[i] < lo ? lo : x[i];  // NaN passes through both comparisons
    y[i] = v > hi ? hi : v;
  }
}

template <typename T>
Tensor clip(const Tensor& x, T lo, T hi) {
  Tensor y(x.dtype(), x.shape());
  const T* px = x.data<T>();
  T* py = y.data<T>();
  parallel_chunks(x.numel(), [&](int64_t b, int64_t e) { clip_loop(px + b, py + b, e - b, lo, hi); });
  return y;
}

// Opset 6-10: float attributes.
std::unique_ptr<Kernel> make_clip_attr(const KernelInit& init) {
  check_arity(init, 1, 1);
  std::optional<float> lo, hi;
  if (init.node.has_attr("min")) lo = init.node.attr_float("min", 0.0f);
  if (init.node.has_attr("max")) hi = init.node.attr_float("max", 0.0f);
  return make_kernel([lo, hi](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = required(in, 0);
    dispatch_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsFloat<T>) {
        out[0] = clip<T>(x, lo ? static_cast<T>(*lo) : std::numeric_limits<T>::lowest(),
                         hi ? static_cast<T>(*hi) : std::numeric_limits<T>::max());
      } else {
        unsupported_type(x.dtype(), "input", FloatTypes::names);
      }
    });
  });
}

// The bound of type T in `b` (a one-element tensor), or `def` when the input is omitted.
template <typename T>
T bound_value(const Tensor* b, DType xtype, const char* name, T def) {
  if (b == nullptr) return def;
  if (b->dtype() != xtype)
    throw Error(std::string("input '") + name + "' has type " + dtype_name(b->dtype()) +
                " but 'input' has type " + dtype_name(xtype));
  if (b->numel() != 1)
    throw Error(std::string("input '") + name + "' must be a scalar, got shape " + shape_str(b->shape()));
  return b->data<T>()[0];
}

// Opset 11+: optional inputs. Constant bounds are captured once; runtime bounds are read per run.
std::unique_ptr<Kernel> make_clip_inputs(const KernelInit& init) {
  check_arity(init, 1, 3);
  const bool has_min = init.node.has_input(1), has_max = init.node.has_input(2);
  std::optional<Tensor> cmin, cmax;
  if (const Tensor* t = init.constant_input(1)) cmin = *t;
  if (const Tensor* t = init.constant_input(2)) cmax = *t;
  for (const auto& [c, name] : {std::pair{&cmin, "min"}, std::pair{&cmax, "max"}})
    if (*c && (*c)->numel() != 1)
      init.invalid(std::string("input '") + name + "' must be a scalar, got shape " +
                   shape_str((*c)->shape()));
  return make_kernel(
      [has_min, has_max, cmin, cmax](std::span<const Tensor* const> in, std::span<Tensor> out) {
        const Tensor& x = required(in, 0);
        const Tensor* tmin = cmin ? &*cmin : (has_min ? &required(in, 1) : nullptr);
        const Tensor* tmax = cmax ? &*cmax : (has_max ? &required(in, 2) : nullptr);
        dispatch_dtype(x.dtype(), [&](auto tag) {
          using T = decltype(tag);
          if constexpr (!kIsBool<T>) {
            out[0] = clip<T>(x, bound_value<T>(tmin, x.dtype(), "min", std::numeric_limits<T>::lowest()),
                             bound_value<T>(tmax, x.dtype(), "max", std::numeric_limits<T>::max()));
          } else {
            unsupported_type(x.dtype(), "input", NumericTypes::names);
          }
        });
      });
}

}  // namespace

void register_clip_ops(OpRegistry& r) {
  r.add("", "Clip", 6, 10, make_clip_attr);
  r.add("", "Clip", 11, 21, make_clip_inputs);
}

}  // namespace qs::ew
