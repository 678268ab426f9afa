// OBQ (Frantar & Alistarh, Optimal Brain Compression, 2022): greedy per-row quantization with optimal
// compensation of the remaining weights (DESIGN.md §5), on the plan's grid. The engine is obs.h.
#pragma once

#include <string>

#include "core/algo/obc/obs.h"

namespace qs::obc {

struct ObqOptions {
  double damp = 0.01;  // λ: λ·mean(diag H) is added to the diagonal
  int block = 0;       // lazy-update block (0: automatic)
};

// Quantizes every weight of `w` (rows × d) onto `grid` in place, for the layer Hessian `h` (d × d, undamped).
// Dead columns are set to 0. `where` prefixes errors. Progress/cancel as obs_rows.
ObsStats obq_quantize(RowMat<float>& w, const Eigen::MatrixXd& h, const RowGrid& grid, const ObqOptions& o,
                      const ProgressFn& progress = nullptr, const std::string& where = "OBQ");

}  // namespace qs::obc
