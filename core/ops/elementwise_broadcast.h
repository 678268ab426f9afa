// Broadcast execution plan for elementwise ops with 1..3 inputs (numpy broadcasting).
//
// The output is seen as `rows` rows of `inner` contiguous elements. Adjacent axes along which every input
// is laid out contiguously (or broadcast on both) are merged first, so the innermost run is as long as
// possible and each input's stride along it is 1 (a full operand) or 0 (a broadcast operand). Kernels then
// run one of a few plain loops per row that the compiler vectorizes; the common patterns are:
//   same shapes           -> 1 row,  strides (1, 1)
//   tensor op scalar      -> 1 row,  strides (1, 0)
//   [N,C,H,W] op [C,1,1]  -> N*C rows of H*W, strides (1, 0), the bias offset advancing per row.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/common/parallel.h"
#include "core/ops/elementwise_util.h"
#include "core/tensor/shape.h"

namespace qs::ew {

struct BroadcastPlan {
  Shape out;                                  // the broadcast output shape
  std::vector<int64_t> outer;                 // merged outer extents (row index space), may be empty
  std::vector<std::vector<int64_t>> strides;  // per input: element strides along `outer`
  std::vector<int64_t> inner_stride;          // per input: 0 or 1
  int64_t inner = 1;                          // length of a row
  int64_t rows = 1;                           // product of `outer` (0 when the output is empty)
};

// Throws Error ("inputs: shapes [..] and [..] cannot be broadcast") when the shapes are incompatible.
BroadcastPlan make_broadcast_plan(const std::vector<Shape>& shapes);

// Offsets of row `r` into each input.
template <size_t N>
std::array<int64_t, N> row_offsets(const BroadcastPlan& p, int64_t r) {
  std::array<int64_t, N> off{};
  for (int64_t a = static_cast<int64_t>(p.outer.size()) - 1; a >= 0 && r > 0; --a) {
    const size_t ua = static_cast<size_t>(a);
    const int64_t i = r % p.outer[ua];
    r /= p.outer[ua];
    for (size_t k = 0; k < N; ++k) off[k] += i * p.strides[k][ua];
  }
  return off;
}

// Calls f(out_offset, in_offsets, len) for runs of `len` consecutive output elements; along a run input k
// advances by p.inner_stride[k] per element. Work is split statically over threads: long rows are cut into
// segments, short rows are grouped. f must not throw.
template <size_t N, typename F>
void for_each_run(const BroadcastPlan& p, F&& f) {
  if (p.rows == 0 || p.inner == 0) return;
  if (p.inner >= kChunk) {
    const int64_t nseg = (p.inner + kChunk - 1) / kChunk;
    parallel_for(
        0, p.rows * nseg,
        [&](int64_t item) {
          const int64_t r = item / nseg;
          const int64_t start = (item % nseg) * kChunk;
          std::array<int64_t, N> off = row_offsets<N>(p, r);
          for (size_t k = 0; k < N; ++k) off[k] += start * p.inner_stride[k];
          f(r * p.inner + start, off, std::min(kChunk, p.inner - start));
        },
        kChunk);
    return;
  }
  const int64_t group = std::max<int64_t>(1, kChunk / p.inner);
  const int64_t ngroups = (p.rows + group - 1) / group;
  const size_t rank = p.outer.size();
  parallel_for(
      0, ngroups,
      [&](int64_t g) {
        const int64_t r0 = g * group, r1 = std::min(p.rows, r0 + group);
        // Odometer over the outer index, started at r0.
        std::vector<int64_t> idx(rank, 0);
        for (int64_t a = static_cast<int64_t>(rank) - 1, r = r0; a >= 0; --a) {
          idx[static_cast<size_t>(a)] = r % p.outer[static_cast<size_t>(a)];
          r /= p.outer[static_cast<size_t>(a)];
        }
        std::array<int64_t, N> off = row_offsets<N>(p, r0);
        for (int64_t r = r0; r < r1; ++r) {
          f(r * p.inner, off, p.inner);
          for (int64_t a = static_cast<int64_t>(rank) - 1; a >= 0; --a) {
            const size_t ua = static_cast<size_t>(a);
            for (size_t k = 0; k < N; ++k) off[k] += p.strides[k][ua];
            if (++idx[ua] < p.outer[ua]) break;
            for (size_t k = 0; k < N; ++k) off[k] -= p.strides[k][ua] * p.outer[ua];
            idx[ua] = 0;
          }
        }
      },
      group * p.inner);
}

// One run of a binary op: o[i] = op(a[i*sa], b[i*sb]) with sa, sb in {0, 1}. Each case is a plain loop.
template <typename A, typename B, typename R, typename Op>
inline void binary_run(const A* a, const B* b, R* o, int64_t n, int64_t sa, int64_t sb, const Op& op_ref) {
  const Op op = op_ref;  // a local copy cannot alias o, so captured state stays in registers
  if (sa && sb) {
    for (int64_t i = 0; i < n; ++i) o[i] = op(a[i], b[i]);
  } else if (sa) {
    const B bv = *b;
    for (int64_t i = 0; i < n; ++i) o[i] = op(a[i], bv);
  } else if (sb) {
    const A av = *a;
    for (int64_t i = 0; i < n; ++i) o[i] = op(av, b[i]);
  } else {
    const R v = op(*a, *b);
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  }
}

// out = op(a, b) elementwise with broadcasting; out gets element type R.
template <typename A, typename B, typename R, typename Op>
Tensor binary_broadcast(const Tensor& a, const Tensor& b, const Op& op) {
  const BroadcastPlan p = make_broadcast_plan({a.shape(), b.shape()});
  Tensor out(DTypeOf<R>::value, p.out);
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  R* po = out.data<R>();
  for_each_run<2>(p, [&](int64_t o, const std::array<int64_t, 2>& off, int64_t n) {
    binary_run(pa + off[0], pb + off[1], po + o, n, p.inner_stride[0], p.inner_stride[1], op);
  });
  return out;
}

}  // namespace qs::ew
