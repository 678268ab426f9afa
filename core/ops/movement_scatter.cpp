// ScatterND, ScatterElements and the older Scatter: the output is a copy of data with elements (or
// slices) replaced, added or multiplied by updates. Updates are applied in index order, so duplicate
// indices give the same result as ONNX's reference implementation (the last write wins for "none").
#include <cstring>

#include "core/ops/shape_common.h"

namespace qs {

namespace {

enum class Reduction { None, Add, Mul };

Reduction read_reduction(const KernelInit& init) {
  if (init.opset < 16) {
    if (init.node.has_attr("reduction")) init.invalid("attribute 'reduction' requires opset 16");
    return Reduction::None;
  }
  const std::string r = init.node.attr_string("reduction", "none");
  if (r == "none") return Reduction::None;
  if (r == "add") return Reduction::Add;
  if (r == "mul") return Reduction::Mul;
  init.unsupported("reduction '" + r + "' is not supported (none, add, mul are)");
}

// Applies `n` elements of updates at u to the elements at d.
template <typename T>
void apply(T* d, const T* u, int64_t n, Reduction red) {
  for (int64_t i = 0; i < n; ++i) {
    if (red == Reduction::None) {
      d[i] = u[i];
    } else if constexpr (std::is_same_v<T, bool>) {
      d[i] = red == Reduction::Add ? (d[i] || u[i]) : (d[i] && u[i]);  // bool arithmetic, cast back
    } else if (red == Reduction::Add) {
      d[i] = static_cast<T>(d[i] + u[i]);
    } else {
      d[i] = static_cast<T>(d[i] * u[i]);
    }
  }
}

// Resolves one index value against `dim`; throws Error when out of [-dim, dim).
int64_t resolve(int64_t v, int64_t dim, size_t axis) {
  if (v < -dim || v >= dim)
    throw Error("index " + std::to_string(v) + " is out of range for axis " + std::to_string(axis) +
                " of extent " + std::to_string(dim));
  return v < 0 ? v + dim : v;
}

std::unique_ptr<Kernel> make_scatter_nd(const KernelInit& init) {
  require_inputs(init, 3);
  const Reduction red = read_reduction(init);
  return make_kernel([red](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor &x = *in[0], &ind = *in[1], &upd = *in[2];
    if (!is_integer_dtype(ind.dtype())) throw Error("indices should be an integer tensor, got " + ind.str());
    if (upd.dtype() != x.dtype())
      throw Error("updates " + upd.str() + " and data " + x.str() + " differ in type");
    const int64_t r = x.rank(), q = ind.rank();
    if (r < 1 || q < 1) throw Error("data " + x.str() + " and indices " + ind.str() + " must have rank >= 1");
    const int64_t k = ind.shape().back();
    if (k < 1 || k > r)
      throw Error("the last extent of indices " + ind.str() + " must be in [1, " + std::to_string(r) + "]");
    Shape want(ind.shape().begin(), ind.shape().end() - 1);
    want.insert(want.end(), x.shape().begin() + k, x.shape().end());
    if (upd.shape() != want)
      throw Error("updates " + upd.str() + " should have shape " + shape_str(want) + " for data " + x.str() +
                  " and indices " + ind.str());
    const auto xst = strides_of(x.shape());
    const int64_t slice = k < r ? xst[static_cast<size_t>(k) - 1] : 1;
    const auto raw = ind.to_vector<int64_t>();
    const int64_t tuples = static_cast<int64_t>(raw.size()) / k;
    std::vector<int64_t> off(static_cast<size_t>(tuples));
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t s = 0;
      for (size_t j = 0; j < static_cast<size_t>(k); ++j)
        s += resolve(raw[static_cast<size_t>(t * k) + j], x.shape()[j], j) * xst[j];
      off[static_cast<size_t>(t)] = s;
    }
    Tensor y = x.clone();
    dispatch_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* d = y.data<T>();
      const T* u = upd.data<T>();
      for (int64_t t = 0; t < tuples; ++t)
        apply<T>(d + off[static_cast<size_t>(t)], u + t * slice, slice, red);
    });
    out[0] = std::move(y);
  });
}

std::unique_ptr<Kernel> make_scatter_elements(const KernelInit& init) {
  require_inputs(init, 3);
  const Reduction red = init.node.op_type == "Scatter" ? Reduction::None : read_reduction(init);
  const int64_t axis = init.node.attr_int("axis", 0);
  return make_kernel([red, axis](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor &x = *in[0], &ind = *in[1], &upd = *in[2];
    if (!is_integer_dtype(ind.dtype())) throw Error("indices should be an integer tensor, got " + ind.str());
    if (upd.dtype() != x.dtype())
      throw Error("updates " + upd.str() + " and data " + x.str() + " differ in type");
    const int64_t r = x.rank();
    if (r < 1) throw Error("data must have rank >= 1, got " + x.str());
    if (ind.rank() != r || upd.shape() != ind.shape())
      throw Error("indices " + ind.str() + " and updates " + upd.str() +
                  " should have one shape of the rank of data " + x.str());
    const size_t a = static_cast<size_t>(normalize_axis(axis, r, "axis"));
    for (size_t i = 0; i < static_cast<size_t>(r); ++i)
      if (i != a && ind.shape()[i] > x.shape()[i])
        throw Error("indices " + ind.str() + " exceed data " + x.str() + " on axis " + std::to_string(i));
    const auto raw = ind.to_vector<int64_t>();
    const auto xst = strides_of(x.shape());
    const Shape& is = ind.shape();
    std::vector<int64_t> off(raw.size());
    std::vector<int64_t> m(static_cast<size_t>(r), 0);
    for (size_t e = 0; e < raw.size(); ++e) {
      int64_t s = resolve(raw[e], x.shape()[a], a) * xst[a];
      for (size_t i = 0; i < m.size(); ++i)
        if (i != a) s += m[i] * xst[i];
      off[e] = s;
      for (size_t i = m.size(); i-- > 0;) {
        if (++m[i] < is[i]) break;
        m[i] = 0;
      }
    }
    Tensor y = x.clone();
    dispatch_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* d = y.data<T>();
      const T* u = upd.data<T>();
      for (size_t e = 0; e < off.size(); ++e) apply<T>(d + off[e], u + e, 1, red);
    });
    out[0] = std::move(y);
  });
}

}  // namespace

void register_scatter_ops(OpRegistry& r) {
  // 16 adds reduction add/mul, 18 max/min (refused by read_reduction).
  r.add("", "ScatterND", 11, 18, make_scatter_nd);
  r.add("", "ScatterElements", 11, 18, make_scatter_elements);
  r.add("", "Scatter", 9, 10, make_scatter_elements);
}

}  // namespace qs
