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
}

}  // namespace qs::obc
