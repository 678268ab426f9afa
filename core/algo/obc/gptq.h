// GPTQ (Frantar et al., 2023): one column order for all rows; each column is quantized and its error is
// propagated to the columns not yet quantized through the Cholesky factor of H⁻¹, lazily per block of
// columns (DESIGN.md §5). Options: dampening, block size, act-order (columns by decreasing diag H) and
// groups (a scale per row and group of `group` consecutive columns, from the min/max of the current
// weights when the group starts, with the plan's bits and symmetry — GPTQ's grouping).
//
// Computation. With U the upper Cholesky factor of H⁻¹ (H⁻¹ = UᵀU), GPTQ's error recursion
// (err_i = (w_i − q_i)/U_ii, w_k −= err_i·U_ik) is equivalent to W₀ − Q = E·U. Writing V = U⁻¹ (upper,
// H = V·Vᵀ) the weight of column j when it is quantized is
//   w_j = w₀_j + (Σ_{i<j} (w₀_i − q_i)·V_ij) / V_jj,
// so GPTQ needs only V, a Cholesky factor of H taken in reverse column order (V = P·L·P with
// P·H·P = L·Lᵀ and P the reversal) — no inverse and no second factorization. The sum is accumulated per
// block: one GEMM brings in the blocks already done, rank-1 updates the columns within the block. (The
// current values of a whole group of later columns G, needed for its range, are W₀_G + D_A·V_AG·V_GG⁻¹
// with A the columns done: a small triangular solve.) The whole computation runs in reversed column
// order, where V is L itself, so the factor is read in place by plain GEMMs (no transposed copy), and
// the factored matrix is built in float straight from one triangle of H (never copied in double).
// Cost: d³/6 multiply-adds for the factorization plus rows·d²/2 for the updates, both on the tiled,
// pool-threaded kernels of linalg.h; the tests check the result against GPTQ's own formulation with U,
// unblocked.
#pragma once

#include <string>

#include "core/algo/obc/obs.h"

namespace qs::obc {

struct GptqOptions {
  double damp = 0.01;
  int block = 128;         // columns per lazy-update block (with groups: rounded to a multiple of group)
  bool act_order = false;  // quantize columns by decreasing diag(H)
  int group = 0;           // columns per quantization group; 0: the grid's own per-row scales
};

struct GptqStats {
  double seconds = 0;
  double factor_seconds = 0;  // of which the Cholesky factorization
};

// Quantizes `w` (rows × d) in place for the layer Hessian `h` (undamped). Without groups the values are
// on `grid`; with groups each row and group gets its own scale/zero point of grid.spec. Dead columns are
// set to 0. `progress` is called per column block with (columns done, d); false cancels (CancelledError).
GptqStats gptq_quantize(RowMat<float>& w, const Eigen::MatrixXd& h, const RowGrid& grid, const GptqOptions& o,
                        const ProgressFn& progress = nullptr, const std::string& where = "GPTQ");

}  // namespace qs::obc
