// Graph IR: the model as QuantScope holds it after import. Value names are ONNX value names and are the
// identities of tensors everywhere (plans, reports, GUI).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor/tensor.h"

namespace qs {

struct Graph;

struct Attribute {
  enum class Kind { Undefined, Float, Int, String, Tensor, Floats, Ints, Strings, Graph };
  Kind kind = Kind::Undefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  qs::Tensor t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  // Kind::Graph with one subgraph (an If's branch): its nodes, initializers and outputs; value names not
  // produced inside refer to the enclosing graph. Null for a list of graphs (Loop/Scan bodies stay opaque).
  std::shared_ptr<const Graph> graph;

  static Attribute of_int(int64_t v) {
    Attribute a;
    a.kind = Kind::Int;
    a.i = v;
    return a;
  }
  static Attribute of_float(float v) {
    Attribute a;
    a.kind = Kind::Float;
    a.f = v;
    return a;
  }
  static Attribute of_ints(std::vector<int64_t> v) {
    Attribute a;
    a.kind = Kind::Ints;
    a.ints = std::move(v);
    return a;
  }
  static Attribute of_floats(std::vector<float> v) {
    Attribute a;
    a.kind = Kind::Floats;
    a.floats = std::move(v);
    return a;
  }
  static Attribute of_string(std::string v) {
    Attribute a;
    a.kind = Kind::String;
    a.s = std::move(v);
    return a;
  }
};

struct Node {
  std::string name;  // may be empty in the file; import gives every node a unique name
  std::string op_type;
  std::string domain;                // "" is the default ONNX domain ("ai.onnx" is normalized to "")
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;  // "" marks an omitted optional output
  std::map<std::string, Attribute> attrs;

  bool has_attr(const std::string& k) const { return attrs.count(k) != 0; }
  // Typed getters with defaults; a present attribute of the wrong kind is an Error naming the node.
  int64_t attr_int(const std::string& k, int64_t def) const;
  float attr_float(const std::string& k, float def) const;
  std::string attr_string(const std::string& k, const std::string& def) const;
  std::vector<int64_t> attr_ints(const std::string& k, const std::vector<int64_t>& def = {}) const;
  std::vector<float> attr_floats(const std::string& k, const std::vector<float>& def = {}) const;
  const Attribute* attr(const std::string& k) const;
  // "node 'conv1' (Conv)" — the prefix of every error about this node.
  std::string describe() const;
  // Number of inputs actually given (trailing omitted ones not counted).
  size_t num_inputs() const;
  bool has_input(size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
};

// A dimension of a declared shape: a fixed extent, or symbolic (e.g. "batch") / unknown (value < 0).
struct Dim {
  int64_t value = -1;
  std::string param;
  bool known() const { return value >= 0; }
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::Undefined;
  std::optional<std::vector<Dim>> shape;  // nullopt: rank unknown
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;  // topologically sorted after import
  std::map<std::string, Tensor> initializers;
  std::vector<ValueInfo> inputs;  // graph inputs that are not initializers
  std::vector<ValueInfo> outputs;
  std::map<std::string, ValueInfo> value_info;  // inferred types/shapes of intermediate values
  int64_t opset = 0;                            // default-domain opset version
  std::map<std::string, int64_t> opset_imports;  // every domain's version as declared

  const Tensor* initializer(const std::string& name) const;
  bool is_initializer(const std::string& name) const { return initializers.count(name) != 0; }
  // Index of the node producing `value`, or -1 (graph input, initializer or unknown).
  int producer(const std::string& value) const;
  // Indices of nodes consuming `value`.
  std::vector<int> consumers(const std::string& value) const;
  // Sorts nodes topologically (stable: keeps file order where possible). Throws Error naming a node on
  // a cycle, and naming the node and value when an input is produced by nothing.
  void topological_sort();
};

}  // namespace qs
