// Where: z = condition ? x : y with numpy broadcasting of the three inputs (opset 9+; 16 added bfloat16).
#include "core/ops/binary_kernel.h"
#include "core/ops/elementwise_groups.h"

namespace qs::ew {

namespace {

template <typename T>
Tensor where(const Tensor& c, const Tensor& x, const Tensor& y) {
  const BroadcastPlan p = make_broadcast_plan({c.shape(), x.shape(), y.shape()});
  Tensor out(x.dtype(), p.out);
  const bool* pc = c.data<bool>();
  const T* px = x.data<T>();
  const T* py = y.data<T>();
  T* po = out.data<T>();
  const int64_t sc = p.inner_stride[0], sx = p.inner_stride[1], sy = p.inner_stride[2];
  for_each_run<3>(p, [&](int64_t o, const std::array<int64_t, 3>& off, int64_t n) {
    const bool* c0 = pc + off[0];
    const T* x0 = px + off[1];
    const T* y0 = py + off[2];
    T* o0 = po + o;
    if (sc && sx && sy) {
      for (int64_t i = 0; i < n; ++i) o0[i] = c0[i] ? x0[i] : y0[i];
    } else {
      for (int64_t i = 0; i < n; ++i) o0[i] = c0[i * sc] ? x0[i * sx] : y0[i * sy];
    }
  });
  return out;
}

std::unique_ptr<Kernel> make_where(const KernelInit& init) {
  check_arity(init, 3, 3);
  return make_kernel([](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& c = required(in, 0);
    const Tensor& x = required(in, 1);
    const Tensor& y = required(in, 2);
    if (c.dtype() != DType::Bool) throw Error("input 'condition' must be bool, got " + dtype_name(c.dtype()));
    check_same_type(x, y);
    dispatch_dtype(x.dtype(), [&](auto tag) { out[0] = where<decltype(tag)>(c, x, y); });
  });
}

}  // namespace

void register_where_ops(OpRegistry& r) { r.add("", "Where", 9, 21, make_where); }

}  // namespace qs::ew
