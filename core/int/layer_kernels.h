// Optimized integer layers over the packed GEMM (gemm_int.h). Weights are packed once; activations are
// packed per run into the calling thread's scratch, one cache-sized block at a time.
//
//   PackedConv      Conv with 1 or 2 spatial axes, any group: per (image, group, column block) an
//                   im2col block written straight into B panels (x − x_zp as int16, padding 0), times the
//                   group's packed weights (A). Depthwise convolution (one input channel per group) is the
//                   same loop with one-row tiles: A is the channel's kh·kw taps, B its im2col block.
//                   On AVX2 with 8-bit activations, faster forms of the same arithmetic: 3×3 stride 1
//                   through Winograd F(2×2, 3×3) (exact in int32, see gemm_int.h), other 2-D kernels with
//                   B read in place from the input window, depthwise kernels without im2col.
//   PackedConvTranspose  ConvTranspose with 1 or 2 spatial axes, any group: per (image, group, block of
//                   output channels) the GEMM of the transposed weights [Mg·kh·kw, Cg] with the input planes
//                   [Cg, H·W] into raw int32 columns, their col2im scatter-add into int32 accumulators, then
//                   the requantization epilogue (conv_transpose_int.cpp).
//   PackedFc        Gemm / MatMul with the constant operand on the right: A = input rows, B = the weight,
//                   channels on columns.
//   PackedMatMulLeft MatMul with the constant operand on the left: A = the weight, B = each input matrix.
// Work items are split over qs::parallel_for; integer results do not depend on the split.
#pragma once

#include <vector>

#include "core/int/gemm_int.h"
#include "core/int/layer_quant.h"
#include "core/ops/conv_geometry.h"
#include "core/tensor/tensor.h"

namespace qs {

class PackedConv {
 public:
  // `q` must satisfy q.int32_safe(Cin/group · kernel size).
  PackedConv(const LayerQuant& q, int64_t group);
  // y: a tensor of q.out's storage type and shape g.y_shape. Precondition: spatial rank 1 or 2.
  void run(IntIsa isa, const ConvGeometry& g, const Tensor& x, Tensor& y) const;
  static bool supports(const ConvGeometry& g) { return g.spatial_rank() == 1 || g.spatial_rank() == 2; }
  // As run, but y receives the 2×2 stride-2 max pooling (no padding, floor) of the result instead: y of
  // q.out's storage type and shape [N, M, OH/2, OW/2], OH, OW ≥ 2, taken as the result's grid rows are
  // copied out. False, doing nothing, when the layer takes a path that writes its output otherwise
  // (depthwise, 1×1, Winograd, strided). Precondition: spatial rank 2.
  bool run_max_pooled(IntIsa isa, const ConvGeometry& g, const Tensor& x, Tensor& y) const;
  // Whether 3×3 stride-1 convolutions with 8-bit input and output take the Winograd path on AVX2.
  bool winograd() const { return !wino_.empty(); }
  // A depthwise 2-D layer (one input and one output channel per group) on channels-last data: x
  // [N, H, W, C] and y [N, OH, OW, C], 8-bit, g the geometry of the same layer on NCHW shapes. AVX2 only,
  // taps at most 2·intgemm::kMaxChannelPairs (supports_nhwc).
  void run_depthwise_nhwc(const ConvGeometry& g, const Tensor& x, Tensor& y) const;
  bool supports_nhwc() const { return depthwise_ && K_ <= 2 * intgemm::kMaxChannelPairs; }
  // Whether a depthwise layer of this output width and tap count runs, on NCHW data and AVX2, through the
  // channel-interleaved kernel (transposing its input and output) rather than the per-plane one.
  static bool interleaves(int64_t OW, int64_t taps) {
    return OW <= (taps > 9 ? 48 : 32) && taps <= 2 * intgemm::kMaxChannelPairs;
  }

 private:
  const LayerQuant& q_;
  int64_t group_, Mg_, K_;
  std::vector<std::vector<int32_t>> a_;  // packed weights per group
  intgemm::RequantTable rq_;
  // Depthwise (one input and one output channel per group): each channel's taps in pairs, for the direct
  // kernel (intgemm::depthwise), which needs no im2col.
  bool depthwise_ = false;
  std::vector<std::vector<int32_t>> dw_;
  // The channel-interleaved depthwise kernel's tables (intgemm::DepthwiseChannels): per block of 16
  // channels, the pair words in lane order, and the requantization constants in the same order.
  std::vector<int32_t> dw_lanes_;
  intgemm::RequantTable rq_lanes_;
  // 2-D convolutions with several input channels per group, 8-bit input, on AVX2: the weights with K in
  // the order (channel pair, kh, kw, channel of the pair), so that each k pair of B is a run of the input
  // window with channels interleaved in pairs (intgemm::gemm_rows) and B needs no packing.
  std::vector<std::vector<int32_t>> a_rows_;  // per group; empty when not applicable
  int64_t k_rows_ = 0;                        // K of a_rows_: 2 · ⌈Cg/2⌉ · KH · KW
  void run_rows(const ConvGeometry& g, const Tensor& x, Tensor& y, bool pool) const;
  void gemm_grid_rows(IntIsa isa, const int32_t* A, int64_t K, const int16_t* packed,
                      const int16_t* const* rows, int64_t gi, int64_t nq, int64_t pitch, int64_t oh0,
                      int64_t oh1, int64_t OW, int64_t P, char* yg, bool pool) const;
  bool run_impl(IntIsa isa, const ConvGeometry& g, const Tensor& x, Tensor& y, bool pool) const;
  // One input channel per group (a grayscale model's first layer), unit stride and dilation: the same
  // in-place B with k pairs formed along kw instead, (kh, kw, kw + 1), from a window whose element j holds
  // the pair of columns j and j + 1. K = 2 · KH · ⌈KW/2⌉ (an odd KW pairs its last tap with a zero weight).
  // With an odd KW and several rows, the taps pair in their own order instead (A is a_, K = KH·KW): a row's
  // last tap pairs with the next row's first, from a second window whose element j holds column j + KW − 1
  // of one row and column j of the next (cols_taps_), which saves the zero weights' multiply-adds: 13 k
  // pairs instead of 15 for 5×5, 5 instead of 6 for 3×3.
  std::vector<std::vector<int32_t>> a_cols_;  // per group; empty when not applicable
  int64_t k_cols_ = 0;
  bool cols_taps_ = false;
  void run_cols(const ConvGeometry& g, const Tensor& x, Tensor& y, bool pool) const;
  // 3×3 stride-1 convolutions through Winograd F(2×2, 3×3) (gemm_int.h, kWinoElems): per group, the 16
  // transformed weight matrices U'_ξ (Mg × Cg) packed as A, at [group·16 + ξ]; empty when the layer is not
  // 3×3, has too few channels to gain, or its ranges could make the int32 arithmetic inexact.
  std::vector<std::vector<int32_t>> wino_;
  void run_winograd(const ConvGeometry& g, const Tensor& x, Tensor& y) const;
  void run_depthwise(IntIsa isa, const ConvGeometry& g, const Tensor& x, Tensor& y) const;
  void run_depthwise_channels(const ConvGeometry& g, const Tensor& x, Tensor& y) const;
  void run_pointwise(IntIsa isa, const ConvGeometry& g, const Tensor& x, Tensor& y) const;
  void run_pointwise_images(IntIsa isa, const ConvGeometry& g, const Tensor& x, Tensor& y,
                            int64_t images) const;
};

class PackedConvTranspose {
 public:
  // `q` must satisfy q.int32_safe(Cin/group · kernel size): every output's sum has at most that many
  // products, so the int32 columns and their col2im sums are exact.
  PackedConvTranspose(const LayerQuant& q, int64_t group);
  // y: a tensor of q.out's storage type and shape g.y_shape. Precondition: supports(g).
  void run(IntIsa isa, const ConvGeometry& g, const Tensor& x, Tensor& y) const;
  static bool supports(const ConvGeometry& g) { return g.spatial_rank() == 1 || g.spatial_rank() == 2; }

 private:
  const LayerQuant& q_;
  int64_t group_, Cg_, Mg_, KS_;
  // Per group, A = the weights as rows (m, kh, kw) over the group's Cg input channels, w − w_zp[m].
  std::vector<std::vector<int32_t>> a_;
  intgemm::RequantTable rq_;
};

class PackedFc {
 public:
  // The weight is [N, K] when trans_w, else [K, N].
  PackedFc(const LayerQuant& q, bool trans_w);
  // x: [rows, K] of any integer storage type; y: [rows, N] of the output type.
  void run(IntIsa isa, int64_t rows, const Tensor& x, Tensor& y) const;
  int64_t K() const { return K_; }
  int64_t N() const { return N_; }

 private:
  const LayerQuant& q_;
  int64_t K_, N_;
  std::vector<int16_t> b_;
  intgemm::RequantTable rq_;
  intgemm::RequantTable rq_zp_;  // rq_ with the output zero point folded in, for AVX2 (when it folds)
};

class PackedMatMulLeft {
 public:
  explicit PackedMatMulLeft(const LayerQuant& q);  // weight [M, K]
  // x: [batch, K, N]; y: [batch, M, N].
  void run(IntIsa isa, int64_t batch, int64_t N, const Tensor& x, Tensor& y) const;

 private:
  const LayerQuant& q_;
  int64_t M_, K_;
  std::vector<int32_t> a_;
  intgemm::RequantTable rq_;
};

}  // namespace qs
