// ONNX import: file → Graph. The only public face of core/onnx; no ONNX or protobuf types leak out.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/graph/graph.h"

namespace qs {

struct LoadOptions {
  bool remove_identity = true;   // drop Identity and inference-mode Dropout
  bool fold_constants = true;    // evaluate initializer-only subgraphs and statically known Shape chains
  bool fold_batchnorm = true;    // fold BatchNormalization into a preceding Conv/Gemm (off for RepVGG
                                 // analysis, which needs the branches as trained)
  bool check_supported = true;   // build every kernel at load; refuse naming every unsupported node
  // Concrete shapes for graph inputs (e.g. from --input-shape), used by shape inference so every
  // intermediate shape in value_info is concrete. Unknown names are an error.
  std::map<std::string, Shape> input_shapes;
};

struct Model {
  Graph graph;
  std::string path;                   // as given
  std::vector<std::string> warnings;  // checker and shape-inference findings; the model still loads
  std::string producer;               // "pytorch 1.13.0"
  int64_t ir_version = 0;
};

// Loads, validates and prepares a model. Throws Error (or UnsupportedError) naming the file and, where it
// applies, the node, tensor and attribute at fault.
Model load_model(const std::string& path, const LoadOptions& options = {});
// Same from bytes in memory; `display_name` is used in messages, `base_dir` resolves external data.
Model load_model_from_bytes(const std::string& bytes, const std::string& display_name, const std::string& base_dir,
                            const LoadOptions& options = {});

// Reads a file holding one serialized TensorProto (ONNX's test-data format).
Tensor load_tensor_pb(const std::string& path);

}  // namespace qs
