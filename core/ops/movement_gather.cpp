// Gather, GatherElements and GatherND. Indices (any integer type, negative counting from the end) are
// validated and resolved to element offsets first, so the parallel copy loops cannot fail; contiguous
// slices are moved with memcpy.
#include <cstring>

#include "core/common/parallel.h"
#include "core/ops/shape_common.h"

namespace qs {

namespace {

int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= s[i];
  return p;
}

// Index values of `t` with negatives wrapped by `dim`; throws Error naming the position of one out of
// [-dim, dim).
std::vector<int64_t> read_indices(const Tensor& t, int64_t dim, const std::string& what) {
  if (!is_integer_dtype(t.dtype())) throw Error(what + " should be an integer tensor, got " + t.str());
  std::vector<int64_t> v = t.to_vector<int64_t>();
  for (size_t i = 0; i < v.size(); ++i) {
    const int64_t x = v[i];
    if (x < -dim || x >= dim)
      throw Error(what + " value " + std::to_string(x) + " at position " + std::to_string(i) +
                  " is out of range for extent " + std::to_string(dim));
    if (x < 0) v[i] = x + dim;
  }
  return v;
}

// Copies `n` blocks of `block` elements: block i from src offset src_off[i] to dst offset i * block.
void copy_blocks(std::byte* dst, const std::byte* src, size_t es, const std::vector<int64_t>& src_off,
                 int64_t block) {
  const int64_t n = static_cast<int64_t>(src_off.size());
  if (block == 1) {
    dispatch_elem_size(es, [&](auto tag) {
      constexpr size_t ES = sizeof(tag);
      parallel_for(0, n, [&](int64_t i) {
        std::memcpy(dst + static_cast<size_t>(i) * ES,
                    src + static_cast<size_t>(src_off[static_cast<size_t>(i)]) * ES, ES);
      });
    });
    return;
  }
  const size_t bytes = static_cast<size_t>(block) * es;
  parallel_for(
      0, n,
      [&](int64_t i) {
        std::memcpy(dst + static_cast<size_t>(i) * bytes,
                    src + static_cast<size_t>(src_off[static_cast<size_t>(i)]) * es, bytes);
      },
      block);
}

std::unique_ptr<Kernel> make_gather(const KernelInit& init) {
  require_inputs(init, 2);
  const int64_t axis = init.node.attr_int("axis", 0);
  return make_kernel([axis](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor &x = *in[0], &ind = *in[1];
    if (x.rank() == 0) throw Error("data must have rank >= 1, got " + x.str());
    const size_t a = static_cast<size_t>(normalize_axis(axis, x.rank(), "Gather"));
    const int64_t dim = x.shape()[a];
    const auto idx = read_indices(ind, dim, "indices");
    Shape os(x.shape().begin(), x.shape().begin() + static_cast<long>(a));
    os.insert(os.end(), ind.shape().begin(), ind.shape().end());
    os.insert(os.end(), x.shape().begin() + static_cast<long>(a) + 1, x.shape().end());
    const int64_t outer = product(x.shape(), 0, a), inner = product(x.shape(), a + 1, x.shape().size());
    std::vector<int64_t> off;
    off.reserve(static_cast<size_t>(outer) * idx.size());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j : idx) off.push_back((o * dim + j) * inner);
    Tensor y(x.dtype(), os);
    if (y.numel() > 0)
      copy_blocks(static_cast<std::byte*>(y.raw()), static_cast<const std::byte*>(x.raw()),
                  dtype_size(x.dtype()), off, inner);
    out[0] = std::move(y);
  });
}

std::unique_ptr<Kernel> make_gather_elements(const KernelInit& init) {
  require_inputs(init, 2);
  const int64_t axis = init.node.attr_int("axis", 0);
  return make_kernel([axis](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor &x = *in[0], &ind = *in[1];
    const int64_t r = x.rank();
    if (r == 0) throw Error("data must have rank >= 1, got " + x.str());
    if (ind.rank() != r) throw Error("indices " + ind.str() + " and data " + x.str() + " differ in rank");
    const size_t a = static_cast<size_t>(normalize_axis(axis, r, "GatherElements"));
    for (size_t i = 0; i < static_cast<size_t>(r); ++i)
      if (i != a && ind.shape()[i] > x.shape()[i])
        throw Error("indices " + ind.str() + " exceed data " + x.str() + " on axis " + std::to_string(i));
    const auto idx = read_indices(ind, x.shape()[a], "indices");
    // Source offset of each output element: its own index on every axis but `a`, where the index value.
    const auto xst = strides_of(x.shape());
    const Shape& is = ind.shape();
    std::vector<int64_t> off(idx.size());
    std::vector<int64_t> m(static_cast<size_t>(r), 0);
    for (size_t e = 0; e < idx.size(); ++e) {
      int64_t s = idx[e] * xst[a];
      for (size_t i = 0; i < m.size(); ++i)
        if (i != a) s += m[i] * xst[i];
      off[e] = s;
      for (size_t i = m.size(); i-- > 0;) {
        if (++m[i] < is[i]) break;
        m[i] = 0;
      }
    }
    Tensor y(x.dtype(), is);
    copy_blocks(static_cast<std::byte*>(y.raw()), static_cast<const std::byte*>(x.raw()),
                dtype_size(x.dtype()), off, 1);
    out[0] = std::move(y);
  });
}

std::unique_ptr<Kernel> make_gather_nd(const KernelInit& init) {
  require_inputs(init, 2);
  const int64_t batch_dims = init.node.attr_int("batch_dims", 0);
  if (init.opset < 12 && batch_dims != 0) init.invalid("attribute 'batch_dims' requires opset 12");
  if (batch_dims < 0) init.invalid("batch_dims must be >= 0, got " + std::to_string(batch_dims));
  return make_kernel([batch_dims](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor &x = *in[0], &ind = *in[1];
    const int64_t r = x.rank(), q = ind.rank(), b = batch_dims;
    if (r < 1 || q < 1) throw Error("data " + x.str() + " and indices " + ind.str() + " must have rank >= 1");
    if (b >= std::min(r, q))
      throw Error("batch_dims " + std::to_string(b) + " must be less than the ranks of data " + x.str() +
                  " and indices " + ind.str());
    const int64_t k = ind.shape().back();
    if (k < 1 || k > r - b)
      throw Error("the last extent of indices " + ind.str() + " must be in [1, " + std::to_string(r - b) +
                  "]");
    const size_t ub = static_cast<size_t>(b), uk = static_cast<size_t>(k);
    for (size_t i = 0; i < ub; ++i)
      if (ind.shape()[i] != x.shape()[i])
        throw Error("batch axis " + std::to_string(i) + " of indices " + ind.str() + " and data " + x.str() +
                    " differ");
    if (!is_integer_dtype(ind.dtype())) throw Error("indices should be an integer tensor, got " + ind.str());
    const auto raw = ind.to_vector<int64_t>();
    const auto xst = strides_of(x.shape());
    const int64_t batches = product(x.shape(), 0, ub), batch_stride = b > 0 ? xst[ub - 1] : 0;
    const int64_t slice = product(x.shape(), ub + uk, x.shape().size());
    const int64_t tuples = static_cast<int64_t>(raw.size()) / k;  // over all batches
    const int64_t per_batch = batches > 0 ? tuples / batches : 0;
    std::vector<int64_t> off(static_cast<size_t>(tuples));
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t s = (per_batch > 0 ? t / per_batch : 0) * batch_stride;
      for (size_t j = 0; j < uk; ++j) {
        int64_t v = raw[static_cast<size_t>(t * k) + j];
        const int64_t dim = x.shape()[ub + j];
        if (v < -dim || v >= dim)
          throw Error("indices value " + std::to_string(v) + " is out of range for axis " +
                      std::to_string(ub + j) + " of data " + x.str());
        if (v < 0) v += dim;
        s += v * xst[ub + j];
      }
      off[static_cast<size_t>(t)] = s;
    }
    Shape os(ind.shape().begin(), ind.shape().end() - 1);
    os.insert(os.end(), x.shape().begin() + b + k, x.shape().end());
    Tensor y(x.dtype(), os);
    if (y.numel() > 0)
      copy_blocks(static_cast<std::byte*>(y.raw()), static_cast<const std::byte*>(x.raw()),
                  dtype_size(x.dtype()), off, slice);
    out[0] = std::move(y);
  });
}

}  // namespace

void register_gather_ops(OpRegistry& r) {
  r.add("", "Gather", 1, 21, make_gather);
  r.add("", "GatherElements", 11, 21, make_gather_elements);
  r.add("", "GatherND", 11, 21, make_gather_nd);
}

}  // namespace qs
