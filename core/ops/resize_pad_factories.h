// Kernel factories of the Pad / Resize group, registered by register_resize_pad_ops (resize_pad.cpp).
#pragma once

#include <memory>

#include "core/ops/kernel.h"

namespace qs {

std::unique_ptr<Kernel> make_pad(const KernelInit& init);       // Pad, opsets 1-17 (core/ops/pad_op.cpp)
std::unique_ptr<Kernel> make_resize(const KernelInit& init);    // Resize 10/11/13 (core/ops/resize_op.cpp)
std::unique_ptr<Kernel> make_upsample(const KernelInit& init);  // Upsample 7/9 (core/ops/resize_op.cpp)

}  // namespace qs
