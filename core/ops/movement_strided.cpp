#include "core/ops/movement_strided.h"

#include <algorithm>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "core/common/parallel.h"
#include "core/common/transpose_bytes.h"
#include "core/ops/shape_common.h"

namespace qs {

namespace {

constexpr int64_t kTile = 32;           // edge (elements) of a block of the 2-D transpose
constexpr int64_t kChunkElems = 16384;  // elements copied per parallel work item (row copies)

// Axes walked by an odometer, with strides (elements) in the source and the destination.
struct Outer {
  std::vector<int64_t> ext, src_stride, dst_stride;
  void add(int64_t e, int64_t s, int64_t d) {
    ext.push_back(e);
    src_stride.push_back(s);
    dst_stride.push_back(d);
  }
  int64_t count() const {
    int64_t n = 1;
    for (int64_t e : ext) n *= e;
    return n;
  }
};

// Calls f(src_offset, dst_offset) for the outer indices [begin, end) in row-major order.
template <typename F>
void walk(const Outer& o, int64_t begin, int64_t end, F&& f) {
  const size_t k = o.ext.size();
  std::vector<int64_t> idx(k);
  int64_t s = 0, d = 0, rem = begin;
  for (size_t a = k; a-- > 0;) {
    idx[a] = rem % o.ext[a];
    rem /= o.ext[a];
    s += idx[a] * o.src_stride[a];
    d += idx[a] * o.dst_stride[a];
  }
  for (int64_t i = begin; i < end; ++i) {
    f(s, d);
    for (size_t a = k; a-- > 0;) {
      s += o.src_stride[a];
      d += o.dst_stride[a];
      if (++idx[a] < o.ext[a]) break;
      s -= o.src_stride[a] * o.ext[a];
      d -= o.dst_stride[a] * o.ext[a];
      idx[a] = 0;
    }
  }
}

// walk() over every outer index, in parallel chunks of about kChunkElems elements (`row_elems` per index).
template <typename F>
void walk_parallel(const Outer& o, int64_t row_elems, F&& f) {
  const int64_t rows = o.count();
  const int64_t chunk = std::max<int64_t>(1, kChunkElems / std::max<int64_t>(1, row_elems));
  const int64_t n = (rows + chunk - 1) / chunk;
  parallel_for(
      0, n, [&](int64_t c) { walk(o, c * chunk, std::min(rows, (c + 1) * chunk), f); }, chunk * row_elems);
}

// Unsigned integer of ES bytes that may alias any type, so elements of every dtype are moved with one
// typed load/store (GCC/Clang extension; `may_alias` waives strict aliasing for these accesses).
template <size_t ES>
struct Elem;
template <>
struct Elem<1> {
  using type = uint8_t;
};
template <>
struct Elem<2> {
  typedef uint16_t __attribute__((may_alias)) type;
};
template <>
struct Elem<4> {
  typedef uint32_t __attribute__((may_alias)) type;
};
template <>
struct Elem<8> {
  typedef uint64_t __attribute__((may_alias)) type;
};

#if defined(__AVX2__)
// 8x8 block of 4-byte elements: d[j * ds + k] = s[k * ss + j]. Shuffles move bits unchanged, so this
// serves every 4-byte dtype, not only float.
inline void transpose8x8_4byte(const void* src, int64_t ss, void* dst, int64_t ds) {
  const float* s = static_cast<const float*>(src);
  float* d = static_cast<float*>(dst);
  const __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ss), r2 = _mm256_loadu_ps(s + 2 * ss),
               r3 = _mm256_loadu_ps(s + 3 * ss), r4 = _mm256_loadu_ps(s + 4 * ss),
               r5 = _mm256_loadu_ps(s + 5 * ss), r6 = _mm256_loadu_ps(s + 6 * ss),
               r7 = _mm256_loadu_ps(s + 7 * ss);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1),
               t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3),
               t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
               u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
               u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
               u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(d + ds, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(d + 2 * ds, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(d + 3 * ds, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(d + 4 * ds, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(d + 5 * ds, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(d + 6 * ds, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(d + 7 * ds, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

// The block a in [a0, a1), b in [b0, b1) of a 2-D transpose: d[a * dq + b] = s[a + b * sl].
template <size_t ES>
void transpose_block(typename Elem<ES>::type* d, const typename Elem<ES>::type* s, int64_t a0, int64_t a1,
                     int64_t b0, int64_t b1, int64_t dq, int64_t sl) {
#if defined(__AVX2__)
  if constexpr (ES == 4) {
    for (; a0 + 8 <= a1; a0 += 8) {
      int64_t b = b0;
      for (; b + 8 <= b1; b += 8) transpose8x8_4byte(s + a0 + b * sl, sl, d + a0 * dq + b, dq);
      for (int64_t a = a0; a < a0 + 8; ++a)
        for (int64_t bb = b; bb < b1; ++bb) d[a * dq + bb] = s[a + bb * sl];
    }
  }
#endif
#if defined(__SSE2__)
  if constexpr (ES == 1) {
    // 16×16 blocks in registers (the integer engine's int8 activations), the edges below.
    for (; a0 + 16 <= a1; a0 += 16) {
      int64_t b = b0;
      for (; b + 16 <= b1; b += 16) {
        __m128i r[16];
        for (int64_t k = 0; k < 16; ++k)
          r[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + a0 + (b + k) * sl));
        transpose16x16(r);
        for (int64_t j = 0; j < 16; ++j)
          _mm_storeu_si128(reinterpret_cast<__m128i*>(d + (a0 + j) * dq + b), r[j]);
      }
      for (int64_t a = a0; a < a0 + 16; ++a)
        for (int64_t bb = b; bb < b1; ++bb) d[a * dq + bb] = s[a + bb * sl];
    }
  }
#endif
  for (int64_t a = a0; a < a1; ++a)
    for (int64_t b = b0; b < b1; ++b) d[a * dq + b] = s[a + b * sl];
}

template <size_t ES>
void copy_elementwise(std::byte* d, const std::byte* s, const std::vector<int64_t>& ext,
                      const std::vector<int64_t>& st, const std::vector<int64_t>& dst_st) {
  const size_t m = ext.size(), last = m - 1;
  const int64_t n_last = ext[last], sl = st[last];
  // A source axis other than the last that is contiguous: blocked 2-D transpose between it (axis q) and
  // the last axis, so both the reads and the writes of a block stay in cache.
  int64_t q = -1;
  for (size_t i = 0; i < last; ++i)
    if (st[i] == 1) q = static_cast<int64_t>(i);
  if (q >= 0 && sl != 0) {
    Outer o;
    for (size_t i = 0; i < last; ++i)
      if (static_cast<int64_t>(i) != q) o.add(ext[i], st[i], dst_st[i]);
    const size_t uq = static_cast<size_t>(q);
    const int64_t nq = ext[uq], dq = dst_st[uq];
    const int64_t nqb = (nq + kTile - 1) / kTile;
    parallel_for(
        0, o.count() * nqb,
        [&](int64_t item) {
          const int64_t ob = item / nqb, q0 = (item % nqb) * kTile, q1 = std::min(nq, q0 + kTile);
          walk(o, ob, ob + 1, [&](int64_t so, int64_t dof) {
            using U = typename Elem<ES>::type;
            U* du = reinterpret_cast<U*>(d) + dof;
            const U* su = reinterpret_cast<const U*>(s) + so;
            for (int64_t l0 = 0; l0 < n_last; l0 += kTile)
              transpose_block<ES>(du, su, q0, q1, l0, std::min(n_last, l0 + kTile), dq, sl);
          });
        },
        kTile * n_last);
    return;
  }
  Outer o;
  for (size_t i = 0; i < last; ++i) o.add(ext[i], st[i], dst_st[i]);
  using U = typename Elem<ES>::type;
  walk_parallel(o, n_last, [&](int64_t so, int64_t dof) {
    U* dr = reinterpret_cast<U*>(d) + dof;
    const U* sr = reinterpret_cast<const U*>(s) + so;
    if (sl == 0) {
      std::fill(dr, dr + n_last, *sr);  // broadcast (Expand/Tile)
    } else {
      for (int64_t b = 0; b < n_last; ++b) dr[b] = sr[b * sl];
    }
  });
}

}  // namespace

void strided_copy(void* dst, const void* src, size_t elem_size, const StridedView& view) {
  // Drop unit axes; merge axis i into the previous one when together they step through src evenly.
  std::vector<int64_t> ext, st;
  for (size_t i = 0; i < view.shape.size(); ++i) {
    const int64_t e = view.shape[i];
    if (e == 0) return;
    if (e == 1) continue;
    if (!ext.empty() && st.back() == view.strides[i] * e) {
      ext.back() *= e;
      st.back() = view.strides[i];
    } else {
      ext.push_back(e);
      st.push_back(view.strides[i]);
    }
  }
  const int64_t es = static_cast<int64_t>(elem_size);
  auto* d = static_cast<std::byte*>(dst);
  const auto* s = static_cast<const std::byte*>(src) + view.offset * es;
  if (ext.empty()) {
    std::memcpy(d, s, elem_size);
    return;
  }
  const size_t m = ext.size(), last = m - 1;
  std::vector<int64_t> dst_st(m, 1);
  for (size_t i = last; i-- > 0;) dst_st[i] = dst_st[i + 1] * ext[i + 1];
  if (st[last] == 1) {  // rows contiguous in src: one memcpy per row
    Outer o;
    for (size_t i = 0; i < last; ++i) o.add(ext[i], st[i], dst_st[i]);
    const size_t row_bytes = static_cast<size_t>(ext[last]) * elem_size;
    walk_parallel(o, ext[last],
                  [&](int64_t so, int64_t dof) { std::memcpy(d + dof * es, s + so * es, row_bytes); });
    return;
  }
  dispatch_elem_size(elem_size, [&](auto tag) { copy_elementwise<sizeof(tag)>(d, s, ext, st, dst_st); });
}

Tensor materialize(const Tensor& src, const StridedView& view) {
  Tensor out(src.dtype(), view.shape);
  strided_copy(out.raw(), src.raw(), dtype_size(src.dtype()), view);
  return out;
}

StridedView permuted_view(const Shape& shape, const std::vector<int64_t>& perm) {
  const auto st = strides_of(shape);
  StridedView v;
  for (int64_t p : perm) {
    v.shape.push_back(shape[static_cast<size_t>(p)]);
    v.strides.push_back(st[static_cast<size_t>(p)]);
  }
  return v;
}

}  // namespace qs
