#include "core/int/ref_kernels.h"

#include <vector>

namespace qs {

namespace {

// Row-major multi-index odometer over `ext`.
bool next_index(std::vector<int64_t>& idx, const std::vector<int64_t>& ext) {
  for (size_t a = idx.size(); a-- > 0;) {
    if (++idx[a] < ext[a]) return true;
    idx[a] = 0;
  }
  return false;
}

}  // namespace

void conv_ref(const ConvGeometry& g, const int32_t* x, const LayerQuant& q, int32_t* y) {
  const size_t r = g.kernel.size();
  const int64_t C = g.in_channels, M = g.out_channels, G = g.group, Cg = C / G, Mg = M / G;
  const int64_t IS = g.in_size(), OS = g.out_size(), KS = g.kernel_size();
  const int64_t zx = q.in.zero_point[0];
  const std::vector<int64_t> ist = strides_of(g.in);
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t m = 0; m < M; ++m) {
      const int64_t grp = m / Mg;
      const int64_t zw = q.w_zp[static_cast<size_t>(m)];
      std::vector<int64_t> o(r, 0);
      for (int64_t op = 0; op < OS; ++op, next_index(o, g.out)) {
        int64_t acc = q.bias[static_cast<size_t>(m)];
        for (int64_t c = 0; c < Cg; ++c) {
          const int32_t* xc = x + (n * C + grp * Cg + c) * IS;
          const int32_t* wc = q.w.data() + (m * Cg + c) * KS;
          std::vector<int64_t> k(r, 0);
          for (int64_t kp = 0; kp < KS; ++kp, next_index(k, g.kernel)) {
            int64_t off = 0;
            bool inside = true;
            for (size_t a = 0; a < r; ++a) {
              const int64_t i = o[a] * g.strides[a] - g.pad_begin[a] + k[a] * g.dilations[a];
              inside = inside && i >= 0 && i < g.in[a];
              off += i * ist[a];
            }
            if (inside) acc += (xc[off] - zx) * (wc[kp] - zw);  // padding is the real 0: contributes nothing
          }
        }
        y[(n * M + m) * OS + op] = q.finish(acc, m);
      }
    }
}

void conv_transpose_ref(const ConvGeometry& g, const int32_t* x, const LayerQuant& q, int32_t* y) {
  const size_t r = g.kernel.size();
  const int64_t C = g.in_channels, M = g.out_channels, G = g.group, Cg = C / G, Mg = M / G;
  const int64_t IS = g.in_size(), OS = g.out_size(), KS = g.kernel_size();
  const int64_t zx = q.in.zero_point[0];
  const std::vector<int64_t> ost = strides_of(g.out);
  std::vector<int64_t> acc(static_cast<size_t>(M * OS));
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t p = 0; p < OS; ++p) acc[static_cast<size_t>(m * OS + p)] = q.bias[static_cast<size_t>(m)];
    for (int64_t c = 0; c < C; ++c) {
      const int64_t grp = c / Cg;
      const int32_t* xc = x + (n * C + c) * IS;
      std::vector<int64_t> i(r, 0);
      for (int64_t ip = 0; ip < IS; ++ip, next_index(i, g.in)) {
        const int64_t xv = xc[ip] - zx;
        std::vector<int64_t> k(r, 0);
        for (int64_t kp = 0; kp < KS; ++kp, next_index(k, g.kernel)) {
          int64_t off = 0;
          bool inside = true;
          for (size_t a = 0; a < r; ++a) {
            const int64_t o = i[a] * g.strides[a] - g.pad_begin[a] + k[a] * g.dilations[a];
            inside = inside && o >= 0 && o < g.out[a];
            off += o * ost[a];
          }
          if (!inside) continue;
          for (int64_t mg = 0; mg < Mg; ++mg) {
            const int64_t m = grp * Mg + mg;
            const int64_t wv = q.w[static_cast<size_t>((c * Mg + mg) * KS + kp)] - q.w_zp[static_cast<size_t>(m)];
            acc[static_cast<size_t>(m * OS + off)] += xv * wv;
          }
        }
      }
    }
    for (int64_t m = 0; m < M; ++m)
      for (int64_t p = 0; p < OS; ++p) y[(n * M + m) * OS + p] = q.finish(acc[static_cast<size_t>(m * OS + p)], m);
  }
}

void fc_ref(int64_t rows, int64_t K, int64_t N, const int32_t* x, const LayerQuant& q, bool trans_w, int32_t* y) {
  const int64_t zx = q.in.zero_point[0];
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = 0; n < N; ++n) {
      int64_t acc = q.bias[static_cast<size_t>(n)];
      const int64_t zw = q.w_zp[static_cast<size_t>(n)];
      for (int64_t k = 0; k < K; ++k) {
        const int64_t w = q.w[static_cast<size_t>(trans_w ? n * K + k : k * N + n)];
        acc += (x[r * K + k] - zx) * (w - zw);
      }
      y[r * N + n] = q.finish(acc, n);
    }
}

void matmul_left_ref(int64_t batch, int64_t M, int64_t K, int64_t N, const int32_t* x, const LayerQuant& q,
                     int32_t* y) {
  const int64_t zx = q.in.zero_point[0];
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        int64_t acc = q.bias[static_cast<size_t>(m)];
        const int64_t zw = q.w_zp[static_cast<size_t>(m)];
        for (int64_t k = 0; k < K; ++k)
          acc += (x[(b * K + k) * N + n] - zx) * (q.w[static_cast<size_t>(m * K + k)] - zw);
        y[(b * M + m) * N + n] = q.finish(acc, m);
      }
}

}  // namespace qs
