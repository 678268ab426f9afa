// What `info` and the layer table show about a model: inputs, outputs, op counts and a per-layer table
// (weight shape, parameters, MACs). Shapes come from a dry run of the float executor on zeros of the
// concrete input shape, so they are exactly what the runtime computes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/graph/graph.h"

namespace qs {

struct LayerInfo {
  std::string name;     // node name
  std::string op_type;  // Conv, ConvTranspose, Gemm, MatMul
  std::string weight;   // value name of the weight initializer
  Shape weight_shape;
  int64_t params = 0;  // weight + bias elements
  std::optional<Shape> output_shape;
  std::optional<int64_t> macs;  // at the summary's input shapes; nullopt when they are not known
};

struct ModelSummary {
  std::vector<ValueInfo> inputs, outputs;
  std::map<std::string, int> op_counts;
  std::vector<LayerInfo> layers;  // quantizable layers in topological order
  int64_t params = 0;             // elements of all initializers
  int64_t weight_params = 0;      // elements of all quantizable weight tensors
  std::map<std::string, Shape> input_shapes;  // the shapes used for MACs (empty when not all known)
  std::optional<int64_t> total_macs;
  std::vector<std::string> notes;  // e.g. which input dims are dynamic and need --input-shape
};

// True when `n` is a layer whose weight QuantScope quantizes: Conv, ConvTranspose and Gemm with a constant
// weight (input 1), MatMul with one constant operand. Sets *weight_input to that input's index.
bool is_quantizable_layer(const Graph& g, const Node& n, int* weight_input = nullptr);

// `input_shapes` overrides; otherwise a graph input whose only unknown dimension is the first (batch) is
// taken with batch 1. When some input shape stays unknown, MACs and output shapes are left empty and a
// note says which input needs a shape.
ModelSummary summarize(const Graph& g, const std::map<std::string, Shape>& input_shapes = {});

}  // namespace qs
