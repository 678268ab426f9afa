// ExactOBS pruning (Optimal Brain Compression, §4): the greedy OBS procedure of obs.h with target 0 and
// score w_j²/[Hinv]_jj, per row, with the optimal update of the remaining weights.
//
// - Unstructured, to a target sparsity: one recording pass per row gives the ΔL of every step of its
//   greedy path; the sequences are made non-decreasing (running maximum) and the round(s·rows·cols)
//   smallest steps over all rows of the layer are selected (ties by row, then step), which is a prefix
//   of each row: that prefix length is the row's prune count (select_prune_counts). The rows are then
//   pruned to their counts.
// - N:M (N of every M kept, so 2:4 and 4:8 prune half): M consecutive input channels at one kernel
//   offset form a group (layer.h, nm_column_groups); a column is a candidate only while its group holds
//   fewer than M − N zeros, and every row prunes cols·(M−N)/M weights, so each group ends with exactly
//   M − N zeros.
// - Prune then quantize: with a grid, the row continues after pruning and quantizes every remaining
//   weight as OBQ does (OBC's compound compression), the pruned weights staying 0.
// magnitude_prune is the baseline: the same sparsity or pattern by |w| alone, without compensation.
#pragma once

#include <string>
#include <vector>

#include "core/algo/obc/obs.h"

namespace qs::obc {

struct PruneSpec {
  double sparsity = 0.5;   // unstructured: fraction of the layer's weights set to 0, in [0, 1)
  int nm_n = 0, nm_m = 0;  // N:M when nm_m > 0
  bool nm() const { return nm_m > 0; }
  // Checks ranges; throws Error.
  void validate() const;
};

// Unstructured global selection over all rows of a layer from their recorded traces (each the full
// greedy path of its row). Returns each row's prune count; their sum is round(sparsity·Σ path lengths).
std::vector<int64_t> select_prune_counts(const std::vector<ObsTrace>& traces, double sparsity);

// Magnitude pruning in place: unstructured over the whole matrix (smallest |w| first, ties by position),
// or N:M per group of `nm_groups` (within each row, the M − N smallest |w| of every group).
void magnitude_prune(RowMat<float>& w, const PruneSpec& s, const std::vector<int32_t>* nm_groups);

}  // namespace qs::obc
