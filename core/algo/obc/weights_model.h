// How weights tuned by OBQ/GPTQ/pruning travel with a plan: `quantize --algo obq|gptq` and `prune` write
// the tuned weights (on the plan's grid) as an ONNX model next to the plan, and the plan's optional
// "weights_model" field names it (relative to the plan's folder). Whoever evaluates or exports a plan
// calls apply_weights_model first, so the plan is applied to the weights it was made for.
#pragma once

#include <string>

#include "core/graph/graph.h"
#include "core/quant/plan.h"

namespace qs::obc {

// The weights model's path as stored in a plan written to `plan_path`: relative to the plan's folder.
std::string weights_model_reference(const std::string& model_path, const std::string& plan_path);

// Replaces, in `g`, every weight the plan has an entry for by the weights model's tensor of the same name
// (no-op when plan.weights_model is empty), and the constant bias of each of those Conv/ConvTranspose/Gemm
// layers by the weights model's (adding the bias input when the weights model's layer has one and `g`'s
// does not: bias correction creates biases). Throws Error naming the file and tensor when the weights
// model lacks a weight or its shape or type differs.
void apply_weights_model(Graph& g, const QuantPlan& plan, const std::string& plan_path);

}  // namespace qs::obc
