// VJPs of data movement. Reshape-like ops (the output is the input with another shape) pass the gradient
// reshaped. Every other movement op (Transpose, Concat, Split, Slice, Gather, GatherElements, GatherND,
// Expand, Tile, Pad, DepthToSpace, SpaceToDepth, Resize/Upsample in nearest mode) is a gather: each output
// element is a copy of one input element, or a fill value. Instead of a second, hand-written index
// computation per op — which could disagree with the forward kernel in some corner of the ONNX spec — the
// VJP runs the forward kernel itself on inputs holding their own element indices (offset by 1 so that 0
// marks a fill value) and scatters the output gradient back through the map it gets. Indices are exact
// in float32 up to 2^24; larger inputs take two runs (high and low 12 bits). Maps depend only on the
// shapes and on the non-data inputs (pads, starts, indices, ...), and are cached by them when those are
// small.
#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

#include "core/autodiff/vjp.h"
#include "core/common/parallel.h"

namespace qs {

namespace {

std::unique_ptr<Vjp> make_reshape_vjp(const KernelInit&) {
  return make_vjp([](const VjpArgs& a, std::span<Tensor> gi) {
    if (a.need[0]) gi[0] = a.grad_outputs[0].reshaped(a.inputs[0]->shape());
  });
}

class GatherMapVjp final : public Vjp {
 public:
  // `data`: the inputs whose elements are moved (the differentiable ones); `fill_input`: an input holding
  // the fill value (Pad's constant_value), fed as 0 to the index run, or -1.
  GatherMapVjp(const KernelInit& init, std::vector<size_t> data, int fill_input)
      : node_(init.node),
        opset_(init.opset),
        data_(std::move(data)),
        fill_input_(fill_input),
        where_(init.where()) {
    if (node_.op_type == "Pad" && node_.has_attr("value")) node_.attrs["value"] = Attribute::of_float(0.f);
    zero_ = Tensor::scalar<float>(0.f);
    auto lookup = init.lookup_constant;
    KernelInit map_init{node_, opset_, [this, lookup](const std::string& v) -> const Tensor* {
                          for (size_t i : data_)
                            if (i < node_.inputs.size() && node_.inputs[i] == v) return nullptr;
                          // The fill input is optional (Pad's constant_value): the node may not have it.
                          if (fill_input_ >= 0 && static_cast<size_t>(fill_input_) < node_.inputs.size() &&
                              node_.inputs[static_cast<size_t>(fill_input_)] == v)
                            return &zero_;
                          return lookup ? lookup(v) : nullptr;
                        }};
    kernel_ = OpRegistry::instance().create(map_init);
  }

  void backward(const VjpArgs& a, std::span<Tensor> gi) const override {
    const std::shared_ptr<const Maps> maps = get_maps(a);
    // Offsets of each data input in the global index space.
    std::vector<int64_t> offset(data_.size() + 1, 0);
    for (size_t k = 0; k < data_.size(); ++k) offset[k + 1] = offset[k] + a.inputs[data_[k]]->numel();
    std::vector<double> acc(static_cast<size_t>(offset.back()), 0.0);
    double fill = 0;
    for (size_t o = 0; o < maps->out.size(); ++o) {
      if (maps->out[o].empty()) continue;
      const float* g = a.grad_outputs[o].data<float>();
      const auto& m = maps->out[o];
      for (size_t i = 0; i < m.size(); ++i) {
        if (m[i] >= 0)
          acc[static_cast<size_t>(m[i])] += g[i];
        else
          fill += g[i];
      }
    }
    for (size_t k = 0; k < data_.size(); ++k) {
      const size_t i = data_[k];
      if (!a.need[i]) continue;
      Tensor t(DType::Float32, a.inputs[i]->shape());
      float* p = t.data<float>();
      for (int64_t j = 0; j < t.numel(); ++j)
        p[j] = static_cast<float>(acc[static_cast<size_t>(offset[k] + j)]);
      gi[i] = std::move(t);
    }
    if (fill_input_ >= 0 && static_cast<size_t>(fill_input_) < a.need.size() &&
        a.need[static_cast<size_t>(fill_input_)])
      gi[static_cast<size_t>(fill_input_)] = Tensor::from_vector<float>(
          a.inputs[static_cast<size_t>(fill_input_)]->shape(), {static_cast<float>(fill)});
  }

 private:
  struct Maps {
    std::vector<std::vector<int64_t>>
        out;  // per output: source global index, or -1 (fill); empty if not float
  };

  bool is_data(size_t i) const { return std::find(data_.begin(), data_.end(), i) != data_.end(); }

  // A key made of the input shapes and the contents of the small non-data inputs; "" when a non-data input
  // is too large to key on (the map is then built for this call only).
  std::string key(const VjpArgs& a) const {
    std::string k;
    for (size_t i = 0; i < a.inputs.size(); ++i) {
      const Tensor* t = a.inputs[i];
      k += '|';
      if (!t) continue;
      k += std::to_string(static_cast<int>(t->dtype())) + ":" + shape_str(t->shape());
      if (is_data(i) || static_cast<int>(i) == fill_input_) continue;
      if (t->nbytes() > 4096) return "";
      k.append(static_cast<const char*>(t->raw()), t->nbytes());
    }
    return k;
  }

  std::shared_ptr<const Maps> get_maps(const VjpArgs& a) const {
    const std::string k = key(a);
    if (!k.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.find(k);
      if (it != cache_.end()) return it->second;
    }
    auto maps = std::make_shared<Maps>(build(a));
    if (!k.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (cache_.size() > 64) cache_.clear();  // shapes change rarely; bound the memory anyway
      cache_[k] = maps;
    }
    return maps;
  }

  // Runs the kernel on index-valued inputs: value = ((global index >> shift) & mask) + 1.
  std::vector<Tensor> run_pass(const VjpArgs& a, int shift, int64_t mask) const {
    std::vector<Tensor> coded(a.inputs.size());
    std::vector<const Tensor*> in(a.inputs.begin(), a.inputs.end());
    int64_t base = 0;
    for (size_t i : data_) {
      const Tensor& src = *a.inputs[i];
      Tensor t(DType::Float32, src.shape());
      float* p = t.data<float>();
      for (int64_t j = 0; j < t.numel(); ++j) p[j] = static_cast<float>(((base + j) >> shift & mask) + 1);
      base += src.numel();
      coded[i] = std::move(t);
      in[i] = &coded[i];
    }
    if (fill_input_ >= 0 && static_cast<size_t>(fill_input_) < in.size() &&
        in[static_cast<size_t>(fill_input_)])
      in[static_cast<size_t>(fill_input_)] = &zero_;
    std::vector<Tensor> out(node_.outputs.size());
    kernel_->run(in, out);
    return out;
  }

  Maps build(const VjpArgs& a) const {
    int64_t total = 0;
    for (size_t i : data_) {
      if (a.inputs[i]->dtype() != DType::Float32)
        throw UnsupportedError(where_ + ": gradient through " + dtype_name(a.inputs[i]->dtype()) + " data");
      total += a.inputs[i]->numel();
    }
    Maps m;
    m.out.resize(node_.outputs.size());
    constexpr int64_t kExact = int64_t{1} << 24;  // float32 holds every integer below this exactly
    const bool two = total + 1 >= kExact;
    const std::vector<Tensor> hi = run_pass(a, two ? 12 : 0, kExact - 1);
    std::vector<Tensor> lo;
    if (two) lo = run_pass(a, 0, 4095);
    for (size_t o = 0; o < hi.size(); ++o) {
      if (!hi[o].defined() || hi[o].dtype() != DType::Float32) continue;
      const float* h = hi[o].data<float>();
      const float* l = two ? lo[o].data<float>() : nullptr;
      auto& v = m.out[o];
      v.resize(static_cast<size_t>(hi[o].numel()));
      for (size_t i = 0; i < v.size(); ++i) {
        const auto hv = static_cast<int64_t>(h[i]);
        if (hv <= 0) {
          v[i] = -1;
        } else if (!two) {
          v[i] = hv - 1;
        } else {
          v[i] = ((hv - 1) << 12) + (static_cast<int64_t>(l[i]) - 1);
        }
      }
    }
    return m;
  }

  Node node_;
  int64_t opset_;
  std::vector<size_t> data_;
  int fill_input_;
  std::string where_;
  Tensor zero_;
  std::unique_ptr<Kernel> kernel_;
  mutable std::mutex mu_;
  mutable std::map<std::string, std::shared_ptr<const Maps>> cache_;
};

VjpFactory gather_map(std::vector<size_t> data, int fill_input = -1) {
  return [data, fill_input](const KernelInit& init) -> std::unique_ptr<Vjp> {
    return std::make_unique<GatherMapVjp>(init, data, fill_input);
  };
}

std::unique_ptr<Vjp> make_concat_vjp(const KernelInit& init) {
  std::vector<size_t> all;
  for (size_t i = 0; i < init.node.inputs.size(); ++i) all.push_back(i);
  return std::make_unique<GatherMapVjp>(init, all, -1);
}

std::unique_ptr<Vjp> make_resize_vjp(const KernelInit& init) {
  if (init.node.attr_string("mode", "nearest") != "nearest")
    init.unsupported("no gradient (VJP) for Resize/Upsample in mode '" + init.node.attr_string("mode", "") +
                     "' (only nearest)");
  return std::make_unique<GatherMapVjp>(init, std::vector<size_t>{0}, -1);
}

}  // namespace

void register_movement_vjps(VjpRegistry& r) {
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze"}) r.add(op, 1, 21, make_reshape_vjp);
  for (const char* op : {"Transpose", "Split", "Slice", "Gather", "GatherElements", "GatherND", "Expand",
                         "Tile", "DepthToSpace", "SpaceToDepth"})
    r.add(op, 1, 21, gather_map({0}));
  r.add("Concat", 1, 21, make_concat_vjp);
  r.add("Pad", 1, 10, gather_map({0}));
  r.add("Pad", 11, 21, gather_map({0}, 2));
  r.add("Resize", 10, 21, make_resize_vjp);
  r.add("Upsample", 7, 9, make_resize_vjp);
}

}  // namespace qs
