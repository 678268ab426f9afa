#include "widgets/models/layer_rows.h"

#include <map>
#include <set>

namespace qs::ui {

std::vector<LayerRow> layerRows(const Graph& g, const ModelSummary& summary, const QuantPoints* points) {
  std::map<std::string, const LayerInfo*> layer_by_node;
  for (const auto& L : summary.layers) layer_by_node[L.name] = &L;
  std::map<std::string, const ActivationPoint*> act_by_tensor;
  std::map<std::string, const WeightPoint*> wp_by_layer;
  if (points) {
    for (const auto& a : points->activations) act_by_tensor[a.tensor] = &a;
    for (const auto& w : points->weights) wp_by_layer[w.layer] = &w;
  }
  std::set<std::string> claimed;  // activation points already shown on a layer's row

  std::vector<LayerRow> rows;
  // Graph inputs that are activation points come first, as in the network.
  if (points)
    for (const auto& a : points->activations)
      if (a.producer.empty()) {
        LayerRow r;
        r.name = a.tensor;
        r.op_type = "input";
        r.activation = a.tensor;
        claimed.insert(a.tensor);
        rows.push_back(std::move(r));
      }
  for (const auto& n : g.nodes) {
    auto li = layer_by_node.find(n.name);
    if (li != layer_by_node.end()) {
      const LayerInfo& L = *li->second;
      LayerRow r;
      r.name = L.name;
      r.op_type = L.op_type;
      r.weight = L.weight;
      r.weight_shape = L.weight_shape;
      r.params = L.params;
      r.macs = L.macs;
      r.output_shape = L.output_shape;
      // The activation point following the layer: its output, or the output of a fused Relu/Clip.
      auto wp = wp_by_layer.find(n.name);
      const std::string out = wp != wp_by_layer.end() ? wp->second->output : n.outputs[0];
      if (auto a = act_by_tensor.find(out); a != act_by_tensor.end()) {
        r.activation = out;
      } else {
        for (const auto& [t, ap] : act_by_tensor) {
          if (!ap->fused_activation) continue;
          const int p = g.producer(t);
          if (p < 0) continue;
          const Node& act = g.nodes[static_cast<size_t>(p)];
          if (!act.inputs.empty() && act.inputs[0] == out) {
            r.activation = t;
            r.fused_activation = true;
            break;
          }
        }
      }
      if (!r.activation.empty()) claimed.insert(r.activation);
      rows.push_back(std::move(r));
      continue;
    }
    // Any other node producing activation points not claimed by a layer: one row each (a node with
    // several, e.g. Split, gets "name [value]" rows).
    bool first = true;
    for (const auto& out : n.outputs) {
      auto a = act_by_tensor.find(out);
      if (a == act_by_tensor.end() || claimed.count(out)) continue;
      LayerRow r;
      r.name = first ? n.name : n.name + " [" + out + "]";
      r.op_type = n.op_type;
      r.activation = out;
      claimed.insert(out);
      rows.push_back(std::move(r));
      first = false;
    }
  }
  return rows;
}

}  // namespace qs::ui
