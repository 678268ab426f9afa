// ConvTranspose kernel factory (registered by register_conv_ops in conv.cpp).
#pragma once

#include <memory>

#include "core/ops/kernel.h"

namespace qs {

std::unique_ptr<Kernel> make_conv_transpose_kernel(const KernelInit& init);

}  // namespace qs
