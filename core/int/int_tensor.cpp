#include "core/int/int_tensor.h"

#include "core/common/error.h"

namespace qs {

bool is_int_storage(DType t) {
  return t == DType::Int8 || t == DType::UInt8 || t == DType::Int16 || t == DType::UInt16 || t == DType::Int32;
}

namespace {

template <typename F>
void dispatch_int(DType t, F&& f) {
  switch (t) {
    case DType::Int8: return f(int8_t{});
    case DType::UInt8: return f(uint8_t{});
    case DType::Int16: return f(int16_t{});
    case DType::UInt16: return f(uint16_t{});
    case DType::Int32: return f(int32_t{});
    default: throw Error("integer engine: " + dtype_name(t) + " is not an integer storage type");
  }
}

}  // namespace

std::vector<int32_t> to_int32(const Tensor& t) {
  std::vector<int32_t> v(static_cast<size_t>(t.numel()));
  dispatch_int(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(p[i]);
  });
  return v;
}

Tensor from_int32(const std::vector<int32_t>& v, DType type, const Shape& shape) {
  Tensor t(type, shape);
  if (static_cast<int64_t>(v.size()) != t.numel())
    throw Error("integer engine: " + std::to_string(v.size()) + " values for shape " + shape_str(shape));
  dispatch_int(type, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) p[i] = static_cast<T>(v[i]);
  });
  return t;
}

}  // namespace qs
