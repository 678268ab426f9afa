#include "core/tensor/tensor.h"

#include <cstdlib>
#include <new>

namespace qs {

namespace {
constexpr size_t kAlign = 64;

std::shared_ptr<void> allocate(size_t nbytes) {
  // Round up: aligned_alloc requires a multiple of the alignment; never allocate 0 bytes so that an empty
  // tensor is still "defined".
  const size_t n = ((nbytes + kAlign - 1) / kAlign) * kAlign + kAlign;
  void* p = std::aligned_alloc(kAlign, n);
  if (!p) throw std::bad_alloc();
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}
}  // namespace

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  if (!dtype_supported(dtype_)) throw UnsupportedError("tensors of type " + dtype_name(dtype_) + " are not supported");
  for (int64_t d : shape_)
    if (d < 0) throw Error("negative extent in shape " + shape_str(shape_));
  numel_ = qs::numel(shape_);
  buf_ = allocate(nbytes());
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  Tensor t(dtype, std::move(shape));
  std::memset(t.raw(), 0, t.nbytes());
  return t;
}

void Tensor::check_type(DType t) const {
  if (t != dtype_)
    throw Error("tensor of type " + dtype_name(dtype_) + " accessed as " + dtype_name(t));
}

double Tensor::value_as_double(int64_t i) const {
  return dispatch_dtype(dtype_, [&](auto tag) -> double {
    using S = decltype(tag);
    return static_cast<double>(static_cast<const S*>(raw())[i]);
  });
}

int64_t Tensor::value_as_int(int64_t i) const {
  return dispatch_dtype(dtype_, [&](auto tag) -> int64_t {
    using S = decltype(tag);
    return static_cast<int64_t>(static_cast<const S*>(raw())[i]);
  });
}

Tensor Tensor::reshaped(Shape shape) const {
  if (qs::numel(shape) != numel_)
    throw Error("cannot reshape " + str() + " to " + shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

Tensor Tensor::cast(DType to) const {
  if (to == dtype_) return clone();
  Tensor out(to, shape_);
  dispatch_dtype(dtype_, [&](auto stag) {
    using S = decltype(stag);
    dispatch_dtype(to, [&](auto dtag) {
      using D = decltype(dtag);
      const S* s = static_cast<const S*>(raw());
      D* d = static_cast<D*>(out.raw());
      for (int64_t i = 0; i < numel_; ++i) d[i] = static_cast<D>(s[i]);
    });
  });
  return out;
}

std::string Tensor::str() const { return dtype_name(dtype_) + shape_str(shape_); }

}  // namespace qs
