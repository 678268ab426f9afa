#include "core/ops/reduce_layout.h"

#include <array>
#include <cmath>

#include "core/common/error.h"
#include "core/ops/broadcast.h"

namespace qs {

ReduceLayout make_reduce_layout(const Shape& in, const std::vector<bool>& reduced, bool keepdims) {
  ReduceLayout l;
  for (size_t a = 0; a < in.size(); ++a) {
    if (!reduced[a])
      l.out_shape.push_back(in[a]);
    else if (keepdims)
      l.out_shape.push_back(1);
  }
  // Groups of adjacent axes with the same role; extent-1 axes belong to no group.
  struct Group {
    int64_t extent;
    bool reduced;
  };
  std::vector<Group> groups;
  for (size_t a = 0; a < in.size(); ++a) {
    if (in[a] == 1) continue;
    if (!groups.empty() && groups.back().reduced == reduced[a])
      groups.back().extent *= in[a];
    else
      groups.push_back({in[a], reduced[a]});
  }
  size_t n_reduced = 0, first_reduced = groups.size();
  for (size_t g = 0; g < groups.size(); ++g)
    if (groups[g].reduced && n_reduced++ == 0) first_reduced = g;

  if (n_reduced == 0) {  // nothing of extent > 1 is reduced: every element is its own reduction
    l.outer = numel(in);
    return l;
  }
  if (n_reduced == 1) {
    for (size_t g = 0; g < first_reduced; ++g) l.outer *= groups[g].extent;
    l.red = groups[first_reduced].extent;
    for (size_t g = first_reduced + 1; g < groups.size(); ++g) l.inner *= groups[g].extent;
    return l;
  }
  l.red = 1;
  for (size_t a = 0; a < in.size(); ++a)
    if (!reduced[a]) {
      l.perm.push_back(static_cast<int64_t>(a));
      l.outer *= in[a];
    }
  for (size_t a = 0; a < in.size(); ++a)
    if (reduced[a]) {
      l.perm.push_back(static_cast<int64_t>(a));
      l.red *= in[a];
    }
  return l;
}

Tensor permute_copy(const Tensor& x, const std::vector<int64_t>& perm) {
  const Shape& in = x.shape();
  const auto in_strides = strides_of(in);
  Shape out_shape(perm.size());
  std::array<std::vector<int64_t>, 1> src{std::vector<int64_t>(perm.size())};
  for (size_t i = 0; i < perm.size(); ++i) {
    out_shape[i] = in[static_cast<size_t>(perm[i])];
    src[0][i] = in_strides[static_cast<size_t>(perm[i])];
  }
  Tensor out(x.dtype(), out_shape);
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* po = out.data<T>();
    for_each_broadcast<1>(out_shape, src, [&](int64_t o, int64_t s) { po[o] = px[s]; });
  });
  return out;
}

std::vector<bool> reduced_axes_mask(const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<bool> mask(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    const int64_t n = a < 0 ? a + rank : a;
    if (n < 0 || n >= rank)
      throw Error("axis " + std::to_string(a) + " is out of range for rank " + std::to_string(rank));
    if (mask[static_cast<size_t>(n)]) throw Error("axis " + std::to_string(a) + " is given more than once");
    mask[static_cast<size_t>(n)] = true;
  }
  return mask;
}

std::vector<int64_t> reduction_groups(const Shape& in, const std::vector<bool>& reduced, int64_t* groups) {
  const int64_t r = static_cast<int64_t>(in.size());
  *groups = 1;
  for (int64_t d = 0; d < r; ++d)
    if (!reduced[static_cast<size_t>(d)]) *groups *= in[static_cast<size_t>(d)];
  std::vector<int64_t> group(static_cast<size_t>(numel(in)));
  std::vector<int64_t> idx(static_cast<size_t>(r), 0);
  for (size_t i = 0; i < group.size(); ++i) {
    int64_t k = 0;
    for (int64_t d = 0; d < r; ++d)
      if (!reduced[static_cast<size_t>(d)]) k = k * in[static_cast<size_t>(d)] + idx[static_cast<size_t>(d)];
    group[i] = k;
    for (int64_t d = r - 1; d >= 0; --d) {
      if (++idx[static_cast<size_t>(d)] < in[static_cast<size_t>(d)]) break;
      idx[static_cast<size_t>(d)] = 0;
    }
  }
  return group;
}

MeanInv mean_inv(const float* x, int64_t count, double eps) {
  double sum = 0;
  for (int64_t i = 0; i < count; ++i) sum += x[i];
  MeanInv r;
  r.mean = count ? sum / static_cast<double>(count) : 0;
  double sq = 0;
  for (int64_t i = 0; i < count; ++i) sq += (x[i] - r.mean) * (x[i] - r.mean);
  r.inv = 1.0 / std::sqrt((count ? sq / static_cast<double>(count) : 0) + eps);
  return r;
}

}  // namespace qs
