// Op kernels, TFLite-Micro style: a factory validates the node once (attributes, opset, constant inputs,
// weight packing) and returns a Kernel whose run() only computes. Anything the kernel cannot do exactly
// per the ONNX spec is refused in the factory with UnsupportedError naming the node, op, opset and the
// attribute or input at fault — never a silently wrong answer mid-run.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/graph/graph.h"
#include "core/tensor/tensor.h"

namespace qs {

// What a factory sees of the node it builds a kernel for.
struct KernelInit {
  const Node& node;
  int64_t opset = 0;  // version of the node's domain imported by the model
  // Value of a constant input (an initializer or a folded constant), or nullptr when the input is
  // computed at run time or omitted. Lets kernels pack weights and read shape-like inputs once.
  std::function<const Tensor*(const std::string&)> lookup_constant;

  const Tensor* constant_input(size_t i) const {
    if (!node.has_input(i) || !lookup_constant) return nullptr;
    return lookup_constant(node.inputs[i]);
  }
  // "node 'conv1' (Conv, opset 13)" for error messages.
  std::string where() const { return "node '" + node.name + "' (" + node.op_type + ", opset " + std::to_string(opset) + ")"; }
  [[noreturn]] void unsupported(const std::string& what) const { throw UnsupportedError(where() + ": " + what); }
  [[noreturn]] void invalid(const std::string& what) const { throw Error(where() + ": " + what); }
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // inputs.size() == node.inputs.size(); an omitted optional input is nullptr.
  // outputs.size() == node.outputs.size(); the kernel assigns a fresh Tensor to each output (it may share
  // an input's buffer only if it does not write to it, e.g. Reshape). Throws Error (naming the node) for
  // inputs whose shapes or types are invalid. Must be safe to call concurrently (no mutable state).
  virtual void run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const = 0;
};

using KernelFactory = std::function<std::unique_ptr<Kernel>(const KernelInit&)>;

// Ops keyed by (domain, op_type, opset range), as in ONNX Runtime. A range exists because the op's
// semantics changed at that version (e.g. Clip took min/max as attributes before opset 11).
class OpRegistry {
 public:
  static const OpRegistry& instance();

  // Registers `factory` for opsets [since, until] (inclusive).
  void add(const std::string& domain, const std::string& op_type, int since, int until, KernelFactory factory);
  // nullptr when not supported.
  const KernelFactory* find(const std::string& domain, const std::string& op_type, int64_t opset) const;
  // Creates the kernel; throws UnsupportedError naming the node when the op/opset is not supported.
  std::unique_ptr<Kernel> create(const KernelInit& init) const;
  // Every registered op type of the default domain (for `info` and the conformance report).
  std::vector<std::string> op_types() const;

 private:
  struct Entry {
    std::string domain, op_type;
    int since, until;
    KernelFactory factory;
  };
  std::vector<Entry> entries_;
};

// Convenience: a kernel defined by a lambda/function object. F: void(std::span<const Tensor* const>,
// std::span<Tensor>).
template <typename F>
class LambdaKernel final : public Kernel {
 public:
  explicit LambdaKernel(F f) : f_(std::move(f)) {}
  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override { f_(in, out); }

 private:
  F f_;
};
template <typename F>
std::unique_ptr<Kernel> make_kernel(F f) {
  return std::make_unique<LambdaKernel<F>>(std::move(f));
}

// Registration functions, one per op group (core/ops/*.cpp); called once by OpRegistry::instance().
void register_conv_ops(OpRegistry& r);         // Conv, ConvTranspose
void register_matmul_ops(OpRegistry& r);       // Gemm, MatMul
void register_pool_ops(OpRegistry& r);         // MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool
void register_norm_ops(OpRegistry& r);         // BatchNormalization, LayerNormalization, Softmax, LogSoftmax,
                                               // LRN, Instance/GroupNormalization, MVN, LpNormalization
void register_elementwise_ops(OpRegistry& r);  // unary/binary math, activations, comparisons, logic, Cast, Where
void register_reduce_ops(OpRegistry& r);       // ReduceMean, ReduceSum, ReduceMax, ReduceMin, ...
void register_select_ops(OpRegistry& r);       // TopK, Hardmax, CumSum, NonMaxSuppression
void register_shape_ops(OpRegistry& r);        // Reshape, Transpose, Concat, Slice, Gather, Shape, ...
void register_resize_pad_ops(OpRegistry& r);   // Pad, Resize
void register_quantized_ops(OpRegistry& r);    // QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
                                               // MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv

}  // namespace qs
