// TensorProto ↔ Tensor. Internal to core/onnx (includes ONNX headers).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "core/tensor/tensor.h"

namespace qs::onnx_io {

// Converts a TensorProto. `base_dir` resolves external data; a location that is absolute or escapes
// base_dir is refused. `context` prefixes error messages (file name).
Tensor from_proto(const onnx::TensorProto& p, const std::string& base_dir, const std::string& context);
// Writes `t` into `p` as raw_data (name left as is).
void to_proto(const Tensor& t, onnx::TensorProto& p);

}  // namespace qs::onnx_io
