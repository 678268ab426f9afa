// A quantization plan: for every quantizable tensor of a model, how it is quantized. Saved as JSON
// (docs/plan-format.md). Tensors are named by their ONNX value names.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/graph/graph.h"
#include "core/quant/quant_points.h"
#include "core/quant/quantizer.h"

namespace qs {

enum class TensorKind { Weight, Activation };

struct PlanEntry {
  std::string tensor;            // ONNX value name
  TensorKind kind = TensorKind::Activation;
  std::string layer;             // weights: the layer's node name; activations: the producing node ("" = input)
  std::string op_type;           // the layer's / producer's op type ("input" for a graph input)
  bool quantize = true;          // false: kept in float
  QuantSpec spec;                // bits, symmetric, signed, axis (-1 per tensor)
  std::string method;            // range estimator that produced lo/hi
  std::vector<float> lo, hi;     // calibrated (clip) range, one per channel or one
  QuantParams params;            // derived from spec and lo/hi by params_from_range

  // Changes the bit-width (or another spec field) and re-derives params from the stored range.
  void set_spec(const QuantSpec& s);
};

struct QuantPlan {
  static constexpr int kVersion = 1;
  std::string model;                // the model's file name when the plan was made (informational)
  std::vector<PlanEntry> entries;   // weights and activations in topological order
  // Optional: an ONNX model (path relative to the plan's folder) holding the weights the plan applies to,
  // when an algorithm (OBQ, GPTQ, pruning) changed them; "" means the model's own weights.
  std::string weights_model;

  PlanEntry* find(const std::string& tensor);
  const PlanEntry* find(const std::string& tensor) const;
  // The entry of an enabled quantization of `tensor`, or nullptr.
  const PlanEntry* active(const std::string& tensor) const;
  // Bytes of the layers' weights under the plan (bits·elements/8, float layers at 32 bits), for budgets.
  double weight_bytes(const Graph& g) const;
};

// Allowed bit-widths (the contract): weights 2..8, activations 4..8 and 16.
bool weight_bits_allowed(int bits);
bool activation_bits_allowed(int bits);

std::string plan_to_json(const QuantPlan& plan);
// Parses and checks the structure; `source` names the file in errors.
QuantPlan plan_from_json(const std::string& text, const std::string& source);
QuantPlan load_plan(const std::string& path);
// Writes atomically (temporary file, then rename).
void save_plan(const QuantPlan& plan, const std::string& path);

// Checks that the plan fits the model: every entry's tensor exists with the right kind (a weight entry
// names a layer weight found by find_quant_points, an activation entry a value of the model), bits are
// allowed, axis and channel counts match the tensor, params are consistent with spec. Throws Error naming
// the entry (index and tensor) at fault. `shapes` gives activation shapes (may be empty).
void validate_plan(const QuantPlan& plan, const Graph& g, const QuantPoints& points);

}  // namespace qs
