// Layer Hessians for Optimal Brain Compression: H = 2·X·Xᵀ / N, where the N columns of X are the input
// vectors the layer's weight rows see (ObcLayer, layer.h): for Conv the im2col columns of every output
// position of every sample (rows in the flattened-weight order Cin/g·k1···kn, one Hessian per group);
// for Gemm/MatMul the input rows (or columns) of the operand multiplied with the weight.
//
// With this scaling ½·δᵀHδ = ‖δ·X‖²/N for a change δ of one weight row, so every loss QuantScope reports
// for a layer (‖WX − ŴX‖²/N, summed over output channels) is ½·Σ_r δ_rᵀ H δ_r.
//
// Streamed: add() takes one batch of the layer's input at a time and accumulates X·Xᵀ in double (the
// products too, not only the sums), in tiles whose order depends only on the shapes, so the result is the
// same whatever the thread count.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "core/algo/obc/layer.h"
#include "core/tensor/tensor.h"

namespace qs::obc {

class HessianAccumulator {
 public:
  explicit HessianAccumulator(ObcLayer layer);

  // Adds the columns of one batch of the layer's input (float32). Throws Error naming the layer when the
  // shape does not fit the weight.
  void add(const Tensor& x);

  const ObcLayer& layer() const { return l_; }
  int64_t columns() const { return n_; }  // N so far
  int64_t groups() const { return l_.groups; }
  int64_t dim() const { return l_.cols; }

  // H of group g (full symmetric, dim × dim). Throws Error when no column has been added.
  Eigen::MatrixXd hessian(int64_t group = 0) const;

 private:
  // acc_[g] += X·Xᵀ (lower triangle) for X = dim × n, row-major.
  void add_columns(int64_t group, const double* x, int64_t n);
  void add_conv(const Tensor& x);

  ObcLayer l_;
  std::vector<std::vector<double>> acc_;  // per group: dim × dim row-major, lower triangle used
  int64_t n_ = 0;
  std::vector<double> cols_;  // reused: the columns of one chunk, dim × n
  std::vector<float> fcols_;  // reused: im2col output before the conversion to double
};

}  // namespace qs::obc
