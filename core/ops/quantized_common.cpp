#include <cmath>

#include "core/ops/broadcast.h"
#include "core/ops/quantized.h"

namespace qs::quantized {

ScaleZeroPoint read_scale_zero_point(const Tensor& scale, const Tensor* zp, const std::string& sname,
                                     const std::string& zname, int64_t channels, DType zp_type) {
  if (scale.dtype() != DType::Float32)
    throw UnsupportedError(sname + " is " + dtype_name(scale.dtype()) + "; only float32 is supported");
  const bool per_tensor = scale.numel() == 1 && scale.rank() <= 1;
  const bool per_channel = channels >= 0 && scale.rank() == 1 && scale.numel() == channels;
  if (!per_tensor && !per_channel) {
    if (channels < 0)
      throw Error(sname + " has shape " + shape_str(scale.shape()) + "; expected a scalar (one value)");
    throw Error(sname + " has shape " + shape_str(scale.shape()) + "; expected a scalar or a 1-D tensor of " +
                std::to_string(channels) + " values (one per channel)");
  }
  ScaleZeroPoint p;
  p.scale = scale.to_vector<float>();
  if (!zp) {
    p.zero_point.assign(p.scale.size(), 0);
    return p;
  }
  if (zp_type != DType::Undefined && zp->dtype() != zp_type)
    throw Error(zname + " is " + dtype_name(zp->dtype()) + " but should be " + dtype_name(zp_type));
  if (zp->shape() != scale.shape())
    throw Error(zname + " has shape " + shape_str(zp->shape()) + " but " + sname + " has shape " +
                shape_str(scale.shape()) + "; they must be equal");
  if (zp->dtype() != DType::UInt8 && zp->dtype() != DType::Int8 && zp->dtype() != DType::Int32)
    throw UnsupportedError(zname + " is " + dtype_name(zp->dtype()) +
                           "; only uint8, int8 and int32 are supported");
  p.zero_point = zp->to_vector<int32_t>();
  return p;
}

void check_positive(const ScaleZeroPoint& p, const std::string& sname) {
  for (size_t i = 0; i < p.scale.size(); ++i)
    if (!(p.scale[i] > 0.f) || !std::isfinite(p.scale[i]))
      throw Error(sname + " value " + std::to_string(p.scale[i]) +
                  (p.scale.size() > 1 ? " at " + std::to_string(i) : "") + " must be positive and finite");
}

Tensor shift_by_zero_point(const Tensor& q, const Tensor* zp, const std::string& what) {
  Tensor out(DType::Int32, q.shape());
  int32_t* o = out.data<int32_t>();
  dispatch_8bit(q.dtype(), what, [&](auto tag) {
    using T = decltype(tag);
    const T* x = q.data<T>();
    const int64_t n = q.numel();
    if (!zp || zp->numel() == 1) {
      int32_t z = 0;
      if (zp) {
        if (zp->dtype() != q.dtype())
          throw Error(what + " zero point is " + dtype_name(zp->dtype()) + " but the tensor is " +
                      dtype_name(q.dtype()));
        z = static_cast<int32_t>(zp->data<T>()[0]);
      }
      for (int64_t i = 0; i < n; ++i) o[i] = static_cast<int32_t>(x[i]) - z;
      return;
    }
    if (zp->dtype() != q.dtype())
      throw Error(what + " zero point is " + dtype_name(zp->dtype()) + " but the tensor is " +
                  dtype_name(q.dtype()));
    const Shape& zs = zp->shape();
    bool ok = zs.size() <= q.shape().size();
    for (size_t i = 0; ok && i < zs.size(); ++i) {
      const int64_t d = zs[zs.size() - 1 - i], t = q.shape()[q.shape().size() - 1 - i];
      ok = d == t || d == 1;
    }
    if (!ok)
      throw Error(what + " zero point of shape " + shape_str(zs) +
                  " does not broadcast to the tensor's shape " + shape_str(q.shape()));
    const T* z = zp->data<T>();
    for_each_broadcast<2>(q.shape(),
                          {broadcast_strides(q.shape(), q.shape()), broadcast_strides(zs, q.shape())},
                          [&](int64_t i, int64_t xi, int64_t zi) {
                            o[i] = static_cast<int32_t>(x[xi]) - static_cast<int32_t>(z[zi]);
                          });
  });
  return out;
}

}  // namespace qs::quantized
