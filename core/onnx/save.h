// Graph → ONNX file: writes a model QuantScope has changed (compressed weights, pruned weights) so that
// any ONNX tool loads it. Small on purpose: the graph as QuantScope holds it after import (nodes,
// attributes, initializers, inputs and outputs), wrapped in the source file's model-level fields (IR
// version, opset imports, producer, metadata), which are kept. Intermediate value_info is dropped (it may
// be stale after the import's passes; loaders infer it again). Quantized formats (QDQ, QOperator) are the
// exporter's job, not this file's.
#pragma once

#include <string>

#include "core/graph/graph.h"

namespace qs {

// Writes `g` to `out_path` atomically (a temporary file in the same folder, then rename). `source_path`
// is the file `g` was loaded from ("" for none: fresh model-level fields). Refuses to overwrite the
// source file, and throws Error naming the file / UnsupportedError naming the node whose attributes
// cannot be written (subgraphs).
void save_model(const Graph& g, const std::string& source_path, const std::string& out_path);

}  // namespace qs
