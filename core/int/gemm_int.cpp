// Packing, the requantization table and the portable GEMM (plain C++, any CPU). The AVX2 kernel is in
// gemm_int_avx2.cpp; both give identical integers (tests/core/int_gemm_test.cpp).
#include "core/int/gemm_int.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

#include "core/common/cpu.h"
#include "core/common/error.h"
#include "core/int/isa.h"

namespace qs::intgemm {

namespace {

inline int32_t pair_word(int32_t lo, int32_t hi) {
  return static_cast<int32_t>((static_cast<uint32_t>(static_cast<uint16_t>(static_cast<int16_t>(hi))) << 16) |
                              static_cast<uint16_t>(static_cast<int16_t>(lo)));
}

template <typename T>
void store_value(void* y, int64_t i, int32_t v) {
  static_cast<T*>(y)[i] = static_cast<T>(v);
}

void store(DType t, void* y, int64_t i, int32_t v) {
  switch (t) {
    case DType::Int8:
      return store_value<int8_t>(y, i, v);
    case DType::UInt8:
      return store_value<uint8_t>(y, i, v);
    case DType::Int16:
      return store_value<int16_t>(y, i, v);
    case DType::UInt16:
      return store_value<uint16_t>(y, i, v);
    case DType::Int32:
      return store_value<int32_t>(y, i, v);
    default:
      throw Error("integer GEMM: output type " + dtype_name(t) + " is not supported");
  }
}

// The portable micro-kernel: an R×kNR tile over all k pairs, then the epilogue for the valid part.
template <int R>
void tile_portable(int64_t Kp, const int32_t* A, const int16_t* B, int64_t rows, int64_t cols, int64_t r0,
                   int64_t c0, const Epilogue& e) {
  int32_t acc[R][kNR] = {};
  for (int64_t p = 0; p < Kp; ++p) {
    const int16_t* b = B + p * kNR * 2;
    const int32_t* a = A + p * kMR;
    for (int i = 0; i < R; ++i) {
      const int32_t a0 = static_cast<int16_t>(a[i] & 0xffff), a1 = static_cast<int16_t>(a[i] >> 16);
      for (int64_t j = 0; j < kNR; ++j) acc[i][j] += a0 * b[2 * j] + a1 * b[2 * j + 1];
    }
  }
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t ch = e.channel0 + (e.channel_is_row ? r0 + i : c0 + j);
      store(e.out, e.y, (r0 + i) * e.ldy + c0 + j,
            e.out == DType::Int32 ? acc[i][j] : epilogue_value(acc[i][j], ch, e));
    }
}

void gemm_portable(int64_t M, int64_t N, int64_t K, const int32_t* A, const int16_t* B, const Epilogue& e) {
  const int64_t Kp = k_pairs(K);
  for (int64_t jp = 0; jp < col_panels(N); ++jp) {
    const int16_t* Bp = B + jp * Kp * kNR * 2;
    const int64_t c0 = jp * kNR, cols = std::min(kNR, N - c0);
    for (int64_t ib = 0; ib < row_blocks(M); ++ib) {
      const int32_t* Ab = A + ib * Kp * kMR;
      const int64_t r0 = ib * kMR, rows = std::min(kMR, M - r0);
      detail::with_rows(rows, [&](auto R) { tile_portable<R()>(Kp, Ab, Bp, rows, cols, r0, c0, e); });
    }
  }
}

}  // namespace

void pack_a(int64_t M, int64_t K, const int32_t* src, int64_t ld, int32_t* dst) {
  const int64_t Kp = k_pairs(K);
  for (int64_t ib = 0; ib < row_blocks(M); ++ib)
    for (int64_t p = 0; p < Kp; ++p)
      for (int64_t i = 0; i < kMR; ++i) {
        const int64_t r = ib * kMR + i, k = 2 * p;
        const int32_t lo = r < M ? src[r * ld + k] : 0;
        const int32_t hi = r < M && k + 1 < K ? src[r * ld + k + 1] : 0;
        dst[(ib * Kp + p) * kMR + i] = pair_word(lo, hi);
      }
}

template <typename T>
void pack_a_act(int64_t M, int64_t K, const T* x, int64_t ld, int32_t zp, int32_t* dst) {
  const int64_t Kp = k_pairs(K);
  for (int64_t ib = 0; ib < row_blocks(M); ++ib)
    for (int64_t i = 0; i < kMR; ++i) {
      const int64_t r = ib * kMR + i;
      int32_t* d = dst + ib * Kp * kMR + i;
      if (r >= M) {
        for (int64_t p = 0; p < Kp; ++p) d[p * kMR] = 0;
        continue;
      }
      const T* xr = x + r * ld;
      for (int64_t p = 0; p < Kp; ++p) {
        const int64_t k = 2 * p;
        const int32_t lo = static_cast<int32_t>(xr[k]) - zp;
        const int32_t hi = k + 1 < K ? static_cast<int32_t>(xr[k + 1]) - zp : 0;
        d[p * kMR] = pair_word(lo, hi);
      }
    }
}
template <typename T>
void pack_a_act(IntIsa isa, int64_t M, int64_t K, const T* x, int64_t ld, int32_t zp, int32_t* dst) {
  int64_t done = 0;  // k pairs of the whole row blocks packed by AVX2
  if constexpr (sizeof(T) == 1)
    if (isa == IntIsa::Avx2) done = detail::pack_a_act8_avx2(M, K, x, ld, std::is_signed_v<T>, zp, dst);
  if (done == 0) return pack_a_act<T>(M, K, x, ld, zp, dst);
  const int64_t Kp = k_pairs(K), full = M / kMR;
  // The pairs AVX2 left in the whole blocks (none when K is a multiple of 8), and the last partial block.
  for (int64_t ib = done < Kp ? 0 : full; ib < row_blocks(M); ++ib)
    for (int64_t i = 0; i < kMR; ++i) {
      const int64_t r = ib * kMR + i;
      int32_t* d = dst + ib * Kp * kMR + i;
      for (int64_t p = ib < full ? done : 0; p < Kp; ++p) {
        const int64_t k = 2 * p;
        const int32_t lo = r < M ? static_cast<int32_t>(x[r * ld + k]) - zp : 0;
        const int32_t hi = r < M && k + 1 < K ? static_cast<int32_t>(x[r * ld + k + 1]) - zp : 0;
        d[p * kMR] = pair_word(lo, hi);
      }
    }
}
template void pack_a_act<int8_t>(IntIsa, int64_t, int64_t, const int8_t*, int64_t, int32_t, int32_t*);
template void pack_a_act<uint8_t>(IntIsa, int64_t, int64_t, const uint8_t*, int64_t, int32_t, int32_t*);
template void pack_a_act<int16_t>(IntIsa, int64_t, int64_t, const int16_t*, int64_t, int32_t, int32_t*);
template void pack_a_act<uint16_t>(IntIsa, int64_t, int64_t, const uint16_t*, int64_t, int32_t, int32_t*);
template void pack_a_act<int8_t>(int64_t, int64_t, const int8_t*, int64_t, int32_t, int32_t*);
template void pack_a_act<uint8_t>(int64_t, int64_t, const uint8_t*, int64_t, int32_t, int32_t*);
template void pack_a_act<int16_t>(int64_t, int64_t, const int16_t*, int64_t, int32_t, int32_t*);
template void pack_a_act<uint16_t>(int64_t, int64_t, const uint16_t*, int64_t, int32_t, int32_t*);

void pack_b_pair(int64_t N, int64_t K, int64_t pair, const int16_t* row0, const int16_t* row1, int16_t* dst) {
  const int64_t Kp = k_pairs(K);
  for (int64_t jp = 0; jp < col_panels(N); ++jp) {
    int16_t* d = dst + (jp * Kp + pair) * kNR * 2;
    const int64_t c0 = jp * kNR, cols = std::min(kNR, N - c0);
    for (int64_t j = 0; j < cols; ++j) {
      d[2 * j] = row0[c0 + j];
      d[2 * j + 1] = row1 ? row1[c0 + j] : 0;
    }
    for (int64_t j = cols; j < kNR; ++j) d[2 * j] = d[2 * j + 1] = 0;
  }
}

void pack_b_pair(IntIsa isa, int64_t N, int64_t K, int64_t pair, const int16_t* row0, const int16_t* row1,
                 int16_t* dst) {
  if (isa == IntIsa::Avx2) return detail::pack_b_pair_avx2(N, K, pair, row0, row1, dst);
  pack_b_pair(N, K, pair, row0, row1, dst);
}

template <typename T>
void pack_b_pair_act(IntIsa isa, int64_t N, int64_t K, int64_t pair, const T* row0, const T* row1, int32_t zp,
                     int16_t* dst) {
  int64_t done = 0;
  if constexpr (sizeof(T) == 1)
    if (isa == IntIsa::Avx2)
      done = detail::pack_b_pair_act8_avx2(N, K, pair, row0, row1, std::is_signed_v<T>, zp, dst);
  if (done >= N) return;
  const int64_t Kp = k_pairs(K);
  for (int64_t jp = done / kNR; jp < col_panels(N); ++jp) {
    int16_t* d = dst + (jp * Kp + pair) * kNR * 2;
    const int64_t c0 = jp * kNR, cols = std::min(kNR, N - c0);
    for (int64_t j = 0; j < cols; ++j) {
      d[2 * j] = static_cast<int16_t>(static_cast<int32_t>(row0[c0 + j]) - zp);
      d[2 * j + 1] = row1 ? static_cast<int16_t>(static_cast<int32_t>(row1[c0 + j]) - zp) : int16_t{0};
    }
    for (int64_t j = cols; j < kNR; ++j) d[2 * j] = d[2 * j + 1] = 0;
  }
}
template void pack_b_pair_act<int8_t>(IntIsa, int64_t, int64_t, int64_t, const int8_t*, const int8_t*,
                                      int32_t, int16_t*);
template void pack_b_pair_act<uint8_t>(IntIsa, int64_t, int64_t, int64_t, const uint8_t*, const uint8_t*,
                                       int32_t, int16_t*);
template void pack_b_pair_act<int16_t>(IntIsa, int64_t, int64_t, int64_t, const int16_t*, const int16_t*,
                                       int32_t, int16_t*);
template void pack_b_pair_act<uint16_t>(IntIsa, int64_t, int64_t, int64_t, const uint16_t*, const uint16_t*,
                                        int32_t, int16_t*);

template <typename T>
void widen_row(IntIsa isa, const T* src, int64_t n, int64_t stride, int32_t zp, int16_t* dst) {
  int64_t j = 0;
  if constexpr (sizeof(T) == 1)
    if (isa == IntIsa::Avx2 && (stride == 1 || stride == 2))
      j = detail::widen_row8_avx2(src, std::is_signed_v<T>, n, stride, zp, dst);
  for (; j < n; ++j) dst[j] = static_cast<int16_t>(static_cast<int32_t>(src[j * stride]) - zp);
}
template void widen_row<int8_t>(IntIsa, const int8_t*, int64_t, int64_t, int32_t, int16_t*);
template void widen_row<uint8_t>(IntIsa, const uint8_t*, int64_t, int64_t, int32_t, int16_t*);
template void widen_row<int16_t>(IntIsa, const int16_t*, int64_t, int64_t, int32_t, int16_t*);
template void widen_row<uint16_t>(IntIsa, const uint16_t*, int64_t, int64_t, int32_t, int16_t*);

void gather_row(IntIsa isa, const int16_t* src, int64_t n, int64_t stride, int16_t* dst) {
  int64_t j = isa == IntIsa::Avx2 && stride == 2 ? detail::gather_row2_avx2(src, n, dst) : 0;
  for (; j < n; ++j) dst[j] = src[j * stride];
}

template <typename T>
void widen_row_blocks(IntIsa isa, const T* src, int64_t n, int64_t stride, int32_t zp, int16_t* dst) {
  if constexpr (sizeof(T) == 1)
    if (isa == IntIsa::Avx2 && (stride == 1 || stride == 2))
      return detail::widen_row_blocks8_avx2(src, std::is_signed_v<T>, n, stride, zp, dst);
  widen_row(isa, src, n, stride, zp, dst);
}
template <typename T>
void widen_rows(IntIsa isa, const T* src, const RowCopy* copies, size_t count, int64_t stride, int32_t zp,
                int16_t* dst) {
  if constexpr (sizeof(T) == 1)
    if (isa == IntIsa::Avx2 && (stride == 1 || stride == 2))
      return detail::widen_rows8_avx2(src, std::is_signed_v<T>, copies, count, stride, zp, dst);
  for (size_t i = 0; i < count; ++i)
    widen_row_blocks(isa, src + copies[i].src, copies[i].n, stride, zp, dst + copies[i].dst);
}
template void widen_rows<int8_t>(IntIsa, const int8_t*, const RowCopy*, size_t, int64_t, int32_t, int16_t*);
template void widen_rows<uint8_t>(IntIsa, const uint8_t*, const RowCopy*, size_t, int64_t, int32_t, int16_t*);
template void widen_rows<int16_t>(IntIsa, const int16_t*, const RowCopy*, size_t, int64_t, int32_t, int16_t*);
template void widen_rows<uint16_t>(IntIsa, const uint16_t*, const RowCopy*, size_t, int64_t, int32_t,
                                   int16_t*);

template void widen_row_blocks<int8_t>(IntIsa, const int8_t*, int64_t, int64_t, int32_t, int16_t*);
template void widen_row_blocks<uint8_t>(IntIsa, const uint8_t*, int64_t, int64_t, int32_t, int16_t*);
template void widen_row_blocks<int16_t>(IntIsa, const int16_t*, int64_t, int64_t, int32_t, int16_t*);
template void widen_row_blocks<uint16_t>(IntIsa, const uint16_t*, int64_t, int64_t, int32_t, int16_t*);

void pack_b_rows(int64_t N, int64_t K, const int32_t* src, int64_t ld, int16_t* dst) {
  std::vector<int16_t> r0(static_cast<size_t>(N)), r1(static_cast<size_t>(N));
  for (int64_t p = 0; p < k_pairs(K); ++p) {
    for (int64_t j = 0; j < N; ++j) {
      r0[static_cast<size_t>(j)] = static_cast<int16_t>(src[2 * p * ld + j]);
      r1[static_cast<size_t>(j)] = 2 * p + 1 < K ? static_cast<int16_t>(src[(2 * p + 1) * ld + j]) : 0;
    }
    pack_b_pair(N, K, p, r0.data(), r1.data(), dst);
  }
}

void pack_b_cols(int64_t N, int64_t K, const int32_t* src, int64_t ld, int32_t* scratch, int16_t* dst) {
  // Transpose into scratch [K][N], then pack rows.
  for (int64_t j = 0; j < N; ++j)
    for (int64_t k = 0; k < K; ++k) scratch[k * N + j] = src[j * ld + k];
  pack_b_rows(N, K, scratch, N, dst);
}

RequantTable::RequantTable(const std::vector<FixedMultiplier>& m, const std::vector<int32_t>& b) {
  channels = static_cast<int64_t>(m.size());
  const size_t padded = (m.size() + 15) / 16 * 16;  // whole 16-column panels of per-column loads
  m0.assign(padded, 0);
  limit.assign(padded, 0);
  shift.assign(padded, 1);
  offset.assign(padded, (int64_t{1} << 62) + 1);
  sub.assign(padded, int64_t{1} << 61);
  bias.assign(padded, 0);
  for (size_t c = 0; c < m.size(); ++c) {
    m0[c] = m[c].m0;
    limit[c] = static_cast<int32_t>(m[c].limit);
    shift[c] = m[c].shift;
    // x + 2^62 + 2^(n-1) is non-negative for |x| < 2^62, so a logical shift gives floor((x + 2^(n-1)) / 2^n)
    // plus 2^(62-n), removed afterwards: AVX2 has no 64-bit arithmetic right shift.
    offset[c] = static_cast<int64_t>((uint64_t{1} << 62) + (uint64_t{1} << (m[c].shift - 1)));
    sub[c] = int64_t{1} << (62 - m[c].shift);
    if (c < b.size()) bias[c] = b[c];
  }
  offset_lanes.resize(padded);
  sub_lanes.resize(padded);
  shift_lanes.resize(padded);
  round.assign(padded, 0);
  round_lanes.resize(padded);
  shift32.assign(padded, 0);
  fast8.assign(padded / 8, 1);
  for (size_t c = 0; c < padded; ++c) {
    const size_t lane = c / 8 * 8 + (c % 2 == 0 ? (c % 8) / 2 : 4 + (c % 8) / 2);
    offset_lanes[lane] = offset[c];
    sub_lanes[lane] = sub[c];
    shift_lanes[lane] = shift[c];
    // Padding channels (results dropped) take the fast path's constants for n = 32.
    const int32_t n = c < m.size() ? shift[c] : 32;
    if (n >= 32) round[c] = int64_t{bias[c]} * m0[c] + (int64_t{1} << (n - 1));
    round_lanes[lane] = round[c];
    shift32[c] = std::max(0, n - 32);
    if (n < 32) fast8[c / 8] = 0;
  }
}

bool RequantTable::fold_zero_point(int32_t zp) {
  if (zp == 0 || folded_zp != 0) return false;
  const int64_t mag = zp < 0 ? -int64_t{zp} : int64_t{zp};
  for (int64_t c = 0; c < channels; ++c) {
    const int32_t n = shift[static_cast<size_t>(c)];
    if (n < 32 || n > 60 || mag >= (int64_t{1} << (60 - n))) return false;
  }
  for (size_t c = 0; c < round.size(); ++c) {
    const int32_t n = static_cast<int64_t>(c) < channels ? shift[c] : 32;
    round[c] += int64_t{zp} * (int64_t{1} << n);
    const size_t lane = c / 8 * 8 + (c % 2 == 0 ? (c % 8) / 2 : 4 + (c % 8) / 2);
    round_lanes[lane] = round[c];
  }
  folded_zp = zp;
  return true;
}

namespace {
bool avx512_default() {
  const char* env = std::getenv("QS_INT_AVX512");
  return cpu_has_avx512_vnni() && !(env && std::string(env) == "0");
}
std::atomic<bool> g_avx512{avx512_default()};
}  // namespace

bool avx512_enabled() { return g_avx512.load(std::memory_order_relaxed); }
void set_avx512(bool on) { g_avx512.store(on && cpu_has_avx512_vnni(), std::memory_order_relaxed); }

int32_t epilogue_value(int32_t acc, int64_t channel, const Epilogue& e) {
  const size_t c = static_cast<size_t>(channel);
  FixedMultiplier f;
  f.m0 = e.rq->m0[c];
  f.shift = e.rq->shift[c];
  f.limit = e.rq->limit[c];
  const int64_t v = static_cast<int64_t>(acc) + e.rq->bias[c];
  return clamp_q(static_cast<int64_t>(e.zp) + requantize(v, f), e.lo, e.hi);
}

void requantize_rows(IntIsa isa, int64_t rows, int64_t n, const int32_t* acc, int64_t lda,
                     const Epilogue& e) {
  if (!e.channel_is_row || e.out == DType::Int32)
    throw Error("integer requantization: needs channels on rows and a narrow output type");
  if (isa == IntIsa::Avx2) return detail::requantize_rows_avx2(rows, n, acc, lda, e);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < n; ++j)
      store(e.out, e.y, i * e.ldy + j, epilogue_value(acc[i * lda + j], e.channel0 + i, e));
}

void depthwise(IntIsa isa, const DepthwisePlane& p, const Epilogue& e) {
  if (isa == IntIsa::Avx2) return detail::depthwise_avx2(p, e);
  for (int64_t oh = 0; oh < p.OH; ++oh)
    for (int64_t ow = 0; ow < p.OW; ++ow) {
      int32_t acc = 0;
      for (int64_t t = 0; t < p.taps; ++t) {
        const int32_t word = p.wpairs[t / 2];
        const int32_t w = t % 2 == 0 ? static_cast<int16_t>(word & 0xffff) : static_cast<int16_t>(word >> 16);
        acc += w * p.buf[p.off[t] + oh * p.RS + ow];
      }
      store(e.out, e.y, oh * e.ldy + ow, epilogue_value(acc, e.channel0, e));
    }
}

void add_8bit(IntIsa isa, int64_t n, const AddOperands& o, const AddMultipliers& m) {
  const int64_t done = isa == IntIsa::Avx2 ? detail::add_8bit_avx2(n, o, m) : 0;
  auto load = [](const void* p, bool sgn, int64_t i) -> int64_t {
    return sgn ? static_cast<const int8_t*>(p)[i] : static_cast<const uint8_t*>(p)[i];
  };
  for (int64_t i = done; i < n; ++i) {
    const int32_t v =
        clamp_q(o.zo + add_requantize(load(o.a, o.a_signed, i) - o.za, load(o.b, o.b_signed, i) - o.zb, m),
                o.lo, o.hi);
    if (o.y_signed)
      static_cast<int8_t*>(o.y)[i] = static_cast<int8_t>(v);
    else
      static_cast<uint8_t*>(o.y)[i] = static_cast<uint8_t>(v);
  }
}

void gemm_rows(int64_t M, int64_t N, int64_t K, const int32_t* A, const int16_t* const* Bp,
               const Epilogue& e) {
  detail::gemm_rows_avx2(M, N, K, A, Bp, e);
}

void interleave_rows8(const void* r0, const void* r1, bool sgn, int64_t n, int64_t stride, int32_t zp,
                      int16_t* dst, int64_t readable) {
  detail::interleave_rows8_avx2(r0, r1, sgn, n, stride, zp, dst, readable);
}

void gemm(IntIsa isa, int64_t M, int64_t N, int64_t K, const int32_t* A, const int16_t* B,
          const Epilogue& e) {
  if (M <= 0 || N <= 0) return;
  if (!e.channel_is_row && e.channel0 % 8 != 0)
    throw Error("integer GEMM: per-column channels must start at a multiple of 8");
  if (isa == IntIsa::Avx2) return detail::gemm_avx2(M, N, K, A, B, e);
  gemm_portable(M, N, K, A, B, e);
}

void winograd_weight(const int32_t* g, int32_t* u) {
  static constexpr int32_t G2[4][3] = {{2, 0, 0}, {1, 1, 1}, {1, -1, 1}, {0, 0, 2}};
  for (int r = 0; r < 4; ++r)
    for (int s = 0; s < 4; ++s) {
      int32_t v = 0;
      for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b) v += G2[r][a] * g[3 * a + b] * G2[s][b];
      u[4 * r + s] = v;
    }
}

}  // namespace qs::intgemm
