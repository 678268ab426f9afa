// Tensor: a dtype, a shape and a reference-counted, 64-byte aligned buffer.
//
// Copying a Tensor is cheap and shares the buffer (like a shared_ptr); `clone()` copies the data.
// Kernels write only into tensors they have just allocated, so sharing is safe: a buffer reachable from
// more than one Tensor is never written through either. Reshape-like ops return views that share the
// buffer with a new shape (`reshaped`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/tensor/dtype.h"
#include "core/tensor/shape.h"

namespace qs {

class Tensor {
 public:
  Tensor() = default;
  // Allocates an uninitialized tensor.
  Tensor(DType dtype, Shape shape);
  // Allocates and zero-fills.
  static Tensor zeros(DType dtype, Shape shape);
  // Copies `values` into a new tensor of `shape` (numel must match).
  template <typename T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values);
  // A 0-d tensor.
  template <typename T>
  static Tensor scalar(T v) {
    return from_vector<T>({}, {v});
  }

  bool defined() const { return static_cast<bool>(buf_); }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_[static_cast<size_t>(i < 0 ? i + rank() : i)]; }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  void* raw() { return static_cast<std::byte*>(buf_.get()); }
  const void* raw() const { return static_cast<const std::byte*>(buf_.get()); }

  // Typed access; throws Error when T does not match dtype().
  template <typename T>
  T* data() {
    check_type(DTypeOf<T>::value);
    return static_cast<T*>(raw());
  }
  template <typename T>
  const T* data() const {
    check_type(DTypeOf<T>::value);
    return static_cast<const T*>(raw());
  }
  template <typename T>
  std::span<T> span() {
    return {data<T>(), static_cast<size_t>(numel_)};
  }
  template <typename T>
  std::span<const T> span() const {
    return {data<T>(), static_cast<size_t>(numel_)};
  }
  // Copies the elements into a vector of T (converting from any numeric dtype).
  template <typename T>
  std::vector<T> to_vector() const;
  // Element i converted to double / int64 (any numeric dtype); for small tensors such as shapes.
  double value_as_double(int64_t i) const;
  int64_t value_as_int(int64_t i) const;

  // A tensor sharing this buffer with another shape of the same element count.
  Tensor reshaped(Shape shape) const;
  Tensor clone() const;
  // Converts to another dtype (numeric casts with C++ semantics; float→int truncates toward zero).
  Tensor cast(DType to) const;

  std::string str() const;  // "float32[1, 3, 4, 4]"

 private:
  void check_type(DType t) const;

  DType dtype_ = DType::Undefined;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<void> buf_;
};

}  // namespace qs

#include "core/tensor/tensor_inl.h"
