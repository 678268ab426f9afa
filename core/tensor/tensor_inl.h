// Template members of Tensor.
#pragma once

#include <cstring>

#include "core/common/error.h"

namespace qs {

template <typename T>
Tensor Tensor::from_vector(Shape shape, const std::vector<T>& values) {
  Tensor t(DTypeOf<T>::value, std::move(shape));
  if (static_cast<int64_t>(values.size()) != t.numel())
    throw Error("Tensor::from_vector: " + std::to_string(values.size()) + " values for shape " +
                shape_str(t.shape()));
  if constexpr (std::is_same_v<T, bool>) {
    for (size_t i = 0; i < values.size(); ++i) t.data<bool>()[i] = values[i];
  } else {
    if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
  }
  return t;
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> out(static_cast<size_t>(numel_));
  dispatch_dtype(dtype_, [&](auto tag) {
    using S = decltype(tag);
    const S* p = static_cast<const S*>(raw());
    for (int64_t i = 0; i < numel_; ++i) out[static_cast<size_t>(i)] = static_cast<T>(p[i]);
  });
  return out;
}

}  // namespace qs
