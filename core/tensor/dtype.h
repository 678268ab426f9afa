// Element types. Values match ONNX TensorProto.DataType so conversion is a cast, but the core never
// includes ONNX headers outside core/onnx.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace qs {

enum class DType : int32_t {
  Undefined = 0,
  Float32 = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Float64 = 11,
  UInt32 = 12,
  UInt64 = 13,
};

// Size in bytes of one element; 0 for types the engine cannot hold (String, Float16 is stored as 2 bytes
// but no kernel computes in it).
size_t dtype_size(DType t);
std::string dtype_name(DType t);
// True for the types a Tensor can hold.
bool dtype_supported(DType t);
// The names of the types a Tensor can hold, for error messages ("float32, float64, ...").
std::string supported_dtype_names();

template <typename T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::Float32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::Float64;
};
template <>
struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::UInt8;
};
template <>
struct DTypeOf<int8_t> {
  static constexpr DType value = DType::Int8;
};
template <>
struct DTypeOf<uint16_t> {
  static constexpr DType value = DType::UInt16;
};
template <>
struct DTypeOf<int16_t> {
  static constexpr DType value = DType::Int16;
};
template <>
struct DTypeOf<int32_t> {
  static constexpr DType value = DType::Int32;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::Int64;
};
template <>
struct DTypeOf<uint32_t> {
  static constexpr DType value = DType::UInt32;
};
template <>
struct DTypeOf<uint64_t> {
  static constexpr DType value = DType::UInt64;
};
template <>
struct DTypeOf<bool> {
  static constexpr DType value = DType::Bool;
};

// Calls f(T{}) with T the C++ type of `t`; throws UnsupportedError for other types.
// Usage: dispatch_dtype(t, [&](auto tag) { using T = decltype(tag); ... });
template <typename F>
decltype(auto) dispatch_dtype(DType t, F&& f);

}  // namespace qs

#include "core/tensor/dtype_dispatch.h"
