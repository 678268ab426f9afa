// Integer Conv, ConvTranspose, Gemm and MatMul kernels: the optimized packed path where it applies, the
// reference loops otherwise (3-D convolutions, layers whose int32 accumulator could overflow), and for
// IntIsa::Reference.
#include <algorithm>
#include <memory>
#include <optional>

#include "core/common/parallel.h"
#include "core/int/int_ops.h"
#include "core/int/int_tensor.h"
#include "core/int/layer_kernels.h"
#include "core/int/pool_int.h"
#include "core/int/ref_kernels.h"
#include "core/ops/broadcast.h"
#include "core/ops/conv_geometry.h"

namespace qs {

namespace {

Tensor finish_ref(const std::vector<int32_t>& y, const LayerQuant& q, const Shape& shape) {
  return from_int32(y, storage_dtype(q.out), shape);
}

class IntConvKernel final : public Kernel, public ChannelsLastKernel, public MaxPoolFusingKernel {
 public:
  IntConvKernel(const IntNodeContext& c, bool transpose) : q_(prepare_layer(c.g, c.ln, c.plan, c.L)), isa_(c.isa) {
    KernelInit init{*c.ln.node, c.opset, [&c](const std::string& v) { return c.g.initializer(v); }};
    attrs_ = read_conv_attrs(init, transpose);
    transpose_ = transpose;
    // Products per output: Cin/group · kernel size for both ops.
    const int64_t K = static_cast<int64_t>(q_.w.size()) / q_.out_channels;
    if (isa_ != IntIsa::Reference && q_.int32_safe(K)) {
      if (!transpose)
        packed_.emplace(q_, attrs_.group);
      else if (q_.wshape.size() <= 4)
        packed_t_.emplace(q_, attrs_.group);
    }
  }

  bool can_run_channels_last() const override {
    if (!packed_ || isa_ != IntIsa::Avx2 || transpose_ || q_.wshape.size() != 4 || !byte(q_.in) ||
        !byte(q_.out))
      return false;
    return packed_->supports_nhwc() || pointwise();
  }
  bool gains_from_channels_last(int64_t out_width) const override {
    return can_run_channels_last() && !pointwise() && out_width > 0 &&
           PackedConv::interleaves(out_width, q_.wshape[2] * q_.wshape[3]);
  }
  void set_channels_last() override {
    if (!can_run_channels_last()) throw Error(q_.where + ": cannot run on channels-last data");
    if (pointwise()) fc_.emplace(q_, true);
    channels_last_ = true;
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& x = *in[0];
    if (channels_last_) return run_channels_last(x, out);
    const ConvGeometry g = transpose_ ? conv_transpose_geometry(attrs_, x.shape(), q_.wshape, nullptr)
                                      : conv_geometry(attrs_, x.shape(), q_.wshape, nullptr);
    if (packed_ && PackedConv::supports(g)) {
      Tensor y(storage_dtype(q_.out), g.y_shape);
      if (y.numel() > 0) packed_->run(isa_, g, x, y);
      out[0] = std::move(y);
      return;
    }
    if (packed_t_ && PackedConvTranspose::supports(g)) {
      Tensor y(storage_dtype(q_.out), g.y_shape);
      if (y.numel() > 0) packed_t_->run(isa_, g, x, y);
      out[0] = std::move(y);
      return;
    }
    const std::vector<int32_t> xv = to_int32(x);
    std::vector<int32_t> y(static_cast<size_t>(numel(g.y_shape)));
    if (transpose_) conv_transpose_ref(g, xv.data(), q_, y.data());
    else conv_ref(g, xv.data(), q_, y.data());
    out[0] = finish_ref(y, q_, g.y_shape);
  }

  bool run_max_pooled(std::span<const Tensor* const> in, std::span<Tensor> out, const WindowAttrs& pool,
                      const std::string& where) const override {
    if (!packed_ || channels_last_ || q_.wshape.size() != 4) return false;
    const Tensor& x = *in[0];
    const ConvGeometry g = conv_geometry(attrs_, x.shape(), q_.wshape, nullptr);
    if (g.spatial_rank() != 2 || pool.kernel.size() != 2) return false;
    const PoolPlan p = pool_plan_for(pool, g.y_shape, where, false);
    const int64_t OH = g.y_shape[2], OW = g.y_shape[3];
    const auto is = [](const std::vector<int64_t>& v, int64_t a) { return v[0] == a && v[1] == a; };
    if (!is(p.kernel, 2) || !is(p.strides, 2) || !is(p.dilations, 1) || !is(p.pad_begin, 0) ||
        p.out[0] != OH / 2 || p.out[1] != OW / 2 || OH < 2 || OW < 2 || numel(g.y_shape) == 0)
      return false;
    Tensor y(storage_dtype(q_.out), {g.y_shape[0], g.y_shape[1], OH / 2, OW / 2});
    if (!packed_->run_max_pooled(isa_, g, x, y)) return false;
    out[0] = std::move(y);
    return true;
  }

 private:
  static bool byte(const QuantParams& p) {
    const DType t = storage_dtype(p);
    return t == DType::Int8 || t == DType::UInt8;
  }
  // 1×1, one group, unit strides, no padding: a GEMM of the positions' rows [N·H·W, Cin] (PackedFc).
  bool pointwise() const {
    const WindowAttrs& w = attrs_.window;
    const auto all = [](const std::vector<int64_t>& v, int64_t x) {
      return std::all_of(v.begin(), v.end(), [x](int64_t e) { return e == x; });
    };
    return attrs_.group == 1 && q_.wshape[2] == 1 && q_.wshape[3] == 1 && all(w.strides, 1) &&
           all(w.pads, 0) && (w.auto_pad == "NOTSET" || w.auto_pad == "VALID");
  }
  void run_channels_last(const Tensor& x, std::span<Tensor> out) const {
    const Shape& xs = x.shape();
    if (xs.size() != 4) throw Error(q_.where + ": channels-last input " + x.str() + " is not 4-D");
    const ConvGeometry g = conv_geometry(attrs_, {xs[0], xs[3], xs[1], xs[2]}, q_.wshape, nullptr);
    Tensor y(storage_dtype(q_.out), {g.y_shape[0], g.y_shape[2], g.y_shape[3], g.y_shape[1]});
    if (fc_ && (g.y_shape[2] != xs[1] || g.y_shape[3] != xs[2]))
      throw Error(q_.where + ": channels-last 1×1 convolution changes the grid of " + x.str());
    if (y.numel() > 0) {
      if (fc_)
        fc_->run(isa_, xs[0] * xs[1] * xs[2], x, y);
      else
        packed_->run_depthwise_nhwc(g, x, y);
    }
    out[0] = std::move(y);
  }

  LayerQuant q_;
  IntIsa isa_;
  ConvAttrs attrs_;
  bool transpose_ = false;
  std::optional<PackedConv> packed_;
  std::optional<PackedConvTranspose> packed_t_;
  bool channels_last_ = false;
  std::optional<PackedFc> fc_;  // channels-last 1×1
};

// Gemm (transA = 0) and MatMul with a constant operand.
class IntFcKernel final : public Kernel {
 public:
  explicit IntFcKernel(const IntNodeContext& c) : q_(prepare_layer(c.g, c.ln, c.plan, c.L)), isa_(c.isa) {
    const Node& n = *c.ln.node;
    left_ = n.op_type == "MatMul" && c.ln.weight_input == 0;
    trans_w_ = n.op_type == "Gemm" && n.attr_int("transB", 0) != 0;
    K_ = left_ ? q_.wshape[1] : (trans_w_ ? q_.wshape[1] : q_.wshape[0]);
    N_ = q_.out_channels;
    gemm_ = n.op_type == "Gemm";
    const bool fast = isa_ != IntIsa::Reference && q_.int32_safe(K_);
    if (fast && left_) left_packed_.emplace(q_);
    if (fast && !left_) packed_.emplace(q_, trans_w_);
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& x = *in[left_ ? 1 : 0];
    const Shape& xs = x.shape();
    if (left_) return run_left(x, out);
    if (xs.empty() || xs.back() != K_ || (gemm_ && xs.size() != 2))
      throw Error(q_.where + ": input " + x.str() + " does not fit the weight " + shape_str(q_.wshape));
    const int64_t rows = x.numel() / K_;
    Shape ys = xs;
    ys.back() = N_;
    if (packed_) {
      Tensor y(storage_dtype(q_.out), ys);
      if (rows > 0) packed_->run(isa_, rows, x, y);
      out[0] = std::move(y);
      return;
    }
    const std::vector<int32_t> xv = to_int32(x);
    std::vector<int32_t> y(static_cast<size_t>(rows * N_));
    fc_ref(rows, K_, N_, xv.data(), q_, trans_w_, y.data());
    out[0] = finish_ref(y, q_, ys);
  }

 private:
  void run_left(const Tensor& x, std::span<Tensor> out) const {
    // W [M, K] · x [..., K, N]; a 1-D x is a K×1 matrix whose result drops the last axis.
    const Shape& xs = x.shape();
    const bool vec = xs.size() == 1;
    if (xs.empty() || (vec ? xs[0] : xs[xs.size() - 2]) != K_)
      throw Error(q_.where + ": input " + x.str() + " does not fit the weight " + shape_str(q_.wshape));
    const int64_t Ncols = vec ? 1 : xs.back();
    const int64_t batch = Ncols * K_ == 0 ? 0 : x.numel() / (Ncols * K_);
    Shape ys = vec ? Shape{N_} : xs;
    if (!vec) ys[ys.size() - 2] = N_;
    if (left_packed_) {
      Tensor y(storage_dtype(q_.out), ys);
      if (y.numel() > 0) left_packed_->run(isa_, batch, Ncols, x, y);
      out[0] = std::move(y);
      return;
    }
    const std::vector<int32_t> xv = to_int32(x);
    std::vector<int32_t> y(static_cast<size_t>(batch * N_ * Ncols));
    matmul_left_ref(batch, N_, K_, Ncols, xv.data(), q_, y.data());
    out[0] = finish_ref(y, q_, ys);
  }

  LayerQuant q_;
  IntIsa isa_;
  bool left_ = false, trans_w_ = false, gemm_ = false;
  int64_t K_ = 0, N_ = 0;
  std::optional<PackedFc> packed_;
  std::optional<PackedMatMulLeft> left_packed_;
};

// MatMul of two quantized activations (numpy semantics: batch axes broadcast, 1-D operands promoted).
class IntMatMulKernel final : public Kernel {
 public:
  explicit IntMatMulKernel(const IntNodeContext& c) : where_(c.ln.node->describe()), isa_(c.isa) {
    const Node& n = *c.ln.node;
    a_ = *c.L.params_of(n.inputs[0]);
    b_ = *c.L.params_of(n.inputs[1]);
    o_ = *c.L.params_of(c.ln.result);
    f_ = fixed_multiplier(static_cast<double>(a_.scale[0]) * b_.scale[0] / o_.scale[0], where_);
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    Shape as = in[0]->shape(), bs = in[1]->shape();
    const bool va = as.size() == 1, vb = bs.size() == 1;
    if (as.empty() || bs.empty()) throw Error(where_ + ": MatMul of a scalar");
    if (va) as.insert(as.begin(), 1);
    if (vb) bs.push_back(1);
    const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
    if (bs[bs.size() - 2] != K)
      throw Error(where_ + ": shapes " + shape_str(in[0]->shape()) + " and " + shape_str(in[1]->shape()) +
                  " cannot be multiplied");
    const Shape ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
    const Shape batch = broadcast_shapes(ab, bb, where_);
    const std::vector<int64_t> sa = broadcast_strides(ab, batch), sb = broadcast_strides(bb, batch);
    const std::vector<int32_t> A = to_int32(*in[0]), B = to_int32(*in[1]);
    const int64_t nb = numel(batch);
    std::vector<int32_t> y(static_cast<size_t>(nb * M * N));
    const std::vector<int64_t> bst = strides_of(batch);
    // |a − za|·|b − zb| ≤ ra·rb: int32 accumulation is exact while K·ra·rb < 2^31 (8-bit: K < 33026).
    const int64_t ra = std::max(std::abs(a_.qmin - a_.zero_point[0]), std::abs(a_.qmax - a_.zero_point[0]));
    const int64_t rb = std::max(std::abs(b_.qmin - b_.zero_point[0]), std::abs(b_.qmax - b_.zero_point[0]));
    if (isa_ != IntIsa::Reference && K > 0 && K * ra * rb < (int64_t{1} << 31)) {
      run_rows(A, B, batch, sa, sb, M, K, N, y);
    } else {
      reference(A, B, batch, sa, sb, M, K, N, y);
    }
    Shape ys = batch;
    if (!va) ys.push_back(M);
    if (!vb) ys.push_back(N);
    out[0] = from_int32(y, storage_dtype(o_), ys);
  }

 private:
  // Offsets of batch b's matrices in A and B (broadcast batch axes).
  static void batch_offsets(int64_t b, const std::vector<int64_t>& bst, const std::vector<int64_t>& sa,
                            const std::vector<int64_t>& sb, int64_t* oa, int64_t* ob) {
    int64_t rem = b;
    *oa = *ob = 0;
    for (size_t d = 0; d < bst.size(); ++d) {
      const int64_t i = rem / bst[d];
      rem %= bst[d];
      *oa += i * sa[d];
      *ob += i * sb[d];
    }
  }

  // Attention's q·kᵀ and p·v: zero points subtracted once, each output row accumulated in int32 (exact: see
  // the bound above) as a sum over k of a[m, k]·B[k, :] (contiguous, vectorized), rows in parallel. Same
  // values as reference().
  void run_rows(const std::vector<int32_t>& A, const std::vector<int32_t>& B, const Shape& batch,
                const std::vector<int64_t>& sa, const std::vector<int64_t>& sb, int64_t M, int64_t K,
                int64_t N, std::vector<int32_t>& y) const {
    const int64_t nb = numel(batch);
    const std::vector<int64_t> bst = strides_of(batch);
    const int32_t za = a_.zero_point[0], zb = b_.zero_point[0], zo = o_.zero_point[0];
    std::vector<int32_t> bz(B.size());
    for (size_t i = 0; i < B.size(); ++i) bz[i] = B[i] - zb;
    parallel_for(
        0, nb * M,
        [&](int64_t row) {
          const int64_t b = row / M, m = row % M;
          int64_t oa = 0, ob = 0;
          batch_offsets(b, bst, sa, sb, &oa, &ob);
          const int32_t* pa = A.data() + (oa * M + m) * K;
          const int32_t* pb = bz.data() + ob * K * N;
          std::vector<int32_t> acc(static_cast<size_t>(N), 0);
          int32_t* ac = acc.data();
          for (int64_t k = 0; k < K; ++k) {
            const int32_t av = pa[k] - za;
            const int32_t* br = pb + k * N;
            for (int64_t n = 0; n < N; ++n) ac[n] += av * br[n];
          }
          int32_t* py = y.data() + row * N;
          for (int64_t n = 0; n < N; ++n)
            py[n] = clamp_q(static_cast<int64_t>(zo) + requantize(ac[n], f_), o_.qmin, o_.qmax);
        },
        N * K, kMinParallelMacs);
  }

  // The plain loops (IntIsa::Reference, and accumulators that could exceed int32).
  void reference(const std::vector<int32_t>& A, const std::vector<int32_t>& B, const Shape& batch,
                 const std::vector<int64_t>& sa, const std::vector<int64_t>& sb, int64_t M, int64_t K,
                 int64_t N, std::vector<int32_t>& y) const {
    const int64_t nb = numel(batch);
    const std::vector<int64_t> bst = strides_of(batch);
    for (int64_t b = 0; b < nb; ++b) {
      int64_t oa = 0, ob = 0, rem = b;
      for (size_t d = 0; d < batch.size(); ++d) {
        const int64_t i = rem / bst[d];
        rem %= bst[d];
        oa += i * sa[d];
        ob += i * sb[d];
      }
      const int32_t* pa = A.data() + oa * M * K;
      const int32_t* pb = B.data() + ob * K * N;
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          int64_t acc = 0;
          for (int64_t k = 0; k < K; ++k)
            acc += static_cast<int64_t>(pa[m * K + k] - a_.zero_point[0]) * (pb[k * N + n] - b_.zero_point[0]);
          y[static_cast<size_t>((b * M + m) * N + n)] =
              clamp_q(static_cast<int64_t>(o_.zero_point[0]) + requantize(acc, f_), o_.qmin, o_.qmax);
        }
    }
  }

  std::string where_;
  IntIsa isa_;
  QuantParams a_, b_, o_;
  FixedMultiplier f_;
};

}  // namespace

std::unique_ptr<Kernel> make_int_layer_kernel(const IntNodeContext& c) {
  const std::string& op = c.ln.node->op_type;
  if (c.ln.kind == IntKind::MatMulInt) return std::make_unique<IntMatMulKernel>(c);
  if (op == "Conv") return std::make_unique<IntConvKernel>(c, false);
  if (op == "ConvTranspose") return std::make_unique<IntConvKernel>(c, true);
  return std::make_unique<IntFcKernel>(c);
}

}  // namespace qs
