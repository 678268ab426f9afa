#include "core/ops/kernel.h"
#include "core/ops/resize_pad_factories.h"

namespace qs {

void register_resize_pad_ops(OpRegistry& r) {
  // Pad: 1 (attribute `paddings`), 2 (attribute `pads`), 11 (pads and constant_value as inputs), 13 (more
  // types), 18 (the `axes` input: pads for those axes only). 19 adds the `wrap` mode: not registered.
  r.add("", "Pad", 1, 18, make_pad);
  // Resize: 10 (scales only, asymmetric), 11 (roi/scales/sizes, coordinate modes), 13 (optional roi and
  // scales), 18 (axes; antialias and keep_aspect_ratio_policy other than the defaults are refused). 19 adds
  // the half_pixel_symmetric coordinate mode: not registered.
  r.add("", "Resize", 10, 18, make_resize);
  // Upsample: 7 (scales attribute), 9 (scales input); deprecated (removed) from opset 10.
  r.add("", "Upsample", 7, 9, make_upsample);
}

}  // namespace qs
