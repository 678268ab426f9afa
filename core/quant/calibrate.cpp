#include "core/quant/calibrate.h"

#include <map>
#include <memory>

#include "core/runtime/executor.h"
#include "core/quant/weight_range.h"

namespace qs {

QuantSpec weight_spec(const CalibrationOptions& o, int axis) {
  QuantSpec s;
  s.bits = o.weight_bits == 32 ? 8 : o.weight_bits;
  s.symmetric = true;
  s.is_signed = true;
  s.axis = o.per_channel ? axis : -1;
  return s;
}

QuantSpec activation_spec(const CalibrationOptions& o) {
  QuantSpec s;
  s.bits = o.act_bits == 32 ? 8 : o.act_bits;
  s.symmetric = s.bits == 16;
  s.is_signed = s.bits == 16 ? true : o.act_signed;
  s.axis = -1;
  return s;
}

PlanEntry plan_entry(const WeightPoint& w, const QuantSpec& spec) {
  PlanEntry e;
  e.tensor = w.tensor;
  e.kind = TensorKind::Weight;
  e.layer = w.layer;
  e.op_type = w.op_type;
  e.spec = spec;
  return e;
}

PlanEntry plan_entry(const ActivationPoint& a, const QuantSpec& spec) {
  PlanEntry e;
  e.tensor = a.tensor;
  e.kind = TensorKind::Activation;
  e.layer = a.producer;
  e.op_type = a.op_type;
  e.spec = spec;
  return e;
}

QuantPoints quant_points_for(const Graph& g, const Shape& sample_shape) {
  if (g.inputs.size() > 1) {
    std::string names;
    for (const auto& in : g.inputs) names += (names.empty() ? "'" : ", '") + in.name + "'";
    throw UnsupportedError("the model has " + std::to_string(g.inputs.size()) + " inputs (" + names +
                           ") and data was given for one; each input needs data of its own");
  }
  return quant_points_for(
      g, std::map<std::string, Shape>{{g.inputs.empty() ? "" : g.inputs[0].name, sample_shape}});
}

QuantPoints quant_points_for(const Graph& g, const std::map<std::string, Shape>& sample_shapes) {
  Executor ex(g);
  std::map<std::string, Tensor> feeds;
  for (const auto& in : g.inputs) {
    auto it = sample_shapes.find(in.name);
    if (it == sample_shapes.end()) throw Error("input '" + in.name + "' has no data");
    Shape s = it->second;
    s.insert(s.begin(), 1);
    if (in.shape && in.shape->size() != s.size())
      throw UnsupportedError("input '" + in.name + "' has rank " + std::to_string(in.shape->size()) +
                             ", but its samples have shape " + shape_str(it->second) + " (rank " +
                             std::to_string(s.size()) + " with the batch)");
    feeds[in.name] = Tensor::zeros(in.dtype == DType::Undefined ? DType::Float32 : in.dtype, s);
  }
  return find_quant_points(g, value_types(probe_values(ex, feeds)));
}

QuantPoints quant_points_for(const Graph& g, const Dataset& data) {
  if (g.inputs.empty()) throw Error("the model has no inputs to feed data to");
  return quant_points_for(g, data.sample_shapes(g.inputs[0].name));
}

QuantPlan calibrate(const Graph& g, Dataset& data, const CalibrationOptions& o) {
  if (o.weight_bits != 32 && !weight_bits_allowed(o.weight_bits))
    throw Error("weight bits " + std::to_string(o.weight_bits) + " is not allowed (2–8, or 32 for float)");
  if (o.act_bits != 32 && !activation_bits_allowed(o.act_bits))
    throw Error("activation bits " + std::to_string(o.act_bits) + " is not allowed (4–8 or 16, or 32 for float)");
  if (data.size() == 0) throw Error("the calibration data set is empty");

  const QuantPoints points = quant_points_for(g, data);
  QuantPlan plan;
  for (const auto& w : points.weights) {
    PlanEntry e = plan_entry(w, weight_spec(o, w.axis));
    e.quantize = o.weight_bits != 32;
    e.method = o.weight_method;
    const ChannelRanges r = weight_range(*g.initializer(w.tensor), e.spec, o.weight_method);
    e.lo = r.lo;
    e.hi = r.hi;
    e.params = params_from_range(e.spec, e.lo, e.hi);
    plan.entries.push_back(std::move(e));
  }

  // Activations: one observer per point, fed by a tap on the float model.
  const QuantSpec aspec = activation_spec(o);
  std::map<std::string, std::unique_ptr<Observer>> observers;
  for (const auto& a : points.activations) observers[a.tensor] = make_observer(o.act_method, aspec, o.observer);
  Executor ex(g);
  RunOptions ro;
  ro.tap = [&](const std::string& name, const Tensor& t) {
    auto it = observers.find(name);
    if (it != observers.end()) it->second->observe(t);
  };
  const int64_t n = o.calib_count > 0 ? std::min(o.calib_count, data.size()) : data.size();
  for (int64_t begin = 0; begin < n; begin += o.batch) {
    if (o.progress && !o.progress(begin, n)) throw CancelledError();
    Batch b = data.read(begin, std::min(o.batch, n - begin));
    ex.run(inputs_of(g, b), ro);
  }
  if (o.progress) o.progress(n, n);

  for (const auto& a : points.activations) {
    PlanEntry e = plan_entry(a, aspec);
    e.quantize = o.act_bits != 32;
    e.method = o.act_method;
    const Range r = observers.at(a.tensor)->range();
    e.lo = {r.lo};
    e.hi = {r.hi};
    e.params = params_from_range(e.spec, e.lo, e.hi);
    plan.entries.push_back(std::move(e));
  }
  return plan;
}

}  // namespace qs
