// QDQ form: the float graph with QuantizeLinear → DequantizeLinear at every activation point, quantized
// weights and int32 biases behind DequantizeLinear. A point keeps its name for the dequantized value (what
// every consumer and a graph output read); the float value before it becomes NAME_prequant.
#include "core/common/error.h"
#include "core/export/export_build.h"

namespace qs::exportx {

ExportedGraph build_qdq(Builder& b) {
  Graph& out = b.out;
  out.opset_imports[""] = out.opset;
  // Weights and biases.
  for (const auto& wp : b.points.weights) {
    if (!b.plan.active(wp.tensor)) continue;
    b.weight_float_name(wp.tensor);
    if (b.quantized_bias(wp)) {
      const std::string name = b.bias_float_name(wp);
      for (auto& n : out.nodes)
        if (n.name == wp.layer && n.inputs.size() > 2) n.inputs[2] = name;
    }
  }
  // ONNX Runtime on x86 rewrites int8 QDQ activations to uint8 and, on CPUs without AVX-VNNI, multiplies
  // u8×s8 with VPMADDUBSW, which saturates the sum of two products at 32767: with 8-bit int8 weights its
  // results can differ from the exact int32 arithmetic here (measured on MobileNetV2: top-1 agreement
  // 99.4% at 8 bits; 100% with 7-bit weights or with the same weights stored as uint8, which it multiplies
  // exactly). Say so once.
  if (b.weight_storage == WeightStorage::AsPlan)
    for (const auto& wp : b.points.weights)
      if (const PlanEntry* e = b.plan.active(wp.tensor);
          e && e->spec.bits >= 8 && storage_dtype(e->params) == DType::Int8) {
        b.notes.push_back(
            "8-bit int8 weights in QDQ form: ONNX Runtime on x86 CPUs without AVX-VNNI computes uint8 x "
            "int8 products in saturating 16-bit pairs, so its outputs can differ slightly from the "
            "integer engine; for equal results there store the weights as uint8 (export "
            "--uint8-weights: the same values), use 7-bit weights (quantize --weight-bits 7) or --format "
            "qop");
        break;
      }
  // Activation points.
  for (const auto& a : b.points.activations) {
    const PlanEntry* e = b.plan.active(a.tensor);
    if (!e) continue;
    const std::string& v = a.tensor;
    const std::string qn = b.fresh(v + "_quantized");
    if (a.producer.empty()) {
      const std::string dq = b.fresh(v + "_dequantized");
      for (auto& n : out.nodes)
        for (auto& in : n.inputs)
          if (in == v) in = dq;
      b.quantize(v, v, e->params, qn);
      b.dequantize(qn, v, e->params, dq);
      continue;
    }
    Node* producer = nullptr;
    for (auto& n : out.nodes)
      for (const auto& o : n.outputs)
        if (o == v) producer = &n;
    if (!producer) throw Error("export: no node produces the activation point '" + v + "'");
    const std::string pre = b.fresh(v + "_prequant");
    for (auto& o : producer->outputs)
      if (o == v) o = pre;
    b.quantize(pre, v, e->params, qn);
    b.dequantize(qn, v, e->params, v);
  }
  b.finish();
  ExportedGraph r;
  r.graph = out;
  for (const LoweredNode* n : b.L.float_islands()) r.float_islands.push_back(describe_island(*n));
  r.notes = b.notes;
  return r;
}

}  // namespace qs::exportx
