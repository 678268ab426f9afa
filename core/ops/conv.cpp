// Conv. Three paths, chosen from the shapes: a direct kernel for 2-D convolutions whose groups have one
// input channel (depthwise, and the first layer of most CNNs); Eigen's GEMM per image for 1x1 stride-1
// convolutions on small planes; otherwise im2col + GEMM per group through conv_gemm (im2col written
// straight into the GEMM kernel's packed layout, weights packed once, bias added in the output write).
// Every path gives results independent of the thread count and of the batch size. The executor may
// create the kernel with a clamp (make_conv_clamped, core/ops/conv_epilogue.h) to fuse a following Clip
// or Relu; each path then clamps its outputs as it writes them.
#include <algorithm>
#include <memory>
#include <optional>

#include "core/common/parallel.h"
#include "core/ops/conv_depthwise.h"
#include "core/ops/conv_epilogue.h"
#include "core/ops/conv_gemm.h"
#include "core/ops/conv_geometry.h"
#include "core/ops/conv_transpose.h"
#include "core/ops/gemm_eigen.h"
#include "core/ops/kernel.h"

namespace qs {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

bool use_depthwise(const ConvGeometry& g) { return g.spatial_rank() == 2 && g.in_channels == g.group; }

class ConvKernel final : public Kernel {
 public:
  // `weights`: W packed for the GEMM path when W is a constant, else empty (packed on each run).
  ConvKernel(ConvAttrs a, std::optional<PackedConvWeights> weights, std::optional<ConvClamp> clamp)
      : attrs_(std::move(a)), packed_(std::move(weights)), clamp_(clamp) {}

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& x = *in[0];
    const Tensor& w = *in[1];
    const Tensor* b = in.size() > 2 ? in[2] : nullptr;
    check_conv_dtypes(x, w, b);
    const ConvGeometry g = conv_geometry(attrs_, x.shape(), w.shape(), b);
    Tensor y(DType::Float32, g.y_shape);
    const float* bd = b ? b->data<float>() : nullptr;
    const ConvClamp* clamp = clamp_ ? &*clamp_ : nullptr;
    if (y.numel() == 0) {
      // nothing to compute
    } else if (use_depthwise(g)) {
      depthwise(g, x.data<float>(), w.data<float>(), bd, y.data<float>(), clamp);
    } else if (use_pointwise_gemm(g)) {
      conv_pointwise_forward(g, w.data<float>(), x.data<float>(), bd, y.data<float>(), clamp);
    } else if (packed_) {
      conv_gemm_forward(g, *packed_, x.data<float>(), bd, y.data<float>(), clamp);
    } else {
      const PackedConvWeights pw(w.data<float>(), g.group, g.out_channels / g.group,
                                 g.in_channels / g.group * g.kernel_size());
      conv_gemm_forward(g, pw, x.data<float>(), bd, y.data<float>(), clamp);
    }
    out[0] = std::move(y);
  }

 private:
  static void depthwise(const ConvGeometry& g, const float* x, const float* w, const float* b, float* y,
                        const ConvClamp* clamp) {
    const int64_t N = g.batch, C = g.in_channels, M = g.out_channels;
    const int64_t Mg = M / C, ks = g.kernel_size(), P = g.out_size(), IS = g.in_size();
    // Items are runs of input planes of one image, each with its Mg output planes; a run carries
    // ~32K multiply-adds to amortize the per-call setup, and a multiple of 8 planes (whole SIMD blocks
    // of the channel-interleaved kernel) when it can. Results do not depend on the runs.
    const int64_t plane_macs = std::max<int64_t>(1, Mg * P * ks);
    const int64_t run =
        std::min(C, ceil_div(ceil_div(C, std::min(C, work_split(C * plane_macs, int64_t{1} << 15))), 8) * 8);
    const int64_t runs = ceil_div(C, run);
    parallel_for(
        0, N * runs,
        [&](int64_t i) {
          const int64_t n = i / runs, c0 = i % runs * run, nc = std::min(C, c0 + run) - c0;
          depthwise_conv2d(g, x + (n * C + c0) * IS, nc, Mg, w + c0 * Mg * ks, b ? b + c0 * Mg : nullptr,
                           y + (n * M + c0 * Mg) * P);
          clamp_run(y + (n * M + c0 * Mg) * P, nc * Mg * P, clamp);  // while the run is in cache
        },
        run * plane_macs);
  }

  ConvAttrs attrs_;
  std::optional<PackedConvWeights> packed_;
  std::optional<ConvClamp> clamp_;
};

void check_arity(const KernelInit& init) {
  const size_t n = init.node.num_inputs();
  if (n < 2 || n > 3 || !init.node.has_input(0) || !init.node.has_input(1))
    init.invalid("expects inputs X, W and optional B; got " + std::to_string(n));
  if (init.node.outputs.size() != 1)
    init.invalid("expects 1 output, got " + std::to_string(init.node.outputs.size()));
}

std::unique_ptr<Kernel> make_conv_impl(const KernelInit& init, std::optional<ConvClamp> clamp) {
  check_arity(init);
  ConvAttrs a = read_conv_attrs(init, /*transpose=*/false);  // also checks a constant W against them
  std::optional<PackedConvWeights> packed;
  const Tensor* w = init.constant_input(1);
  if (w && w->dtype() == DType::Float32 && w->numel() > 0) {
    // Pack for the GEMM path unless the convolution is depthwise: a group then has one input channel,
    // and W has M x 1 x k..., so W.dim(1) == 1 with 2 spatial axes means the direct kernel.
    const bool direct = w->rank() == 4 && w->dim(1) == 1;
    if (!direct) {
      const int64_t M = w->dim(0);
      packed.emplace(w->data<float>(), a.group, M / a.group, w->numel() / M);
    }
  }
  return std::make_unique<ConvKernel>(std::move(a), std::move(packed), clamp);
}

std::unique_ptr<Kernel> make_conv(const KernelInit& init) { return make_conv_impl(init, std::nullopt); }

}  // namespace

std::unique_ptr<Kernel> make_conv_clamped(const KernelInit& init, ConvClamp clamp) {
  return make_conv_impl(init, clamp);
}

void register_conv_ops(OpRegistry& r) {
  // Conv-1 and Conv-11 differ only in documentation; Conv-22 adds bfloat16. Same for ConvTranspose.
  r.add("", "Conv", 1, 21, make_conv);
  r.add("", "ConvTranspose", 1, 21, [](const KernelInit& init) {
    check_arity(init);
    return make_conv_transpose_kernel(init);
  });
}

}  // namespace qs
