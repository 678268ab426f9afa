// Numpy-style broadcasting helpers shared by elementwise ops, Where, Expand, PRelu, ...
#pragma once

#include <array>
#include <tuple>
#include <cstdint>
#include <vector>

#include "core/tensor/shape.h"

namespace qs {

// Strides (in elements) of a tensor of shape `in` indexed by positions of `out` (in right-aligned to out):
// 0 on axes where `in` is broadcast. Precondition: `in` broadcasts to `out`.
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Calls f(out_index, offset_0, ..., offset_{N-1}) for every element of `out` in row-major order, where
// offset_k is the element offset into input k (given by its broadcast strides). The innermost axis is
// a tight loop.
template <size_t N, typename F>
void for_each_broadcast(const Shape& out, const std::array<std::vector<int64_t>, N>& strides, F&& f) {
  const int64_t total = numel(out);
  if (total == 0) return;
  const size_t r = out.size();
  if (r == 0) {
    std::apply([&](auto... z) { f(int64_t{0}, z...); }, std::array<int64_t, N>{});
    return;
  }
  std::vector<int64_t> idx(r, 0);
  std::array<int64_t, N> off{};
  const int64_t inner = out[r - 1];
  std::array<int64_t, N> inner_stride;
  for (size_t k = 0; k < N; ++k) inner_stride[k] = strides[k][r - 1];
  for (int64_t base = 0; base < total; base += inner) {
    std::array<int64_t, N> o = off;
    for (int64_t j = 0; j < inner; ++j) {
      std::apply([&](auto... z) { f(base + j, z...); }, o);
      for (size_t k = 0; k < N; ++k) o[k] += inner_stride[k];
    }
    // Advance the outer index (axes r-2 .. 0) like an odometer.
    for (int64_t a = static_cast<int64_t>(r) - 2; a >= 0; --a) {
      const size_t ua = static_cast<size_t>(a);
      ++idx[ua];
      for (size_t k = 0; k < N; ++k) off[k] += strides[k][ua];
      if (idx[ua] < out[ua]) break;
      for (size_t k = 0; k < N; ++k) off[k] -= strides[k][ua] * out[ua];
      idx[ua] = 0;
    }
  }
}

}  // namespace qs
