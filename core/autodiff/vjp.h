// Vector–Jacobian products (reverse mode) for the ops of the float runtime, one group per file
// (core/autodiff/vjp_*.cpp), keyed like the forward kernels by (op_type, opset range).
//
// A VJP factory reads and validates the node once (as a kernel factory does, from the same KernelInit)
// and returns a Vjp whose backward() maps the gradient of a scalar loss with respect to the node's
// outputs to its gradient with respect to the inputs, given the forward inputs and outputs the tape kept.
// Ops are differentiated exactly where they are smooth; at kinks (Relu at 0, the ends of Clip, ties of
// MaxPool) the one-sided choice is stated next to the op. Accumulations are done in double where a
// gradient sums many terms (weights, broadcast operands), so float32 results match finite differences.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/ops/kernel.h"

namespace qs {

struct VjpArgs {
  std::span<const Tensor* const> inputs;  // forward inputs; nullptr where omitted
  std::span<const Tensor> outputs;        // forward outputs (undefined where omitted)
  // dLoss/dOutput per output, same shape as the output. Every float32 output has one (zeros when no
  // gradient reaches it); other outputs (e.g. MaxPool's Indices) are undefined.
  std::span<const Tensor> grad_outputs;
  std::span<const bool> need;  // need[i]: the caller wants the gradient of input i
};

class Vjp {
 public:
  virtual ~Vjp() = default;
  // Assigns a float32 tensor of the input's shape to grad_inputs[i] for every i with need[i] (others may
  // stay undefined). Must be safe to call concurrently. Throws Error naming the node on shapes it cannot
  // handle.
  virtual void backward(const VjpArgs& a, std::span<Tensor> grad_inputs) const = 0;
};

using VjpFactory = std::function<std::unique_ptr<Vjp>(const KernelInit&)>;

// A float32 tensor of shape s holding v (gradients accumulated in double).
inline Tensor from_double(const std::vector<double>& v, const Shape& s) {
  Tensor t(DType::Float32, s);
  float* p = t.data<float>();
  for (size_t i = 0; i < v.size(); ++i) p[i] = static_cast<float>(v[i]);
  return t;
}

// Forward input i, which must be present and float32 (`where` names the node in errors).
inline const Tensor& in_f32(const VjpArgs& a, size_t i, const std::string& where) {
  const Tensor* t = i < a.inputs.size() ? a.inputs[i] : nullptr;
  if (!t) throw Error(where + ": input " + std::to_string(i) + " is missing");
  if (t->dtype() != DType::Float32)
    throw UnsupportedError(where + ": gradient through " + dtype_name(t->dtype()) +
                           " values is not supported (float32 only)");
  return *t;
}

class VjpRegistry {
 public:
  static const VjpRegistry& instance();
  void add(const std::string& op_type, int since, int until, VjpFactory factory);
  // Throws UnsupportedError naming the node when the op (at this opset) has no VJP.
  std::unique_ptr<Vjp> create(const KernelInit& init) const;
  bool has(const std::string& op_type) const;
  std::vector<std::string> op_types() const;

 private:
  struct Entry {
    std::string op_type;
    int since, until;
    VjpFactory factory;
  };
  std::vector<Entry> entries_;
};

// A Vjp defined by a lambda: void(const VjpArgs&, std::span<Tensor>).
template <typename F>
class LambdaVjp final : public Vjp {
 public:
  explicit LambdaVjp(F f) : f_(std::move(f)) {}
  void backward(const VjpArgs& a, std::span<Tensor> g) const override { f_(a, g); }

 private:
  F f_;
};
template <typename F>
std::unique_ptr<Vjp> make_vjp(F f) {
  return std::make_unique<LambdaVjp<F>>(std::move(f));
}

// Registration, one function per group (core/autodiff/vjp_*.cpp).
void register_elementwise_vjps(VjpRegistry& r);  // activations, unary math, Add/Sub/Mul/Div/Pow, Clip, PRelu
void register_linear_vjps(VjpRegistry& r);       // Gemm, MatMul, Conv, ConvTranspose
void register_pool_vjps(VjpRegistry& r);         // MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool
void register_norm_vjps(VjpRegistry& r);      // BatchNormalization, LayerNormalization, Softmax, LogSoftmax
void register_reduce_vjps(VjpRegistry& r);    // ReduceMean, ReduceSum
void register_movement_vjps(VjpRegistry& r);  // Reshape, Transpose, Concat, Slice, Gather, Pad, ...
void register_quantize_vjps(VjpRegistry& r);  // DequantizeLinear (with respect to its scale)
void register_local_vjps(VjpRegistry& r);     // LRN, Instance/Group/MVN/Lp norms, TopK, CumSum, ...

// Helpers shared by the VJP files.
// Sums `g` (float32, shape `from`) over the axes along which `to` was broadcast to `from`: the gradient of
// a broadcast operand. Accumulates in double.
Tensor sum_to_shape(const Tensor& g, const Shape& to);
// A float32 tensor of `shape` holding zeros.
Tensor zeros_f32(const Shape& shape);

}  // namespace qs
