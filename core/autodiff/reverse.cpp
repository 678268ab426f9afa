#include "core/autodiff/reverse.h"

#include <algorithm>

#include "core/autodiff/vjp.h"
#include "core/common/parallel.h"
#include "core/ops/kernel.h"

namespace qs {

struct ReverseModel::Step {
  const Node* node = nullptr;
  std::unique_ptr<Kernel> kernel;
  std::unique_ptr<Vjp> vjp;
  std::string vjp_error;  // why there is no VJP (raised only if the node is on a gradient path)
  std::vector<int> in, out;
};

namespace {

Tensor add_f32(const Tensor& a, const Tensor& b) {
  Tensor r(DType::Float32, a.shape());
  const float* x = a.data<float>();
  const float* y = b.data<float>();
  float* z = r.data<float>();
  const int64_t n = a.numel();
  parallel_for(
      0, (n + 16383) / 16384,
      [&](int64_t c) {
        for (int64_t i = c * 16384; i < std::min(n, (c + 1) * 16384); ++i) z[i] = x[i] + y[i];
      },
      16384);
  return r;
}

}  // namespace

bool Tape::has(const std::string& name) const {
  if (!slot_of_) return false;
  auto it = slot_of_->find(name);
  return it != slot_of_->end() && values_[static_cast<size_t>(it->second)].defined();
}

const Tensor& Tape::value(const std::string& name) const {
  if (!has(name)) throw Error("the tape holds no value named '" + name + "'");
  return values_[static_cast<size_t>(slot_of_->at(name))];
}

ReverseModel::~ReverseModel() = default;
ReverseModel::ReverseModel(ReverseModel&&) noexcept = default;

ReverseModel::ReverseModel(Graph graph, const std::set<std::string>& params)
    : graph_(std::move(graph)), params_(params) {
  for (const auto& p : params_)
    if (!graph_.is_initializer(p)) throw Error("parameter '" + p + "' is not an initializer of the model");
  auto slot = [&](const std::string& name) {
    auto [it, inserted] = slot_of_.emplace(name, static_cast<int>(slot_of_.size()));
    return it->second;
  };
  for (const auto& in : graph_.inputs) input_slots_.push_back(slot(in.name));
  for (const auto& [name, t] : graph_.initializers) slot(name);
  std::vector<std::string> problems;
  for (const Node& n : graph_.nodes) {
    Step s;
    s.node = &n;
    for (const auto& v : n.inputs) s.in.push_back(v.empty() ? -1 : slot(v));
    for (const auto& v : n.outputs) s.out.push_back(v.empty() ? -1 : slot(v));
    const int64_t opset =
        n.domain.empty() ? graph_.opset
                         : (graph_.opset_imports.count(n.domain) ? graph_.opset_imports.at(n.domain) : 0);
    KernelInit init{n, opset, [this](const std::string& v) -> const Tensor* {
                      return params_.count(v) ? nullptr : graph_.initializer(v);
                    }};
    try {
      s.kernel = OpRegistry::instance().create(init);
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
    if (s.kernel) {
      try {
        s.vjp = VjpRegistry::instance().create(init);
      } catch (const Error& e) {
        s.vjp_error = e.what();
      }
    }
    steps_.push_back(std::move(s));
  }
  if (!problems.empty()) {
    std::string msg = std::to_string(problems.size()) + " node(s) cannot run:";
    for (const auto& p : problems) msg += "\n  " + p;
    throw UnsupportedError(msg);
  }
  for (const auto& o : graph_.outputs) slot(o.name);
  constants_.resize(slot_of_.size());
  for (const auto& [name, t] : graph_.initializers) constants_[static_cast<size_t>(slot_of_[name])] = t;
}

Tape ReverseModel::forward(const std::map<std::string, Tensor>& feeds, const ForwardOptions& o) const {
  Tape tape;
  tape.slot_of_ = &slot_of_;
  tape.values_ = constants_;
  tape.raw_.resize(constants_.size());
  tape.prequant_.resize(constants_.size());
  tape.quant_.resize(constants_.size());
  for (const auto& [name, t] : o.params) {
    if (!params_.count(name)) throw Error("'" + name + "' was not declared as a parameter of the model");
    const Tensor& orig = *graph_.initializer(name);
    if (t.dtype() != orig.dtype() || t.shape() != orig.shape())
      throw Error("parameter '" + name + "' should be " + orig.str() + ", got " + t.str());
    tape.values_[static_cast<size_t>(slot_of_.at(name))] = t;
  }
  for (const auto& [name, t] : o.perturb)
    if (!slot_of_.count(name)) throw Error("cannot perturb '" + name + "': the model has no such value");
  // A produced value: perturbed, then fake-quantized, as consumers will see it.
  auto produce = [&](int s, const std::string& name, Tensor v) {
    const size_t u = static_cast<size_t>(s);
    const auto pit = o.perturb.find(name);
    const auto qit = o.fake_quant.find(name);
    const bool perturb = pit != o.perturb.end(),
               quant = qit != o.fake_quant.end() && v.dtype() == DType::Float32;
    if (perturb || quant) tape.raw_[u] = v;
    if (perturb) {
      if (pit->second.shape() != v.shape() || pit->second.dtype() != DType::Float32 ||
          v.dtype() != DType::Float32)
        throw Error("perturbation of '" + name + "' should be float32 " + shape_str(v.shape()) + ", got " +
                    pit->second.str());
      v = add_f32(v, pit->second);
    }
    if (quant) {
      tape.prequant_[u] = v;
      tape.quant_[u] = std::make_shared<const QuantParams>(qit->second);
      v = fake_quantize(v, qit->second);
    }
    tape.values_[u] = std::move(v);
  };
  for (size_t i = 0; i < graph_.inputs.size(); ++i) {
    const auto& vi = graph_.inputs[i];
    auto it = feeds.find(vi.name);
    if (it == feeds.end()) throw Error("input '" + vi.name + "' was not given");
    if (vi.dtype != DType::Undefined && it->second.dtype() != vi.dtype)
      throw Error("input '" + vi.name + "' should be " + dtype_name(vi.dtype) + ", got " +
                  dtype_name(it->second.dtype()));
    produce(input_slots_[i], vi.name, it->second);
  }
  std::vector<const Tensor*> in_ptrs;
  std::vector<Tensor> outs;
  for (const Step& s : steps_) {
    in_ptrs.clear();
    for (int i : s.in) in_ptrs.push_back(i >= 0 ? &tape.values_[static_cast<size_t>(i)] : nullptr);
    outs.assign(s.out.size(), Tensor());
    try {
      s.kernel->run(in_ptrs, outs);
    } catch (const Error& e) {
      const std::string prefix = "node '" + s.node->name + "'";
      if (std::string(e.what()).find(prefix) != std::string::npos) throw;
      throw Error(s.node->describe() + ": " + e.what());
    }
    for (size_t k = 0; k < s.out.size(); ++k) {
      if (s.out[k] < 0) continue;
      if (!outs[k].defined())
        throw Error(s.node->describe() + ": output '" + s.node->outputs[k] + "' was not produced");
      produce(s.out[k], s.node->outputs[k], std::move(outs[k]));
    }
  }
  return tape;
}

std::map<std::string, Tensor> ReverseModel::backward(const Tape& tape,
                                                     const std::map<std::string, Tensor>& seeds,
                                                     const std::vector<std::string>& wrt) const {
  if (tape.slot_of_ != &slot_of_) throw Error("backward: the tape was recorded by another model");
  const size_t n = slot_of_.size();
  auto slot_of = [&](const std::string& name, const char* what) {
    auto it = slot_of_.find(name);
    if (it == slot_of_.end())
      throw Error(std::string(what) + ": the model has no value named '" + name + "'");
    return static_cast<size_t>(it->second);
  };
  auto is_float = [&](size_t s) {
    return tape.values_[s].defined() && tape.values_[s].dtype() == DType::Float32;
  };
  std::vector<char> needs_grad(n, 0), reaches(n, 0), keep(n, 0);
  for (const auto& w : wrt) {
    const size_t s = slot_of(w, "backward");
    if (!tape.values_[s].defined()) throw Error("backward: '" + w + "' was not computed by the forward pass");
    if (is_float(s)) needs_grad[s] = 1;
    keep[s] = 1;
  }
  std::vector<Tensor> grads(n);
  for (const auto& [name, g] : seeds) {
    const size_t s = slot_of(name, "backward seed");
    const Tensor& v = tape.values_[s];
    if (!is_float(s) || g.dtype() != DType::Float32 || g.shape() != v.shape())
      throw Error("backward: the seed of '" + name + "' should be float32 " + shape_str(v.shape()) +
                  ", got " + g.str());
    grads[s] = g;
    reaches[s] = 1;
  }
  for (const Step& st : steps_) {
    bool any = false;
    for (int i : st.in) any |= i >= 0 && needs_grad[static_cast<size_t>(i)];
    if (any)
      for (int o : st.out)
        if (o >= 0 && is_float(static_cast<size_t>(o))) needs_grad[static_cast<size_t>(o)] = 1;
  }
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
    bool any = false;
    for (int o : it->out) any |= o >= 0 && reaches[static_cast<size_t>(o)];
    if (any)
      for (int i : it->in)
        if (i >= 0) reaches[static_cast<size_t>(i)] = 1;
  }
  // QuantizeLinear / DynamicQuantizeLinear turn a float value into integers, which carry no gradient: a
  // requested value reaching a seed through one would silently get a zero gradient, so that is refused.
  for (const Step& st : steps_) {
    const std::string& op = st.node->op_type;
    if (!st.node->domain.empty() || (op != "QuantizeLinear" && op != "DynamicQuantizeLinear")) continue;
    bool in_needs = false;
    for (int i : st.in) in_needs |= i >= 0 && needs_grad[static_cast<size_t>(i)];
    for (size_t k = 0; in_needs && k < st.out.size(); ++k)
      if (st.out[k] >= 0 && reaches[static_cast<size_t>(st.out[k])])
        throw UnsupportedError(
            "no gradient through " + op + " node '" + st.node->name + "': its output '" +
            st.node->outputs[k] + "' is " + dtype_name(tape.values_[static_cast<size_t>(st.out[k])].dtype()) +
            " and rounding has no useful derivative (for a straight-through gradient, differentiate "
            "the float model with ForwardOptions::fake_quant)");
  }
  // Straight-through gradient of a fake-quantized value, once its gradient is complete.
  auto through_quant = [&](size_t s) {
    if (grads[s].defined() && tape.quant_[s])
      grads[s] = fake_quantize_vjp(tape.prequant_[s], *tape.quant_[s], grads[s]);
  };

  std::vector<Tensor> grad_out, grad_in;
  std::vector<char> need_c;
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
    const Step& st = *it;
    bool active = false, has_grad = false;
    for (int o : st.out)
      if (o >= 0) {
        const size_t u = static_cast<size_t>(o);
        active |= needs_grad[u] && reaches[u];
        through_quant(u);
        has_grad |= grads[u].defined();
      }
    if (!active || !has_grad) continue;
    std::vector<const Tensor*> inputs;
    need_c.assign(st.in.size(), 0);
    bool any_need = false;
    for (size_t i = 0; i < st.in.size(); ++i) {
      const int s = st.in[i];
      inputs.push_back(s >= 0 ? &tape.values_[static_cast<size_t>(s)] : nullptr);
      need_c[i] = s >= 0 && needs_grad[static_cast<size_t>(s)] && is_float(static_cast<size_t>(s));
      any_need |= need_c[i] != 0;
    }
    if (!any_need) continue;
    if (!st.vjp) throw UnsupportedError(st.vjp_error);
    std::vector<Tensor> outputs(st.out.size());
    grad_out.assign(st.out.size(), Tensor());
    for (size_t k = 0; k < st.out.size(); ++k) {
      if (st.out[k] < 0) continue;
      const size_t u = static_cast<size_t>(st.out[k]);
      // The VJP sees what its kernel produced (before any perturbation or fake quantization).
      outputs[k] = tape.raw_[u].defined() ? tape.raw_[u] : tape.values_[u];
      if (outputs[k].dtype() == DType::Float32)
        grad_out[k] = grads[u].defined() ? grads[u] : Tensor::zeros(DType::Float32, outputs[k].shape());
    }
    std::unique_ptr<bool[]> need(new bool[st.in.size()]);
    for (size_t i = 0; i < st.in.size(); ++i) need[i] = need_c[i] != 0;
    grad_in.assign(st.in.size(), Tensor());
    VjpArgs args{inputs, outputs, grad_out, std::span<const bool>(need.get(), st.in.size())};
    try {
      st.vjp->backward(args, grad_in);
    } catch (const Error& e) {
      const std::string prefix = "node '" + st.node->name + "'";
      if (std::string(e.what()).find(prefix) != std::string::npos) throw;
      throw Error(st.node->describe() + " (gradient): " + e.what());
    }
    for (size_t i = 0; i < st.in.size(); ++i) {
      if (!need[i]) continue;
      const size_t u = static_cast<size_t>(st.in[i]);
      Tensor& g = grad_in[i];
      if (!g.defined()) continue;
      if (g.shape() != tape.values_[u].shape())
        throw Error(st.node->describe() + ": gradient of input '" + st.node->inputs[i] + "' has shape " +
                    shape_str(g.shape()) + ", expected " + shape_str(tape.values_[u].shape()));
      grads[u] = grads[u].defined() ? add_f32(grads[u], g) : std::move(g);
    }
    for (int o : st.out)
      if (o >= 0 && !keep[static_cast<size_t>(o)]) grads[static_cast<size_t>(o)] = Tensor();
  }
  for (int s : input_slots_) through_quant(static_cast<size_t>(s));

  std::map<std::string, Tensor> result;
  for (const auto& w : wrt) {
    const size_t s = slot_of_.at(w);
    if (grads[s].defined())
      result[w] = grads[s];
    else if (is_float(s))
      result[w] = Tensor::zeros(DType::Float32, tape.values_[s].shape());
  }
  return result;
}

Tensor fake_quantize_vjp(const Tensor& x, const QuantParams& p, const Tensor& g) {
  if (x.dtype() != DType::Float32 || g.shape() != x.shape())
    throw Error("fake_quantize_vjp: x " + x.str() + " and gradient " + g.str() + " do not match");
  const ChannelLayout l = channel_layout(x.shape(), p.axis);
  if (p.channels() != l.channels && p.channels() != 1)
    throw Error("fake_quantize_vjp: " + std::to_string(p.channels()) + " channels of parameters for " +
                x.str());
  Tensor r(DType::Float32, x.shape());
  const float* xp = x.data<float>();
  const float* gp = g.data<float>();
  float* out = r.data<float>();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const size_t k = p.channels() == 1 ? 0 : static_cast<size_t>(c);
      const float s = p.scale[k];
      const float zp = static_cast<float>(p.zero_point[k]);
      const float lo = static_cast<float>(p.qmin), hi = static_cast<float>(p.qmax);
      const int64_t base = (o * l.channels + c) * l.inner;
      for (int64_t i = base; i < base + l.inner; ++i) {
        // The same arithmetic as quantize_value: rint(x / s) + zp, before the clamp.
        const float q = std::rint(xp[i] / s) + zp;
        out[i] = q >= lo && q <= hi ? gp[i] : 0.f;  // NaN compares false: no gradient
      }
    }
  return r;
}

}  // namespace qs
