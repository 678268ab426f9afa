#include "core/int/level_table.h"

#include <algorithm>
#include <set>

#include "core/int/int_tensor.h"
#include "core/ops/kernel.h"

namespace qs {

namespace {

// One-input ops of the float runtime whose output element depends on the same input element only.
// (Relu, Clip, LeakyRelu and PRelu have their own integer form, Activation.)
const std::set<std::string> kUnary = {
    "Abs",  "Acos",     "Acosh",      "Asin",  "Asinh", "Atan",   "Atanh",          "Ceil",      "Celu",
    "Cos",  "Cosh",     "Elu",        "Erf",   "Exp",   "Floor",  "HardSigmoid",    "HardSwish", "Log",
    "Mish", "Neg",      "Reciprocal", "Round", "Selu",  "Shrink", "Sigmoid",        "Sign",      "Sin",
    "Sinh", "Softplus", "Softsign",   "Sqrt",  "Tan",   "Tanh",   "ThresholdedRelu"};

}  // namespace

bool tabulable_op(const Graph& g, const Node& n) {
  if (!n.domain.empty() || n.outputs.size() != 1 || !n.has_input(0)) return false;
  if (kUnary.count(n.op_type)) return n.num_inputs() == 1;
  if (n.op_type == "Pow") {
    const Tensor* e = n.has_input(1) ? g.initializer(n.inputs[1]) : nullptr;
    return n.num_inputs() == 2 && e && e->numel() == 1;
  }
  return false;
}

std::vector<int32_t> level_table(const Graph& g, const Node& n, const QuantParams& in, const QuantParams& out,
                                 std::string* why) {
  const DType t = storage_dtype(in);
  if (t != DType::Int8 && t != DType::UInt8) {
    *why = "its input is held in " + dtype_name(t) + "; tables are built for 8-bit inputs";
    return {};
  }
  const KernelInit init{n, g.opset, [&g](const std::string& v) { return g.initializer(v); }};
  const std::unique_ptr<Kernel> kernel = OpRegistry::instance().create(init);
  // The island's levels for x, a float tensor of dequantized levels.
  auto island = [&](const Tensor& x) {
    std::vector<const Tensor*> ins(n.inputs.size(), nullptr);
    ins[0] = &x;
    for (size_t i = 1; i < n.inputs.size(); ++i)
      ins[i] = n.inputs[i].empty() ? nullptr : g.initializer(n.inputs[i]);
    std::vector<Tensor> outs(1);
    kernel->run(ins, outs);
    return to_int32(quantize(outs[0], out));
  };
  const int64_t count = static_cast<int64_t>(in.qmax) - in.qmin + 1;
  std::vector<int32_t> levels(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) levels[static_cast<size_t>(i)] = in.qmin + static_cast<int32_t>(i);
  const Tensor x = dequantize(from_int32(levels, t, {count}), in);
  const std::vector<int32_t> table = island(x);
  // Every level again, at each offset of a vector (shifted by 1..16 elements, so both the peeled and the
  // vectorized parts of a kernel see it) and alone (the scalar remainder).
  const float* px = x.data<float>();
  auto differs = [&](int64_t pad) {
    Tensor s(DType::Float32, {pad + count + 7});
    float* ps = s.data<float>();
    for (int64_t i = 0; i < pad; ++i) ps[i] = px[0];
    for (int64_t i = 0; i < count; ++i) ps[pad + i] = px[i];
    for (int64_t i = 0; i < 7; ++i) ps[pad + count + i] = px[0];
    const std::vector<int32_t> r = island(s);
    return !std::equal(table.begin(), table.end(), r.begin() + pad);
  };
  bool same = true;
  for (int64_t pad = 1; pad <= 16 && same; ++pad) same = !differs(pad);
  for (int64_t i = 0; i < count && same; ++i) {
    Tensor one(DType::Float32, {1});
    one.data<float>()[0] = px[i];
    same = island(one)[0] == table[static_cast<size_t>(i)];
  }
  if (!same) {
    *why = "its float kernel does not give the same result at every position, so no table equals it";
    return {};
  }
  return table;
}

std::array<int32_t, 256> table_by_byte(const std::vector<int32_t>& table, const QuantParams& in) {
  const bool is_signed = storage_dtype(in) == DType::Int8;
  if (table.size() != static_cast<size_t>(in.qmax - in.qmin + 1))
    throw Error("level table of " + std::to_string(table.size()) + " entries for " +
                std::to_string(in.qmax - in.qmin + 1) + " input levels");
  std::array<int32_t, 256> r{};
  for (int b = 0; b < 256; ++b) {
    const int32_t level = std::clamp(is_signed ? static_cast<int8_t>(b) : b, in.qmin, in.qmax);
    r[static_cast<size_t>(b)] = table[static_cast<size_t>(level - in.qmin)];
  }
  return r;
}

}  // namespace qs
