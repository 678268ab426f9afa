// Trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of each matrix in the last two axes
// and zeroes the rest (all-zero bytes are zero for every dtype). Each row is one memcpy and one memset.
#include <algorithm>
#include <cstring>

#include "core/common/parallel.h"
#include "core/ops/shape_common.h"

namespace qs {

namespace {

std::unique_ptr<Kernel> make_trilu(const KernelInit& init) {
  require_inputs(init, 1);
  const int64_t upper_attr = init.node.attr_int("upper", 1);
  if (upper_attr != 0 && upper_attr != 1)
    init.invalid("upper must be 0 or 1, got " + std::to_string(upper_attr));
  const bool upper = upper_attr == 1;
  std::optional<int64_t> k_const;
  if (const Tensor* t = init.constant_input(1)) {
    try {
      k_const = read_int_scalar(*t, "input 'k'");
    } catch (const Error& e) {
      init.invalid(e.what());
    }
  }
  const bool has_k = init.node.has_input(1);
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    if (x.rank() < 2) throw Error("input should have rank >= 2, got " + x.str());
    const int64_t k = k_const ? *k_const : has_k ? read_int_scalar(*in[1], "input 'k'") : 0;
    const int64_t H = x.dim(-2), W = x.dim(-1);
    const int64_t rows = H > 0 ? x.numel() / W : 0;
    Tensor y(x.dtype(), x.shape());
    if (W == 0 || rows == 0) {
      out[0] = std::move(y);
      return;
    }
    const size_t es = dtype_size(x.dtype());
    const auto* s = static_cast<const std::byte*>(x.raw());
    auto* d = static_cast<std::byte*>(y.raw());
    // Clamp k so that i + k cannot overflow (|k| beyond the matrix size keeps all or nothing).
    const int64_t kk = std::clamp<int64_t>(k, -H - 1, W + 1);
    parallel_for(
        0, rows,
        [&](int64_t row) {
          const int64_t i = row % H;
          // Columns [0, split) are kept for lower, zeroed for upper.
          const int64_t split = std::clamp<int64_t>(upper ? i + kk : i + kk + 1, 0, W);
          const size_t base = static_cast<size_t>(row * W) * es, cut = static_cast<size_t>(split) * es,
                       all = static_cast<size_t>(W) * es;
          if (upper) {
            std::memset(d + base, 0, cut);
            std::memcpy(d + base + cut, s + base + cut, all - cut);
          } else {
            std::memcpy(d + base, s + base, cut);
            std::memset(d + base + cut, 0, all - cut);
          }
        },
        W);
    out[0] = std::move(y);
  });
}

}  // namespace

void register_trilu_ops(OpRegistry& r) { r.add("", "Trilu", 14, 21, make_trilu); }

}  // namespace qs
