#include <algorithm>
#include <set>
#include <vector>

#include "core/autodiff/vjp.h"
#include "core/ops/broadcast.h"

namespace qs {

const VjpRegistry& VjpRegistry::instance() {
  static const VjpRegistry registry = [] {
    VjpRegistry r;
    register_elementwise_vjps(r);
    register_linear_vjps(r);
    register_pool_vjps(r);
    register_norm_vjps(r);
    register_reduce_vjps(r);
    register_movement_vjps(r);
    register_quantize_vjps(r);
    register_local_vjps(r);
    return r;
  }();
  return registry;
}

void VjpRegistry::add(const std::string& op_type, int since, int until, VjpFactory factory) {
  entries_.push_back({op_type, since, until, std::move(factory)});
}

bool VjpRegistry::has(const std::string& op_type) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.op_type == op_type; });
}

std::unique_ptr<Vjp> VjpRegistry::create(const KernelInit& init) const {
  const Node& n = init.node;
  if (!n.domain.empty()) init.unsupported("no gradient (VJP) for ops of domain '" + n.domain + "'");
  for (const auto& e : entries_)
    if (e.op_type == n.op_type && init.opset >= e.since && init.opset <= e.until) return e.factory(init);
  init.unsupported(has(n.op_type) ? "no gradient (VJP) for this opset version of the op"
                                  : "no gradient (VJP) for this op type");
}

std::vector<std::string> VjpRegistry::op_types() const {
  std::set<std::string> s;
  for (const auto& e : entries_) s.insert(e.op_type);
  return {s.begin(), s.end()};
}

Tensor zeros_f32(const Shape& shape) { return Tensor::zeros(DType::Float32, shape); }

Tensor sum_to_shape(const Tensor& g, const Shape& to) {
  if (g.shape() == to) return g;
  const Shape& from = g.shape();
  std::vector<double> acc(static_cast<size_t>(numel(to)), 0.0);
  const float* gp = g.data<float>();
  for_each_broadcast<1>(from, {broadcast_strides(to, from)},
                        [&](int64_t i, int64_t o) { acc[static_cast<size_t>(o)] += gp[i]; });
  Tensor out(DType::Float32, to);
  float* op = out.data<float>();
  for (size_t i = 0; i < acc.size(); ++i) op[i] = static_cast<float>(acc[i]);
  return out;
}

}  // namespace qs
