// Rewrites a default-domain graph of opset 7–12 into opset 13 form, computing the same values, so the
// quantized export (which needs opset 13: per-axis DequantizeLinear, int8 MaxPool) can take models that
// exporters wrote at opset 11 or 12 (torch.onnx before 1.12 defaulted to 9–11) — as onnx's version
// converter would, but only for the ops whose signature or meaning changed on the way:
//   Clip-6 (min/max attributes → inputs), Pad-2 (pads/value → inputs), Slice-1 (starts/ends/axes → inputs),
//   Split, Squeeze, Unsqueeze, ReduceSum (split/axes attributes → inputs, at 13),
//   Softmax/LogSoftmax/Hardmax (before 13: the input coerced to 2-D at `axis`; rewritten as
//   Flatten → op(axis −1) → Reshape to the input's shape unless `axis` is already the last one),
//   Upsample-7/9 and Resize-10 (→ Resize-13 with asymmetric coordinates and the nearest rounding those
//   opsets used: floor when upsampling, ceil when downsampling), Dropout (ratio attribute dropped:
//   inference), BatchNormalization-7 (spatial = 1 dropped).
// Value names of the graph are kept (new values get fresh names), so plans keep applying. ONNX's own
// converter (onnx::version_conversion::ConvertVersion in libonnx) computes the same values on the sweep's
// models (tools/make_sweep_models.py) but renames the outputs of the nodes its adapters replace (an
// Upsample's output, for one), and plans, reports and the GUI identify tensors by those names.
#pragma once

#include "core/graph/graph.h"

namespace qs {

// Throws UnsupportedError naming the node when a node has no opset-13 equivalent here (Resize-11 with
// tf_half_pixel_for_nn or non-constant legacy scales, BatchNormalization with spatial = 0, ...). A graph of
// opset 13 or newer is left as it is.
void upgrade_to_opset13(Graph& g);

}  // namespace qs
