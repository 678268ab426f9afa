// Ops that create tensors from attributes or scalars: Constant, ConstantOfShape, Range.
#include <cmath>
#include <cstring>

#include "core/ops/shape_common.h"

namespace qs {

namespace {

std::unique_ptr<Kernel> make_constant(const KernelInit& init) {
  const Node& n = init.node;
  static const char* const kValueAttrs[] = {"value",      "value_float",  "value_floats",  "value_int",
                                            "value_ints", "value_string", "value_strings", "sparse_value"};
  std::string which;
  int count = 0;
  for (const char* a : kValueAttrs)
    if (n.has_attr(a)) {
      which = a;
      ++count;
    }
  if (count != 1)
    init.invalid("exactly one of the value attributes must be given, found " + std::to_string(count));
  if (which == "sparse_value") init.unsupported("attribute 'sparse_value' (sparse tensors) is not supported");
  if (which == "value_string" || which == "value_strings")
    init.unsupported("attribute '" + which + "' (string tensors) is not supported");
  Tensor t;
  if (which == "value") {
    const Attribute* a = n.attr("value");
    if (a->kind != Attribute::Kind::Tensor || !a->t.defined())
      init.invalid("attribute 'value' should be a tensor");
    t = a->t;
  } else if (which == "value_float") {
    t = Tensor::scalar<float>(n.attr_float("value_float", 0));
  } else if (which == "value_floats") {
    const auto v = n.attr_floats("value_floats");
    t = Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v);
  } else if (which == "value_int") {
    t = Tensor::scalar<int64_t>(n.attr_int("value_int", 0));
  } else {
    const auto v = n.attr_ints("value_ints");
    t = Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
  return make_kernel([t](std::span<const Tensor* const>, std::span<Tensor> out) { out[0] = t; });
}

// Fills `out` with copies of the `elem_size`-byte pattern at `value`.
void fill_pattern(Tensor& out, const void* value) {
  dispatch_elem_size(dtype_size(out.dtype()), [&](auto tag) {
    using U = decltype(tag);
    U v;
    std::memcpy(&v, value, sizeof(U));
    U* p = static_cast<U*>(out.raw());
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = v;
  });
}

std::unique_ptr<Kernel> make_constant_of_shape(const KernelInit& init) {
  require_inputs(init, 1);
  const Node& n = init.node;
  Tensor value = Tensor::scalar<float>(0.f);
  if (const Attribute* a = n.attr("value")) {
    if (a->kind != Attribute::Kind::Tensor || !a->t.defined())
      init.invalid("attribute 'value' should be a tensor");
    if (a->t.numel() != 1) init.invalid("attribute 'value' should hold one element, got " + a->t.str());
    value = a->t;
  }
  IntListInput shape(init, 0, "input 'input' (the shape)");
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Shape s = shape.get(in);
    for (int64_t d : s)
      if (d < 0) throw Error("shape " + ints_str(s) + " has a negative extent");
    Tensor t(value.dtype(), s);
    fill_pattern(t, value.raw());
    out[0] = std::move(t);
  });
}

// Element count of Range: max(ceil((limit - start) / delta), 0), exact for integers.
template <typename T>
int64_t range_count(T start, T limit, T delta) {
  if (delta == 0) throw Error("delta must not be 0");
  if constexpr (std::is_integral_v<T>) {
    const int64_t s = start, l = limit, d = delta;
    int64_t diff = 0;
    if (__builtin_sub_overflow(l, s, &diff)) throw Error("limit - start overflows int64");
    if ((diff > 0) != (d > 0) || diff == 0) return 0;
    // Same signs: the quotient is positive, so truncation is floor and ceil adds one for a remainder.
    return diff / d + (diff % d != 0 ? 1 : 0);
  } else {
    const double c = std::ceil(static_cast<double>(limit - start) / static_cast<double>(delta));
    if (!(c > 0)) return 0;  // also catches NaN
    if (c > 1e12) throw Error("Range would have " + std::to_string(c) + " elements");
    return static_cast<int64_t>(c);
  }
}

std::unique_ptr<Kernel> make_range(const KernelInit& init) {
  require_inputs(init, 3);
  return make_kernel([](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor &a = *in[0], &b = *in[1], &c = *in[2];
    if (a.dtype() != b.dtype() || a.dtype() != c.dtype())
      throw Error("start, limit and delta should have one type, got " + a.str() + ", " + b.str() + ", " +
                  c.str());
    for (const Tensor* t : {&a, &b, &c})
      if (t->numel() != 1 || t->rank() > 1)
        throw Error("start, limit and delta should be scalars, got " + t->str());
    const DType dt = a.dtype();
    if (dt != DType::Float32 && dt != DType::Float64 && dt != DType::Int16 && dt != DType::Int32 &&
        dt != DType::Int64)
      throw Error("Range is not defined for type " + dtype_name(dt));
    dispatch_dtype(dt, [&](auto tag) {
      using T = decltype(tag);
      const T start = a.data<T>()[0], limit = b.data<T>()[0], delta = c.data<T>()[0];
      const int64_t cnt = range_count<T>(start, limit, delta);
      Tensor t(dt, {cnt});
      T* p = t.data<T>();
      // start + i * delta (numpy.arange), rather than accumulating delta, which drifts for floats.
      for (int64_t i = 0; i < cnt; ++i) {
        if constexpr (std::is_integral_v<T>)  // in int64: i * delta fits, as it lies between start and limit
          p[i] = static_cast<T>(static_cast<int64_t>(start) + i * static_cast<int64_t>(delta));
        else
          p[i] = static_cast<T>(start + static_cast<T>(i) * delta);
      }
      out[0] = std::move(t);
    });
  });
}

}  // namespace

void register_generator_ops(OpRegistry& r) {
  r.add("", "Constant", 1, 21, make_constant);
  r.add("", "ConstantOfShape", 9, 21, make_constant_of_shape);
  r.add("", "Range", 11, 21, make_range);
}

}  // namespace qs
