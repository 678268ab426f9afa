// Serialization of the graphs the exporters build, and ONNX's own checker. Internal to core/export (the
// .cpp includes the ONNX headers; nothing ONNX leaks out).
#pragma once

#include <string>

#include "core/graph/graph.h"

namespace qs {

// ModelProto bytes for `g` (nodes, attributes, initializers, inputs, outputs), IR version 8, importing the
// default domain at g.opset and every other domain of g.opset_imports. Throws UnsupportedError for
// attributes that cannot be written (subgraphs).
std::string write_onnx_bytes(const Graph& g);

// onnx::checker::check_model, then strict shape and type inference (the checker's "full check" of newer
// ONNX versions); throws Error with the checker's message, prefixed by `what`.
void check_onnx_bytes(const std::string& bytes, const std::string& what);

}  // namespace qs
