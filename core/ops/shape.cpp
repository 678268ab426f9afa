// Shape and data-movement ops. Each group lives in its own file (shape_*.cpp, movement_*.cpp); this
// registers them all.
#include "core/ops/shape_common.h"

namespace qs {

void register_shape_ops(OpRegistry& r) {
  register_view_ops(r);
  register_shape_info_ops(r);
  register_generator_ops(r);
  register_onehot_ops(r);
  register_nonzero_ops(r);
  register_transpose_ops(r);
  register_concat_split_ops(r);
  register_slice_ops(r);
  register_expand_tile_ops(r);
  register_gather_ops(r);
  register_scatter_ops(r);
  register_trilu_ops(r);
}

}  // namespace qs
