#include "core/graph/opset_upgrade.h"

#include <set>

#include "core/common/error.h"

namespace qs {

namespace {

struct Upgrader {
  Graph& g;
  std::set<std::string> used;
  std::vector<Node> out;

  explicit Upgrader(Graph& graph) : g(graph) {
    for (const auto& v : g.inputs) used.insert(v.name);
    for (const auto& [name, t] : g.initializers) used.insert(name);
    for (const auto& n : g.nodes) {
      used.insert(n.name);
      for (const auto& v : n.inputs) used.insert(v);
      for (const auto& v : n.outputs) used.insert(v);
    }
  }

  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int k = 1; used.count(name); ++k) name = base + "_" + std::to_string(k);
    used.insert(name);
    return name;
  }
  std::string constant(const std::string& base, Tensor t) {
    const std::string name = fresh(base);
    g.initializers[name] = std::move(t);
    return name;
  }
  std::string ints_input(const Node& n, const std::string& what, const std::vector<int64_t>& v) {
    return constant(n.name + "_" + what, Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v));
  }
  static void set_input(Node& n, size_t i, const std::string& v) {
    if (n.inputs.size() <= i) n.inputs.resize(i + 1);
    n.inputs[i] = v;
  }

  // The attribute `attr` (if present) becomes input `index` (int64 1-D); the attribute is removed.
  void attr_to_input(Node& n, const std::string& attr, size_t index) {
    if (!n.has_attr(attr)) return;
    const std::vector<int64_t> v = n.attr_ints(attr);
    n.attrs.erase(attr);
    set_input(n, index, ints_input(n, attr, v));
  }

  void softmax(Node n) {
    const int64_t axis = n.attr_int("axis", 1);
    const auto it = g.value_info.find(n.inputs.at(0));
    int64_t rank = -1;
    if (it != g.value_info.end() && it->second.shape) rank = static_cast<int64_t>(it->second.shape->size());
    for (const auto& in : g.inputs)
      if (in.name == n.inputs[0] && in.shape) rank = static_cast<int64_t>(in.shape->size());
    if (axis == -1 || (rank >= 0 && (axis == rank - 1 || (axis < 0 && axis + rank == rank - 1)))) {
      n.attrs["axis"] = Attribute::of_int(-1);  // the last axis: coercion to 2-D changes nothing
      out.push_back(std::move(n));
      return;
    }
    // Before opset 13 the op normalizes over all axes from `axis` on, as one: the input flattened to 2-D.
    const std::string x = n.inputs[0], y = n.outputs.at(0);
    Node shape;
    shape.name = fresh(n.name + "_input_shape");
    shape.op_type = "Shape";
    shape.inputs = {x};
    shape.outputs = {fresh(n.name + "_input_shape")};
    Node flat;
    flat.name = fresh(n.name + "_flatten");
    flat.op_type = "Flatten";
    flat.inputs = {x};
    flat.outputs = {fresh(n.name + "_2d")};
    flat.attrs["axis"] = Attribute::of_int(axis);
    Node reshape;
    reshape.name = fresh(n.name + "_reshape");
    reshape.op_type = "Reshape";
    reshape.inputs = {fresh(n.name + "_2d_out"), shape.outputs[0]};
    reshape.outputs = {y};
    n.inputs[0] = flat.outputs[0];
    n.outputs[0] = reshape.inputs[0];
    n.attrs["axis"] = Attribute::of_int(-1);
    out.push_back(std::move(shape));
    out.push_back(std::move(flat));
    out.push_back(std::move(n));
    out.push_back(std::move(reshape));
  }

  // Upsample-7/9 and Resize-10 → Resize-13. Those opsets use asymmetric coordinates and, for nearest,
  // truncation when an axis grows and ceil when it shrinks (NearestMode::Simple in ops/resize_tables.h).
  void legacy_resize(Node n, int64_t opset) {
    std::vector<float> scales;
    std::string scales_name;
    if (n.op_type == "Upsample" && opset < 9) {
      scales = n.attr_floats("scales");
      n.attrs.erase("scales");
      scales_name = constant(n.name + "_scales",
                             Tensor::from_vector<float>({static_cast<int64_t>(scales.size())}, scales));
    } else {
      if (!n.has_input(1)) throw UnsupportedError(n.describe() + ": the scales input is required");
      scales_name = n.inputs[1];
      const Tensor* s = g.initializer(scales_name);
      if (!s)
        throw UnsupportedError(n.describe() +
                               ": scales computed at run time cannot be converted to opset 13 (the "
                               "nearest rounding of opset " +
                               std::to_string(opset) + " depends on them)");
      scales = s->cast(DType::Float32).to_vector<float>();
    }
    const std::string mode = n.attr_string("mode", "nearest");
    n.op_type = "Resize";
    n.inputs = {n.inputs.at(0), "", scales_name};
    n.attrs["coordinate_transformation_mode"].kind = Attribute::Kind::String;
    n.attrs["coordinate_transformation_mode"].s = "asymmetric";
    if (mode == "nearest") {
      bool up = false, down = false;
      for (float s : scales) {
        up = up || s > 1.f;
        down = down || s < 1.f;
      }
      if (up && down)
        throw UnsupportedError(
            n.describe() + ": nearest resize that grows some axes and shrinks others has no opset-13 form");
      n.attrs["nearest_mode"].kind = Attribute::Kind::String;
      n.attrs["nearest_mode"].s = down ? "ceil" : "floor";
    }
    out.push_back(std::move(n));
  }

  void run() {
    const int64_t opset = g.opset;
    for (Node n : g.nodes) {
      if (!n.domain.empty()) {
        out.push_back(std::move(n));
        continue;
      }
      const std::string& op = n.op_type;
      if (op == "Clip" && opset < 11) {
        if (n.has_attr("min"))
          set_input(n, 1, constant(n.name + "_min", Tensor::scalar<float>(n.attr_float("min", 0))));
        if (n.has_attr("max"))
          set_input(n, 2, constant(n.name + "_max", Tensor::scalar<float>(n.attr_float("max", 0))));
        n.attrs.erase("min");
        n.attrs.erase("max");
      } else if (op == "Pad" && opset < 11) {
        const float value = n.attr_float("value", 0.f);
        set_input(n, 1, ints_input(n, "pads", n.attr_ints("pads")));
        set_input(n, 2, constant(n.name + "_value", Tensor::scalar<float>(value)));
        n.attrs.erase("pads");
        n.attrs.erase("value");
      } else if (op == "Slice" && opset < 10) {
        const auto starts = n.attr_ints("starts"), ends = n.attr_ints("ends");
        set_input(n, 1, ints_input(n, "starts", starts));
        set_input(n, 2, ints_input(n, "ends", ends));
        if (n.has_attr("axes")) set_input(n, 3, ints_input(n, "axes", n.attr_ints("axes")));
        n.attrs.erase("starts");
        n.attrs.erase("ends");
        n.attrs.erase("axes");
      } else if (op == "Split") {
        attr_to_input(n, "split", 1);
      } else if (op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum") {
        attr_to_input(n, "axes", 1);
      } else if (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") {
        softmax(std::move(n));
        continue;
      } else if (op == "Upsample" || (op == "Resize" && opset < 11)) {
        legacy_resize(std::move(n), opset);
        continue;
      } else if (op == "Resize" &&
                 n.attr_string("coordinate_transformation_mode", "half_pixel") == "tf_half_pixel_for_nn") {
        throw UnsupportedError(
            n.describe() + ": coordinate_transformation_mode 'tf_half_pixel_for_nn' was removed in opset 13");
      } else if (op == "Dropout") {
        n.attrs.erase("ratio");
        n.attrs.erase("is_test");
      } else if (op == "BatchNormalization") {
        if (n.attr_int("spatial", 1) != 1)
          throw UnsupportedError(n.describe() + ": spatial = 0 has no opset-13 form");
        n.attrs.erase("spatial");
        n.attrs.erase("is_test");
      }
      out.push_back(std::move(n));
    }
    g.nodes = std::move(out);
    g.opset = 13;
    g.opset_imports[""] = 13;
  }
};

}  // namespace

void upgrade_to_opset13(Graph& g) {
  if (g.opset >= 13) return;
  Upgrader(g).run();
}

}  // namespace qs
