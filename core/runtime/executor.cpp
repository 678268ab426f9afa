#include "core/runtime/executor.h"

#include "core/ops/conv_epilogue.h"
#include "core/runtime/batching.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <set>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace qs {

struct Executor::Step {
  const Node* node = nullptr;
  std::unique_ptr<Kernel> kernel;
  std::vector<int> in;       // slot per input, -1 when omitted
  std::vector<int> out;      // slot per output, -1 when omitted
  std::vector<int> release;  // slots whose last use is this step
  // Conv + activation fusion (see fuse_activations): on the Conv's step, the kernel computing both and
  // the activation's step; on the activation's step, the Conv's step.
  std::unique_ptr<Kernel> fused;
  int fused_with = -1;
};

// QS_PROFILE=1 in the environment: every run times its steps, and the executor prints the totals per
// op type (and its slowest nodes) to stderr when destroyed. A development aid for finding where inference
// time goes without an external profiler; off, it costs one branch per step.
struct Executor::Profile {
  std::mutex mu;
  std::vector<double> ms;  // per step, summed over runs
  std::vector<int64_t> calls;
  int64_t runs = 0;
  bool cpu = false;  // QS_PROFILE=cpu: the calling thread's CPU time (other threads' work is not counted)
  bool all = false;  // QS_PROFILE=2 or cpu: list every node
};

namespace {
// Every run allocates its activations afresh (kernels own their outputs). glibc serves large blocks with
// mmap and gives freed memory back to the system, so each run paid a page fault per 4 KiB of every
// activation: a quarter of the time of MobileNetV2 at batch 64. Keeping blocks up to 32 MiB on the heap
// and not trimming it below 256 MiB of free space lets later runs reuse the same pages.
void keep_activation_pages() {
#if defined(__GLIBC__)
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
  });
#endif
}

// Milliseconds on a monotonic clock, or of the calling thread's CPU time: on a machine shared with
// other busy processes the latter still compares kernels run on one thread.
double profile_clock(bool cpu) {
  if (cpu) {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool profiling_requested() {
  const char* v = std::getenv("QS_PROFILE");
  return v && *v && std::strcmp(v, "0") != 0;
}
}  // namespace

void Executor::print_profile() const {
  if (!profile_ || profile_->runs == 0) return;
  std::map<std::string, std::pair<double, int64_t>> by_type;
  double total = 0;
  for (size_t i = 0; i < steps_.size(); ++i) {
    auto& e = by_type[steps_[i].node->op_type];
    e.first += profile_->ms[i];
    e.second += profile_->calls[i];
    total += profile_->ms[i];
  }
  std::vector<std::pair<std::string, std::pair<double, int64_t>>> rows(by_type.begin(), by_type.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  const double runs = static_cast<double>(profile_->runs);
  std::fprintf(stderr, "QS_PROFILE: %lld run(s), %.3f ms per run in kernels\n",
               static_cast<long long>(profile_->runs), total / runs);
  std::fprintf(stderr, "  %-24s %8s %12s %7s\n", "op type", "nodes", "ms/run", "share");
  for (const auto& [type, e] : rows)
    std::fprintf(stderr, "  %-24s %8lld %12.4f %6.1f%%\n", type.c_str(),
                 static_cast<long long>(e.second / profile_->runs), e.first / runs,
                 total > 0 ? 100 * e.first / total : 0.0);
  std::vector<size_t> order(steps_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return profile_->ms[a] > profile_->ms[b]; });
  const size_t shown = profile_->all ? order.size() : std::min<size_t>(10, order.size());
  std::fprintf(stderr, "  slowest nodes:\n");
  for (size_t k = 0; k < shown; ++k)
    std::fprintf(stderr, "  %12.4f ms/run  %s\n", profile_->ms[order[k]] / runs,
                 steps_[order[k]].node->describe().c_str());
}

Executor::~Executor() {
  if (profile_) print_profile();
}
Executor::Executor(Executor&&) noexcept = default;
Executor& Executor::operator=(Executor&&) noexcept = default;

Executor::Executor(Graph graph) : graph_(std::move(graph)) {
  keep_activation_pages();
  auto slot = [&](const std::string& name) {
    auto [it, inserted] = slot_of_.emplace(name, static_cast<int>(slot_of_.size()));
    return it->second;
  };
  for (const auto& in : graph_.inputs) slot(in.name);
  for (const auto& [name, t] : graph_.initializers) slot(name);
  fixed_batch_ = fixed_batch_of(graph_);
  std::vector<std::string> problems;
  for (const Node& n : graph_.nodes) {
    Step s;
    s.node = &n;
    for (const auto& v : n.inputs) s.in.push_back(v.empty() ? -1 : slot(v));
    for (const auto& v : n.outputs) s.out.push_back(v.empty() ? -1 : slot(v));
    const int64_t opset =
        n.domain.empty() ? graph_.opset
                         : (graph_.opset_imports.count(n.domain) ? graph_.opset_imports.at(n.domain) : 0);
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
  if (profiling_requested()) {
    profile_ = std::make_unique<Profile>();
    profile_->ms.assign(steps_.size(), 0.0);
    profile_->calls.assign(steps_.size(), 0);
    const std::string level = std::getenv("QS_PROFILE");
    profile_->cpu = level == "cpu";
    profile_->all = level == "2" || level == "cpu";
  }
  constants_.resize(num_slots_);
  for (const auto& [name, t] : graph_.initializers) constants_[static_cast<size_t>(slot_of_[name])] = t;

  fuse_activations();

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

// A Conv whose output feeds only a Clip or Relu (and is not a graph output) gets a second kernel that
// applies the activation as it writes its outputs. Runs use it unless they observe values (taps or
// rewrites) or fetch the Conv's output, so every observer still sees the unfused values. Only constant
// Clip bounds (initializers, Constant nodes or attributes) qualify; the fused kernel uses the Clip
// kernel's own formula, so results are bit-identical.
void Executor::fuse_activations() {
  std::vector<int> uses(num_slots_, 0);
  for (const Step& s : steps_)
    for (int i : s.in)
      if (i >= 0) ++uses[static_cast<size_t>(i)];
  for (const auto& o : graph_.outputs) ++uses[static_cast<size_t>(slot_of_.at(o.name))];
  std::vector<int> producer(num_slots_, -1);
  for (size_t i = 0; i < steps_.size(); ++i)
    for (int o : steps_[i].out)
      if (o >= 0) producer[static_cast<size_t>(o)] = static_cast<int>(i);

  // A float32 scalar known before any run: an initializer or the output of a Constant node.
  auto constant_scalar = [&](const std::string& name) -> std::optional<float> {
    auto it = slot_of_.find(name);
    if (it == slot_of_.end()) return std::nullopt;
    Tensor t = constants_[static_cast<size_t>(it->second)];
    const int p = producer[static_cast<size_t>(it->second)];
    if (!t.defined() && p >= 0) {
      const Step& c = steps_[static_cast<size_t>(p)];
      if (c.node->op_type != "Constant" || !c.node->domain.empty() || c.out.size() != 1 || !c.in.empty())
        return std::nullopt;
      std::vector<Tensor> outs(1);
      try {
        c.kernel->run({}, outs);
      } catch (const Error&) {
        return std::nullopt;  // the run reports it
      }
      t = outs[0];
    }
    if (!t.defined() || t.dtype() != DType::Float32 || t.numel() != 1) return std::nullopt;
    return t.data<float>()[0];
  };

  for (size_t j = 0; j < steps_.size(); ++j) {
    Step& act = steps_[j];
    const Node& an = *act.node;
    if (!an.domain.empty() || (an.op_type != "Clip" && an.op_type != "Relu")) continue;
    if (act.in.empty() || act.in[0] < 0 || act.out.size() != 1 || act.out[0] < 0) continue;
    const int v = act.in[0];
    if (uses[static_cast<size_t>(v)] != 1 || producer[static_cast<size_t>(v)] < 0) continue;
    Step& conv = steps_[static_cast<size_t>(producer[static_cast<size_t>(v)])];
    if (conv.node->op_type != "Conv" || !conv.node->domain.empty() || conv.out.size() != 1 || conv.fused)
      continue;
    ConvClamp clamp;
    if (an.op_type == "Relu") {
      clamp.lo = 0.f;
    } else if (graph_.opset < 11) {
      if (an.has_attr("min")) clamp.lo = an.attr_float("min", 0.f);
      if (an.has_attr("max")) clamp.hi = an.attr_float("max", 0.f);
    } else {
      bool ok = true;
      for (size_t k = 1; k < an.inputs.size() && k < 3; ++k) {
        if (an.inputs[k].empty()) continue;
        const std::optional<float> b = constant_scalar(an.inputs[k]);
        if (!b)
          ok = false;
        else
          (k == 1 ? clamp.lo : clamp.hi) = *b;
      }
      if (!ok) continue;
    }
    KernelInit init{*conv.node, graph_.opset, [this](const std::string& n) { return graph_.initializer(n); }};
    try {
      conv.fused = make_conv_clamped(init, clamp);
    } catch (const Error&) {
      continue;
    }
    conv.fused_with = static_cast<int>(j);
    act.fused_with = producer[static_cast<size_t>(v)];
  }
}

void Executor::check_input(const ValueInfo& vi, const Tensor& t) const {
  if (!t.defined()) throw Error("input '" + vi.name + "' was not given");
  if (vi.dtype != DType::Undefined && t.dtype() != vi.dtype)
    throw Error("input '" + vi.name + "' should be " + dtype_name(vi.dtype) + ", got " +
                dtype_name(t.dtype()));
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
  return run_positional(graph_, inputs, [&](const auto& feeds, const auto& fetch) {
    return run(feeds, fetch, options);
  });
}

std::map<std::string, Tensor> Executor::run(const std::map<std::string, Tensor>& feeds,
                                            const std::vector<std::string>& fetch,
                                            const RunOptions& options) const {
  const int64_t rows = rows_to_batch(fixed_batch_, feeds);
  if (rows == 0) return run_once(feeds, fetch, options);
  return run_in_batches<std::string>(
      fixed_batch_, rows, feeds,
      [&](const std::map<std::string, Tensor>& chunk) { return run_once(chunk, fetch, options); },
      !options.tap && !options.rewrite);  // callbacks (calibration, the simulation) see chunks in order
}

std::map<std::string, Tensor> Executor::run_once(const std::map<std::string, Tensor>& feeds,
                                                 const std::vector<std::string>& fetch,
                                                 const RunOptions& options) const {
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
    if (std::none_of(graph_.inputs.begin(), graph_.inputs.end(),
                     [&](const ValueInfo& v) { return v.name == name; }))
      throw Error("the model has no input named '" + name + "'");

  std::set<int> fetched;
  for (const auto& f : fetch) {
    auto it = slot_of_.find(f);
    if (it == slot_of_.end()) throw Error("the model has no value named '" + f + "'");
    fetched.insert(it->second);
  }
  std::vector<const Tensor*> in_ptrs;
  std::vector<Tensor> outs;
  std::vector<double> step_ms(profile_ ? steps_.size() : 0);
  // Fused Conv + activation pairs run as one kernel unless the Conv's output is observed or fetched.
  const bool may_fuse = !options.tap && !options.rewrite;
  auto fuse_now = [&](const Step& conv) { return may_fuse && conv.fused && !fetched.count(conv.out[0]); };
  for (size_t si = 0; si < steps_.size(); ++si) {
    const Step& s = steps_[si];
    const Step* out_step = &s;  // whose outputs this step produces
    const Kernel* kernel = s.kernel.get();
    if (s.fused_with >= 0) {
      const Step& other = steps_[static_cast<size_t>(s.fused_with)];
      if (s.fused) {
        if (fuse_now(s)) {
          kernel = s.fused.get();
          out_step = &other;
        }
      } else if (fuse_now(other)) {  // computed with its Conv
        for (int r : s.release)
          if (!fetched.count(r)) slots[static_cast<size_t>(r)] = Tensor();
        continue;
      }
    }
    in_ptrs.clear();
    for (int i : s.in) in_ptrs.push_back(i >= 0 ? &slots[static_cast<size_t>(i)] : nullptr);
    outs.assign(out_step->out.size(), Tensor());
    try {
      if (profile_) {
        const double t0 = profile_clock(profile_->cpu);
        kernel->run(in_ptrs, outs);
        step_ms[si] = profile_clock(profile_->cpu) - t0;
      } else {
        kernel->run(in_ptrs, outs);
      }
    } catch (const Error& e) {
      const std::string prefix = "node '" + s.node->name + "'";
      if (std::string(e.what()).find(prefix) != std::string::npos) throw;
      throw Error(s.node->describe() + ": " + e.what());
    }
    for (size_t k = 0; k < out_step->out.size(); ++k) {
      if (out_step->out[k] < 0) continue;
      const std::string& name = out_step->node->outputs[k];
      if (!outs[k].defined()) throw Error(s.node->describe() + ": output '" + name + "' was not produced");
      if (options.rewrite) options.rewrite(name, outs[k]);
      if (options.tap) options.tap(name, outs[k]);
      slots[static_cast<size_t>(out_step->out[k])] = std::move(outs[k]);
    }
    for (int r : s.release)
      if (!fetched.count(r)) slots[static_cast<size_t>(r)] = Tensor();
  }
  if (profile_) {
    std::lock_guard<std::mutex> lock(profile_->mu);
    for (size_t i = 0; i < steps_.size(); ++i) {
      profile_->ms[i] += step_ms[i];
      ++profile_->calls[i];
    }
    ++profile_->runs;
  }
  std::map<std::string, Tensor> result;
  for (const auto& f : fetch) result[f] = slots[static_cast<size_t>(slot_of_.at(f))];
  return result;
}

std::map<std::string, ValueMeta> probe_values(const Executor& ex,
                                              const std::map<std::string, Tensor>& feeds) {
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
