// What the linked ONNX library (libonnx, for the checker and shape inference) knows of the default domain,
// against the newer opsets the engine's own kernels accept. libonnx 1.12 knows opsets up to 17; for an
// opset-18 model it applies each op's newest schema it has, which for the ops listed here is an older,
// incompatible signature (ReduceMean-13 reads `axes` from an attribute; Split-13 knows no `num_outputs`).
// Its findings on those nodes are therefore wrong and are not used: import drops the shapes it infers for
// their outputs (and downstream), and the export check leaves those nodes to ONNX Runtime.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
}

namespace qs::onnx_io {

// Newest default-domain opset the linked library has schemas for.
int64_t library_max_opset();

// True when the node (default domain, `op_type`) of a model importing default-domain `opset` has a
// signature newer than the library's: an op changed after library_max_opset(), at or before `opset`.
bool library_lacks_schema(const std::string& op_type, int64_t opset);

// For ONNX's checker and shape inference: moves the graph's nodes for which library_lacks_schema() holds
// into a domain of their own (imported at version 1), which both skip as custom ops, so they check the
// rest of the model. Returns the indices of the nodes moved; unhide_from_checker() moves them back.
std::vector<int> hide_from_checker(onnx::ModelProto& m);
void unhide_from_checker(onnx::ModelProto& m, const std::vector<int>& hidden);

}  // namespace qs::onnx_io
