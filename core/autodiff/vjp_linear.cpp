// VJPs of the linear layers: Gemm, MatMul (batched, broadcast, 1-D operands), Conv and ConvTranspose (any
// group count, stride, padding, dilation, spatial rank), on the same single-threaded GEMM and im2col/col2im
// the forward kernels use (core/ops/gemm_eigen.h, core/ops/conv_im2col.h).
//
// Conv, per image n and group g (W_g: Mg x Cg·k, cols: Cg·k x P = im2col(X_g)):
//   dW_g += dY_g · colsᵀ,  dX_g = col2im(W_gᵀ · dY_g),  dB = Σ dY.
// ConvTranspose is its adjoint (W_g: Cg x Mg·k, dcols = im2col over Y of dY_g):
//   dX_g = W_g · dcols,   dW_g += X_g · dcolsᵀ,         dB = Σ dY.
// Weight gradients are summed over images in double, in image order, so results do not depend on threads.
#include <algorithm>
#include <limits>

#include "core/autodiff/vjp.h"
#include "core/common/parallel.h"
#include "core/ops/broadcast.h"
#include "core/ops/conv_geometry.h"
#include "core/ops/conv_im2col.h"
#include "core/ops/gemm_eigen.h"

namespace qs {

namespace {

// ---- Gemm: Y = alpha·op(A)·op(B) + beta·C ----
std::unique_ptr<Vjp> make_gemm_vjp(const KernelInit& init) {
  const bool ta = init.node.attr_int("transA", 0) != 0, tb = init.node.attr_int("transB", 0) != 0;
  const float alpha = init.node.attr_float("alpha", 1.f), beta = init.node.attr_float("beta", 1.f);
  const std::string where = init.where();
  return make_vjp([=](const VjpArgs& a, std::span<Tensor> gi) {
    const Tensor& A = in_f32(a, 0, where);
    const Tensor& B = in_f32(a, 1, where);
    const Tensor& G = a.grad_outputs[0];
    const int64_t M = ta ? A.dim(1) : A.dim(0), K = ta ? A.dim(0) : A.dim(1);
    const int64_t N = tb ? B.dim(0) : B.dim(1);
    const int64_t lda = ta ? M : K, ldb = tb ? K : N;
    if (a.need[0]) {
      Tensor dA(DType::Float32, A.shape());
      if (!ta)
        gemm_parallel<float>(false, !tb, M, K, N, alpha, G.data<float>(), N, B.data<float>(), ldb,
                             dA.data<float>(), K, false);
      else
        gemm_parallel<float>(tb, true, K, M, N, alpha, B.data<float>(), ldb, G.data<float>(), N,
                             dA.data<float>(), M, false);
      gi[0] = std::move(dA);
    }
    if (a.need[1]) {
      Tensor dB(DType::Float32, B.shape());
      if (!tb)
        gemm_parallel<float>(!ta, false, K, N, M, alpha, A.data<float>(), lda, G.data<float>(), N,
                             dB.data<float>(), N, false);
      else
        gemm_parallel<float>(true, ta, N, K, M, alpha, G.data<float>(), N, A.data<float>(), lda,
                             dB.data<float>(), K, false);
      gi[1] = std::move(dB);
    }
    if (a.need.size() > 2 && a.need[2]) {
      Tensor s = sum_to_shape(G, a.inputs[2]->shape());
      if (beta != 1.f) {
        Tensor c(DType::Float32, s.shape());
        for (int64_t i = 0; i < s.numel(); ++i) c.data<float>()[i] = beta * s.data<float>()[i];
        s = std::move(c);
      }
      gi[2] = std::move(s);
    }
  });
}

// ---- MatMul (numpy semantics) ----
std::unique_ptr<Vjp> make_matmul_vjp(const KernelInit& init) {
  const std::string where = init.where();
  return make_vjp([where](const VjpArgs& a, std::span<Tensor> gi) {
    const Tensor& A = in_f32(a, 0, where);
    const Tensor& B = in_f32(a, 1, where);
    const Shape& as = A.shape();
    const Shape& bs = B.shape();
    const int64_t M = A.rank() >= 2 ? as[as.size() - 2] : 1, K = as.back();
    const int64_t N = B.rank() >= 2 ? bs.back() : 1;
    const Shape batch_a(as.begin(), as.end() - std::min<int64_t>(A.rank(), 2));
    const Shape batch_b(bs.begin(), bs.end() - std::min<int64_t>(B.rank(), 2));
    const Shape batch = broadcast_shapes(batch_a, batch_b, where);
    const int64_t nb = numel(batch);
    // Offsets (in matrices) of A and B for each batch entry.
    std::vector<int64_t> oa(static_cast<size_t>(nb)), ob(static_cast<size_t>(nb));
    for_each_broadcast<2>(batch, {broadcast_strides(batch_a, batch), broadcast_strides(batch_b, batch)},
                          [&](int64_t i, int64_t x, int64_t y) {
                            oa[static_cast<size_t>(i)] = x;
                            ob[static_cast<size_t>(i)] = y;
                          });
    const float* ap = A.data<float>();
    const float* bp = B.data<float>();
    const float* gp = a.grad_outputs[0].data<float>();
    const bool a_full = numel(batch_a) == nb, b_full = numel(batch_b) == nb;
    if (a.need[0]) {
      Tensor dA = zeros_f32(as);
      float* d = dA.data<float>();
      if (a_full) {  // one batch entry per A matrix: independent, in parallel
        parallel_for(
            0, nb,
            [&](int64_t i) {
              gemm<float>(false, true, M, K, N, 1.f, gp + i * M * N, N,
                          bp + ob[static_cast<size_t>(i)] * K * N, N, d + oa[static_cast<size_t>(i)] * M * K,
                          K, false);
            },
            M * N * K);
      } else {
        for (int64_t i = 0; i < nb; ++i)
          gemm<float>(false, true, M, K, N, 1.f, gp + i * M * N, N, bp + ob[static_cast<size_t>(i)] * K * N,
                      N, d + oa[static_cast<size_t>(i)] * M * K, K, true);
      }
      gi[0] = std::move(dA);
    }
    if (a.need[1]) {
      Tensor dB = zeros_f32(bs);
      float* d = dB.data<float>();
      if (numel(batch_b) == 1 && a_full) {
        // A weight shared by every batch entry: one GEMM over the stacked rows, dB = A_allᵀ · G_all.
        gemm_parallel<float>(true, false, K, N, nb * M, 1.f, ap, K, gp, N, d, N, false);
      } else if (b_full) {
        parallel_for(
            0, nb,
            [&](int64_t i) {
              gemm<float>(true, false, K, N, M, 1.f, ap + oa[static_cast<size_t>(i)] * M * K, K,
                          gp + i * M * N, N, d + ob[static_cast<size_t>(i)] * K * N, N, false);
            },
            M * N * K);
      } else {
        for (int64_t i = 0; i < nb; ++i)
          gemm<float>(true, false, K, N, M, 1.f, ap + oa[static_cast<size_t>(i)] * M * K, K, gp + i * M * N,
                      N, d + ob[static_cast<size_t>(i)] * K * N, N, true);
      }
      gi[1] = std::move(dB);
    }
  });
}

// ---- Conv / ConvTranspose ----
constexpr int64_t kHugePanel = std::numeric_limits<int64_t>::max() / 4;

bool is_2d(const PatchMap& m) { return m.kernel.size() == 2; }

// 1x1 kernel, stride 1, no padding: the column matrix is the image itself.
bool is_identity(const PatchMap& m) {
  for (size_t a = 0; a < m.kernel.size(); ++a)
    if (m.kernel[a] != 1 || m.strides[a] != 1 || m.pad_begin[a] != 0 || m.image[a] != m.grid[a]) return false;
  return true;
}

// Output columns ow in [lo, hi) whose input column ow·stride + off lies inside [0, width).
struct ColRange {
  int64_t lo, hi;
};
ColRange col_range(int64_t off, int64_t stride, int64_t width, int64_t out) {
  const int64_t lo = std::clamp<int64_t>(off >= 0 ? 0 : (-off + stride - 1) / stride, 0, out);
  const int64_t hi = std::clamp<int64_t>(width - off > 0 ? (width - off + stride - 1) / stride : 0, lo, out);
  return {lo, hi};
}

// Row-major im2col of one group: rows x P (rows = channels · kernel size). 2-D has direct loops with the
// padding split off (the general walker's per-row setup dominates small planes); other ranks use the
// shared walker.
void im2col(const PatchMap& m, const float* image, int64_t rows, int64_t P, float* cols) {
  if (!is_2d(m)) {
    for (int64_t k = 0; k < rows; ++k)
      im2col_row(m, image, k, 0, P, PanelDest{cols + k * P, 0, kHugePanel, 0});
    return;
  }
  const int64_t KH = m.kernel[0], KW = m.kernel[1], IH = m.image[0], IW = m.image[1], OH = m.grid[0],
                OW = m.grid[1];
  const int64_t sh = m.strides[0], sw = m.strides[1], dh = m.dilations[0], dw = m.dilations[1];
  const int64_t ph = m.pad_begin[0], pw = m.pad_begin[1];
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t c = r / (KH * KW), kh = r / KW % KH, kw = r % KW;
    const float* img = image + c * IH * IW;
    const int64_t off = kw * dw - pw;
    const ColRange cr = col_range(off, sw, IW, OW);
    float* out = cols + r * P;
    for (int64_t oh = 0; oh < OH; ++oh) {
      const int64_t ih = oh * sh - ph + kh * dh;
      float* o = out + oh * OW;
      if (ih < 0 || ih >= IH) {
        std::fill(o, o + OW, 0.f);
        continue;
      }
      const float* src = img + ih * IW + off;
      std::fill(o, o + cr.lo, 0.f);
      if (sw == 1)
        std::copy(src + cr.lo, src + cr.hi, o + cr.lo);
      else
        for (int64_t ow = cr.lo; ow < cr.hi; ++ow) o[ow] = src[ow * sw];
      std::fill(o + cr.hi, o + OW, 0.f);
    }
  }
}

// The adjoint: image[tap] += cols[r][p] over `channels` channels.
void col2im(const PatchMap& m, const float* cols, int64_t channels, float* image) {
  if (!is_2d(m)) {
    col2im_add(m, cols, channels, image);
    return;
  }
  const int64_t KH = m.kernel[0], KW = m.kernel[1], IH = m.image[0], IW = m.image[1], OH = m.grid[0],
                OW = m.grid[1];
  const int64_t sh = m.strides[0], sw = m.strides[1], dh = m.dilations[0], dw = m.dilations[1];
  const int64_t ph = m.pad_begin[0], pw = m.pad_begin[1], P = OH * OW;
  for (int64_t r = 0; r < channels * KH * KW; ++r) {
    const int64_t c = r / (KH * KW), kh = r / KW % KH, kw = r % KW;
    const int64_t off = kw * dw - pw;
    const ColRange cr = col_range(off, sw, IW, OW);
    float* img = image + c * IH * IW;
    const float* in = cols + r * P;
    for (int64_t oh = 0; oh < OH; ++oh) {
      const int64_t ih = oh * sh - ph + kh * dh;
      if (ih < 0 || ih >= IH) continue;
      float* dst = img + ih * IW + off;
      const float* src = in + oh * OW;
      if (sw == 1)
        for (int64_t ow = cr.lo; ow < cr.hi; ++ow) dst[ow] += src[ow];
      else
        for (int64_t ow = cr.lo; ow < cr.hi; ++ow) dst[ow * sw] += src[ow];
    }
  }
}

// Depthwise 2-D convolution (one input channel per group, Mg outputs each): both gradients by direct loops
// over the taps — the per-group GEMMs would be 1 x 9 x P, all overhead. dW accumulates into `dw` (Mg x k),
// dX into `dx` (one plane).
void depthwise_backward(const PatchMap& m, const float* x, const float* w, const float* gy, int64_t Mg,
                        float* dx, float* dw) {
  const int64_t KH = m.kernel[0], KW = m.kernel[1], IH = m.image[0], IW = m.image[1], OH = m.grid[0],
                OW = m.grid[1];
  const int64_t sh = m.strides[0], sw = m.strides[1], dh = m.dilations[0], dwl = m.dilations[1];
  const int64_t ph = m.pad_begin[0], pw = m.pad_begin[1], P = OH * OW;
  for (int64_t j = 0; j < Mg; ++j) {
    const float* g = gy + j * P;
    for (int64_t kh = 0; kh < KH; ++kh)
      for (int64_t kw = 0; kw < KW; ++kw) {
        const float wv = w[(j * KH + kh) * KW + kw];
        const int64_t off = kw * dwl - pw;
        const auto [lo, hi] = col_range(off, sw, IW, OW);
        double acc = 0;
        for (int64_t oh = 0; oh < OH; ++oh) {
          const int64_t ih = oh * sh - ph + kh * dh;
          if (ih < 0 || ih >= IH) continue;
          const float* gr = g + oh * OW;
          const int64_t base = ih * IW + off;
          if (dw) {
            float a = 0;
            for (int64_t ow = lo; ow < hi; ++ow) a += gr[ow] * x[base + ow * sw];
            acc += a;
          }
          if (dx)
            for (int64_t ow = lo; ow < hi; ++ow) dx[base + ow * sw] += wv * gr[ow];
        }
        if (dw) dw[(j * KH + kh) * KW + kw] += static_cast<float>(acc);
      }
  }
}

// Images per block so that the per-image weight-gradient partials stay within ~64 MiB.
int64_t image_block(int64_t N, int64_t wsize) {
  return std::clamp<int64_t>((int64_t{16} << 20) / std::max<int64_t>(wsize, 1), 1, N);
}

std::unique_ptr<Vjp> make_conv_vjp(const KernelInit& init, bool transpose) {
  auto attrs = std::make_shared<const ConvAttrs>(read_conv_attrs(init, transpose));
  const std::string where = init.where();
  return make_vjp([attrs, transpose, where](const VjpArgs& a, std::span<Tensor> gi) {
    const Tensor& X = in_f32(a, 0, where);
    const Tensor& W = in_f32(a, 1, where);
    const Tensor* Bp = a.inputs.size() > 2 ? a.inputs[2] : nullptr;
    const ConvGeometry g = transpose ? conv_transpose_geometry(*attrs, X.shape(), W.shape(), Bp)
                                     : conv_geometry(*attrs, X.shape(), W.shape(), Bp);
    const int64_t N = g.batch, C = g.in_channels, M = g.out_channels, G = g.group;
    const int64_t Cg = C / G, Mg = M / G, ks = g.kernel_size(), IS = g.in_size(), OS = g.out_size();
    const float* x = X.data<float>();
    const float* w = W.data<float>();
    const float* gy = a.grad_outputs[0].data<float>();
    const bool need_x = a.need[0], need_w = a.need[1], need_b = a.need.size() > 2 && a.need[2];
    const PatchMap map = transpose ? conv_transpose_patch_map(g) : conv_patch_map(g);
    const bool identity = is_identity(map);
    const bool depthwise = !transpose && is_2d(map) && Cg == 1 && !identity;
    // Conv: columns over Y positions (P = OS) from X; ConvTranspose: columns over X positions (P = IS)
    // from dY. Rows of the column matrix: Cg·k (Conv) or Mg·k (ConvTranspose).
    const int64_t P = transpose ? IS : OS;
    const int64_t rows = (transpose ? Mg : Cg) * ks;
    const int64_t wg = Mg * Cg * ks;  // weights per group
    Tensor dX = need_x ? zeros_f32(X.shape()) : Tensor();
    float* dx = need_x ? dX.data<float>() : nullptr;
    std::vector<double> dw(need_w ? static_cast<size_t>(W.numel()) : 0, 0.0);
    const int64_t block = image_block(N, W.numel());
    std::vector<float> partial(need_w ? static_cast<size_t>(block * G * wg) : 0);
    for (int64_t n0 = 0; n0 < N; n0 += block) {
      const int64_t nn = std::min(N, n0 + block) - n0;
      parallel_for(
          0, nn * G,
          [&](int64_t item) {
            const int64_t n = n0 + item / G, gi_ = item % G;
            // Scratch for the column matrix (uninitialized: every entry is written before it is read).
            float* cols = identity || depthwise ? nullptr
                                                : thread_scratch_as<float>(ScratchSlot::kColumns,
                                                                           static_cast<size_t>(rows * P));
            const float* wgp = w + gi_ * wg;
            float* pw = need_w ? partial.data() + item * wg : nullptr;
            const float* xg = x + (n * C + gi_ * Cg) * IS;
            const float* gyg = gy + (n * M + gi_ * Mg) * OS;
            float* dxg = need_x ? dx + (n * C + gi_ * Cg) * IS : nullptr;
            if (depthwise) {
              if (pw) std::fill(pw, pw + wg, 0.f);
              depthwise_backward(map, xg, wgp, gyg, Mg, dxg, pw);
            } else if (!transpose) {
              if (need_w) {
                const float* c = xg;
                if (!identity) {
                  im2col(map, xg, rows, P, cols);
                  c = cols;
                }
                gemm<float>(false, true, Mg, rows, P, 1.f, gyg, P, c, P, pw, rows, false);
              }
              if (need_x) {
                if (identity) {
                  gemm<float>(true, false, rows, P, Mg, 1.f, wgp, rows, gyg, P, dxg, P, false);
                } else {
                  gemm<float>(true, false, rows, P, Mg, 1.f, wgp, rows, gyg, P, cols, P, false);
                  col2im(map, cols, Cg, dxg);
                }
              }
            } else {
              const float* c = gyg;
              if (!identity) {
                im2col(map, gyg, rows, P, cols);
                c = cols;
              }
              if (need_x) gemm<float>(false, false, Cg, P, rows, 1.f, wgp, rows, c, P, dxg, P, false);
              if (need_w) gemm<float>(false, true, Cg, rows, P, 1.f, xg, P, c, P, pw, rows, false);
            }
          },
          rows * P * std::max(Mg, Cg));
      if (need_w)
        for (int64_t item = 0; item < nn * G; ++item) {
          const float* pw = partial.data() + item * wg;
          double* d = dw.data() + (item % G) * wg;
          for (int64_t i = 0; i < wg; ++i) d[i] += pw[i];
        }
    }
    if (need_x) gi[0] = std::move(dX);
    if (need_w) gi[1] = from_double(dw, W.shape());
    if (need_b) {
      std::vector<double> db(static_cast<size_t>(M), 0.0);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t m = 0; m < M; ++m) {
          const float* p = gy + (n * M + m) * OS;
          double s = 0;
          for (int64_t i = 0; i < OS; ++i) s += p[i];
          db[static_cast<size_t>(m)] += s;
        }
      gi[2] = from_double(db, Bp->shape());
    }
  });
}

}  // namespace

void register_linear_vjps(VjpRegistry& r) {
  r.add("Gemm", 1, 21, make_gemm_vjp);
  r.add("MatMul", 1, 21, make_matmul_vjp);
  r.add("Conv", 1, 21, [](const KernelInit& i) { return make_conv_vjp(i, false); });
  r.add("ConvTranspose", 1, 21, [](const KernelInit& i) { return make_conv_vjp(i, true); });
}

}  // namespace qs
