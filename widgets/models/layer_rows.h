// The rows of the layer table: every quantizable layer (with its weight and the activation point that
// follows it, through a fused Relu/Clip) and every other activation point (graph input, Add, Concat,
// pooling...), in topological order, so every plan entry has exactly one row.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/analysis/model_summary.h"
#include "core/quant/quant_points.h"

namespace qs::ui {

struct LayerRow {
  std::string name;     // node name (for a graph input: the input's name)
  std::string op_type;  // "input" for a graph input
  std::string weight;   // weight tensor, "" when the row has none
  Shape weight_shape;
  int64_t params = 0;
  std::optional<int64_t> macs;
  std::optional<Shape> output_shape;
  std::string activation;         // activation point tensor, "" when none
  bool fused_activation = false;  // the activation is after a fused Relu/Clip
};

// `points` may be null (not known before the input shape is): then only layers and their weights.
std::vector<LayerRow> layerRows(const Graph& g, const ModelSummary& summary, const QuantPoints* points);

}  // namespace qs::ui
