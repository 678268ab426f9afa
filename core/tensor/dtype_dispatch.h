// Implementation of dispatch_dtype (kept out of dtype.h for readability).
#pragma once

#include "core/common/error.h"

namespace qs {

template <typename F>
decltype(auto) dispatch_dtype(DType t, F&& f) {
  switch (t) {
    case DType::Float32:
      return f(float{});
    case DType::Float64:
      return f(double{});
    case DType::UInt8:
      return f(uint8_t{});
    case DType::Int8:
      return f(int8_t{});
    case DType::UInt16:
      return f(uint16_t{});
    case DType::Int16:
      return f(int16_t{});
    case DType::Int32:
      return f(int32_t{});
    case DType::Int64:
      return f(int64_t{});
    case DType::UInt32:
      return f(uint32_t{});
    case DType::UInt64:
      return f(uint64_t{});
    case DType::Bool:
      return f(bool{});
    default:
      throw UnsupportedError("data type " + dtype_name(t) + " is not supported");
  }
}

}  // namespace qs
