// Optimized integer kernels against the reference loops (the oracle), bit for bit: the packed GEMM with
// both epilogues, the packed Conv (regular, grouped, depthwise, strided, dilated, padded, 1-D), the fully
// connected layers, over size sweeps (1-10, 15-17, 31-33, 63-65, odd shapes), zero points at the ends of
// the grids, operands at their extremes (overflow-prone sums) and every output type. Both the portable and
// (when the CPU has it) the AVX2 kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <random>

#include "core/common/parallel.h"
#include "core/int/gemm_int.h"
#include "core/int/int_tensor.h"
#include "core/int/layer_kernels.h"
#include "core/int/ref_kernels.h"
#include "core/ops/conv_geometry.h"
#include "tests/core/int_test_util.h"

namespace qs {
namespace {

std::vector<IntIsa> isas() {
  std::vector<IntIsa> r = {IntIsa::Portable};
  if (int_isa_available(IntIsa::Avx2)) r.push_back(IntIsa::Avx2);
  return r;
}

const std::vector<int64_t> kSizes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17, 31, 32, 33, 63, 64, 65};

// A synthetic layer: random weights in [-127, 127] (or the extremes), per-channel multipliers, biases.
LayerQuant make_layer(std::mt19937& rng, int64_t M, int64_t K, const QuantParams& in, const QuantParams& out,
                      bool extremes) {
  LayerQuant q;
  q.where = "test layer";
  q.out_channels = M;
  q.in = in;
  q.out = out;
  std::uniform_int_distribution<int32_t> w(-127, 127), b(-20000, 20000), sign(0, 1);
  std::uniform_real_distribution<double> e(-14, -2);
  q.w.resize(static_cast<size_t>(M * K));
  for (auto& v : q.w) v = extremes ? (sign(rng) ? 127 : -127) : w(rng);
  q.w_zp.assign(static_cast<size_t>(M), 0);
  for (int64_t c = 0; c < M; ++c) {
    q.bias.push_back(b(rng));
    q.acc_scale.push_back(1);
    // Mostly small multipliers; some large ones (saturating) and some negative.
    double r = std::exp2(e(rng));
    if (c % 7 == 3) r *= 2000;
    if (c % 11 == 5) r = -r;
    q.mult.push_back(fixed_multiplier(r, "test"));
  }
  q.lo = out.qmin;
  q.hi = out.qmax;
  q.max_abs_x = std::max(std::abs(in.qmin - in.zero_point[0]), std::abs(in.qmax - in.zero_point[0]));
  q.max_abs_w = 127;
  q.max_abs_bias = 20000;
  return q;
}

template <typename T>
Tensor random_act(std::mt19937& rng, const Shape& s, const QuantParams& p, bool extremes) {
  Tensor t(DTypeOf<T>::value, s);
  std::uniform_int_distribution<int32_t> d(p.qmin, p.qmax), pick(0, 1);
  for (auto& v : t.span<T>()) v = static_cast<T>(extremes ? (pick(rng) ? p.qmax : p.qmin) : d(rng));
  return t;
}

Tensor random_act(std::mt19937& rng, DType t, const Shape& s, const QuantParams& p, bool extremes) {
  switch (t) {
    case DType::Int8:
      return random_act<int8_t>(rng, s, p, extremes);
    case DType::UInt8:
      return random_act<uint8_t>(rng, s, p, extremes);
    case DType::Int16:
      return random_act<int16_t>(rng, s, p, extremes);
    default:
      return random_act<uint16_t>(rng, s, p, extremes);
  }
}

TEST(IntGemm, PackedGemmMatchesPlainLoopsOverSizeSweeps) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> val(-255, 255);
  const std::vector<DType> outs = {DType::Int8, DType::UInt8, DType::Int16, DType::UInt16};
  int cases = 0;
  for (int64_t M : kSizes)
    for (int64_t N : kSizes)
      for (int64_t K : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{16}, int64_t{17}, int64_t{33},
                        int64_t{64}, int64_t{65}}) {
        if ((M * 7 + N * 3 + K) % 3 != 0 && M > 10 && N > 10) continue;  // thin the largest combinations
        const bool per_row = (M + N) % 2 == 0;
        const DType ot = outs[static_cast<size_t>((M + K) % 4)];
        const int64_t C = per_row ? M : N;
        std::vector<FixedMultiplier> mult;
        std::vector<int32_t> bias;
        std::uniform_real_distribution<double> e(-16, -4);
        for (int64_t c = 0; c < C; ++c) {
          mult.push_back(fixed_multiplier(std::exp2(e(rng)) * (c % 5 == 2 ? -1 : 1), "t"));
          bias.push_back(val(rng) * 40);
        }
        const intgemm::RequantTable rq(mult, bias);
        std::vector<int32_t> a(static_cast<size_t>(M * K)), b(static_cast<size_t>(K * N));
        for (auto& v : a) v = val(rng);
        for (auto& v : b) v = val(rng);
        std::vector<int32_t> A(static_cast<size_t>(intgemm::packed_a_size(M, K)));
        std::vector<int16_t> B(static_cast<size_t>(intgemm::packed_b_size(N, K)));
        intgemm::pack_a(M, K, a.data(), K, A.data());
        intgemm::pack_b_rows(N, K, b.data(), N, B.data());
        intgemm::Epilogue ep;
        ep.rq = &rq;
        ep.channel_is_row = per_row;
        ep.out = ot;
        const QuantParams op = testing::act_params(ot, ot == DType::Int8 ? -5 : 3, 1.f);
        ep.zp = op.zero_point[0];
        ep.lo = op.qmin + (M % 3);
        ep.hi = op.qmax - (N % 3);
        ep.ldy = N;
        // Expected, from plain loops.
        std::vector<int32_t> want(static_cast<size_t>(M * N));
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) {
            int32_t acc = 0;
            for (int64_t k = 0; k < K; ++k)
              acc += a[static_cast<size_t>(i * K + k)] * b[static_cast<size_t>(k * N + j)];
            want[static_cast<size_t>(i * N + j)] = intgemm::epilogue_value(acc, per_row ? i : j, ep);
          }
        for (IntIsa isa : isas()) {
          Tensor y(ot, {M, N});
          ep.y = y.raw();
          intgemm::gemm(isa, M, N, K, A.data(), B.data(), ep);
          ASSERT_EQ(to_int32(y), want) << int_isa_name(isa) << " M=" << M << " N=" << N << " K=" << K
                                       << (per_row ? " per row" : " per column") << " " << dtype_name(ot);
          ++cases;
        }
      }
  EXPECT_GT(cases, 1000);
}

TEST(IntGemm, ExtremeOperandsAccumulateExactlyAtTheInt32Bound) {
  // K·255·255 just below 2^31: every product at ±255·±255 with one sign, the worst case for overflow.
  const int64_t K = 33000, M = 2, N = 17;
  std::vector<int32_t> a(static_cast<size_t>(M * K), 255), b(static_cast<size_t>(K * N), -255);
  for (int64_t k = 0; k < K; ++k) a[static_cast<size_t>(K + k)] = -255;  // row 1: all positive products
  std::vector<int32_t> A(static_cast<size_t>(intgemm::packed_a_size(M, K)));
  std::vector<int16_t> B(static_cast<size_t>(intgemm::packed_b_size(N, K)));
  intgemm::pack_a(M, K, a.data(), K, A.data());
  intgemm::pack_b_rows(N, K, b.data(), N, B.data());
  const FixedMultiplier f = fixed_multiplier(std::exp2(-24), "t");
  const intgemm::RequantTable rq({f, f}, {0, 0});
  intgemm::Epilogue ep;
  ep.rq = &rq;
  ep.out = DType::Int16;
  ep.lo = -32768;
  ep.hi = 32767;
  ep.ldy = N;
  const int64_t exact = K * 255 * 255;  // 2145825000 < 2^31
  for (IntIsa isa : isas()) {
    Tensor y(DType::Int16, {M, N});
    ep.y = y.raw();
    intgemm::gemm(isa, M, N, K, A.data(), B.data(), ep);
    const auto v = to_int32(y);
    for (int64_t j = 0; j < N; ++j) {
      EXPECT_EQ(v[static_cast<size_t>(j)], requantize(-exact, f)) << int_isa_name(isa);
      EXPECT_EQ(v[static_cast<size_t>(N + j)], requantize(exact, f)) << int_isa_name(isa);
    }
  }
}

struct ConvCase {
  int64_t C, M, group, H, W, k, stride, pad, dil;
  bool one_d = false;
  int64_t batch = 2;
  bool asym = true;  // end padding one larger on the width axis for odd H
};

Node conv_node(const ConvCase& c) {
  Node n;
  n.name = "conv";
  n.op_type = "Conv";
  n.inputs = {"x", "w"};
  n.outputs = {"y"};
  const size_t r = c.one_d ? 1 : 2;
  n.attrs["group"] = Attribute::of_int(c.group);
  n.attrs["strides"] = Attribute::of_ints(std::vector<int64_t>(r, c.stride));
  n.attrs["dilations"] = Attribute::of_ints(std::vector<int64_t>(r, c.dil));
  std::vector<int64_t> pads(2 * r, c.pad);
  if (!c.one_d && c.asym) pads[3] = c.pad + (c.H % 2);  // asymmetric end padding
  n.attrs["pads"] = Attribute::of_ints(pads);
  return n;
}

// The 2×2 stride-2 max pooling (no padding, floor) of planes [N, C, H, W], by its definition.
std::vector<int32_t> max_pool_2x2_ref(const std::vector<int32_t>& y, const Shape& s) {
  const int64_t planes = s[0] * s[1], H = s[2], W = s[3], OH = H / 2, OW = W / 2;
  std::vector<int32_t> r(static_cast<size_t>(planes * OH * OW));
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < OH; ++i)
      for (int64_t j = 0; j < OW; ++j) {
        int32_t m = std::numeric_limits<int32_t>::min();
        for (int64_t a = 0; a < 2; ++a)
          for (int64_t b = 0; b < 2; ++b)
            m = std::max(m, y[static_cast<size_t>((p * H + 2 * i + a) * W + 2 * j + b)]);
        r[static_cast<size_t>((p * OH + i) * OW + j)] = m;
      }
  return r;
}

// `winograd`: when set, whether the layer must take the Winograd path (PackedConv::winograd). For 2-D
// outputs of at least 2×2, also the max-pooled run (PackedConv::run_max_pooled): where it pools, the
// pooling of the reference result; `pooled`, when given, counts the ISAs on which it did.
void check_conv(std::mt19937& rng, const ConvCase& cc, DType xt, int32_t zx, DType yt, bool extremes,
                std::optional<bool> winograd = std::nullopt, int* pooled = nullptr) {
  const QuantParams in = testing::act_params(xt, zx, 0.02f);
  const QuantParams out = testing::act_params(yt, yt == DType::Int8 ? -128 : 0, 0.05f);
  const int64_t Cg = cc.C / cc.group, K = Cg * (cc.one_d ? cc.k : cc.k * cc.k);
  LayerQuant q = make_layer(rng, cc.M, K, in, out, extremes);
  q.wshape = cc.one_d ? Shape{cc.M, Cg, cc.k} : Shape{cc.M, Cg, cc.k, cc.k};
  q.lo = out.qmin + 1;  // a fused clamp
  ASSERT_TRUE(q.int32_safe(K));
  const Node n = conv_node(cc);
  KernelInit init{n, 13, nullptr};
  const ConvAttrs attrs = read_conv_attrs(init, false);
  const Shape xs = cc.one_d ? Shape{cc.batch, cc.C, cc.W} : Shape{cc.batch, cc.C, cc.H, cc.W};
  const ConvGeometry g = conv_geometry(attrs, xs, q.wshape, nullptr);
  const Tensor x = random_act(rng, xt, xs, in, extremes);
  std::vector<int32_t> want(static_cast<size_t>(numel(g.y_shape)));
  const std::vector<int32_t> xv = to_int32(x);
  conv_ref(g, xv.data(), q, want.data());
  const PackedConv packed(q, cc.group);
  if (winograd) {
    ASSERT_EQ(packed.winograd(), *winograd) << "C=" << cc.C << " M=" << cc.M;
  }
  for (IntIsa isa : isas()) {
    Tensor y(yt, g.y_shape);
    packed.run(isa, g, x, y);
    ASSERT_EQ(to_int32(y), want) << int_isa_name(isa) << " C=" << cc.C << " M=" << cc.M
                                 << " group=" << cc.group << " " << cc.H << "x" << cc.W << " k=" << cc.k
                                 << " stride=" << cc.stride << " pad=" << cc.pad << " dil=" << cc.dil
                                 << (cc.one_d ? " 1-D " : " ") << dtype_name(xt) << " zp " << zx << " → "
                                 << dtype_name(yt);
    if (cc.one_d || g.y_shape[2] < 2 || g.y_shape[3] < 2) continue;
    Tensor yp(yt, {g.y_shape[0], g.y_shape[1], g.y_shape[2] / 2, g.y_shape[3] / 2});
    if (!packed.run_max_pooled(isa, g, x, yp)) continue;
    if (pooled) ++*pooled;
    ASSERT_EQ(to_int32(yp), max_pool_2x2_ref(want, g.y_shape))
        << "max-pooled, " << int_isa_name(isa) << " C=" << cc.C << " M=" << cc.M << " group=" << cc.group
        << " " << cc.H << "x" << cc.W << " k=" << cc.k << " stride=" << cc.stride << " pad=" << cc.pad << " "
        << dtype_name(xt) << " → " << dtype_name(yt);
  }
}

// check_conv for every case and input type on 1 and 2 threads, the output types in turn, operands at their
// extremes for every `every`-th check from the `at`-th.
void check_conv_threads(std::mt19937& rng, const std::vector<ConvCase>& cases,
                        const std::vector<std::pair<DType, int32_t>>& inputs, const std::vector<DType>& outs,
                        int every, int at, std::optional<bool> winograd = std::nullopt) {
  const int saved = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    int i = 0;
    for (const auto& c : cases)
      for (const auto& [xt, zx] : inputs) {
        check_conv(rng, c, xt, zx, outs[static_cast<size_t>(i) % outs.size()], i % every == at, winograd);
        ++i;
      }
  }
  set_num_threads(saved);
}

TEST(IntGemm, PackedConvMatchesReferenceConv) {
  std::mt19937 rng(2);
  const std::vector<ConvCase> cases = {
      {1, 1, 1, 1, 1, 1, 1, 0, 1},
      {1, 6, 1, 28, 28, 5, 1, 0, 1},
      {3, 7, 1, 9, 11, 3, 1, 1, 1},
      {4, 16, 1, 8, 8, 3, 2, 1, 1},
      {5, 17, 1, 7, 5, 3, 1, 2, 2},
      {6, 6, 6, 13, 13, 3, 1, 1, 1},  // depthwise
      {8, 8, 8, 14, 14, 3, 2, 1, 1},
      {8, 16, 8, 9, 9, 3, 1, 1, 1},  // depthwise, multiplier 2
      {6, 9, 3, 10, 7, 3, 1, 1, 1},
      {16, 33, 1, 4, 4, 1, 1, 0, 1},
      {32, 65, 1, 3, 3, 1, 1, 0, 1},
      {17, 5, 1, 17, 15, 2, 3, 0, 1},
      {3, 4, 1, 1, 64, 5, 2, 2, 1, true},
      {2, 3, 1, 1, 33, 3, 1, 0, 3, true},
      {10, 31, 1, 16, 16, 3, 1, 1, 1},
      {64, 64, 64, 16, 16, 3, 1, 1, 1},
      // depthwise (the direct kernel): dilated, 5x5 strided, stride 3, odd widths around 16
      {5, 5, 5, 11, 9, 3, 1, 2, 2},
      {7, 7, 7, 9, 10, 5, 2, 2, 1},
      {3, 3, 3, 10, 10, 3, 3, 0, 1},
      {2, 2, 2, 3, 17, 3, 1, 1, 1},
      {2, 2, 2, 5, 33, 3, 2, 1, 1},
      // depthwise 5×5 on 14-wide rows; 9×9 (too many taps for the channel-interleaved kernel) on rows of
      // 8, 3 and 2 outputs (two rows per block, odd row counts, stores that must not pass the plane's end),
      // of 20 (weights broadcast per block) and of 12 (two rows per step)
      {6, 6, 6, 14, 14, 5, 1, 2, 1, false, 2, false},
      {5, 5, 5, 8, 8, 9, 1, 4, 1, false, 2, false},
      {3, 3, 3, 5, 3, 9, 1, 4, 1, false, 3, false},
      {4, 4, 4, 1, 2, 9, 1, 4, 1, false, 2, false},
      {5, 5, 5, 20, 20, 9, 1, 4, 1, false, 1, false},
      {3, 3, 3, 12, 12, 9, 1, 4, 1, false, 2, false},
      // depthwise 3×3 on rows wider than the channel-interleaved kernel takes: 32 + 18 and 32 + 9 outputs
      {4, 4, 4, 6, 50, 3, 1, 1, 1, false, 2, false},
      {3, 3, 3, 5, 41, 3, 1, 1, 1, false, 2, false},
      {1, 1, 1, 1, 1, 1, 1, 0, 1}};
  const std::vector<std::pair<DType, int32_t>> inputs = {{DType::Int8, -128}, {DType::Int8, 127},
                                                         {DType::Int8, 3},    {DType::UInt8, 0},
                                                         {DType::UInt8, 255}, {DType::Int16, 0}};
  const std::vector<DType> outs = {DType::Int8, DType::UInt8, DType::Int16};
  int i = 0;
  for (const auto& c : cases)
    for (const auto& [xt, zx] : inputs) {
      check_conv(rng, c, xt, zx, outs[static_cast<size_t>(i % 3)], i % 5 == 0);
      ++i;
    }
}

// The shapes of MobileNetV2/ResNet-like models on the paths written for them: 1×1 convolutions packed
// straight from the input planes (odd channel counts, 7×7/14×14/28×28 grids, batch 1 to 8, small grids
// with several images per GEMM), the direct
// depthwise kernels (per plane over phase planes: strides 1 and 2, rows shorter and longer than a vector,
// dilation, many channels per work item, the last planes of the input read through a copy; 16 channels
// interleaved for rows of at most 8: channel counts off 16, dilation, stride 2, 1×1, 2×2 and 5×5 kernels),
// and strided
// 3×3 / 1×1 convolutions on the im2col path, each on 1 and 2 threads.
TEST(IntGemm, PackedConvMatchesReferenceOnMobileNetShapesAndThreadCounts) {
  std::mt19937 rng(5);
  auto pw = [](int64_t C, int64_t M, int64_t H, int64_t batch) {
    return ConvCase{C, M, 1, H, H, 1, 1, 0, 1, false, batch, false};
  };
  auto dw = [](int64_t C, int64_t H, int64_t W, int64_t stride, int64_t pad, int64_t dil, int64_t batch) {
    return ConvCase{C, C, C, H, W, 3, stride, pad, dil, false, batch, false};
  };
  const std::vector<ConvCase> cases = {pw(16, 64, 28, 1),
                                       pw(33, 20, 7, 3),
                                       pw(32, 128, 7, 8),
                                       pw(17, 9, 5, 7),
                                       pw(96, 24, 14, 3),
                                       pw(256, 65, 7, 1),
                                       pw(24, 96, 9, 2),
                                       pw(7, 5, 1, 3),
                                       dw(37, 7, 7, 1, 1, 1, 3),
                                       dw(24, 28, 28, 2, 1, 1, 1),
                                       dw(5, 40, 40, 2, 1, 1, 2),
                                       dw(3, 64, 64, 1, 1, 1, 1),
                                       dw(6, 9, 33, 2, 1, 1, 3),
                                       dw(4, 11, 13, 1, 2, 2, 2),
                                       dw(130, 14, 14, 1, 1, 1, 1),
                                       dw(9, 5, 3, 2, 0, 1, 3),
                                       dw(64, 2, 2, 1, 1, 1, 2),
                                       dw(20, 8, 8, 1, 2, 2, 2),    // channel-interleaved: dilated,
                                       dw(18, 13, 13, 2, 1, 1, 2),  // strided, 16 + 2 channels
                                       {16, 16, 16, 7, 7, 1, 1, 0, 1, false, 2, false},  // interleaved,
                                       {20, 20, 20, 8, 8, 2, 1, 1, 1, false, 2, false},  // 1, 4 and 25
                                       {18, 18, 18, 9, 9, 5, 1, 2, 1, false, 2, false},  // taps
                                       {1, 16, 1, 28, 28, 3, 1, 1, 1, false, 2, false},  // grayscale stems:
                                       {1, 6, 1, 28, 28, 5, 1, 2, 1, false, 3, false},   // pairs along kw
                                       {1, 6, 1, 28, 28, 5, 1, 0, 1, false, 2, false},   // or across rows,
                                       {2, 8, 2, 10, 9, 3, 1, 1, 1, false, 2, false},    // unpadded, groups
                                       {2, 6, 2, 9, 11, 4, 1, 1, 1, false, 2, false},    // (even KW, groups)
                                       {20, 40, 1, 28, 28, 3, 2, 1, 1, false, 2, false},
                                       {20, 40, 1, 14, 14, 1, 2, 0, 1, false, 3, false},
                                       {20, 20, 1, 28, 28, 3, 1, 1, 1, false, 1, false},
                                       {40, 80, 1, 7, 7, 3, 1, 1, 1, false, 3, false}};
  const std::vector<std::pair<DType, int32_t>> inputs = {
      {DType::Int8, -128}, {DType::UInt8, 0}, {DType::Int8, 5}};
  const std::vector<DType> outs = {DType::Int8, DType::UInt8, DType::Int16};
  check_conv_threads(rng, cases, inputs, outs, 7, 0);
}

// A 2×2 stride-2 MaxPool taken as the grid convolutions copy their rows out (PackedConv::run_max_pooled):
// LeNet's two layers (one input channel, 5×5 with padding; 6 channels), odd output extents (the last row
// and column dropped), an even-width kernel on one channel, a stride-2 layer (AVX2 with 8-bit input only),
// a 2×2 output, and one image on two threads (blocks of output rows that must start on even rows), for
// 8- and 16-bit types on 1 and 2 threads. Where a path cannot pool, the call must decline.
TEST(IntGemm, PackedConvMaxPoolsItsResultAsItCopiesItOut) {
  std::mt19937 rng(9);
  struct Case {
    ConvCase c;
    bool unit_stride;
  };
  const std::vector<Case> cases = {{{1, 6, 1, 28, 28, 5, 1, 2, 1, false, 3, false}, true},
                                   {{6, 16, 1, 14, 14, 5, 1, 0, 1, false, 4, false}, true},
                                   {{4, 7, 1, 15, 12, 5, 1, 2, 1, false, 2, true}, true},
                                   {{1, 8, 1, 13, 11, 4, 1, 1, 1, false, 2, true}, true},
                                   {{4, 9, 1, 20, 19, 3, 2, 1, 1, false, 2, false}, false},
                                   {{2, 3, 1, 3, 3, 2, 1, 0, 1, false, 5, false}, true},
                                   {{3, 16, 1, 40, 40, 5, 1, 2, 1, false, 1, false}, true}};
  const std::vector<std::pair<DType, int32_t>> inputs = {
      {DType::Int8, -128}, {DType::UInt8, 0}, {DType::Int8, 9}, {DType::Int16, 0}};
  const std::vector<DType> outs = {DType::Int8, DType::UInt8, DType::Int16};
  const int saved = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    int i = 0;
    for (const auto& [c, unit_stride] : cases)
      for (const auto& [xt, zx] : inputs) {
        int pooled = 0;
        check_conv(rng, c, xt, zx, outs[static_cast<size_t>(i) % outs.size()], i % 5 == 0, std::nullopt,
                   &pooled);
        // Unit stride pools on every ISA; stride 2 only on AVX2's in-place path (8-bit input, 2+ channels).
        const bool avx2_rows = int_isa_available(IntIsa::Avx2) && xt != DType::Int16 && c.C >= 2;
        EXPECT_EQ(pooled, unit_stride ? static_cast<int>(isas().size())
                          : avx2_rows ? 1
                                      : 0)
            << "case " << i << " on " << threads << " thread(s)";
        ++i;
      }
  }
  set_num_threads(saved);
}

// Winograd F(2×2, 3×3) (3×3 stride-1 convolutions with 8-bit input and output on AVX2) against the reference
// loops: grids from 1×1 to 28×28 (odd and even sizes: tiles cut by the edge), padding 0 to 2 and
// asymmetric, odd channel counts (a pair with one channel), groups, batches whose work items hold several
// images or part of one, 1 and 2 threads; operands at their extremes with 1024 input channels, where the
// int32 sums of the transformed products wrap before the output transform brings them back; and a layer
// whose 4·acc could pass 2^31, which must not take the path.
TEST(IntGemm, WinogradConvMatchesReferenceConv) {
  if (!int_isa_available(IntIsa::Avx2)) GTEST_SKIP() << "no AVX2: the Winograd path is AVX2 only";
  std::mt19937 rng(8);
  auto c3 = [](int64_t C, int64_t M, int64_t group, int64_t H, int64_t W, int64_t pad, int64_t batch,
               bool asym) { return ConvCase{C, M, group, H, W, 3, 1, pad, 1, false, batch, asym}; };
  const std::vector<ConvCase> cases = {c3(8, 8, 1, 1, 1, 1, 2, false),     c3(9, 8, 1, 2, 2, 1, 3, false),
                                       c3(8, 20, 1, 3, 5, 1, 9, true),     c3(17, 9, 1, 7, 7, 1, 5, false),
                                       c3(20, 20, 1, 28, 28, 1, 2, false), c3(33, 33, 1, 14, 14, 1, 3, false),
                                       c3(16, 16, 2, 8, 9, 0, 4, false),   c3(9, 10, 1, 15, 17, 2, 2, true),
                                       c3(40, 80, 1, 7, 7, 1, 11, false),  c3(11, 9, 1, 5, 3, 0, 1, false),
                                       c3(12, 8, 1, 19, 4, 1, 7, true),    c3(80, 40, 1, 7, 7, 1, 1, false)};
  const std::vector<std::pair<DType, int32_t>> inputs = {
      {DType::UInt8, 0}, {DType::Int8, -128}, {DType::Int8, 7}};
  const std::vector<DType> outs = {DType::Int8, DType::UInt8};
  check_conv_threads(rng, cases, inputs, outs, 4, 1, true);
  check_conv(rng, c3(1024, 8, 1, 4, 4, 1, 2, false), DType::UInt8, 0, DType::Int8, true, true);
  check_conv(rng, c3(2048, 8, 1, 2, 2, 1, 1, false), DType::UInt8, 0, DType::UInt8, true, false);
}

// The row helpers of the packed paths against plain loops, for every length 0-70 and both ISAs: B packed
// straight from activations, rows widened exactly and in whole vectors (zeros after the data), stride-2
// gathers.
TEST(IntGemm, RowHelpersMatchPlainLoops) {
  std::mt19937 rng(6);
  std::uniform_int_distribution<int> byte(-128, 127);
  std::vector<int8_t> xs(400);
  for (auto& v : xs) v = static_cast<int8_t>(byte(rng));
  std::vector<uint8_t> xu(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) xu[i] = static_cast<uint8_t>(xs[i]);
  std::vector<int16_t> w16(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) w16[i] = static_cast<int16_t>(xs[i] * 37);
  for (IntIsa isa : isas())
    for (int64_t n = 0; n <= 70; ++n)
      for (int64_t stride : {1, 2}) {
        const std::string at =
            std::string(int_isa_name(isa)) + " n=" + std::to_string(n) + " stride=" + std::to_string(stride);
        // widen_row / widen_row_blocks, signed and unsigned, with zero points at the grid ends.
        for (int32_t zp : {-128, 3, 127}) {
          std::vector<int16_t> want(static_cast<size_t>(n)), got(static_cast<size_t>(n + 16), 99),
              blk(static_cast<size_t>(n + 16), 99);
          for (int64_t j = 0; j < n; ++j)
            want[static_cast<size_t>(j)] = static_cast<int16_t>(xs[static_cast<size_t>(j * stride)] - zp);
          intgemm::widen_row(isa, xs.data(), n, stride, zp, got.data());
          intgemm::widen_row_blocks(isa, xs.data(), n, stride, zp, blk.data());
          for (int64_t j = 0; j < n; ++j) {
            ASSERT_EQ(got[static_cast<size_t>(j)], want[static_cast<size_t>(j)])
                << at << " zp " << zp << " j " << j;
            ASSERT_EQ(blk[static_cast<size_t>(j)], want[static_cast<size_t>(j)])
                << at << " zp " << zp << " j " << j;
          }
          EXPECT_EQ(got[static_cast<size_t>(n)], 99) << at;  // exact: nothing written past n
          const int64_t filled = isa == IntIsa::Avx2 ? (n + 15) / 16 * 16 : n;
          for (int64_t j = n; j < filled; ++j) ASSERT_EQ(blk[static_cast<size_t>(j)], 0) << at << " j " << j;
          const int32_t zu = zp + 128;
          std::vector<int16_t> wu(static_cast<size_t>(n)), gu(static_cast<size_t>(n + 16));
          for (int64_t j = 0; j < n; ++j)
            wu[static_cast<size_t>(j)] = static_cast<int16_t>(xu[static_cast<size_t>(j * stride)] - zu);
          intgemm::widen_row_blocks(isa, xu.data(), n, stride, zu, gu.data());
          for (int64_t j = 0; j < n; ++j)
            ASSERT_EQ(gu[static_cast<size_t>(j)], wu[static_cast<size_t>(j)]) << at << " uint8";
        }
        // gather_row (int16).
        std::vector<int16_t> g(static_cast<size_t>(n));
        intgemm::gather_row(isa, w16.data(), n, stride, g.data());
        for (int64_t j = 0; j < n; ++j)
          ASSERT_EQ(g[static_cast<size_t>(j)], w16[static_cast<size_t>(j * stride)]) << at;
        // pack_b_pair_act against pack_b_pair on the widened rows (K odd and even: the last pair's zero row;
        // int8 and uint8 rows: the partial last panel widens them apart). got starts at 99: every value of
        // the packed panels, padding included, is written.
        if (stride == 2 || n == 0) continue;
        for (int64_t K : {3, 4})
          for (bool sgn : {true, false}) {
            const int32_t zp = sgn ? 7 : 135;
            auto x = [&](int64_t i) {
              return sgn ? int32_t{xs[static_cast<size_t>(i)]} : int32_t{xu[static_cast<size_t>(i)]};
            };
            std::vector<int16_t> r0(static_cast<size_t>(n)), r1(static_cast<size_t>(n));
            for (int64_t j = 0; j < n; ++j) {
              r0[static_cast<size_t>(j)] = static_cast<int16_t>(x(j) - zp);
              r1[static_cast<size_t>(j)] = static_cast<int16_t>(x(100 + j) - zp);
            }
            const size_t size = static_cast<size_t>(intgemm::packed_b_size(n, K));
            std::vector<int16_t> want(size, 0), got(size, 99);
            for (int64_t p = 0; p < intgemm::k_pairs(K); ++p) {
              const bool last_odd = 2 * p + 1 >= K;
              intgemm::pack_b_pair(n, K, p, r0.data(), last_odd ? nullptr : r1.data(), want.data());
              if (sgn)
                intgemm::pack_b_pair_act<int8_t>(isa, n, K, p, xs.data(),
                                                 last_odd ? nullptr : xs.data() + 100, zp, got.data());
              else
                intgemm::pack_b_pair_act<uint8_t>(isa, n, K, p, xu.data(),
                                                  last_odd ? nullptr : xu.data() + 100, zp, got.data());
            }
            ASSERT_EQ(got, want) << at << " K=" << K << (sgn ? " int8" : " uint8");
          }
      }
}

// pack_a_act from 8-bit rows: every word of the packed A, padding rows and the last odd pair included, equals
// the plain loop's, for row counts around the 6-row blocks and K around the 16- and 8-byte chunks.
TEST(IntGemm, PackA8MatchesThePlainLoop) {
  std::mt19937 rng(8);
  std::uniform_int_distribution<int> byte(0, 255);
  for (IntIsa isa : isas())
    for (int64_t M : {1, 5, 6, 7, 12, 13, 19})
      for (int64_t K = 1; K <= 41; ++K)
        for (bool sgn : {true, false}) {
          const int64_t ld = K + 3;  // rows apart, as a sub-block of wider rows
          std::vector<uint8_t> xu(static_cast<size_t>(M * ld));
          for (auto& v : xu) v = static_cast<uint8_t>(byte(rng));
          const int32_t zp = sgn ? -5 : 131;
          const size_t size = static_cast<size_t>(intgemm::packed_a_size(M, K));
          std::vector<int32_t> want(size, 7), got(size, 99);
          if (sgn) {
            const auto* xs = reinterpret_cast<const int8_t*>(xu.data());
            intgemm::pack_a_act<int8_t>(M, K, xs, ld, zp, want.data());
            intgemm::pack_a_act<int8_t>(isa, M, K, xs, ld, zp, got.data());
          } else {
            intgemm::pack_a_act<uint8_t>(M, K, xu.data(), ld, zp, want.data());
            intgemm::pack_a_act<uint8_t>(isa, M, K, xu.data(), ld, zp, got.data());
          }
          ASSERT_EQ(got, want) << int_isa_name(isa) << " M=" << M << " K=" << K << (sgn ? " int8" : " uint8");
        }
}

TEST(IntGemm, PackedFullyConnectedMatchesReference) {
  std::mt19937 rng(4);
  for (int64_t rows : {int64_t{1}, int64_t{5}, int64_t{6}, int64_t{13}, int64_t{65}})
    // K = 600: with N = 84 the packed weight (134 KB) is past the size the GEMM sweeps whole for each block
    // of rows, so the panels-outer order runs with channels on columns too.
    for (int64_t K : {int64_t{1}, int64_t{9}, int64_t{33}, int64_t{120}, int64_t{600}})
      for (int64_t N : {int64_t{1}, int64_t{10}, int64_t{17}, int64_t{84}})
        for (bool trans : {false, true}) {
          const DType xt = (rows + K) % 2 ? DType::Int8 : DType::UInt8;
          const QuantParams in = testing::act_params(xt, xt == DType::Int8 ? -128 : 255, 0.1f);
          const QuantParams out = testing::act_params(DType::Int8, 7, 0.2f);
          LayerQuant q = make_layer(rng, N, K, in, out, (rows + N) % 3 == 0);
          q.wshape = trans ? Shape{N, K} : Shape{K, N};
          const Tensor x = random_act(rng, xt, {rows, K}, in, (rows + N) % 3 == 0);
          std::vector<int32_t> want(static_cast<size_t>(rows * N));
          const auto xv = to_int32(x);
          fc_ref(rows, K, N, xv.data(), q, trans, want.data());
          const PackedFc fc(q, trans);
          for (IntIsa isa : isas()) {
            Tensor y(DType::Int8, {rows, N});
            fc.run(isa, rows, x, y);
            ASSERT_EQ(to_int32(y), want) << int_isa_name(isa) << " rows=" << rows << " K=" << K << " N=" << N;
          }
          // The constant operand on the left: W [N, K] · x [rows, K, 3].
          q.wshape = {N, K};
          const Tensor x3 = random_act(rng, xt, {rows, K, 3}, in, false);
          std::vector<int32_t> want3(static_cast<size_t>(rows * N * 3));
          const auto x3v = to_int32(x3);
          matmul_left_ref(rows, N, K, 3, x3v.data(), q, want3.data());
          const PackedMatMulLeft left(q);
          for (IntIsa isa : isas()) {
            Tensor y(DType::Int8, {rows, N, 3});
            left.run(isa, rows, 3, x3, y);
            ASSERT_EQ(to_int32(y), want3)
                << int_isa_name(isa) << " left rows=" << rows << " K=" << K << " N=" << N;
          }
        }
}

// Fully connected layers whose multipliers are all below 1/2 (the usual case, which make_layer's large ones
// keep off the fast paths): the 8-bit tiles that requantize in registers with the zero point folded,
// two panels at a time where there are two (AVX-512 VNNI) or one, a last panel of 8 columns or fewer,
// a fused Relu's clamp, int8 and uint8 outputs, against the reference loops.
TEST(IntGemm, FullyConnectedWithUsualMultipliersMatchesReference) {
  std::mt19937 rng(12);
  std::uniform_real_distribution<double> e(-14, -2);
  int i = 0;
  for (int64_t rows : {int64_t{6}, int64_t{13}, int64_t{64}})
    for (int64_t K : {int64_t{16}, int64_t{33}, int64_t{144}})
      for (int64_t N : {int64_t{17}, int64_t{24}, int64_t{32}, int64_t{40}, int64_t{84}}) {
        const bool u8 = ++i % 2 == 0;
        const DType xt = i % 3 ? DType::UInt8 : DType::Int8;
        const QuantParams in = testing::act_params(xt, xt == DType::Int8 ? 3 : 120, 0.1f);
        const QuantParams out = testing::act_params(u8 ? DType::UInt8 : DType::Int8, u8 ? 131 : -9, 0.2f);
        LayerQuant q = make_layer(rng, N, K, in, out, i % 5 == 0);
        for (auto& m : q.mult) m = fixed_multiplier(std::exp2(e(rng)), "test");
        if (i % 4 == 0) q.lo = out.zero_point[0];  // a fused Relu
        const bool trans = i % 2 == 1;
        q.wshape = trans ? Shape{N, K} : Shape{K, N};
        const Tensor x = random_act(rng, xt, {rows, K}, in, i % 5 == 0);
        std::vector<int32_t> want(static_cast<size_t>(rows * N));
        const auto xv = to_int32(x);
        fc_ref(rows, K, N, xv.data(), q, trans, want.data());
        const PackedFc fc(q, trans);
        for (IntIsa isa : isas()) {
          Tensor y(out.qmin < 0 ? DType::Int8 : DType::UInt8, {rows, N});
          fc.run(isa, rows, x, y);
          ASSERT_EQ(to_int32(y), want) << int_isa_name(isa) << " rows=" << rows << " K=" << K << " N=" << N;
        }
      }
}

TEST(IntGemm, Add8BitMatchesTheFormula) {
  std::mt19937 rng(8);
  std::uniform_real_distribution<double> e(-3, 1.5);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t n = 1 + trial * 7 % 67;
    intgemm::AddOperands o;
    o.a_signed = trial % 2;
    o.b_signed = trial / 2 % 2;
    o.y_signed = trial / 4 % 2;
    auto zp = [&](bool sgn) { return sgn ? (trial % 3 == 0 ? -128 : 127) : (trial % 3 == 0 ? 0 : 255); };
    o.za = zp(o.a_signed);
    o.zb = zp(o.b_signed) / 2;
    o.zo = o.y_signed ? 5 : 130;
    o.lo = o.y_signed ? -128 : 0;
    o.hi = o.y_signed ? 127 : 255;
    // Mostly the usual scales (shifts 30-34); every 11th trial multipliers near 2^15 (shift 16, below what
    // the 32-bit AVX2 form takes), every 13th near 2^-16 (shift 47, above it), every 17th one just under
    // 2^31·2^-n with its 16-bit split at the edge.
    double ra = std::exp2(e(rng)), rb = std::exp2(e(rng)) * (trial % 5 ? 1 : -1);
    if (trial % 11 == 3) ra *= 32768, rb *= 16384;
    if (trial % 13 == 4) ra *= std::exp2(-16), rb *= std::exp2(-16);
    if (trial % 17 == 5) ra = 0.99999, rb = -0.99999;
    const AddMultipliers m = add_multipliers(ra, rb, "t");
    std::vector<uint8_t> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& v : a) v = static_cast<uint8_t>(trial % 7 == 0 ? (byte(rng) % 2 ? 255 : 0) : byte(rng));
    for (auto& v : b) v = static_cast<uint8_t>(byte(rng));
    o.a = a.data();
    o.b = b.data();
    auto val = [](const std::vector<uint8_t>& v, bool sgn, int64_t i) -> int64_t {
      return sgn ? static_cast<int8_t>(v[static_cast<size_t>(i)]) : v[static_cast<size_t>(i)];
    };
    for (IntIsa isa : isas()) {
      std::vector<uint8_t> y(static_cast<size_t>(n));
      o.y = y.data();
      intgemm::add_8bit(isa, n, o, m);
      for (int64_t i = 0; i < n; ++i) {
        const int32_t want = clamp_q(
            o.zo + add_requantize(val(a, o.a_signed, i) - o.za, val(b, o.b_signed, i) - o.zb, m), o.lo, o.hi);
        ASSERT_EQ(val(y, o.y_signed, i), want) << int_isa_name(isa) << " trial " << trial << " i " << i;
      }
    }
  }
}

}  // namespace
}  // namespace qs
