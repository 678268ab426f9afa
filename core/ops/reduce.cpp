// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceSumSquare, ReduceL1, ReduceL2,
// ReduceLogSum, ReduceLogSumExp.
//
// Axes: an `axes` attribute before opset 18 (13 for ReduceSum), then an optional int64 input (constant
// inputs are read once at kernel creation) with `noop_with_empty_axes`. Empty or missing axes reduce every
// axis, unless noop_with_empty_axes = 1, where the op is an Identity.
#include <optional>

#include "core/ops/reduce_arg.h"
#include "core/ops/reduce_kernels.h"
#include "core/ops/reduce_layout.h"

namespace qs {

namespace {

enum class Kind { kSum, kMean, kMax, kMin, kProd, kSumSquare, kL1, kL2, kLogSum, kLogSumExp };

struct ReduceConfig {
  Kind kind = Kind::kSum;
  bool keepdims = true;
  bool noop_with_empty_axes = false;
  bool axes_input = false;                   // axes come from input 1 (may be omitted)
  std::optional<std::vector<int64_t>> axes;  // attribute or constant input
};

template <typename T>
void run_reduce(Kind kind, const T* x, T* y, const ReduceLayout& l) {
  if constexpr (std::is_same_v<T, bool>) {  // ReduceMax/Min only (opset 20): any / all
    if (kind == Kind::kMax) return red::reduce(x, y, l.outer, l.red, l.inner, red::MaxR<T>{});
    return red::reduce(x, y, l.outer, l.red, l.inner, red::MinR<T>{});
  } else {
    switch (kind) {
      case Kind::kSum:
        return red::reduce(x, y, l.outer, l.red, l.inner, red::SumR<T>{});
      case Kind::kMean:
        return red::reduce(x, y, l.outer, l.red, l.inner, red::MeanR<T>{});
      case Kind::kMax:
        return red::reduce(x, y, l.outer, l.red, l.inner, red::MaxR<T>{});
      case Kind::kMin:
        return red::reduce(x, y, l.outer, l.red, l.inner, red::MinR<T>{});
      case Kind::kProd:
        return red::reduce(x, y, l.outer, l.red, l.inner, red::ProdR<T>{});
      case Kind::kSumSquare:
        return red::reduce(x, y, l.outer, l.red, l.inner, red::SumSquareR<T>{});
      case Kind::kL1:
        return red::reduce(x, y, l.outer, l.red, l.inner, red::L1R<T>{});
      case Kind::kL2:
        return red::reduce(x, y, l.outer, l.red, l.inner, red::L2R<T>{});
      case Kind::kLogSum:
        return red::reduce(x, y, l.outer, l.red, l.inner, red::LogSumR<T>{});
      case Kind::kLogSumExp:
        return red::reduce_log_sum_exp(x, y, l.outer, l.red, l.inner);
    }
  }
}

// Types per the spec: float32/64, int32/64, uint32/64; ReduceMax/Min also int8/uint8 and bool.
template <typename T>
constexpr bool reduce_type_ok(Kind kind) {
  if constexpr (std::is_same_v<T, int16_t> || std::is_same_v<T, uint16_t>) {
    return false;
  } else if constexpr (std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t> || std::is_same_v<T, bool>) {
    return kind == Kind::kMax || kind == Kind::kMin;
  } else {
    return true;
  }
}

Tensor reduce_tensor(const ReduceConfig& c, const Tensor& x, const std::vector<int64_t>& axes) {
  if (axes.empty() && c.noop_with_empty_axes) return x;  // Identity: shares the buffer, nothing is written
  std::vector<bool> mask = reduced_axes_mask(axes, x.rank());
  if (axes.empty()) mask.assign(mask.size(), true);
  const ReduceLayout l = make_reduce_layout(x.shape(), mask, c.keepdims);
  const Tensor src = l.perm.empty() ? x : permute_copy(x, l.perm);
  Tensor y(x.dtype(), l.out_shape);
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (reduce_type_ok<T>(c.kind)) {
      run_reduce<T>(c.kind, src.data<T>(), y.data<T>(), l);
      return;
    }
    ew::unsupported_type(x.dtype(), "data",
                         c.kind == Kind::kMax || c.kind == Kind::kMin
                             ? "float32, float64, bool, int8, uint8, int32, uint32, int64, uint64"
                             : "float32, float64, int32, uint32, int64, uint64");
  });
  return y;
}

std::vector<int64_t> axes_from_tensor(const Tensor& t) {
  if (t.dtype() != DType::Int64) throw Error("input 'axes' must be int64, got " + dtype_name(t.dtype()));
  if (t.rank() > 1) throw Error("input 'axes' must be 1-D, got shape " + shape_str(t.shape()));
  return t.to_vector<int64_t>();
}

KernelFactory reduce_factory(Kind kind, bool axes_input) {
  return [kind, axes_input](const KernelInit& init) -> std::unique_ptr<Kernel> {
    ew::check_arity(init, 1, axes_input ? 2 : 1);
    ReduceConfig c;
    c.kind = kind;
    c.keepdims = init.node.attr_int("keepdims", 1) != 0;
    c.axes_input = axes_input;
    if (axes_input) {
      if (init.node.has_attr("axes"))
        init.invalid("attribute 'axes' is not allowed at this opset (axes are the second input)");
      c.noop_with_empty_axes = init.node.attr_int("noop_with_empty_axes", 0) != 0;
      if (!init.node.has_input(1)) {
        c.axes = std::vector<int64_t>{};
      } else if (const Tensor* t = init.constant_input(1)) {
        try {
          c.axes = axes_from_tensor(*t);
        } catch (const Error& e) {
          init.invalid(e.what());
        }
      }
    } else {
      if (init.node.has_attr("noop_with_empty_axes"))
        init.invalid("attribute 'noop_with_empty_axes' is not defined at this opset");
      c.axes = init.node.attr_ints("axes", {});
    }
    return make_kernel([c](std::span<const Tensor* const> in, std::span<Tensor> out) {
      const Tensor& x = ew::required(in, 0);
      out[0] = reduce_tensor(c, x, c.axes ? *c.axes : axes_from_tensor(ew::required(in, 1)));
    });
  };
}

}  // namespace

void register_reduce_ops(OpRegistry& r) {
  struct Op {
    const char* name;
    Kind kind;
    int input_since;  // first opset where axes is an input
  };
  const Op ops[] = {{"ReduceSum", Kind::kSum, 13},       {"ReduceMean", Kind::kMean, 18},
                    {"ReduceMax", Kind::kMax, 18},       {"ReduceMin", Kind::kMin, 18},
                    {"ReduceProd", Kind::kProd, 18},     {"ReduceSumSquare", Kind::kSumSquare, 18},
                    {"ReduceL1", Kind::kL1, 18},         {"ReduceL2", Kind::kL2, 18},
                    {"ReduceLogSum", Kind::kLogSum, 18}, {"ReduceLogSumExp", Kind::kLogSumExp, 18}};
  // Opset 1-10 allowed only non-negative axes; accepting negative ones there is a superset.
  for (const Op& op : ops) {
    r.add("", op.name, 1, op.input_since - 1, reduce_factory(op.kind, false));
    r.add("", op.name, op.input_since, 21, reduce_factory(op.kind, true));
  }
  red::register_arg_ops(r);
}

}  // namespace qs
