// Integer Add, Sub, Mul (with broadcasting; of two quantized values or one and a constant), Concat,
// unfused activations (Relu, Clip, LeakyRelu, PRelu) and level tables (Sigmoid, Tanh, ...).
#include <algorithm>
#include <array>

#include "core/common/parallel.h"
#include "core/int/gemm_int.h"
#include "core/int/int_ops.h"
#include "core/int/int_tensor.h"
#include "core/int/layer_quant.h"
#include "core/int/level_table.h"
#include "core/ops/broadcast.h"

namespace qs {

namespace {

bool is8(DType t) { return t == DType::Int8 || t == DType::UInt8; }

// Calls f(i, ia, ib) for every output element i with its input offsets; equal shapes take a flat loop.
template <typename F>
void for_each_pair(const Shape& as, const Shape& bs, const Shape& out, F&& f) {
  if (as == out && bs == out) {
    const int64_t n = numel(out);
    constexpr int64_t kChunk = 8192;
    parallel_for(
        0, (n + kChunk - 1) / kChunk,
        [&](int64_t c) {
          for (int64_t i = c * kChunk; i < std::min(n, (c + 1) * kChunk); ++i) f(i, i, i);
        },
        kChunk);
    return;
  }
  for_each_broadcast<2>(out, {broadcast_strides(as, out), broadcast_strides(bs, out)}, f);
}

class IntBinaryKernel final : public Kernel {
 public:
  explicit IntBinaryKernel(const IntNodeContext& c) : kind_(c.ln.kind), isa_(c.isa), where_(c.ln.node->describe()) {
    const Node& n = *c.ln.node;
    a_ = *c.L.params_of(n.inputs[0]);
    b_ = *c.L.params_of(n.inputs[1]);
    o_ = *c.L.params_of(c.ln.result);
    const double sa = a_.scale[0], sb = b_.scale[0], so = o_.scale[0];
    if (kind_ == IntKind::Mul) f_ = fixed_multiplier(sa * sb / so, where_);
    else m_ = add_multipliers(sa / so, (kind_ == IntKind::Sub ? -sb : sb) / so, where_);
    activation_clamp(o_, c.ln.act_lo, c.ln.act_hi, &lo_, &hi_);
    if (kind_ == IntKind::Mul && isa_ != IntIsa::Reference) build_mul_table();
    if (!mul_table_.empty()) find_gate(c);
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Shape shape = broadcast_shapes(in[0]->shape(), in[1]->shape(), where_);
    const DType ot = storage_dtype(o_);
    if (kind_ != IntKind::Mul && isa_ != IntIsa::Reference && in[0]->shape() == shape && in[1]->shape() == shape &&
        is8(in[0]->dtype()) && is8(in[1]->dtype()) && is8(ot)) {
      // Equal shapes, 8-bit: the typed (AVX2) loop, in parallel chunks.
      Tensor y(ot, shape);
      intgemm::AddOperands op;
      op.a_signed = in[0]->dtype() == DType::Int8;
      op.b_signed = in[1]->dtype() == DType::Int8;
      op.y_signed = ot == DType::Int8;
      op.za = a_.zero_point[0];
      op.zb = b_.zero_point[0];
      op.zo = o_.zero_point[0];
      op.lo = lo_;
      op.hi = hi_;
      const int64_t n = y.numel();
      constexpr int64_t kChunk = 16384;
      parallel_for(
          0, (n + kChunk - 1) / kChunk,
          [&](int64_t c) {
            intgemm::AddOperands oc = op;
            oc.a = static_cast<const char*>(in[0]->raw()) + c * kChunk;
            oc.b = static_cast<const char*>(in[1]->raw()) + c * kChunk;
            oc.y = static_cast<char*>(y.raw()) + c * kChunk;
            intgemm::add_8bit(isa_, std::min(kChunk, n - c * kChunk), oc, m_);
          },
          kChunk);
      out[0] = std::move(y);
      return;
    }
    if (gate_ >= 0 && in[0]->shape() == in[1]->shape() && in[0]->dtype() == storage_dtype(a_) &&
        in[1]->dtype() == storage_dtype(b_)) {
      out[0] = gated(*in[1 - gate_], shape);
      return;
    }
    if (!mul_table_.empty() && in[0]->dtype() == storage_dtype(a_) && in[1]->dtype() == storage_dtype(b_)) {
      out[0] = mul_by_table(*in[0], *in[1], shape);
      return;
    }
    const std::vector<int32_t> A = to_int32(*in[0]), B = to_int32(*in[1]);
    std::vector<int32_t> y(static_cast<size_t>(numel(shape)));
    const int64_t za = a_.zero_point[0], zb = b_.zero_point[0], zo = o_.zero_point[0];
    if (kind_ == IntKind::Mul) {
      for_each_pair(in[0]->shape(), in[1]->shape(), shape, [&](int64_t i, int64_t ia, int64_t ib) {
        const int64_t prod = (A[static_cast<size_t>(ia)] - za) * (B[static_cast<size_t>(ib)] - zb);
        y[static_cast<size_t>(i)] = clamp_q(zo + requantize(prod, f_), lo_, hi_);
      });
    } else {
      for_each_pair(in[0]->shape(), in[1]->shape(), shape, [&](int64_t i, int64_t ia, int64_t ib) {
        const int64_t v = add_requantize(A[static_cast<size_t>(ia)] - za, B[static_cast<size_t>(ib)] - zb, m_);
        y[static_cast<size_t>(i)] = clamp_q(zo + v, lo_, hi_);
      });
    }
    out[0] = from_int32(y, storage_dtype(o_), shape);
  }

 private:
  // Mul of 8-bit operands: every one of the 256 × 256 operand pairs' result, computed once with the
  // reference formula below (so equal to it by construction), indexed by the operands' bytes. The
  // per-element 64-bit requantization made a SiLU's x·sigmoid(x) or a squeeze-excitation scale the
  // slowest ops of an EfficientNet by far (int 3× slower than float).
  void build_mul_table() {
    const DType ta = storage_dtype(a_), tb = storage_dtype(b_), to = storage_dtype(o_);
    if (!is8(ta) || !is8(tb) || !is8(to)) return;
    mul_table_.resize(256 * 256);
    const int64_t za = a_.zero_point[0], zb = b_.zero_point[0], zo = o_.zero_point[0];
    for (int ua = 0; ua < 256; ++ua)
      for (int ub = 0; ub < 256; ++ub) {
        const int64_t va = ta == DType::Int8 ? static_cast<int8_t>(ua) : ua;
        const int64_t vb = tb == DType::Int8 ? static_cast<int8_t>(ub) : ub;
        const int32_t y = clamp_q(zo + requantize((va - za) * (vb - zb), f_), lo_, hi_);
        mul_table_[static_cast<size_t>(ua << 8 | ub)] = static_cast<uint8_t>(y);  // the storage byte
      }
  }

  // x · f(x), f a Table of x (SiLU's x · sigmoid(x), HardSwish written out): the gate operand's bytes are
  // f's entries for x's bytes, so the product is a function of x's byte alone, read from the Mul table
  // at (x, f(x)). The 256-entry table replaces 64 KB of scattered reads.
  void find_gate(const IntNodeContext& c) {
    const Node& n = *c.ln.node;
    for (int k = 0; k < 2; ++k) {
      const std::string& x = n.inputs[static_cast<size_t>(1 - k)];
      const auto f = std::find_if(c.L.nodes.begin(), c.L.nodes.end(), [&](const LoweredNode& p) {
        return p.kind == IntKind::Table && p.result == n.inputs[static_cast<size_t>(k)] &&
               p.node->inputs[0] == x;
      });
      if (f == c.L.nodes.end() || !is8(storage_dtype(*c.L.params_of(f->result)))) continue;
      const std::array<int32_t, 256> fx = table_by_byte(f->table, *c.L.params_of(x));
      for (size_t ux = 0; ux < 256; ++ux) {
        const size_t uf = static_cast<uint8_t>(fx[ux]);
        gated_[ux] = mul_table_[k == 1 ? ux << 8 | uf : uf << 8 | ux];
      }
      gate_ = k;
      return;
    }
  }

  Tensor gated(const Tensor& x, const Shape& shape) const {
    Tensor y(storage_dtype(o_), shape);
    const uint8_t* px = static_cast<const uint8_t*>(x.raw());
    uint8_t* py = static_cast<uint8_t*>(y.raw());
    const int64_t n = y.numel();
    constexpr int64_t kChunk = 16384;
    parallel_for(
        0, (n + kChunk - 1) / kChunk,
        [this, px, py, n](int64_t c) {
          // Locals: the closure may alias the output bytes, so its fields would be reloaded per element.
          const std::array<uint8_t, 256> map = gated_;
          const uint8_t* const in = px;
          uint8_t* const out = py;
          const int64_t end = std::min(n, (c + 1) * kChunk);
          for (int64_t i = c * kChunk; i < end; ++i) out[i] = map[in[i]];
        },
        kChunk);
    return y;
  }

  Tensor mul_by_table(const Tensor& a, const Tensor& b, const Shape& shape) const {
    Tensor y(storage_dtype(o_), shape);
    const uint8_t* pa = static_cast<const uint8_t*>(a.raw());
    const uint8_t* pb = static_cast<const uint8_t*>(b.raw());
    uint8_t* py = static_cast<uint8_t*>(y.raw());
    const uint8_t* t = mul_table_.data();
    const int64_t n = numel(shape);
    if (a.shape() == shape && b.shape() == shape) {  // x·sigmoid(x)
      constexpr int64_t kChunk = 16384;
      parallel_for(
          0, (n + kChunk - 1) / kChunk,
          [=](int64_t c) {
            // Locals: the closure may alias the output bytes, so its fields would be reloaded per element.
            const uint8_t *const x = pa, *const s = pb, *const map = t;
            uint8_t* const out = py;
            const int64_t end = std::min(n, (c + 1) * kChunk);
            for (int64_t i = c * kChunk; i < end; ++i) out[i] = map[static_cast<size_t>(x[i]) << 8 | s[i]];
          },
          kChunk);
      return y;
    }
    const int64_t inner_a = row_broadcast(a.shape(), b.shape(), shape);
    const int64_t inner_b = row_broadcast(b.shape(), a.shape(), shape);
    if (inner_a > 0 || inner_b > 0) {
      // One operand full, the other one value per row of `inner` elements: a squeeze-excitation scale.
      const bool a_full = inner_a > 0;
      const int64_t inner = a_full ? inner_a : inner_b;
      parallel_for(
          0, n / inner,
          [=](int64_t r) {
            const uint8_t* const full = (a_full ? pa : pb) + r * inner;
            uint8_t* const out = py + r * inner;
            const int64_t m = inner;
            if (a_full) {
              const uint8_t* const col = t + pb[r];  // t[x << 8 | v]: stride 256
              for (int64_t j = 0; j < m; ++j) out[j] = col[static_cast<size_t>(full[j]) << 8];
            } else {
              const uint8_t* const row = t + (static_cast<size_t>(pa[r]) << 8);
              for (int64_t j = 0; j < m; ++j) out[j] = row[full[j]];
            }
          },
          inner);
      return y;
    }
    for_each_pair(a.shape(), b.shape(), shape, [&](int64_t i, int64_t ia, int64_t ib) {
      py[i] = t[static_cast<size_t>(pa[ia]) << 8 | pb[ib]];
    });
    return y;
  }

  // When `full` has the output's shape and `other` (right-aligned) equals it on the leading axes and is 1
  // on the rest: the number of elements per value of `other` (the product of those trailing extents), else
  // 0.
  static int64_t row_broadcast(const Shape& full, const Shape& other, const Shape& out) {
    if (full != out || other.size() > out.size()) return 0;
    const size_t lead = out.size() - other.size();
    for (size_t i = 0; i < lead; ++i)
      if (out[i] != 1) return 0;
    size_t k = other.size();
    while (k > 0 && other[k - 1] == 1) --k;
    for (size_t i = 0; i < k; ++i)
      if (other[i] != out[lead + i]) return 0;
    int64_t inner = 1;
    for (size_t i = lead + k; i < out.size(); ++i) inner *= out[i];
    return inner > 0 ? inner : 0;
  }

  IntKind kind_;
  IntIsa isa_;
  std::string where_;
  QuantParams a_, b_, o_;
  FixedMultiplier f_;
  AddMultipliers m_;
  int32_t lo_ = 0, hi_ = 0;
  std::vector<uint8_t> mul_table_;  // empty unless Mul with 8-bit operands and result
  int gate_ = -1;                   // find_gate: the operand that is a Table of the other one
  std::array<uint8_t, 256> gated_{};
};

// Add/Sub/Mul of a quantized value and a float constant (requant.h, ConstAffine).
class IntConstOperandKernel final : public Kernel {
 public:
  explicit IntConstOperandKernel(const IntNodeContext& c)
      : where_(c.ln.node->describe()), x_input_(1 - c.ln.const_input) {
    const Node& n = *c.ln.node;
    x_ = *c.L.params_of(n.inputs[static_cast<size_t>(x_input_)]);
    o_ = *c.L.params_of(c.ln.result);
    const Tensor& k = *c.g.initializer(n.inputs[static_cast<size_t>(c.ln.const_input)]);
    k_shape_ = k.shape();
    a_ = const_operand_affine(c.ln, c.L, k);
    activation_clamp(o_, c.ln.act_lo, c.ln.act_hi, &lo_, &hi_);
    if (c.isa != IntIsa::Reference) build_table(k.numel());
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& x = *in[static_cast<size_t>(x_input_)];
    const Shape shape = x_input_ == 0 ? broadcast_shapes(x.shape(), k_shape_, where_)
                                      : broadcast_shapes(k_shape_, x.shape(), where_);
    if (!table_.empty() && x.dtype() == storage_dtype(x_)) {
      // y = table[e][x]: e the constant's element, x the data's byte.
      Tensor y(storage_dtype(o_), shape);
      const uint8_t* px = static_cast<const uint8_t*>(x.raw());
      uint8_t* py = static_cast<uint8_t*>(y.raw());
      const uint8_t* t = table_.data();
      for_each_broadcast<2>(shape, {broadcast_strides(x.shape(), shape), broadcast_strides(k_shape_, shape)},
                            [=](int64_t i, int64_t ix, int64_t ik) { py[i] = t[ik << 8 | px[ix]]; });
      out[0] = std::move(y);
      return;
    }
    const std::vector<int32_t> X = to_int32(x);
    std::vector<int32_t> y(static_cast<size_t>(numel(shape)));
    for_each_broadcast<2>(shape, {broadcast_strides(x.shape(), shape), broadcast_strides(k_shape_, shape)},
                          [&](int64_t i, int64_t ix, int64_t ik) {
                            y[static_cast<size_t>(i)] =
                                result(X[static_cast<size_t>(ix)], static_cast<size_t>(ik));
                          });
    out[0] = from_int32(y, storage_dtype(o_), shape);
  }

 private:
  // For 8-bit data and result and a constant of at most 1024 elements (a bias, a layer scale, a per-channel
  // shift; a table of at most 256 KB): every (element, data byte) pair's result, computed once with the
  // formula run() uses otherwise, so equal to it by construction. The per-element 64-bit formula on int32
  // copies made a ConvNeXt's Linear bias Add its slowest op (14 ns per element).
  void build_table(int64_t k_numel) {
    const DType tx = storage_dtype(x_);
    if (!is8(tx) || !is8(storage_dtype(o_)) || k_numel < 1 || k_numel > 1024) return;
    table_.resize(static_cast<size_t>(k_numel) * 256);
    for (size_t e = 0; e < static_cast<size_t>(k_numel); ++e)
      for (int ux = 0; ux < 256; ++ux)
        table_[e << 8 | static_cast<size_t>(ux)] =
            static_cast<uint8_t>(result(tx == DType::Int8 ? static_cast<int8_t>(ux) : ux, e));
  }

  // The stored output for data value x (a grid level) at element e of the constant.
  int32_t result(int64_t x, size_t e) const {
    return clamp_q(o_.zero_point[0] + a_.at(x - x_.zero_point[0], e), lo_, hi_);
  }

  std::string where_;
  int x_input_;
  QuantParams x_, o_;
  Shape k_shape_;
  ConstAffine a_;
  int32_t lo_ = 0, hi_ = 0;
  std::vector<uint8_t> table_;  // [constant element][data byte] → result byte; empty: the formula
};

class IntActivationKernel final : public Kernel {
 public:
  explicit IntActivationKernel(const IntNodeContext& c) : where_(c.ln.node->describe()) {
    const Node& n = *c.ln.node;
    x_ = *c.L.params_of(n.inputs[0]);
    o_ = *c.L.params_of(c.ln.result);
    const double r = static_cast<double>(x_.scale[0]) / o_.scale[0];
    pos_ = fixed_multiplier(r, where_);
    if (n.op_type == "LeakyRelu") {
      neg_.push_back(fixed_multiplier(static_cast<double>(n.attr_float("alpha", 0.01f)) * r, where_));
    } else if (n.op_type == "PRelu") {
      const Tensor& s = *c.g.initializer(n.inputs[1]);
      slope_shape_ = s.shape();
      for (int64_t i = 0; i < s.numel(); ++i)
        neg_.push_back(fixed_multiplier(static_cast<double>(s.data<float>()[i]) * r, where_ + " slope " + std::to_string(i)));
    } else {
      neg_.push_back(pos_);  // Relu, Clip: the bounds are the clamp
    }
    activation_clamp(o_, c.ln.act_lo, c.ln.act_hi, &lo_, &hi_);
    prelu_ = n.op_type == "PRelu";
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& x = *in[0];
    const std::vector<int32_t> X = to_int32(x);
    std::vector<int32_t> y(X.size());
    const int64_t zx = x_.zero_point[0], zo = o_.zero_point[0];
    auto one = [&](int64_t i, int64_t si) {
      const int64_t d = X[static_cast<size_t>(i)] - zx;
      const int64_t v = d >= 0 ? requantize(d, pos_) : requantize(d, neg_[static_cast<size_t>(si)]);
      y[static_cast<size_t>(i)] = clamp_q(zo + v, lo_, hi_);
    };
    if (prelu_) {
      const Shape xs = x.shape();
      if (broadcast_shapes(xs, slope_shape_, where_) != xs)
        throw Error(where_ + ": slope " + shape_str(slope_shape_) + " does not broadcast to X " + shape_str(xs));
      for_each_broadcast<1>(xs, {broadcast_strides(slope_shape_, xs)}, [&](int64_t i, int64_t si) { one(i, si); });
    } else {
      for (int64_t i = 0; i < static_cast<int64_t>(X.size()); ++i) one(i, 0);
    }
    out[0] = from_int32(y, storage_dtype(o_), x.shape());
  }

 private:
  std::string where_;
  QuantParams x_, o_;
  FixedMultiplier pos_;
  std::vector<FixedMultiplier> neg_;
  Shape slope_shape_;
  bool prelu_ = false;
  int32_t lo_ = 0, hi_ = 0;
};

class IntConcatKernel final : public Kernel {
 public:
  explicit IntConcatKernel(const IntNodeContext& c) : where_(c.ln.node->describe()) {
    const Node& n = *c.ln.node;
    axis_ = n.attr_int("axis", 0);
    o_ = *c.L.params_of(c.ln.result);
    for (const auto& v : n.inputs) {
      in_.push_back(*c.L.params_of(v));
      f_.push_back(fixed_multiplier(static_cast<double>(in_.back().scale[0]) / o_.scale[0], where_ + " input '" + v + "'"));
    }
    // 8-bit inputs and output: each input's 256 possible bytes requantized once, with the formula below.
    bool bytes = c.isa != IntIsa::Reference && is8(storage_dtype(o_));
    for (const auto& p : in_) bytes = bytes && is8(storage_dtype(p));
    if (!bytes) return;
    for (size_t i = 0; i < in_.size(); ++i) {
      std::array<uint8_t, 256> m{};
      for (int b = 0; b < 256; ++b)
        m[static_cast<size_t>(b)] = static_cast<uint8_t>(
            result(storage_dtype(in_[i]) == DType::Int8 ? static_cast<int8_t>(b) : b, i));
      maps_.push_back(m);
    }
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Shape& s0 = in[0]->shape();
    const int64_t axis = normalize_axis(axis_, static_cast<int64_t>(s0.size()), where_);
    Shape ys = s0;
    ys[static_cast<size_t>(axis)] = 0;
    for (const Tensor* t : in) {
      if (t->rank() != static_cast<int64_t>(s0.size())) throw Error(where_ + ": inputs of different ranks");
      for (size_t d = 0; d < s0.size(); ++d)
        if (static_cast<int64_t>(d) != axis && t->shape()[d] != s0[d])
          throw Error(where_ + ": input " + t->str() + " does not match " + in[0]->str() + " off the axis");
      ys[static_cast<size_t>(axis)] += t->dim(axis);
    }
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= ys[static_cast<size_t>(d)];
    for (size_t d = static_cast<size_t>(axis) + 1; d < ys.size(); ++d) inner *= ys[d];
    const int64_t row = ys[static_cast<size_t>(axis)] * inner;
    bool bytes = !maps_.empty();
    for (size_t i = 0; i < in.size(); ++i) bytes = bytes && in[i]->dtype() == storage_dtype(in_[i]);
    if (bytes) {
      // Each (outer row, input) segment through its input's byte map, in parallel.
      Tensor y(storage_dtype(o_), ys);
      uint8_t* py = static_cast<uint8_t*>(y.raw());
      std::vector<int64_t> at(in.size() + 1, 0);
      for (size_t i = 0; i < in.size(); ++i) at[i + 1] = at[i] + in[i]->dim(axis) * inner;
      const int64_t k = static_cast<int64_t>(in.size());
      parallel_for(
          0, outer * k,
          [&](int64_t item) {
            const size_t i = static_cast<size_t>(item % k);
            const int64_t o = item / k, len = at[i + 1] - at[i];
            const std::array<uint8_t, 256> map = maps_[i];
            const uint8_t* const x = static_cast<const uint8_t*>(in[i]->raw()) + o * len;
            uint8_t* const dst = py + o * row + at[i];
            for (int64_t j = 0; j < len; ++j) dst[j] = map[x[j]];
          },
          row / k + 1);
      out[0] = std::move(y);
      return;
    }
    std::vector<int32_t> y(static_cast<size_t>(numel(ys)));
    int64_t at = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      const std::vector<int32_t> X = to_int32(*in[i]);
      const int64_t len = in[i]->dim(axis) * inner;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < len; ++j)
          y[static_cast<size_t>(o * row + at + j)] = result(X[static_cast<size_t>(o * len + j)], i);
      at += len;
    }
    out[0] = from_int32(y, storage_dtype(o_), ys);
  }

 private:
  std::string where_;
  int64_t axis_ = 0;
  QuantParams o_;
  std::vector<QuantParams> in_;
  std::vector<FixedMultiplier> f_;
  std::vector<std::array<uint8_t, 256>> maps_;  // per input, for 8-bit inputs and output

  // The stored output for level x of input i.
  int32_t result(int64_t x, size_t i) const {
    return clamp_q(o_.zero_point[0] + requantize(x - in_[i].zero_point[0], f_[i]), o_.qmin, o_.qmax);
  }
};

// y = table[x − qmin] (IntKind::Table, level_table.h), through a 256-entry map of the input's storage bytes.
class IntTableKernel final : public Kernel {
 public:
  explicit IntTableKernel(const IntNodeContext& c) : where_(c.ln.node->describe()) {
    x_ = *c.L.params_of(c.ln.node->inputs[0]);
    o_ = *c.L.params_of(c.ln.result);
    if (!is8(storage_dtype(x_))) throw Error(where_ + ": a table needs an 8-bit input");
    by_byte_ = table_by_byte(c.ln.table, x_);
  }

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& x = *in[0];
    if (x.dtype() != storage_dtype(x_))
      throw Error(where_ + ": input is " + x.str() + ", expected " + dtype_name(storage_dtype(x_)));
    const auto* px = static_cast<const uint8_t*>(x.raw());
    const int64_t n = x.numel();
    Tensor y(storage_dtype(o_), x.shape());
    dispatch_act(y.dtype(), where_, [&](auto tag) {
      using T = decltype(tag);
      std::array<T, 256> t;
      for (size_t b = 0; b < 256; ++b) t[b] = static_cast<T>(by_byte_[b]);
      T* py = y.data<T>();
      constexpr int64_t kChunk = 16384;
      parallel_for(
          0, (n + kChunk - 1) / kChunk,
          [&t, px, py, n](int64_t c) {
            // Locals: the closure may alias the output bytes, so its fields would be reloaded per element.
            const std::array<T, 256> map = t;
            const uint8_t* const x = px;
            T* const out = py;
            const int64_t end = std::min(n, (c + 1) * kChunk);
            for (int64_t i = c * kChunk; i < end; ++i) out[i] = map[x[i]];
          },
          kChunk);
    });
    out[0] = std::move(y);
  }

 private:
  std::string where_;
  QuantParams x_, o_;
  std::array<int32_t, 256> by_byte_{};
};

}  // namespace

std::unique_ptr<Kernel> make_int_elementwise_kernel(const IntNodeContext& c) {
  switch (c.ln.kind) {
    case IntKind::Add:
    case IntKind::Sub:
    case IntKind::Mul:
      return std::make_unique<IntBinaryKernel>(c);
    case IntKind::ConstOperand:
      return std::make_unique<IntConstOperandKernel>(c);
    case IntKind::Concat:
      return std::make_unique<IntConcatKernel>(c);
    case IntKind::Activation:
      return std::make_unique<IntActivationKernel>(c);
    case IntKind::Table:
      return std::make_unique<IntTableKernel>(c);
    default:
      throw UnsupportedError(c.ln.node->describe() + ": not an elementwise integer node");
  }
}

}  // namespace qs
