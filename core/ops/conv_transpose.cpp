// ConvTranspose as GEMM + col2im, per (image, group, chunk of output channels):
// columns ((M/group) * kernel size x P_in) = W_g^T * X_g, then each column entry is added to the output
// position it maps to. W (C x M/group x k...) row-major is W_g (C/group x M/group*k) as stored, so the
// GEMM reads it transposed in place.
#include "core/ops/conv_transpose.h"

#include <algorithm>

#include "core/common/parallel.h"
#include "core/ops/conv_geometry.h"
#include "core/ops/conv_im2col.h"
#include "core/ops/gemm_eigen.h"

namespace qs {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

class ConvTransposeKernel final : public Kernel {
 public:
  explicit ConvTransposeKernel(ConvAttrs a) : attrs_(std::move(a)) {}

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& x = *in[0];
    const Tensor& w = *in[1];
    const Tensor* b = in.size() > 2 ? in[2] : nullptr;
    check_conv_dtypes(x, w, b);
    const ConvGeometry g = conv_transpose_geometry(attrs_, x.shape(), w.shape(), b);
    Tensor y(DType::Float32, g.y_shape);
    if (y.numel() > 0)
      compute(g, x.data<float>(), w.data<float>(), b ? b->data<float>() : nullptr, y.data<float>());
    out[0] = std::move(y);
  }

 private:
  static void compute(const ConvGeometry& g, const float* x, const float* w, const float* b, float* y) {
    const int64_t N = g.batch, C = g.in_channels, M = g.out_channels, G = g.group;
    const int64_t Cg = C / G, Mg = M / G, ks = g.kernel_size();
    const int64_t IS = g.in_size(), OS = g.out_size();
    const PatchMap map = conv_transpose_patch_map(g);

    // Chunks of output channels: the column buffer stays within ~1 MiB and an item carries >= ~256K
    // multiply-adds. Shape-only, so results do not depend on the thread count. Items write disjoint
    // output planes, so they need no synchronization.
    constexpr int64_t kMaxColumnFloats = int64_t{1} << 18;
    constexpr int64_t kMinItemMacs = int64_t{1} << 18;
    const int64_t per_channel = std::max<int64_t>(1, ks * IS);
    const int64_t want = std::max<int64_t>(1, Mg * per_channel * std::max<int64_t>(Cg, 1) / kMinItemMacs);
    const int64_t chunk =
        std::max<int64_t>(1, std::min({Mg, kMaxColumnFloats / per_channel, ceil_div(Mg, want)}));
    const int64_t chunks = ceil_div(Mg, chunk);
    parallel_for(
        0, N * G * chunks,
        [&](int64_t item) {
          const int64_t ci = item % chunks, gi = item / chunks % G, n = item / chunks / G;
          const int64_t m0 = ci * chunk, nm = std::min(Mg, m0 + chunk) - m0;
          float* yc = y + (n * M + gi * Mg + m0) * OS;
          for (int64_t m = 0; m < nm; ++m)
            std::fill(yc + m * OS, yc + (m + 1) * OS, b ? b[gi * Mg + m0 + m] : 0.f);
          float* cols = thread_scratch_as<float>(ScratchSlot::kColumns, static_cast<size_t>(nm * ks * IS));
          gemm<float>(/*trans_a=*/true, false, nm * ks, IS, Cg, 1.f, w + gi * Cg * Mg * ks + m0 * ks, Mg * ks,
                      x + (n * C + gi * Cg) * IS, IS, cols, IS, /*accumulate=*/false);
          col2im_add(map, cols, nm, yc);
        },
        chunk * per_channel * std::max<int64_t>(Cg, 1));
  }

  ConvAttrs attrs_;
};

}  // namespace

std::unique_ptr<Kernel> make_conv_transpose_kernel(const KernelInit& init) {
  return std::make_unique<ConvTransposeKernel>(read_conv_attrs(init, /*transpose=*/true));
}

}  // namespace qs
