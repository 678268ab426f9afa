// Graph → onnx::GraphProto: the one serializer of QuantScope's graph (nodes, attributes, initializers,
// inputs, outputs), shared by save_model (core/onnx/save.h) and the exporters (core/export/onnx_writer.h).
// Internal to core: it exposes ONNX's protobuf types.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>

#include "core/graph/graph.h"

namespace qs::onnx_io {

// Appends g's inputs, outputs, initializers and nodes to `gp` (which the caller has cleared). Before IR
// version 4 every initializer must also be a graph input, so for ir_version < 4 they are listed as inputs
// too. Throws UnsupportedError naming the node whose attributes cannot be written (subgraphs).
void write_graph_body(const Graph& g, onnx::GraphProto& gp, int64_t ir_version);

}  // namespace qs::onnx_io
