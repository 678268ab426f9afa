// Export of a quantized model to ONNX, in the two forms ONNX Runtime runs:
//
//   QDQ        the float graph with QuantizeLinear → DequantizeLinear pairs at every activation point of
//              the plan, weights as int8 initializers behind a (per-axis) DequantizeLinear, biases as
//              int32 initializers (scale s_in·s_w) behind a DequantizeLinear. Runtimes fuse the patterns
//              into integer kernels; every value keeps its name (the dequantized one), so plans, reports
//              and Netron agree.
//   QOperator  integer operators where ONNX has them: QLinearConv (Conv, and Gemm as a 1×1 QLinearConv
//              between two Reshapes), QLinearMatMul (MatMul with a constant right operand, MatMul of two
//              quantized activations), data movement directly on the int8 tensors; QuantizeLinear and
//              DequantizeLinear around standard float ops for the rest (Add, Concat, pooling averages,
//              float islands), so the model stays standard ONNX without contrib operators.
//
// Both follow the one lowering of core/int/lowering.h. ONNX's QuantizeLinear saturates to the whole
// 8-bit range, so an activation grid narrower than 8 bits gets a Clip to its range before quantizing, and
// a fused ReLU6/Clip whose bounds are inside the grid stays a Clip. 16-bit activations are refused:
// QuantizeLinear takes int16 only from opset 21. The exported model is checked with ONNX's checker and
// strict shape inference before anything is written.
//
// export_model() writes three files, each atomically (a temporary file, then rename): OUT.onnx, and
// beside it OUT.plan.json (the plan) and OUT.manifest.json (source model SHA-256, QuantScope version,
// format, settings, float islands). It refuses to write over the source model or plan.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/graph/graph.h"
#include "core/quant/plan.h"
#include "core/quant/quant_points.h"

namespace qs {

enum class ExportFormat { QDQ, QOperator };
const char* export_format_name(ExportFormat f);  // "qdq", "qop"
// Throws Error for anything but "qdq" / "qop".
ExportFormat parse_export_format(const std::string& s);

// How QDQ weight initializers are stored. AsPlan: in the plan's storage type (int8 for signed grids).
// UInt8: every int8 weight grid re-expressed as uint8 with its zero point moved by +128 — the same values
// after DequantizeLinear. ONNX Runtime on x86 without AVX-VNNI multiplies uint8 activations by int8
// weights with VPMADDUBSW, whose 16-bit pair sums saturate (255·127·2 > 32767), and uint8 × uint8 with
// exact 16-bit products; uint8 weights therefore make its results equal the integer engine's (at some
// speed). ORT's session option session.x64quantprecision = 1 does the same conversion at load time, for
// AsPlan files. Runtimes that require symmetric int8 weights (TensorRT, for one) need AsPlan. QDQ form only:
// QOperator's int8 × int8 kernels are exact already.
enum class WeightStorage { AsPlan, UInt8 };

struct ExportedGraph {
  Graph graph;
  std::vector<std::string> float_islands;  // describe_island() lines
  std::vector<std::string> notes;          // e.g. nodes kept in float ops in QOperator form
};

// The quantized model as a graph (not yet serialized). `plan` must have passed validate_plan.
ExportedGraph build_export_graph(const Graph& g, const QuantPlan& plan, const QuantPoints& points,
                                 ExportFormat f, WeightStorage weights = WeightStorage::AsPlan);

// Serialized ONNX bytes of build_export_graph(), checked with ONNX's checker (Error when it refuses).
std::string export_bytes(const Graph& g, const QuantPlan& plan, const QuantPoints& points, ExportFormat f,
                         WeightStorage weights = WeightStorage::AsPlan);

struct ExportOptions {
  ExportFormat format = ExportFormat::QDQ;
  WeightStorage weights = WeightStorage::AsPlan;
  std::string source_model;  // the model file: hashed into the manifest, never overwritten
  std::string source_plan;   // the plan file: never overwritten
  std::vector<std::pair<std::string, std::string>> settings;  // recorded in the manifest
};

struct ExportResult {
  std::string model, plan, manifest;  // paths written
  std::vector<std::string> float_islands, notes;
};

// OUT.plan.json / OUT.manifest.json for OUT.onnx (a trailing ".onnx" is replaced).
std::string export_sidecar_path(const std::string& out, const std::string& suffix);

ExportResult export_model(const Graph& g, const QuantPlan& plan, const QuantPoints& points,
                          const std::string& out, const ExportOptions& options);

}  // namespace qs
