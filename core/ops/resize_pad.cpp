#include "core/ops/kernel.h"
#include "core/ops/resize_pad_factories.h"

namespace qs {

void register_resize_pad_ops(OpRegistry& r) {
  // Pad: 1 (attribute `paddings`), 2 (attribute `pads`), 11 (pads and constant_value as inputs), 13 (more
  // types). 18 adds the `axes` input and 19 the `wrap` mode: not registered.
  r.add("", "Pad", 1, 17, make_pad);
  // Resize: 10 (scales only, asymmetric), 11 (roi/scales/sizes, coordinate modes), 13 (optional roi and
  // scales). 18 adds antialias/axes/keep_aspect_ratio_policy: not registered.
  r.add("", "Resize", 10, 17, make_resize);
  // Upsample: 7 (scales attribute), 9 (scales input); deprecated (removed) from opset 10.
  r.add("", "Upsample", 7, 9, make_upsample);
}

}  // namespace qs
