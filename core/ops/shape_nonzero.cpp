// NonZero: the int64 [rank, count] coordinates of the non-zero elements, in row-major order.
#include "core/ops/shape_common.h"

namespace qs {

namespace {

std::unique_ptr<Kernel> make_nonzero(const KernelInit& init) {
  require_inputs(init, 1);
  return make_kernel([](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    // A 0-D input is treated as 1-D with one element (numpy.nonzero, ONNX Runtime): output [1, count].
    const Shape shape = x.rank() == 0 ? Shape{1} : x.shape();
    const size_t r = shape.size();
    std::vector<int64_t> hits;  // flat indices of non-zero elements
    dispatch_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* p = x.data<T>();
      // Compared as values, not bytes: -0.0 is zero and NaN is not.
      for (int64_t i = 0; i < x.numel(); ++i)
        if (p[i] != T{}) hits.push_back(i);
    });
    const int64_t n = static_cast<int64_t>(hits.size());
    Tensor y(DType::Int64, {static_cast<int64_t>(r), n});
    int64_t* o = y.data<int64_t>();
    for (int64_t j = 0; j < n; ++j) {
      int64_t rem = hits[static_cast<size_t>(j)];
      for (size_t a = r; a-- > 0;) {
        o[static_cast<int64_t>(a) * n + j] = rem % shape[a];
        rem /= shape[a];
      }
    }
    out[0] = std::move(y);
  });
}

}  // namespace

void register_nonzero_ops(OpRegistry& r) { r.add("", "NonZero", 9, 21, make_nonzero); }

}  // namespace qs
