// Kernel factories of the normalization group, registered by register_norm_ops (core/ops/norm.cpp).
#pragma once

#include <memory>

#include "core/ops/kernel.h"

namespace qs {

std::unique_ptr<Kernel> make_batch_norm(const KernelInit& init);  // BatchNormalization, inference only
std::unique_ptr<Kernel> make_layer_norm(const KernelInit& init);  // LayerNormalization (opset 17)
// Softmax (log = false) and LogSoftmax (log = true); opset < 13 coerces the input to 2-D at `axis`.
std::unique_ptr<Kernel> make_softmax(const KernelInit& init, bool log);
// LRN, InstanceNormalization, GroupNormalization, MeanVarianceNormalization, LpNormalization, ImageScaler
// (core/ops/norm_local.cpp).
void register_local_norm_ops(OpRegistry& r);

}  // namespace qs
