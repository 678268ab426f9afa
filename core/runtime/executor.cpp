#include "core/runtime/executor.h"

#include <cstring>
#include <set>

namespace qs {

struct Executor::Step {
  const Node* node = nullptr;
  std::unique_ptr<Kernel> kernel;
  std::vector<int> in;       // slot per input, -1 when omitted
  std::vector<int> out;      // slot per output, -1 when omitted
  std::vector<int> release;  // slots whose last use is this step
};

Executor::~Executor() = default;
Executor::Executor(Executor&&) noexcept = default;
Executor& Executor::operator=(Executor&&) noexcept = default;

Executor::Executor(Graph graph) : graph_(std::move(graph)) {
  auto slot = [&](const std::string& name) {
    auto [it, inserted] = slot_of_.emplace(name, static_cast<int>(slot_of_.size()));
    return it->second;
  };
  for (const auto& in : graph_.inputs) slot(in.name);
  for (const auto& [name, t] : graph_.initializers) slot(name);
  for (const auto& in : graph_.inputs) {
    const int64_t b = in.shape && !in.shape->empty() && (*in.shape)[0].known() ? (*in.shape)[0].value : -1;
    if (b <= 0 || (fixed_batch_ > 0 && b != fixed_batch_)) {
      fixed_batch_ = 0;
      break;
    }
    fixed_batch_ = b;
  }
  std::vector<std::string> problems;
  for (const Node& n : graph_.nodes) {
    Step s;
    s.node = &n;
    for (const auto& v : n.inputs) s.in.push_back(v.empty() ? -1 : slot(v));
    for (const auto& v : n.outputs) s.out.push_back(v.empty() ? -1 : slot(v));
    const int64_t opset =
        n.domain.empty() ? graph_.opset : (graph_.opset_imports.count(n.domain) ? graph_.opset_imports.at(n.domain) : 0);
    KernelInit init{n, opset, [this](const std::string& v) { return graph_.initializer(v); }};
    try {
      s.kernel = OpRegistry::instance().create(init);
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
    steps_.push_back(std::move(s));
  }
  if (!problems.empty()) {
    std::string msg = std::to_string(problems.size()) + " node(s) cannot run:";
    for (const auto& p : problems) msg += "\n  " + p;
    throw UnsupportedError(msg);
  }
  for (const auto& o : graph_.outputs) slot(o.name);
  num_slots_ = slot_of_.size();
  constants_.resize(num_slots_);
  for (const auto& [name, t] : graph_.initializers) constants_[static_cast<size_t>(slot_of_[name])] = t;

  // Liveness: a computed value is released after its last consumer unless it is a graph output.
  std::vector<int> last_use(num_slots_, -1);
  for (size_t i = 0; i < steps_.size(); ++i)
    for (int s : steps_[i].in)
      if (s >= 0) last_use[static_cast<size_t>(s)] = static_cast<int>(i);
  std::set<int> keep;
  for (const auto& o : graph_.outputs) keep.insert(slot_of_[o.name]);
  for (size_t s = 0; s < num_slots_; ++s)
    if (last_use[s] >= 0 && !keep.count(static_cast<int>(s)) && !constants_[s].defined())
      steps_[static_cast<size_t>(last_use[s])].release.push_back(static_cast<int>(s));
}

void Executor::check_input(const ValueInfo& vi, const Tensor& t) const {
  if (!t.defined()) throw Error("input '" + vi.name + "' was not given");
  if (vi.dtype != DType::Undefined && t.dtype() != vi.dtype)
    throw Error("input '" + vi.name + "' should be " + dtype_name(vi.dtype) + ", got " + dtype_name(t.dtype()));
  if (!vi.shape) return;
  const auto& dims = *vi.shape;
  if (dims.size() != t.shape().size())
    throw Error("input '" + vi.name + "' should have rank " + std::to_string(dims.size()) + ", got shape " +
                shape_str(t.shape()));
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i].known() && dims[i].value != t.shape()[i])
      throw Error("input '" + vi.name + "' dimension " + std::to_string(i) + " should be " +
                  std::to_string(dims[i].value) + ", got shape " + shape_str(t.shape()));
}

std::vector<Tensor> Executor::run(const std::vector<Tensor>& inputs, const RunOptions& options) const {
  if (inputs.size() != graph_.inputs.size())
    throw Error("the model takes " + std::to_string(graph_.inputs.size()) + " input(s), " +
                std::to_string(inputs.size()) + " given");
  std::map<std::string, Tensor> feeds;
  for (size_t i = 0; i < inputs.size(); ++i) feeds[graph_.inputs[i].name] = inputs[i];
  std::vector<std::string> fetch;
  for (const auto& o : graph_.outputs) fetch.push_back(o.name);
  auto r = run(feeds, fetch, options);
  std::vector<Tensor> out;
  for (const auto& o : graph_.outputs) out.push_back(r[o.name]);
  return out;
}

namespace {

// Rows [begin, begin + count) of `t` along dimension 0; rows past the end repeat the last row.
Tensor batch_rows(const Tensor& t, int64_t begin, int64_t count) {
  Shape shape = t.shape();
  const int64_t n = shape[0];
  shape[0] = count;
  Tensor out(t.dtype(), shape);
  const size_t row = n ? t.nbytes() / static_cast<size_t>(n) : 0;
  for (int64_t i = 0; i < count; ++i)
    std::memcpy(static_cast<std::byte*>(out.raw()) + static_cast<size_t>(i) * row,
                static_cast<const std::byte*>(t.raw()) + static_cast<size_t>(std::min(begin + i, n - 1)) * row, row);
  return out;
}

}  // namespace

std::map<std::string, Tensor> Executor::run(const std::map<std::string, Tensor>& feeds,
                                            const std::vector<std::string>& fetch, const RunOptions& options) const {
  const int64_t B = fixed_batch_;
  int64_t n = -1;
  if (B > 0)
    for (const auto& [name, t] : feeds) {
      const int64_t rows = t.defined() && t.rank() > 0 ? t.dim(0) : -1;
      n = (n == -1 || n == rows) ? rows : -2;
    }
  if (B <= 0 || n <= 0 || n == B) return run_once(feeds, fetch, options);

  // Fixed batch B, n samples: chunks of B, the last padded; fetched batch values joined back to n rows.
  std::map<std::string, std::vector<Tensor>> parts;
  std::map<std::string, Tensor> result;
  for (int64_t begin = 0; begin < n; begin += B) {
    std::map<std::string, Tensor> chunk;
    for (const auto& [name, t] : feeds) chunk[name] = batch_rows(t, begin, B);
    auto r = run_once(chunk, fetch, options);
    const int64_t valid = std::min(B, n - begin);
    for (auto& [name, t] : r) {
      if (begin == 0) result[name] = t;
      if (t.rank() > 0 && t.dim(0) == B) parts[name].push_back(valid == B ? t : batch_rows(t, 0, valid));
    }
  }
  for (auto& [name, ps] : parts) {
    if (ps.size() != static_cast<size_t>((n + B - 1) / B)) continue;  // not a batch value in every chunk
    Shape shape = ps[0].shape();
    shape[0] = 0;
    for (const auto& p : ps) shape[0] += p.dim(0);
    Tensor joined(ps[0].dtype(), shape);
    size_t off = 0;
    for (const auto& p : ps) {
      std::memcpy(static_cast<std::byte*>(joined.raw()) + off, p.raw(), p.nbytes());
      off += p.nbytes();
    }
    result[name] = std::move(joined);
  }
  return result;
}

std::map<std::string, Tensor> Executor::run_once(const std::map<std::string, Tensor>& feeds,
                                                 const std::vector<std::string>& fetch, const RunOptions& options) const {
  std::vector<Tensor> slots = constants_;
  for (const auto& vi : graph_.inputs) {
    auto it = feeds.find(vi.name);
    if (it == feeds.end()) throw Error("input '" + vi.name + "' was not given");
    check_input(vi, it->second);
    Tensor& slot = slots[static_cast<size_t>(slot_of_.at(vi.name))];
    slot = it->second;
    if (options.rewrite) options.rewrite(vi.name, slot);
    if (options.tap) options.tap(vi.name, slot);
  }
  for (const auto& [name, t] : feeds)
    if (std::none_of(graph_.inputs.begin(), graph_.inputs.end(), [&](const ValueInfo& v) { return v.name == name; }))
      throw Error("the model has no input named '" + name + "'");

  std::set<int> fetched;
  for (const auto& f : fetch) {
    auto it = slot_of_.find(f);
    if (it == slot_of_.end()) throw Error("the model has no value named '" + f + "'");
    fetched.insert(it->second);
  }
  std::vector<const Tensor*> in_ptrs;
  std::vector<Tensor> outs;
  for (const Step& s : steps_) {
    in_ptrs.clear();
    for (int i : s.in) in_ptrs.push_back(i >= 0 ? &slots[static_cast<size_t>(i)] : nullptr);
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
      if (options.rewrite) options.rewrite(s.node->outputs[k], outs[k]);
      if (options.tap) options.tap(s.node->outputs[k], outs[k]);
      slots[static_cast<size_t>(s.out[k])] = std::move(outs[k]);
    }
    for (int r : s.release)
      if (!fetched.count(r)) slots[static_cast<size_t>(r)] = Tensor();
  }
  std::map<std::string, Tensor> result;
  for (const auto& f : fetch) result[f] = slots[static_cast<size_t>(slot_of_.at(f))];
  return result;
}

std::map<std::string, ValueMeta> probe_values(const Executor& ex, const std::map<std::string, Tensor>& feeds) {
  std::map<std::string, ValueMeta> meta;
  for (const auto& [name, t] : ex.graph().initializers) meta[name] = {t.dtype(), t.shape()};
  RunOptions o;
  o.tap = [&](const std::string& name, const Tensor& t) { meta[name] = {t.dtype(), t.shape()}; };
  ex.run(feeds, {}, o);
  return meta;
}

std::map<std::string, DType> value_types(const std::map<std::string, ValueMeta>& meta) {
  std::map<std::string, DType> r;
  for (const auto& [k, v] : meta) r[k] = v.dtype;
  return r;
}

}  // namespace qs
