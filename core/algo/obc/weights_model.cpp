#include "core/algo/obc/weights_model.h"

#include <filesystem>

#include "core/common/error.h"
#include "core/onnx/import.h"

namespace qs::obc {

namespace fs = std::filesystem;

std::string weights_model_reference(const std::string& model_path, const std::string& plan_path) {
  const fs::path dir = fs::absolute(plan_path).parent_path();
  return fs::absolute(model_path).lexically_relative(dir).string();
}

void apply_weights_model(Graph& g, const QuantPlan& plan, const std::string& plan_path) {
  if (plan.weights_model.empty()) return;
  fs::path p(plan.weights_model);
  if (p.is_relative()) p = fs::absolute(plan_path).parent_path() / p;
  const std::string file = p.lexically_normal().string();
  const Model wm = load_model(file);
  for (const auto& e : plan.entries) {
    if (e.kind != TensorKind::Weight) continue;
    const Tensor* dst = g.initializer(e.tensor);
    const Tensor* src = wm.graph.initializer(e.tensor);
    if (!dst) continue;  // validate_plan reports entries that do not fit the model
    if (!src) throw Error(file + " (weights model of " + plan_path + "): no weight '" + e.tensor + "'");
    if (src->dtype() != dst->dtype() || src->shape() != dst->shape())
      throw Error(file + " (weights model of " + plan_path + "): weight '" + e.tensor + "' is " + src->str() +
                  ", the model's is " + dst->str());
    g.initializers[e.tensor] = *src;
  }
  // Biases travel too (bias correction, EPTQ's learned biases): the bias input of each plan layer, added to
  // the layer when the weights model gave it one it did not have.
  for (const auto& e : plan.entries) {
    if (e.kind != TensorKind::Weight) continue;
    Node* dn = nullptr;
    const Node* sn = nullptr;
    for (auto& n : g.nodes)
      if (n.name == e.layer) dn = &n;
    for (const auto& n : wm.graph.nodes)
      if (n.name == e.layer) sn = &n;
    if (!dn || !sn || dn->op_type != sn->op_type || !sn->has_input(2)) continue;
    if (dn->op_type != "Conv" && dn->op_type != "ConvTranspose" && dn->op_type != "Gemm") continue;
    const std::string& name = sn->inputs[2];
    const Tensor* src = wm.graph.initializer(name);
    if (!src) continue;  // a computed bias is not a weight
    if (dn->has_input(2) && dn->inputs[2] == name) {
      const Tensor* dst = g.initializer(name);
      if (dst && (src->dtype() != dst->dtype() || src->shape() != dst->shape()))
        throw Error(file + " (weights model of " + plan_path + "): bias '" + name + "' is " + src->str() +
                    ", the model's is " + dst->str());
    } else if (g.is_initializer(name) || g.producer(name) >= 0) {
      throw Error(file + " (weights model of " + plan_path + "): layer '" + e.layer + "' has bias '" + name +
                  "', a name the model uses for another value");
    } else {
      if (dn->inputs.size() < 3) dn->inputs.resize(3);
      dn->inputs[2] = name;
    }
    g.initializers[name] = *src;
  }
}

}  // namespace qs::obc
