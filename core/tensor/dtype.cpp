#include "core/tensor/dtype.h"

namespace qs {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32:
    case DType::Int32:
    case DType::UInt32:
      return 4;
    case DType::Float64:
    case DType::Int64:
    case DType::UInt64:
      return 8;
    case DType::UInt8:
    case DType::Int8:
    case DType::Bool:
      return 1;
    case DType::UInt16:
    case DType::Int16:
    case DType::Float16:
      return 2;
    default:
      return 0;
  }
}

bool dtype_supported(DType t) {
  return t != DType::Undefined && t != DType::String && t != DType::Float16 && dtype_size(t) != 0;
}

std::string supported_dtype_names() {
  std::string out;
  for (int v = 0; v <= static_cast<int>(DType::UInt64); ++v) {
    const auto t = static_cast<DType>(v);
    if (!dtype_supported(t)) continue;
    if (!out.empty()) out += ", ";
    out += dtype_name(t);
  }
  return out;
}

std::string dtype_name(DType t) {
  switch (t) {
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
    case DType::UInt8:
      return "uint8";
    case DType::Int8:
      return "int8";
    case DType::UInt16:
      return "uint16";
    case DType::Int16:
      return "int16";
    case DType::Int32:
      return "int32";
    case DType::Int64:
      return "int64";
    case DType::UInt32:
      return "uint32";
    case DType::UInt64:
      return "uint64";
    case DType::Bool:
      return "bool";
    case DType::Float16:
      return "float16";
    case DType::String:
      return "string";
    default:
      return "type#" + std::to_string(static_cast<int>(t));
  }
}

}  // namespace qs
