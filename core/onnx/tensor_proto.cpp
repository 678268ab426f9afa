#include "core/onnx/tensor_proto.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/common/error.h"

namespace qs::onnx_io {

namespace fs = std::filesystem;

namespace {

std::string read_external(const onnx::TensorProto& p, const std::string& base_dir, const std::string& ctx,
                          size_t expected) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : p.external_data()) {
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = std::stoll(kv.value());
    else if (kv.key() == "length") length = std::stoll(kv.value());
  }
  const std::string what = ctx + ": initializer '" + p.name() + "'";
  if (location.empty()) throw Error(what + ": external data without a location");
  const fs::path loc(location);
  if (loc.is_absolute()) throw Error(what + ": external data location '" + location + "' is absolute; refused");
  const fs::path base = fs::weakly_canonical(fs::path(base_dir.empty() ? "." : base_dir));
  const fs::path full = fs::weakly_canonical(base / loc);
  auto rel = full.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..")
    throw Error(what + ": external data location '" + location + "' escapes the model's folder; refused");
  std::ifstream f(full, std::ios::binary);
  if (!f) throw Error(what + ": cannot open external data file '" + location + "'");
  f.seekg(0, std::ios::end);
  const int64_t file_size = f.tellg();
  if (length < 0) length = file_size - offset;
  if (offset < 0 || offset + length > file_size)
    throw Error(what + ": external data range [" + std::to_string(offset) + ", " + std::to_string(offset + length) +
                ") is outside '" + location + "' (" + std::to_string(file_size) + " bytes)");
  if (static_cast<size_t>(length) != expected)
    throw Error(what + ": external data holds " + std::to_string(length) + " bytes, the shape needs " +
                std::to_string(expected));
  std::string buf(static_cast<size_t>(length), '\0');
  f.seekg(offset);
  f.read(buf.data(), length);
  if (!f) throw Error(what + ": reading external data from '" + location + "' failed");
  return buf;
}

template <typename T, typename Src>
void copy_field(Tensor& t, const Src& src, const std::string& what) {
  if (static_cast<int64_t>(src.size()) != t.numel())
    throw Error(what + ": holds " + std::to_string(src.size()) + " values, its shape " + shape_str(t.shape()) +
                " needs " + std::to_string(t.numel()));
  T* d = static_cast<T*>(t.raw());
  for (int i = 0; i < src.size(); ++i) d[i] = static_cast<T>(src[i]);
}

}  // namespace

Tensor from_proto(const onnx::TensorProto& p, const std::string& base_dir, const std::string& ctx) {
  const std::string what = ctx + ": tensor '" + p.name() + "'";
  const auto dt = static_cast<DType>(p.data_type());
  if (p.has_segment()) throw UnsupportedError(what + ": segmented tensors are not supported");
  if (!dtype_supported(dt))
    throw UnsupportedError(what + ": data type " + dtype_name(dt) + " is not supported (supported: " +
                           supported_dtype_names() + ")");
  Shape shape(p.dims().begin(), p.dims().end());
  for (int64_t d : shape)
    if (d < 0) throw Error(what + ": negative dimension in " + shape_str(shape));
  Tensor t(dt, shape);
  const size_t nbytes = t.nbytes();
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    const std::string buf = read_external(p, base_dir, ctx, nbytes);
    std::memcpy(t.raw(), buf.data(), nbytes);
    return t;
  }
  if (p.has_raw_data()) {
    if (p.raw_data().size() != nbytes)
      throw Error(what + ": raw data holds " + std::to_string(p.raw_data().size()) + " bytes, its shape " +
                  shape_str(shape) + " of " + dtype_name(dt) + " needs " + std::to_string(nbytes));
    if (nbytes) std::memcpy(t.raw(), p.raw_data().data(), nbytes);
    if (dt == DType::Bool)
      for (int64_t i = 0; i < t.numel(); ++i) t.data<bool>()[i] = static_cast<uint8_t>(p.raw_data()[i]) != 0;
    return t;
  }
  switch (dt) {
    case DType::Float32:
      copy_field<float>(t, p.float_data(), what);
      break;
    case DType::Float64:
      copy_field<double>(t, p.double_data(), what);
      break;
    case DType::Int64:
      copy_field<int64_t>(t, p.int64_data(), what);
      break;
    case DType::UInt32:
    case DType::UInt64:
      dispatch_dtype(dt, [&](auto tag) { copy_field<decltype(tag)>(t, p.uint64_data(), what); });
      break;
    case DType::Bool:
      copy_field<bool>(t, p.int32_data(), what);
      break;
    default:  // int32, int16, int8, uint16, uint8 are all stored in int32_data
      dispatch_dtype(dt, [&](auto tag) { copy_field<decltype(tag)>(t, p.int32_data(), what); });
      break;
  }
  return t;
}

void to_proto(const Tensor& t, onnx::TensorProto& p) {
  p.set_data_type(static_cast<int32_t>(t.dtype()));
  p.clear_dims();
  for (int64_t d : t.shape()) p.add_dims(d);
  p.clear_float_data();
  p.clear_int32_data();
  p.clear_int64_data();
  p.clear_double_data();
  p.set_raw_data(std::string(static_cast<const char*>(t.raw()), t.nbytes()));
}

}  // namespace qs::onnx_io
