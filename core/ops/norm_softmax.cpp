// Softmax and LogSoftmax, numerically stable (the maximum is subtracted before exponentiating).
// Opset < 13: X is coerced to 2-D [prod(shape[:axis]), prod(shape[axis:])] and each row is normalized.
// Opset >= 13: normalized along `axis` only.
#include <Eigen/Core>
#include <cmath>

#include "core/common/parallel.h"
#include "core/ops/norm_factories.h"

namespace qs {

namespace {

template <typename T>
using Row = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using MutRow = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;

// outer x n x inner layout, normalized along n. Eigen's array expressions vectorize the reductions and
// exp (std::exp does not vectorize without -ffast-math). For inner > 1 the inner positions are processed
// together so that every memory access is contiguous.
template <typename T, bool kLog>
void softmax(const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
  if (inner == 1) {
    parallel_for(
        0, outer,
        [&](int64_t o) {
          const Row<T> xr(x + o * n, n);
          MutRow<T> yr(y + o * n, n);
          const T m = xr.maxCoeff();
          if constexpr (kLog) {
            // (x - max) is exact; subtracting max + log(sum) at once would lose low bits for large inputs.
            const T log_sum = std::log((xr - m).exp().sum());
            yr = (xr - m) - log_sum;
          } else {
            yr = (xr - m).exp();
            yr *= T(1) / yr.sum();
          }
        },
        n * 8);
    return;
  }
  parallel_for(
      0, outer,
      [&](int64_t o) {
        const T* xo = x + o * n * inner;
        T* yo = y + o * n * inner;
        Array m = Row<T>(xo, inner);
        for (int64_t k = 1; k < n; ++k) m = m.max(Row<T>(xo + k * inner, inner));
        Array sum = Array::Zero(inner);
        for (int64_t k = 0; k < n; ++k) {
          if constexpr (kLog) {
            sum += (Row<T>(xo + k * inner, inner) - m).exp();
          } else {
            MutRow<T> yk(yo + k * inner, inner);
            yk = (Row<T>(xo + k * inner, inner) - m).exp();
            sum += yk;
          }
        }
        if constexpr (kLog) {
          sum = sum.log();
          for (int64_t k = 0; k < n; ++k)
            MutRow<T>(yo + k * inner, inner) = (Row<T>(xo + k * inner, inner) - m) - sum;
        } else {
          sum = sum.inverse();
          for (int64_t k = 0; k < n; ++k) MutRow<T>(yo + k * inner, inner) *= sum;
        }
      },
      n * inner * 8);
}

}  // namespace

std::unique_ptr<Kernel> make_softmax(const KernelInit& init, bool log) {
  const bool coerce_2d = init.opset < 13;
  const int64_t axis_attr = init.node.attr_int("axis", coerce_2d ? 1 : -1);
  const std::string where = init.where();
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    const int64_t r = x.rank();
    if (r == 0) throw Error(where + ": the input is a scalar");
    const int64_t axis = normalize_axis(axis_attr, r, where);
    int64_t outer = 1, n = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
    if (coerce_2d) {
      for (int64_t i = axis; i < r; ++i) n *= x.dim(i);
    } else {
      n = x.dim(axis);
      for (int64_t i = axis + 1; i < r; ++i) inner *= x.dim(i);
    }
    Tensor y(x.dtype(), x.shape());
    if (x.numel() > 0) {
      if (x.dtype() == DType::Float32) {
        (log ? softmax<float, true> : softmax<float, false>)(x.data<float>(), y.data<float>(), outer, n,
                                                             inner);
      } else if (x.dtype() == DType::Float64) {
        (log ? softmax<double, true> : softmax<double, false>)(x.data<double>(), y.data<double>(), outer, n,
                                                               inner);
      } else {
        throw UnsupportedError(where + ": " + (log ? "LogSoftmax" : "Softmax") + " on " +
                               dtype_name(x.dtype()) + " is not supported");
      }
    }
    out[0] = std::move(y);
  });
}

}  // namespace qs
