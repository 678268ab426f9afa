// A quantizable layer seen as Optimal Brain Compression sees it: a weight matrix W [rows × cols] whose
// row r produces output channel r from a column vector x of the layer's input, y_r = W_r · x. Its layer
// Hessian (hessian.h) is over the same columns.
//
// Mapping (rows are always the plan's per-channel axis, see core/quant/quant_points.h):
//   Conv      W [Cout, Cin/g, k1..kn] → rows = Cout, cols = Cin/g·k1···kn in the flattened weight order,
//             which is im2col's row order; rows [i·Cout/g, (i+1)·Cout/g) use the Hessian of group i.
//   Gemm      transB = 1: B [N, K] → rows = N, cols = K (as stored); transB = 0: B [K, N] → Bᵀ.
//   MatMul    constant right operand B [K, N] → Bᵀ; constant left operand A [M, K] (Y = A·X) → A.
// ConvTranspose, MatMul with a weight of rank ≠ 2 and weights shared by several layers are not supported
// (describe_obc_layer says why; the driver leaves those layers to round-to-nearest).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "core/graph/graph.h"
#include "core/ops/conv_geometry.h"
#include "core/quant/quant_points.h"

namespace qs::obc {

using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

enum class LayerKind { Conv, Gemm, MatMulRight, MatMulLeft };

struct ObcLayer {
  std::string layer;    // node name
  std::string op_type;  // Conv, Gemm, MatMul
  std::string weight;   // initializer name
  std::string input;    // the activation input value
  LayerKind kind = LayerKind::Gemm;
  int64_t rows = 0;         // output channels
  int64_t cols = 0;         // columns per group
  int64_t groups = 1;       // Conv groups (1 otherwise)
  bool transposed = false;  // the weight is stored [cols, rows]
  bool gemm_trans_a = false;
  Shape weight_shape;
  ConvAttrs conv;           // Conv only
  int64_t kernel_size = 1;  // Conv: k1···kn (cols = channels per group · kernel_size); 1 otherwise

  int64_t rows_per_group() const { return rows / groups; }
  // "layer 'conv1' (Conv, weight 'conv1.weight')" for messages.
  std::string describe() const;
};

// Describes the layer of `wp` in `g`. Throws UnsupportedError with the reason when OBC cannot handle it.
ObcLayer describe_obc_layer(const Graph& g, const WeightPoint& wp);

// The weight as the [rows × cols] matrix above, and back into a tensor of the weight's shape.
RowMatrixXf weight_matrix(const Tensor& w, const ObcLayer& l);
Tensor weight_tensor(const RowMatrixXf& m, const ObcLayer& l);

// Column groups for N:M sparsity "along input channels": M consecutive input channels at the same kernel
// offset (Conv: column c = channel·kernel_size + offset falls in group (channel / M, offset); Gemm/MatMul:
// column c in group c / M). Returns the group of every column; throws Error naming the layer when the
// input channels per group are not a multiple of M.
std::vector<int32_t> nm_column_groups(const ObcLayer& l, int m);

}  // namespace qs::obc
