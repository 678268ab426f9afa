// Helpers shared by the QDQ and QOperator builders (internal to core/export).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/export/export.h"
#include "core/int/lowering.h"
#include "core/quant/quantizer.h"

namespace qs::exportx {

// The graph under construction plus the names it uses, so every new name is unique.
struct Builder {
  const Graph& src;
  const QuantPlan& plan;
  const QuantPoints& points;
  Lowering L;
  Graph out;
  std::set<std::string> used;
  std::vector<std::string> notes;

  WeightStorage weight_storage = WeightStorage::AsPlan;

  Builder(const Graph& g, const QuantPlan& p, const QuantPoints& pts,
          WeightStorage ws = WeightStorage::AsPlan);

  std::string fresh(const std::string& base);
  Node& add_node(const std::string& op, std::vector<std::string> in, std::vector<std::string> outs,
                 const std::string& name_hint);
  std::string add_init(const std::string& base, Tensor t);  // returns the (unique) name

  // Scale and zero-point initializers of activation params (per tensor); cached per value.
  std::map<std::string, std::pair<std::string, std::string>> act_sz;
  std::pair<std::string, std::string> scale_zp(const std::string& value, const QuantParams& p);

  // x (float) → [Clip to the grid when narrower than 8 bits] → QuantizeLinear → q_name.
  void quantize(const std::string& x, const std::string& value, const QuantParams& p,
                const std::string& q_name);
  // q (int) → DequantizeLinear → x_name.
  void dequantize(const std::string& q, const std::string& value, const QuantParams& p,
                  const std::string& x_name);

  // A quantized weight: int8/uint8 initializer + scale + zero point (1-D per axis, scalar per tensor).
  struct QWeight {
    std::string q, scale, zp;
    int axis = -1;
    Shape shape;
  };
  std::map<std::string, QWeight> qweights;
  const QWeight& quantized_weight(const std::string& w);  // the weight must have an active entry
  // A float name for weight w: DequantizeLinear of its quantized form (named w; the float initializer is
  // dropped), or w itself when the plan keeps it in float.
  std::map<std::string, std::string> weight_float;
  std::string weight_float_name(const std::string& w);

  // The int32 bias of `layer` if the simulation quantizes it (same conditions and rounding), else nullptr.
  struct QBias {
    std::string q;           // int32 initializer
    std::string float_name;  // DequantizeLinear output ("" until asked)
    Tensor values;
    std::vector<float> scale;  // per output channel (or one)
  };
  std::map<std::string, QBias> qbiases;  // by layer
  QBias* quantized_bias(const WeightPoint& wp);
  std::string bias_float_name(const WeightPoint& wp);

  const WeightPoint* weight_point_of_layer(const std::string& layer) const;
  int64_t opset_for(bool per_axis) const;
  void finish();  // drops unused initializers, sorts nodes topologically
};

// Checks the plan fits the formats' types: 8-bit-or-narrower activations.
void check_exportable(const QuantPlan& plan, const QuantPoints& points);

ExportedGraph build_qdq(Builder& b);
ExportedGraph build_qop(Builder& b);

}  // namespace qs::exportx
