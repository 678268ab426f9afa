// The Optimal Brain Surgeon engine shared by OBQ and ExactOBS (DESIGN.md §5): rows of W are compressed
// one weight at a time, greedily. With Hinv the inverse Hessian over the row's remaining weights, fixing
// weight j at the target t_j (0 when pruning, the nearest grid value when quantizing) costs
//   ΔL_j = (w_j − t_j)² / (2·[Hinv]_jj)                        (L = ½·δᵀHδ = ‖δX‖²/N, see hessian.h)
// and the optimal compensation of the others is w ← w − Hinv_:,j·(w_j − t_j)/[Hinv]_jj; then row and
// column j are eliminated from Hinv: Hinv ← Hinv − Hinv_:,j·Hinv_j,:/[Hinv]_jj. Each step fixes the weight
// with the least ΔL (first index on ties). Pruning first removes `prune` weights (under an N:M constraint
// when given: a column is a candidate only while its group holds fewer than the allowed zeros); then, with
// a grid, every remaining weight is quantized the same way (OBC's compound compression).
//
// Cost and how it is kept near the FMA rate: the eliminations are applied lazily. Within a block of B
// steps Hinv = M − U·Uᵀ, with M the matrix at the start of the block and U the B scaled columns
// eliminated so far (u = Hinv_:,j/√[Hinv]_jj), so a step costs one m×B matrix-vector product; at the end
// of a block the eliminated rows and columns are dropped from M in place and M ← M − U·Uᵀ is applied as
// one symmetric rank-B update (Eigen's blocked SYRK, lower triangle, then mirrored). A row of d weights
// thus costs about d³/6 multiply-adds instead of the d³ of explicit downdates. Rows are independent: they
// are spread over the threads, each with its own preallocated buffers (nothing is allocated per step).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "core/algo/obc/grid.h"
#include "core/data/dataset.h"

namespace qs::obc {

template <typename T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ColMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

// A layer Hessian made usable (DESIGN.md §5): a dead column (H_dd = 0: the input never varies from 0)
// gets H_dd = 1 and its weights are set to 0 by the callers; then λ·mean(diag H) is added to the diagonal.
struct PreparedHessian {
  Eigen::MatrixXd h;
  std::vector<uint8_t> dead;
  double damp_added = 0;
};
PreparedHessian prepare_hessian(const Eigen::MatrixXd& h, double damp);
// H⁻¹ (full, symmetric) by Cholesky in double. Throws Error starting with `where` when H is not positive
// definite (raise the dampening).
Eigen::MatrixXd hessian_inverse(const PreparedHessian& p, const std::string& where);
// Sets the dead columns of W to 0.
template <typename Derived>
void zero_dead_columns(Eigen::MatrixBase<Derived>& w, const std::vector<uint8_t>& dead) {
  for (size_t c = 0; c < dead.size(); ++c)
    if (dead[c]) w.col(static_cast<Eigen::Index>(c)).setZero();
}

// ½·Σ_r (W_r − Ŵ_r)ᵀ·H·(W_r − Ŵ_r) = ‖WX − ŴX‖²/N for the (undamped) layer Hessian H.
double layer_loss(const RowMat<float>& w, const RowMat<float>& what, const Eigen::MatrixXd& h);

struct ObsTask {
  const RowGrid* grid = nullptr;  // quantize every weight left after pruning; nullptr: only prune
  std::vector<int64_t> prune;     // weights to prune in each row (empty: none)
  const std::vector<int32_t>* nm_groups = nullptr;  // N:M: each column's group (nullptr: unconstrained)
  int nm_max_zeros = 0;                             // zeros allowed in a group
  int block = 0;                                    // lazy-update block B (0: automatic)
  bool record = false;                              // fill the traces
};

// Per row, step by step: the column fixed and its ΔL.
struct ObsTrace {
  std::vector<int32_t> order;
  std::vector<double> loss;
};

struct ObsStats {
  int64_t steps = 0;       // weights fixed
  int64_t breakdowns = 0;  // steps whose pivot was not positive in T's precision (fixed uncompensated)
  double seconds = 0;
};

// Runs the greedy procedure on every row of `w` (rows × d) with `hinv` (d × d, the prepared Hessian's
// inverse), in place. `traces`, when given and task.record is set, receives one trace per row. `progress`
// is called between batches of rows with (rows done, rows); returning false throws CancelledError (rows
// already done keep their new values: callers work on a copy). Instantiated for float (the fast path) and
// double (tests).
template <typename T>
ObsStats obs_rows(RowMat<T>& w, const ColMat<T>& hinv, const ObsTask& task, std::vector<ObsTrace>* traces,
                  const ProgressFn& progress);

}  // namespace qs::obc
