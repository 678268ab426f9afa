#include "core/algo/obc/obq.h"

#include "core/common/error.h"

namespace qs::obc {

ObsStats obq_quantize(RowMat<float>& w, const Eigen::MatrixXd& h, const RowGrid& grid, const ObqOptions& o,
                      const ProgressFn& progress, const std::string& where) {
  if (h.rows() != w.cols()) throw Error(where + ": the Hessian does not match the weight");
  const PreparedHessian p = prepare_hessian(h, o.damp);
  zero_dead_columns(w, p.dead);
  const ColMat<float> hinv = hessian_inverse(p, where).cast<float>();
  ObsTask task;
  task.grid = &grid;
  task.block = o.block;
  return obs_rows<float>(w, hinv, task, nullptr, progress);
}

}  // namespace qs::obc
