#include "core/ops/conv_integer.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "core/common/parallel.h"
#include "core/ops/gemm_eigen.h"

namespace qs {

namespace {

// For every kernel offset k and output position p, the flat input position it taps, or -1 in the padding:
// table[k * P + p]. Depends only on the geometry.
std::vector<int64_t> tap_table(const ConvGeometry& g) {
  const size_t n = g.kernel.size();
  const int64_t ks = g.kernel_size(), P = g.out_size();
  std::vector<int64_t> table(static_cast<size_t>(ks * P));
  std::vector<int64_t> ki(n), oi(n);
  for (int64_t k = 0; k < ks; ++k) {
    for (int64_t r = k, a = static_cast<int64_t>(n) - 1; a >= 0; --a) {
      ki[static_cast<size_t>(a)] = r % g.kernel[static_cast<size_t>(a)];
      r /= g.kernel[static_cast<size_t>(a)];
    }
    std::fill(oi.begin(), oi.end(), 0);
    for (int64_t p = 0; p < P; ++p) {
      int64_t flat = 0;
      for (size_t a = 0; a < n && flat >= 0; ++a) {
        const int64_t pos = oi[a] * g.strides[a] - g.pad_begin[a] + ki[a] * g.dilations[a];
        flat = pos < 0 || pos >= g.in[a] ? -1 : flat * g.in[a] + pos;
      }
      table[static_cast<size_t>(k * P + p)] = flat;
      // Next output position (row-major odometer).
      for (size_t a = n; a-- > 0;) {
        if (++oi[a] < g.out[a]) break;
        oi[a] = 0;
      }
    }
  }
  return table;
}

}  // namespace

ShiftedConvWeights shift_conv_weights(const Tensor& w, const std::vector<int32_t>& zp) {
  const int64_t M = w.rank() > 0 ? w.dim(0) : 0;
  if (zp.size() != 1 && static_cast<int64_t>(zp.size()) != M)
    throw Error("w_zero_point holds " + std::to_string(zp.size()) + " values; expected 1 or " +
                std::to_string(M) + " (one per output channel of W " + shape_str(w.shape()) + ")");
  ShiftedConvWeights s;
  s.w = Tensor(DType::Int32, w.shape());
  int32_t* o = s.w.data<int32_t>();
  const int64_t per = M ? w.numel() / M : 0;
  auto shift = [&](auto tag) {
    using X = decltype(tag);
    const X* src = w.data<X>();
    for (int64_t m = 0; m < M; ++m) {
      const int32_t z = zp[zp.size() == 1 ? 0 : static_cast<size_t>(m)];
      for (int64_t i = m * per; i < (m + 1) * per; ++i) {
        o[i] = static_cast<int32_t>(src[i]) - z;
        s.max_abs = std::max(s.max_abs, std::abs(o[i]));
      }
    }
  };
  if (w.dtype() == DType::UInt8)
    shift(uint8_t{});
  else if (w.dtype() == DType::Int8)
    shift(int8_t{});
  else
    throw UnsupportedError("weight W is " + dtype_name(w.dtype()) + "; only uint8 and int8 are supported");
  return s;
}

bool conv_integer_fits_int32(int64_t depth, int32_t w_max_abs) {
  if (w_max_abs == 0 || depth == 0) return true;
  return depth <= std::numeric_limits<int32_t>::max() / (int64_t{255} * w_max_abs);
}

template <typename X, typename T>
void conv_integer(const ConvGeometry& g, const X* x, int32_t x_zp, const T* w, T* y) {
  const int64_t N = g.batch, C = g.in_channels, M = g.out_channels, G = g.group;
  const int64_t Cg = C / G, Mg = M / G, ks = g.kernel_size(), Kg = Cg * ks, P = g.out_size(),
                IS = g.in_size();
  if (N == 0 || M == 0 || P == 0) return;
  if (Kg == 0) {
    std::fill(y, y + N * M * P, T(0));
    return;
  }
  const std::vector<int64_t> taps = tap_table(g);
  // Runs of output positions small enough that their column block (Kg x run) stays in cache, and long
  // enough for the GEMM kernel; a multiple of 8.
  const int64_t run = std::min(P, std::max<int64_t>(32, (int64_t{1} << 16) / Kg / 8 * 8));
  const int64_t runs = (P + run - 1) / run;
  parallel_for(
      0, N * G * runs,
      [&](int64_t item) {
        const int64_t n = item / (G * runs), grp = item / runs % G, p0 = item % runs * run;
        const int64_t len = std::min(run, P - p0);
        T* col = thread_scratch_as<T>(ScratchSlot::kColumns, static_cast<size_t>(Kg * len));
        const X* xg = x + (n * C + grp * Cg) * IS;
        for (int64_t c = 0; c < Cg; ++c)
          for (int64_t k = 0; k < ks; ++k) {
            const int64_t* t = taps.data() + k * P + p0;
            T* dst = col + (c * ks + k) * len;
            const X* xc = xg + c * IS;
            for (int64_t j = 0; j < len; ++j)
              dst[j] = t[j] < 0 ? T(0) : static_cast<T>(xc[t[j]]) - static_cast<T>(x_zp);
          }
        gemm<T>(false, false, Mg, len, Kg, T(1), w + grp * Mg * Kg, Kg, col, len,
                y + (n * M + grp * Mg) * P + p0, P, false);
      },
      Mg * run * Kg);
}

template void conv_integer<uint8_t, int32_t>(const ConvGeometry&, const uint8_t*, int32_t, const int32_t*,
                                             int32_t*);
template void conv_integer<int8_t, int32_t>(const ConvGeometry&, const int8_t*, int32_t, const int32_t*,
                                            int32_t*);
template void conv_integer<uint8_t, int64_t>(const ConvGeometry&, const uint8_t*, int32_t, const int64_t*,
                                             int64_t*);
template void conv_integer<int8_t, int64_t>(const ConvGeometry&, const int8_t*, int32_t, const int64_t*,
                                            int64_t*);

}  // namespace qs
