// Concat and Split. Both view the tensors as [outer, extent along axis * inner] rows and move one
// contiguous chunk per (outer index, tensor) with memcpy.
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

std::unique_ptr<Kernel> make_concat(const KernelInit& init) {
  const Node& n = init.node;
  if (init.opset >= 4 && !n.has_attr("axis")) init.invalid("attribute 'axis' is required");
  const int64_t axis = n.attr_int("axis", 1);  // opset 1-3 default
  if (n.num_inputs() == 0) init.invalid("at least one input is required");
  require_inputs(init, n.inputs.size());
  return make_kernel([axis](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& first = *in[0];
    const int64_t r = first.rank();
    if (r == 0) throw Error("cannot concatenate scalars (input 0 is " + first.str() + ")");
    const size_t a = static_cast<size_t>(normalize_axis(axis, r, "Concat"));
    Shape os = first.shape();
    os[a] = 0;
    for (size_t k = 0; k < in.size(); ++k) {
      if (!in[k]) throw Error("input " + std::to_string(k) + " is missing");
      const Tensor& t = *in[k];
      bool ok = t.dtype() == first.dtype() && t.rank() == r;
      for (size_t i = 0; ok && i < static_cast<size_t>(r); ++i)
        ok = i == a || t.shape()[i] == first.shape()[i];
      if (!ok)
        throw Error("input " + std::to_string(k) + " " + t.str() + " does not match input 0 " + first.str() +
                    " outside axis " + std::to_string(a));
      os[a] += t.shape()[a];
    }
    Tensor y(first.dtype(), os);
    const size_t es = dtype_size(first.dtype());
    const int64_t outer = product(os, 0, a), inner = product(os, a + 1, os.size());
    const int64_t out_row = os[a] * inner;  // elements per outer index in the output
    std::vector<int64_t> chunk(in.size()), at(in.size());
    int64_t pos = 0;
    for (size_t k = 0; k < in.size(); ++k) {
      chunk[k] = in[k]->shape()[a] * inner;
      at[k] = pos;
      pos += chunk[k];
    }
    auto* dst = static_cast<std::byte*>(y.raw());
    parallel_for(
        0, outer,
        [&](int64_t o) {
          for (size_t k = 0; k < in.size(); ++k) {
            if (chunk[k] == 0) continue;
            const auto* src = static_cast<const std::byte*>(in[k]->raw());
            std::memcpy(dst + static_cast<size_t>(o * out_row + at[k]) * es,
                        src + static_cast<size_t>(o * chunk[k]) * es, static_cast<size_t>(chunk[k]) * es);
          }
        },
        out_row);
    out[0] = std::move(y);
  });
}

std::unique_ptr<Kernel> make_split(const KernelInit& init) {
  require_inputs(init, 1);
  const Node& n = init.node;
  const int64_t axis = n.attr_int("axis", 0);
  std::optional<std::vector<int64_t>> attr_split;
  IntListInput split_in;
  if (init.opset < 13) {
    if (n.has_input(1)) init.invalid("input 'split' requires opset 13 (use the attribute)");
    if (n.has_attr("split")) attr_split = n.attr_ints("split");
  } else {
    if (n.has_attr("split")) init.invalid("attribute 'split' was replaced by an input in opset 13");
    split_in = IntListInput(init, 1, "input 'split'");
  }
  const size_t nout = n.outputs.size();
  if (nout == 0) init.invalid("at least one output is required");
  // Opset 18: num_outputs instead of sizes; chunks of ceil(extent / num_outputs), the last one smaller.
  const bool by_count = n.has_attr("num_outputs");
  if (by_count) {
    if (init.opset < 18) init.invalid("attribute 'num_outputs' requires opset 18");
    if (n.has_input(1)) init.invalid("the 'split' input and the 'num_outputs' attribute are both given");
    if (n.attr_int("num_outputs", 0) != static_cast<int64_t>(nout))
      init.invalid("num_outputs = " + std::to_string(n.attr_int("num_outputs", 0)) + " but the node has " +
                   std::to_string(nout) + " outputs");
  }
  const auto check_count = [nout](const std::vector<int64_t>& s) {
    if (s.size() != nout)
      throw Error("split " + ints_str(s) + " has " + std::to_string(s.size()) + " values for " +
                  std::to_string(nout) + " outputs");
    for (int64_t v : s)
      if (v < 0) throw Error("split " + ints_str(s) + " has a negative size");
  };
  try {
    if (attr_split) check_count(*attr_split);
    if (split_in.constant()) check_count(*split_in.constant());
  } catch (const Error& e) {
    init.invalid(e.what());
  }
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    const int64_t r = x.rank();
    if (r == 0) throw Error("cannot split a scalar");
    const size_t a = static_cast<size_t>(normalize_axis(axis, r, "Split"));
    const int64_t dim = x.shape()[a];
    std::vector<int64_t> sizes;
    if (split_in.present()) {
      sizes = split_in.get(in);
    } else if (attr_split) {
      sizes = *attr_split;
    } else if (by_count) {
      const int64_t k = static_cast<int64_t>(nout), chunk = (dim + k - 1) / k;
      if (chunk * (k - 1) > dim)
        throw Error("axis " + std::to_string(a) + " of " + x.str() + " cannot be split into " +
                    std::to_string(nout) + " chunks of " + std::to_string(chunk));
      sizes.assign(nout, chunk);
      sizes.back() = dim - chunk * (k - 1);
    } else {
      if (dim % static_cast<int64_t>(nout) != 0)
        throw Error("axis " + std::to_string(a) + " of " + x.str() + " cannot be split into " +
                    std::to_string(nout) + " equal parts");
      sizes.assign(nout, dim / static_cast<int64_t>(nout));
    }
    check_count(sizes);
    int64_t total = 0;
    for (int64_t v : sizes) total += v;
    if (total != dim)
      throw Error("split " + ints_str(sizes) + " sums to " + std::to_string(total) + " but axis " +
                  std::to_string(a) + " of " + x.str() + " has extent " + std::to_string(dim));
    const size_t es = dtype_size(x.dtype());
    const int64_t outer = product(x.shape(), 0, a), inner = product(x.shape(), a + 1, x.shape().size());
    const int64_t in_row = dim * inner;
    const auto* src = static_cast<const std::byte*>(x.raw());
    int64_t pos = 0;
    for (size_t k = 0; k < nout; ++k) {
      Shape s = x.shape();
      s[a] = sizes[k];
      Tensor y(x.dtype(), s);
      const int64_t chunk = sizes[k] * inner, at = pos;
      pos += chunk;
      auto* dst = static_cast<std::byte*>(y.raw());
      if (chunk > 0)
        parallel_for(
            0, outer,
            [&](int64_t o) {
              std::memcpy(dst + static_cast<size_t>(o * chunk) * es,
                          src + static_cast<size_t>(o * in_row + at) * es, static_cast<size_t>(chunk) * es);
            },
            chunk);
      out[k] = std::move(y);
    }
  });
}

}  // namespace

void register_concat_split_ops(OpRegistry& r) {
  r.add("", "Concat", 1, 21, make_concat);
  // Split: 2 (attribute `split`), 13 (`split` as an input), 18 (attribute `num_outputs`).
  r.add("", "Split", 2, 18, make_split);
}

}  // namespace qs
