#include "core/ops/kernel.h"
#include "core/ops/norm_factories.h"

namespace qs {

void register_norm_ops(OpRegistry& r) {
  // BatchNormalization: 1/6 (is_test, spatial), 7 (spatial), 9, 14 (training_mode), 15 (mixed types);
  // one factory handles the attribute differences by opset. Unchanged after 15 up to 21.
  r.add("", "BatchNormalization", 1, 21, make_batch_norm);
  r.add("", "LayerNormalization", 17, 21, make_layer_norm);
  // Softmax/LogSoftmax: 1 and 11 coerce to 2-D at axis (default 1); 13 works along one axis (default -1).
  r.add("", "Softmax", 1, 21, [](const KernelInit& init) { return make_softmax(init, false); });
  r.add("", "LogSoftmax", 1, 21, [](const KernelInit& init) { return make_softmax(init, true); });
  register_local_norm_ops(
      r);  // LRN, InstanceNormalization, GroupNormalization, MVN, LpNormalization, ImageScaler
}

}  // namespace qs
