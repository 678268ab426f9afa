// Integer tensors of the engine: activations are stored as int8, uint8, int16 or uint16 (the smallest
// type holding the point's [qmin, qmax], storage_dtype in quantizer.h). The reference kernels work on
// int32 copies; these helpers convert.
#pragma once

#include <cstdint>
#include <vector>

#include "core/common/error.h"
#include "core/tensor/tensor.h"

namespace qs {

bool is_int_storage(DType t);  // Int8, UInt8, Int16, UInt16, Int32
std::vector<int32_t> to_int32(const Tensor& t);
// A tensor of type `t` holding `v` (each value must fit; callers clamp first).
Tensor from_int32(const std::vector<int32_t>& v, DType t, const Shape& shape);

// A 4-D tensor [N, C, H, W] as channels-last [N, H, W, C], and back: the integer engine's layout for
// chains of 1×1 and depthwise convolutions (ChannelsLastKernel, int_ops.h). Error for other ranks.
Tensor to_channels_last(const Tensor& x);
Tensor from_channels_last(const Tensor& x);

// f(T{}) for an activation storage type T (int8_t, uint8_t, int16_t, uint16_t); Error naming `where`
// otherwise.
template <typename F>
void dispatch_act(DType t, const std::string& where, F&& f) {
  switch (t) {
    case DType::Int8:
      return f(int8_t{});
    case DType::UInt8:
      return f(uint8_t{});
    case DType::Int16:
      return f(int16_t{});
    case DType::UInt16:
      return f(uint16_t{});
    default:
      throw Error(where + ": integer input of type " + dtype_name(t) + " is not supported");
  }
}

}  // namespace qs
