#include <algorithm>
#include <set>

#include "core/ops/kernel.h"

namespace qs {

const OpRegistry& OpRegistry::instance() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    register_conv_ops(r);
    register_matmul_ops(r);
    register_pool_ops(r);
    register_norm_ops(r);
    register_elementwise_ops(r);
    register_reduce_ops(r);
    register_select_ops(r);
    register_shape_ops(r);
    register_resize_pad_ops(r);
    register_quantized_ops(r);
    return r;
  }();
  return registry;
}

void OpRegistry::add(const std::string& domain, const std::string& op_type, int since, int until,
                     KernelFactory factory) {
  entries_.push_back({domain, op_type, since, until, std::move(factory)});
}

const KernelFactory* OpRegistry::find(const std::string& domain, const std::string& op_type, int64_t opset) const {
  for (const auto& e : entries_)
    if (e.domain == domain && e.op_type == op_type && opset >= e.since && opset <= e.until) return &e.factory;
  return nullptr;
}

std::unique_ptr<Kernel> OpRegistry::create(const KernelInit& init) const {
  const Node& n = init.node;
  const KernelFactory* f = find(n.domain, n.op_type, init.opset);
  if (!f) {
    const bool known = std::any_of(entries_.begin(), entries_.end(),
                                   [&](const Entry& e) { return e.domain == n.domain && e.op_type == n.op_type; });
    if (!n.domain.empty())
      throw UnsupportedError(init.where() + ": op domain '" + n.domain + "' is not supported");
    throw UnsupportedError(init.where() + (known ? ": this opset version of the op is not supported"
                                                 : ": op type is not supported"));
  }
  return (*f)(init);
}

std::vector<std::string> OpRegistry::op_types() const {
  std::set<std::string> s;
  for (const auto& e : entries_)
    if (e.domain.empty()) s.insert(e.op_type);
  return {s.begin(), s.end()};
}

}  // namespace qs
