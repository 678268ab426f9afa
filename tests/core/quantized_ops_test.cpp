// Quantized ops of the float runtime (core/ops/quantize_linear.cpp, qlinear_matmul.cpp, qlinear_conv.cpp):
// QuantizeLinear / DequantizeLinear on hand-computed values (ties round to even, saturation, per axis);
// MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv against brute-force int64 loops written from
// the ONNX definitions over sweeps of shapes, zero points and attributes (fixed seeds), including depths
// that need the int64 accumulator. The exports run end to end: quantized_export_test.cpp. ONNX's own node
// test data for these ops runs in tests/conformance/onnx_backend_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "core/analysis/model_summary.h"
#include "core/autodiff/reverse.h"
#include "core/export/export.h"
#include "core/int/engine.h"
#include "core/onnx/import.h"
#include "core/ops/kernel.h"
#include "core/runtime/executor.h"
#include "tests/core/autodiff_test_util.h"
#include "tests/core/int_test_util.h"

namespace qs {
namespace {

using testing::Calibrated;

// ---- helpers ----

Attribute int_attr(int64_t v) { return Attribute::of_int(v); }
Attribute ints_attr(std::vector<int64_t> v) { return Attribute::of_ints(std::move(v)); }

// Runs one node (inputs named i0, i1, ...; "" omitted) through the registry's kernel; constants are
// visible to the factory when `constant` is set for them.
std::vector<Tensor> run_node(const std::string& op, const std::vector<const Tensor*>& in, int64_t opset,
                             std::map<std::string, Attribute> attrs = {}, size_t outputs = 1,
                             const std::vector<bool>& constant = {}) {
  Node n;
  n.name = "node_under_test";
  n.op_type = op;
  n.attrs = std::move(attrs);
  std::map<std::string, const Tensor*> consts;
  for (size_t i = 0; i < in.size(); ++i) {
    n.inputs.push_back(in[i] ? std::string(1, 'i').append(std::to_string(i)) : std::string());
    if (in[i] && i < constant.size() && constant[i]) consts[n.inputs.back()] = in[i];
  }
  for (size_t k = 0; k < outputs; ++k) n.outputs.push_back(std::string(1, 'o').append(std::to_string(k)));
  KernelInit init{n, opset, [&](const std::string& v) -> const Tensor* {
                    auto it = consts.find(v);
                    return it == consts.end() ? nullptr : it->second;
                  }};
  auto k = OpRegistry::instance().create(init);
  std::vector<Tensor> out(outputs);
  k->run(in, out);
  return out;
}

template <typename T>
Tensor random_ints(const Shape& s, std::mt19937& rng, int lo = std::numeric_limits<T>::min(),
                   int hi = std::numeric_limits<T>::max()) {
  std::uniform_int_distribution<int> d(lo, hi);
  Tensor t(DTypeOf<T>::value, s);
  for (auto& v : t.span<T>()) v = static_cast<T>(d(rng));
  return t;
}

Tensor random_8bit(DType t, const Shape& s, std::mt19937& rng) {
  return t == DType::UInt8 ? random_ints<uint8_t>(s, rng) : random_ints<int8_t>(s, rng);
}

// A zero point of type t: a scalar, or a 1-D tensor of n values.
Tensor random_zp(DType t, int64_t n, std::mt19937& rng) {
  const Shape s = n < 0 ? Shape{} : Shape{n};
  return random_8bit(t, s, rng);
}

int64_t qmin(DType t) { return t == DType::UInt8 ? 0 : -128; }
int64_t qmax(DType t) { return t == DType::UInt8 ? 255 : 127; }

// The ONNX requantization (core/ops/quantized.h): float32 multiplier, double product, half to even,
// zero point, saturation.
int64_t requant(int64_t acc, float sa, float sb, float sy, int64_t zp, DType t) {
  const float m = sa * sb / sy;
  const double r =
      std::nearbyint(static_cast<double>(acc) * static_cast<double>(m)) + static_cast<double>(zp);
  return static_cast<int64_t>(
      std::clamp<double>(r, static_cast<double>(qmin(t)), static_cast<double>(qmax(t))));
}

// ---- QuantizeLinear / DequantizeLinear ----

TEST(QuantizeLinear, RoundsHalfToEvenAndSaturates) {
  // x / 2: ties at ±0.5, ±1.5, ±2.5 go to the even neighbour; then + zp and clamp.
  const Tensor x = Tensor::from_vector<float>(
      {12}, {1.f, 3.f, 5.f, -1.f, -3.f, -5.f, 2.9f, 300.f, -300.f, 1e30f,
             -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()});
  const Tensor s = Tensor::scalar<float>(2.f);
  const Tensor zu = Tensor::scalar<uint8_t>(10);
  const Tensor u = run_node("QuantizeLinear", {&x, &s, &zu}, 13)[0];
  ASSERT_EQ(u.dtype(), DType::UInt8);
  EXPECT_EQ(u.to_vector<int>(), (std::vector<int>{10, 12, 12, 10, 8, 8, 11, 160, 0, 255, 0, 10}));
  const Tensor zi = Tensor::scalar<int8_t>(-3);
  const Tensor i = run_node("QuantizeLinear", {&x, &s, &zi}, 10)[0];
  ASSERT_EQ(i.dtype(), DType::Int8);
  EXPECT_EQ(i.to_vector<int>(), (std::vector<int>{-3, -1, -1, -3, -5, -5, -2, 127, -128, 127, -128, -3}));
  // No zero point: uint8 with zero point 0.
  const Tensor d = run_node("QuantizeLinear", {&x, &s, nullptr}, 13)[0];
  ASSERT_EQ(d.dtype(), DType::UInt8);
  EXPECT_EQ(d.to_vector<int>(), (std::vector<int>{0, 2, 2, 0, 0, 0, 1, 150, 0, 255, 0, 0}));
  // int32 input (ONNX allows it): x / scale in double.
  const Tensor xi = Tensor::from_vector<int32_t>({4}, {5, 7, -9, 1000});
  EXPECT_EQ(run_node("QuantizeLinear", {&xi, &s, &zi}, 13)[0].to_vector<int>(),
            (std::vector<int>{-1, 1, -7, 127}));
}

TEST(QuantizeLinear, PerAxisMatchesPerChannelScalarsAndNegativeAxis) {
  std::mt19937 rng(11);
  const Tensor x = testing::randn({2, 3, 4, 5}, rng, 3.f);
  const Tensor s = Tensor::from_vector<float>({4}, {0.02f, 0.05f, 0.1f, 0.3f});
  const Tensor z = Tensor::from_vector<int8_t>({4}, {0, -7, 12, 100});
  for (int64_t axis : {2, -2}) {
    const Tensor q = run_node("QuantizeLinear", {&x, &s, &z}, 13, {{"axis", int_attr(axis)}})[0];
    const Tensor back = run_node("DequantizeLinear", {&q, &s, &z}, 13, {{"axis", int_attr(axis)}})[0];
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int64_t c = i / 5 % 4;
      const float sc = s.data<float>()[c];
      const int zc = z.data<int8_t>()[c];
      const double want = std::clamp<double>(std::nearbyint(x.data<float>()[i] / sc) + zc, -128, 127);
      ASSERT_EQ(q.data<int8_t>()[i], want) << i;
      ASSERT_EQ(back.data<float>()[i], static_cast<float>((want - zc) * sc)) << i;
    }
  }
  // Opset 10 has no axis: a vector scale is refused, naming the node.
  try {
    run_node("QuantizeLinear", {&x, &s, &z}, 10, {}, 1, {false, true, true});
    FAIL() << "a per-axis scale was accepted at opset 10";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("node_under_test"), std::string::npos) << e.what();
  }
  // A scale whose length is not the axis extent is an error naming the operand.
  const Tensor s3 = Tensor::from_vector<float>({3}, {1.f, 2.f, 3.f});
  const Tensor z3 = Tensor::from_vector<int8_t>({3}, {0, 0, 0});
  try {
    run_node("QuantizeLinear", {&x, &s3, &z3}, 13, {{"axis", int_attr(2)}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("y_scale"), std::string::npos) << e.what();
  }
}

TEST(DequantizeLinear, Int32BiasesAreExactAndPerAxis) {
  // (x - zp) · scale rounded once: large int32 values keep their low bits until the single rounding.
  const Tensor x =
      Tensor::from_vector<int32_t>({2, 3}, {16777217, -16777219, 3, 2147483647, -2147483647 - 1, 0});
  const Tensor s = Tensor::from_vector<float>({2}, {1.f, 0.5f});
  const Tensor z = Tensor::from_vector<int32_t>({2}, {0, 0});
  const Tensor y = run_node("DequantizeLinear", {&x, &s, &z}, 13, {{"axis", int_attr(0)}})[0];
  const std::vector<double> xs = {16777217., -16777219., 3., 2147483647., -2147483648., 0.};
  for (int64_t i = 0; i < 6; ++i)
    EXPECT_EQ(y.data<float>()[i], static_cast<float>(xs[static_cast<size_t>(i)] * (i < 3 ? 1.0 : 0.5))) << i;
  // uint8 with the zero point of ONNX's example.
  const Tensor xu = Tensor::from_vector<uint8_t>({4}, {0, 3, 128, 255});
  const Tensor su = Tensor::scalar<float>(2.f);
  const Tensor zu = Tensor::scalar<uint8_t>(128);
  EXPECT_EQ(run_node("DequantizeLinear", {&xu, &su, &zu}, 10)[0].to_vector<float>(),
            (std::vector<float>{-256.f, -250.f, 0.f, 254.f}));
  // The zero point must have x's type.
  const Tensor zi = Tensor::scalar<int8_t>(1);
  EXPECT_THROW(run_node("DequantizeLinear", {&xu, &su, &zi}, 13), Error);
}

TEST(DynamicQuantizeLinear, CoversTheRangeWithZeroExactAndMatchesQuantizeLinear) {
  std::mt19937 rng(5);
  for (float shift : {0.f, 2.f, -2.f}) {
    Tensor x = testing::randn({3, 50}, rng);
    for (auto& v : x.span<float>()) v += shift;
    const auto o = run_node("DynamicQuantizeLinear", {&x}, 11, {}, 3);
    const float s = o[1].data<float>()[0];
    const uint8_t z = o[2].data<uint8_t>()[0];
    float lo = 0, hi = 0;
    for (float v : x.span<float>()) lo = std::min(lo, v), hi = std::max(hi, v);
    EXPECT_FLOAT_EQ(s, (hi - lo) / 255.f);
    EXPECT_EQ(z, static_cast<uint8_t>(std::nearbyint(std::clamp(-lo / s, 0.f, 255.f))));
    // The same codes as QuantizeLinear with the returned scale and zero point; every value within s/2
    // (plus float rounding) of its dequantized code.
    const Tensor q = run_node("QuantizeLinear", {&x, &o[1], &o[2]}, 13)[0];
    EXPECT_EQ(o[0].to_vector<int>(), q.to_vector<int>());
    for (int64_t i = 0; i < x.numel(); ++i)
      EXPECT_LE(std::fabs((o[0].data<uint8_t>()[i] - z) * s - x.data<float>()[i]),
                0.5f * s * 1.0001f + 1e-6f);
  }
  // All zeros: scale 1 (not a division by zero), zero point 0.
  const Tensor zeros = Tensor::zeros(DType::Float32, {4});
  const auto o = run_node("DynamicQuantizeLinear", {&zeros}, 11, {}, 3);
  EXPECT_EQ(o[1].data<float>()[0], 1.f);
  EXPECT_EQ(o[2].data<uint8_t>()[0], 0);
  EXPECT_EQ(o[0].to_vector<int>(), (std::vector<int>{0, 0, 0, 0}));
}

// ---- MatMulInteger / QLinearMatMul ----

struct MatCase {
  Shape a, b;
  DType ta = DType::UInt8, tb = DType::Int8;
  int a_zp = 0;  // 0 none, 1 scalar, 2 per row ([M]), 3 per row N-D ([..., M, 1])
  int b_zp = 0;  // 0 none, 1 scalar, 2 per column ([N]), 3 per column N-D ([..., 1, N])
  std::string str() const {
    std::ostringstream o;
    o << "A " << shape_str(a) << " " << dtype_name(ta) << " zp" << a_zp << ", B " << shape_str(b) << " "
      << dtype_name(tb) << " zp" << b_zp;
    return o.str();
  }
};

// Shape of a zero point (or scale) of kind k for operand x (rows: its second-to-last axis; columns: its
// last).
Shape zp_shape(int kind, const Shape& x, bool rows) {
  const int64_t r = static_cast<int64_t>(x.size());
  switch (kind) {
    case 1:
      return {};
    case 2:
      return {rows ? x[static_cast<size_t>(r - 2)] : x.back()};
    case 3: {
      Shape s = x;
      s[static_cast<size_t>(rows ? r - 1 : r - 2)] = 1;
      return s;
    }
    default:
      return {};
  }
}

// The zero point (scale) of element (batch index bi, row or column j) of a per-kind operand.
template <typename T>
T param_at(const Tensor& p, int kind, int64_t bi, int64_t j, int64_t extent) {
  const T* d = p.data<T>();
  if (kind == 1) return d[0];
  if (kind == 2) return d[j];
  return d[bi * extent + j];
}

// Brute force: Y[b][m][n] = Σ_k (A[b][m][k] - za)(B[b][k][n] - zb) in int64, for 2-D or 3-D A and B of the
// same batch (or B 2-D). Returns the accumulators in Y's row-major order and its shape.
std::vector<int64_t> brute_matmul(const MatCase& c, const Tensor& a, const Tensor& b, const Tensor* za,
                                  const Tensor* zb, Shape* y_shape) {
  const int64_t B = c.a.size() == 3 ? c.a[0] : 1, M = c.a[c.a.size() - 2], K = c.a.back(), N = c.b.back();
  const bool b_batched = c.b.size() == 3;
  *y_shape = c.a.size() == 3 ? Shape{B, M, N} : Shape{M, N};
  const std::vector<int64_t> av = a.to_vector<int64_t>(), bv = b.to_vector<int64_t>();
  std::vector<int64_t> y(static_cast<size_t>(B * M * N));
  for (int64_t bi = 0; bi < B; ++bi)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        int64_t acc = 0;
        const int64_t zam = za ? za->value_as_int(c.a_zp == 1 ? 0 : c.a_zp == 2 ? m : bi * M + m) : 0;
        const int64_t zbn = zb ? zb->value_as_int(c.b_zp == 1   ? 0
                                                  : c.b_zp == 2 ? n
                                                                : (b_batched ? bi : 0) * N + n)
                               : 0;
        for (int64_t k = 0; k < K; ++k)
          acc += (av[static_cast<size_t>((bi * M + m) * K + k)] - zam) *
                 (bv[static_cast<size_t>(((b_batched ? bi : 0) * K + k) * N + n)] - zbn);
        y[static_cast<size_t>((bi * M + m) * N + n)] = acc;
      }
  return y;
}

std::vector<MatCase> mat_cases() {
  std::vector<MatCase> cs;
  const std::vector<std::pair<Shape, Shape>> shapes = {{{1, 1}, {1, 1}},         {{3, 5}, {5, 4}},
                                                       {{7, 16}, {16, 9}},       {{2, 4, 33}, {33, 6}},
                                                       {{3, 5, 17}, {3, 17, 2}}, {{65, 31}, {31, 63}}};
  int i = 0;
  for (const auto& [a, b] : shapes)
    for (DType ta : {DType::UInt8, DType::Int8})
      for (DType tb : {DType::UInt8, DType::Int8}) {
        MatCase c;
        c.a = a;
        c.b = b;
        c.ta = ta;
        c.tb = tb;
        c.a_zp = i % 4;
        c.b_zp = (i / 2) % 4;
        if (a.size() < 3 && c.a_zp == 3) c.a_zp = 2;
        if ((b.size() < 3 || a.size() < 3) && c.b_zp == 3) c.b_zp = 2;
        cs.push_back(c);
        ++i;
      }
  return cs;
}

TEST(MatMulInteger, MatchesBruteForceOverShapesAndZeroPoints) {
  std::mt19937 rng(21);
  for (const MatCase& c : mat_cases()) {
    SCOPED_TRACE(c.str());
    const Tensor a = random_8bit(c.ta, c.a, rng), b = random_8bit(c.tb, c.b, rng);
    const Tensor za = random_8bit(c.ta, zp_shape(c.a_zp, c.a, true), rng);
    const Tensor zb = random_8bit(c.tb, zp_shape(c.b_zp, c.b, false), rng);
    const Tensor y =
        run_node("MatMulInteger", {&a, &b, c.a_zp ? &za : nullptr, c.b_zp ? &zb : nullptr}, 10)[0];
    Shape ys;
    const auto want = brute_matmul(c, a, b, c.a_zp ? &za : nullptr, c.b_zp ? &zb : nullptr, &ys);
    ASSERT_EQ(y.dtype(), DType::Int32);
    ASSERT_EQ(y.shape(), ys);
    EXPECT_EQ(y.to_vector<int64_t>(), want);
  }
}

TEST(MatMulInteger, DeepProductsAccumulateExactlyBeyondInt32Safety) {
  // K = 40000 > 2^31 / 255²: the kernel switches to int64 accumulators. With A = 0 - 255 and B = 127 - (-128)
  // every product is -65025 and the sum, -2.6e9, is outside int32: the result keeps the low 32 bits, as
  // wrapping int32 accumulators would.
  const int64_t K = 40000;
  Tensor a(DType::UInt8, {2, K}), b(DType::Int8, {K, 3});
  std::mt19937 rng(3);
  for (int64_t k = 0; k < K; ++k) {
    a.data<uint8_t>()[k] = 0;
    a.data<uint8_t>()[K + k] = static_cast<uint8_t>(rng() % 256);
    for (int64_t n = 0; n < 3; ++n)
      b.data<int8_t>()[k * 3 + n] = n == 0 ? 127 : static_cast<int8_t>(rng() % 256);
  }
  const Tensor za = Tensor::scalar<uint8_t>(255), zb = Tensor::scalar<int8_t>(-128);
  const Tensor y = run_node("MatMulInteger", {&a, &b, &za, &zb}, 10)[0];
  MatCase c;
  c.a = {2, K};
  c.b = {K, 3};
  c.a_zp = c.b_zp = 1;
  Shape ys;
  const auto want = brute_matmul(c, a, b, &za, &zb, &ys);
  EXPECT_EQ(want[0], -K * 255 * 255);
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(y.data<int32_t>()[i], static_cast<int32_t>(want[i])) << i;
}

TEST(QLinearMatMul, MatchesBruteForceRequantization) {
  std::mt19937 rng(22);
  std::uniform_real_distribution<float> us(0.002f, 0.02f);
  for (MatCase c : mat_cases()) {
    // Scales and zero points are required and share their shape.
    c.a_zp = std::max(c.a_zp, 1);
    c.b_zp = std::max(c.b_zp, 1);
    for (DType ty : {DType::UInt8, DType::Int8}) {
      SCOPED_TRACE(c.str().append(" -> ").append(dtype_name(ty)));
      const Tensor a = random_8bit(c.ta, c.a, rng), b = random_8bit(c.tb, c.b, rng);
      const Shape sza = zp_shape(c.a_zp, c.a, true), szb = zp_shape(c.b_zp, c.b, false);
      const Tensor za = random_8bit(c.ta, sza, rng), zb = random_8bit(c.tb, szb, rng);
      Tensor sa(DType::Float32, sza), sb(DType::Float32, szb);
      for (auto& v : sa.span<float>()) v = us(rng);
      for (auto& v : sb.span<float>()) v = us(rng);
      Shape ys;
      const auto acc = brute_matmul(c, a, b, &za, &zb, &ys);
      // y_scale so that outputs spread over the range (rms ~40 levels) and some saturate.
      double ss = 0;
      for (int64_t v : acc) ss += static_cast<double>(v) * static_cast<double>(v);
      const float sy =
          static_cast<float>(std::max(1.0, std::sqrt(ss / static_cast<double>(acc.size()))) * 1.2e-4 / 40);
      const Tensor ysc = Tensor::scalar<float>(sy);
      const Tensor yz = ty == DType::UInt8 ? Tensor::scalar<uint8_t>(120) : Tensor::scalar<int8_t>(-5);
      const Tensor y = run_node("QLinearMatMul", {&a, &sa, &za, &b, &sb, &zb, &ysc, &yz}, 10)[0];
      ASSERT_EQ(y.dtype(), ty);
      ASSERT_EQ(y.shape(), ys);
      const int64_t M = ys[ys.size() - 2], N = ys.back();
      int saturated = 0, inside = 0;
      for (size_t i = 0; i < acc.size(); ++i) {
        const int64_t n = static_cast<int64_t>(i) % N, m = static_cast<int64_t>(i) / N % M,
                      bi = static_cast<int64_t>(i) / (M * N);
        const float fa = param_at<float>(sa, c.a_zp, bi, m, M);
        const float fb = param_at<float>(sb, c.b_zp, c.b.size() == 3 ? bi : 0, n, N);
        const int64_t want = requant(acc[i], fa, fb, sy, yz.value_as_int(0), ty);
        saturated += want == qmin(ty) || want == qmax(ty);
        inside += want > qmin(ty) && want < qmax(ty);
        ASSERT_EQ(y.value_as_int(static_cast<int64_t>(i)), want) << "element " << i << " acc " << acc[i];
      }
      EXPECT_GT(inside, 0) << "every output saturated: the case proves little";
      if (acc.size() >= 64) {
        EXPECT_GT(saturated, 0);
      }
    }
  }
}

// ---- ConvInteger / QLinearConv ----

struct ConvCase {
  int64_t N = 1, C = 1, M = 1, group = 1;
  Shape in, kernel;
  std::vector<int64_t> strides, dilations, pads;  // empty: defaults
  bool same_upper = false;
  DType tx = DType::UInt8, tw = DType::Int8;
  bool per_channel = false, const_w = true, bias = true;
  std::string str() const {
    std::ostringstream o;
    o << "N" << N << " C" << C << " M" << M << " g" << group << " in " << shape_str(in) << " k "
      << shape_str(kernel) << " s " << shape_str(strides) << " d " << shape_str(dilations) << " p "
      << shape_str(pads) << (same_upper ? " SAME_UPPER" : "") << " " << dtype_name(tx) << "x"
      << dtype_name(tw) << (per_channel ? " per-channel" : "") << (const_w ? " const-W" : " runtime-W");
    return o.str();
  }
};

std::map<std::string, Attribute> conv_attrs(const ConvCase& c) {
  std::map<std::string, Attribute> a;
  if (c.group != 1) a["group"] = int_attr(c.group);
  if (!c.strides.empty()) a["strides"] = ints_attr(c.strides);
  if (!c.dilations.empty()) a["dilations"] = ints_attr(c.dilations);
  if (!c.pads.empty()) a["pads"] = ints_attr(c.pads);
  if (c.same_upper) a["auto_pad"] = testing::str_attr("SAME_UPPER");
  return a;
}

// Brute force from the definition: y[n][m][o] = Σ_{c,k} (x[n][g·Cg+c][o·s - pb + k·d] - xz)(w[m][c][k] -
// wz[m]), out-of-image taps contributing 0; the output extents and begin pads from the ONNX formulas.
std::vector<int64_t> brute_conv(const ConvCase& c, const Tensor& x, const Tensor& w, int64_t xz,
                                const std::vector<int64_t>& wz, Shape* y_shape) {
  const size_t r = c.in.size();
  std::vector<int64_t> out(r), pb(r), s(r), d(r);
  for (size_t i = 0; i < r; ++i) {
    s[i] = c.strides.empty() ? 1 : c.strides[i];
    d[i] = c.dilations.empty() ? 1 : c.dilations[i];
    const int64_t ek = (c.kernel[i] - 1) * d[i] + 1;
    if (c.same_upper) {
      out[i] = (c.in[i] + s[i] - 1) / s[i];
      pb[i] = std::max<int64_t>(0, (out[i] - 1) * s[i] + ek - c.in[i]) / 2;
    } else {
      pb[i] = c.pads.empty() ? 0 : c.pads[i];
      const int64_t pe = c.pads.empty() ? 0 : c.pads[i + r];
      out[i] = (c.in[i] + pb[i] + pe - ek) / s[i] + 1;
    }
  }
  *y_shape = {c.N, c.M};
  y_shape->insert(y_shape->end(), out.begin(), out.end());
  const int64_t Cg = c.C / c.group, Mg = c.M / c.group, P = numel(out), IS = numel(c.in),
                KS = numel(c.kernel);
  const std::vector<int64_t> xv = x.to_vector<int64_t>(), wv = w.to_vector<int64_t>();
  std::vector<int64_t> y(static_cast<size_t>(c.N * c.M * P));
  std::vector<int64_t> oi(r), ki(r);
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t m = 0; m < c.M; ++m)
      for (int64_t p = 0; p < P; ++p) {
        for (int64_t i = static_cast<int64_t>(r) - 1, q = p; i >= 0; --i) oi[i] = q % out[i], q /= out[i];
        int64_t acc = 0;
        for (int64_t ch = 0; ch < Cg; ++ch)
          for (int64_t k = 0; k < KS; ++k) {
            for (int64_t i = static_cast<int64_t>(r) - 1, q = k; i >= 0; --i)
              ki[i] = q % c.kernel[i], q /= c.kernel[i];
            int64_t flat = 0;
            bool inside = true;
            for (size_t i = 0; i < r; ++i) {
              const int64_t pos = oi[i] * s[i] - pb[i] + ki[i] * d[i];
              inside = inside && pos >= 0 && pos < c.in[i];
              flat = flat * c.in[i] + pos;
            }
            if (!inside) continue;
            const int64_t xc = m / Mg * Cg + ch;
            acc += (xv[static_cast<size_t>((n * c.C + xc) * IS + flat)] - xz) *
                   (wv[static_cast<size_t>((m * Cg + ch) * KS + k)] -
                    wz[wz.size() == 1 ? 0 : static_cast<size_t>(m)]);
          }
        y[static_cast<size_t>((n * c.M + m) * P + p)] = acc;
      }
  return y;
}

std::vector<ConvCase> conv_cases() {
  std::vector<ConvCase> cs;
  auto add = [&](ConvCase c) { cs.push_back(c); };
  ConvCase c;
  c.in = {5, 5};
  c.kernel = {3, 3};
  add(c);  // 1 channel, valid
  c.C = 3, c.M = 4, c.pads = {1, 1, 1, 1};
  add(c);
  c.N = 2, c.C = 8, c.M = 16, c.in = {9, 7}, c.strides = {2, 1}, c.pads = {1, 0, 2, 1}, c.per_channel = true;
  add(c);
  c.group = 4, c.dilations = {2, 1}, c.tx = DType::Int8, c.tw = DType::UInt8;
  add(c);
  c.group = 8, c.M = 8, c.strides = {}, c.dilations = {}, c.pads = {}, c.same_upper = true, c.const_w = false;
  add(c);  // depthwise, runtime weights
  c = ConvCase{};
  c.C = 6, c.M = 5, c.in = {17}, c.kernel = {4}, c.strides = {3}, c.pads = {2, 1}, c.per_channel = true;
  add(c);  // 1-D
  c = ConvCase{};
  c.N = 2, c.C = 2, c.M = 3, c.in = {4, 5, 3}, c.kernel = {2, 3, 2}, c.pads = {1, 0, 1, 0, 1, 1},
  c.bias = false;
  add(c);  // 3-D
  c = ConvCase{};
  c.C = 32, c.M = 40, c.in = {12, 12}, c.kernel = {3, 3}, c.pads = {1, 1, 1, 1}, c.per_channel = true;
  c.tx = DType::UInt8, c.tw = DType::UInt8;
  add(c);  // several column runs per image
  c = ConvCase{};
  c.C = 16, c.M = 8, c.in = {6, 6}, c.kernel = {1, 1}, c.tw = DType::Int8;
  add(c);  // pointwise
  c = ConvCase{};
  c.C = 150, c.M = 6, c.in = {5, 6}, c.kernel = {3, 3}, c.pads = {1, 0, 0, 1}, c.per_channel = true;
  add(c);  // deeper than one exact float run (57 channels at full-range weights): several runs
  c.group = 2, c.C = 300;
  add(c);  // 150 channels per group: too deep for the float path with groups, integer GEMM
  return cs;
}

TEST(ConvInteger, MatchesBruteForceOverGeometriesAndTypes) {
  std::mt19937 rng(31);
  for (const ConvCase& c : conv_cases()) {
    SCOPED_TRACE(c.str());
    Shape xs = {c.N, c.C}, ws = {c.M, c.C / c.group};
    xs.insert(xs.end(), c.in.begin(), c.in.end());
    ws.insert(ws.end(), c.kernel.begin(), c.kernel.end());
    const Tensor x = random_8bit(c.tx, xs, rng), w = random_8bit(c.tw, ws, rng);
    const Tensor xz = random_zp(c.tx, -1, rng), wz = random_zp(c.tw, c.per_channel ? c.M : -1, rng);
    const Tensor y =
        run_node("ConvInteger", {&x, &w, &xz, &wz}, 10, conv_attrs(c), 1, {false, c.const_w, true, true})[0];
    Shape yshape;
    const auto want = brute_conv(c, x, w, xz.value_as_int(0), wz.to_vector<int64_t>(), &yshape);
    ASSERT_EQ(y.dtype(), DType::Int32);
    ASSERT_EQ(y.shape(), yshape);
    EXPECT_EQ(y.to_vector<int64_t>(), want);
  }
  // Without zero points: both 0.
  ConvCase c;
  c.C = 2, c.M = 2, c.in = {4, 4}, c.kernel = {2, 2};
  const Tensor x = random_8bit(DType::UInt8, {1, 2, 4, 4}, rng),
               w = random_8bit(DType::Int8, {2, 2, 2, 2}, rng);
  Shape yshape;
  EXPECT_EQ(run_node("ConvInteger", {&x, &w}, 10)[0].to_vector<int64_t>(),
            brute_conv(c, x, w, 0, {0}, &yshape));
}

TEST(QLinearConv, MatchesBruteForceRequantizationWithBias) {
  std::mt19937 rng(32);
  std::uniform_real_distribution<float> us(0.002f, 0.02f);
  for (const ConvCase& c : conv_cases()) {
    for (DType ty : {DType::UInt8, DType::Int8}) {
      SCOPED_TRACE(c.str().append(" -> ").append(dtype_name(ty)));
      Shape xs = {c.N, c.C}, ws = {c.M, c.C / c.group};
      xs.insert(xs.end(), c.in.begin(), c.in.end());
      ws.insert(ws.end(), c.kernel.begin(), c.kernel.end());
      const Tensor x = random_8bit(c.tx, xs, rng), w = random_8bit(c.tw, ws, rng);
      const Tensor xz = random_zp(c.tx, -1, rng), wz = random_zp(c.tw, c.per_channel ? c.M : -1, rng);
      const Tensor xsc = Tensor::scalar<float>(us(rng));
      Tensor wsc(DType::Float32, c.per_channel ? Shape{c.M} : Shape{});
      for (auto& v : wsc.span<float>()) v = us(rng);
      const int64_t depth = numel(ws) / c.M;
      const float sy = 0.0004f * 60.f * std::sqrt(static_cast<float>(depth));
      const Tensor ysc = Tensor::scalar<float>(sy);
      const Tensor yz = ty == DType::UInt8 ? Tensor::scalar<uint8_t>(128) : Tensor::scalar<int8_t>(3);
      const Tensor b = random_ints<int32_t>({c.M}, rng, -20000, 20000);
      std::vector<const Tensor*> in = {&x, &xsc, &xz, &w, &wsc, &wz, &ysc, &yz};
      if (c.bias) in.push_back(&b);
      const Tensor y = run_node("QLinearConv", in, 10, conv_attrs(c), 1,
                                {false, true, true, c.const_w, true, true, true, true, true})[0];
      Shape yshape;
      const auto acc = brute_conv(c, x, w, xz.value_as_int(0), wz.to_vector<int64_t>(), &yshape);
      ASSERT_EQ(y.dtype(), ty);
      ASSERT_EQ(y.shape(), yshape);
      const int64_t P = numel(yshape) / (c.N * c.M);
      for (size_t i = 0; i < acc.size(); ++i) {
        const int64_t m = static_cast<int64_t>(i) / P % c.M;
        const int64_t want = requant(acc[i] + (c.bias ? b.data<int32_t>()[m] : 0), xsc.data<float>()[0],
                                     wsc.data<float>()[c.per_channel ? m : 0], sy, yz.value_as_int(0), ty);
        ASSERT_EQ(y.value_as_int(static_cast<int64_t>(i)), want) << "element " << i << " acc " << acc[i];
      }
    }
  }
}

TEST(ConvInteger, DeepConvolutionsUseExactInt64Accumulators) {
  // Depth 4000 · 3 · 3 = 36000 > 2^31 / (255 · 128): int64 accumulators. ConvInteger with a constant W sums
  // 71 exact float runs of 57 channels in int64 and keeps the low 32 bits (the sums stay well inside int32
  // anyway: random signs); QLinearConv with W given at run time uses integer GEMM in int64.
  std::mt19937 rng(33);
  ConvCase c;
  c.C = 4000, c.M = 2, c.in = {3, 4}, c.kernel = {3, 3}, c.tx = DType::UInt8, c.tw = DType::Int8;
  const Tensor x = random_8bit(DType::UInt8, {1, 4000, 3, 4}, rng);
  Tensor w = random_8bit(DType::Int8, {2, 4000, 3, 3}, rng);
  w.data<int8_t>()[0] = -128;  // the largest weight magnitude after the shift
  const Tensor xz = Tensor::scalar<uint8_t>(7), wz = Tensor::scalar<int8_t>(0);
  Shape ys;
  const auto want = brute_conv(c, x, w, 7, {0}, &ys);
  const Tensor y = run_node("ConvInteger", {&x, &w, &xz, &wz}, 10, {}, 1, {false, true, true, true})[0];
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(y.data<int32_t>()[i], static_cast<int32_t>(want[i])) << i;
  const Tensor xs = Tensor::scalar<float>(0.01f), ws = Tensor::scalar<float>(0.003f),
               ysc = Tensor::scalar<float>(0.7f);
  const Tensor yz = Tensor::scalar<int8_t>(0);
  const Tensor q = run_node("QLinearConv", {&x, &xs, &xz, &w, &ws, &wz, &ysc, &yz}, 10)[0];
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(q.value_as_int(static_cast<int64_t>(i)), requant(want[i], 0.01f, 0.003f, 0.7f, 0, DType::Int8))
        << i;
}

TEST(QuantizedOps, ErrorsNameTheNodeAndContribOpsStayUnsupported) {
  // A com.microsoft contrib op (QLinearAdd) is refused at load, naming the node and the domain.
  Graph g = testing::empty_graph({1, 4});
  g.opset_imports["com.microsoft"] = 1;
  g.initializers["s"] = Tensor::scalar<float>(0.1f);
  g.initializers["z"] = Tensor::scalar<uint8_t>(128);
  g.outputs.push_back({"y", DType::Float32, std::nullopt});
  g.nodes = {testing::make_node("q", "QuantizeLinear", {"x", "s", "z"}, {"xq"}),
             testing::make_node("add_q", "QLinearAdd", {"xq", "s", "z", "xq", "s", "z", "s", "z"}, {"yq"}),
             testing::make_node("dq", "DequantizeLinear", {"yq", "s", "z"}, {"y"})};
  g.nodes[1].domain = "com.microsoft";
  try {
    Executor ex(g);
    FAIL() << "QLinearAdd ran";
  } catch (const UnsupportedError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'add_q'"), std::string::npos) << m;
    EXPECT_NE(m.find("com.microsoft"), std::string::npos) << m;
    EXPECT_EQ(m.find("'q'"), std::string::npos) << "QuantizeLinear should be supported: " << m;
  }
  // A QLinearConv bias must be int32; a per-channel scale count must match W.
  const Tensor x = Tensor::zeros(DType::UInt8, {1, 2, 3, 3}), w = Tensor::zeros(DType::Int8, {3, 2, 1, 1});
  const Tensor s = Tensor::scalar<float>(0.5f), zu = Tensor::scalar<uint8_t>(0),
               zi = Tensor::scalar<int8_t>(0);
  const Tensor fb = Tensor::zeros(DType::Float32, {3});
  EXPECT_THROW(run_node("QLinearConv", {&x, &s, &zu, &w, &s, &zi, &s, &zu, &fb}, 10), Error);
  const Tensor s2 = Tensor::from_vector<float>({2}, {1.f, 1.f});
  const Tensor z2 = Tensor::from_vector<int8_t>({2}, {0, 0});
  for (const Tensor* wz : {&z2, &zi}) {
    const Tensor* ws = wz == &z2 ? &s : &s2;
    const std::string bad = wz == &z2 ? "w_zero_point" : "w_scale";
    try {
      run_node("QLinearConv", {&x, &s, &zu, &w, ws, wz, &s, &zu}, 10, {}, 1,
               {false, true, true, true, true, true});
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("node_under_test"), std::string::npos) << e.what();
    }
  }
}

// ---- autodiff ----

TEST(QuantizedOps, DequantizeLinearGradientWithRespectToItsScale) {
  std::mt19937 rng(41);
  // Per axis (axis 1) and per tensor; the integer input and zero point are constants.
  testing::check_vjp(
      testing::OpCase("DequantizeLinear", 13, {{"s", testing::uniform({3}, rng, 0.1f, 0.5f)}},
                      {{"q", random_ints<int8_t>({2, 3, 4}, rng)}, {"z", random_ints<int8_t>({3}, rng)}},
                      {"q", "s", "z"}, 1, {{"axis", int_attr(1)}}));
  testing::check_vjp(testing::OpCase(
      "DequantizeLinear", 10, {{"s", testing::uniform({}, rng, 0.1f, 0.5f)}},
      {{"q", random_ints<uint8_t>({5, 2}, rng)}, {"z", Tensor::scalar<uint8_t>(100)}}, {"q", "s", "z"}));
}

}  // namespace
}  // namespace qs
