#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "core/algo/repvgg/block.h"
#include "core/common/error.h"

namespace qs::repvgg {

namespace {

bool is_graph_output(const Graph& g, const std::string& v) {
  return std::any_of(g.outputs.begin(), g.outputs.end(), [&](const ValueInfo& o) { return o.name == v; });
}

const Node* producer_node(const Graph& g, const std::string& v) {
  const int p = g.producer(v);
  return p < 0 ? nullptr : &g.nodes[static_cast<size_t>(p)];
}

bool is_op(const Node* n, const char* op) { return n && n->domain.empty() && n->op_type == op; }
bool is_sum(const Node* n) { return is_op(n, "Add") || is_op(n, "Sum"); }

// The value feeds exactly one node (inside the block) and is not a graph output, so fusing may remove it.
bool internal(const Graph& g, const std::string& v) {
  return g.consumers(v).size() == 1 && !is_graph_output(g, v);
}

const Tensor* float_init(const Graph& g, const std::string& name) {
  const Tensor* t = name.empty() ? nullptr : g.initializer(name);
  return t && t->dtype() == DType::Float32 ? t : nullptr;
}

// An inference-form BatchNormalization with float32 initializer parameters of `channels` entries.
std::optional<std::string> bn_problem(const Graph& g, const Node& bn, int64_t channels) {
  if (bn.num_inputs() != 5) return bn.describe() + " does not have 5 inputs";
  for (size_t k = 1; k < bn.outputs.size(); ++k)
    if (!bn.outputs[k].empty()) return bn.describe() + " has training outputs (mean/var)";
  if (bn.attr_int("training_mode", 0) != 0) return bn.describe() + " is in training mode";
  if (bn.attr_int("spatial", 1) != 1) return bn.describe() + " is not spatial (opset < 9 spatial = 0)";
  for (size_t k = 1; k < 5; ++k) {
    const Tensor* t = float_init(g, bn.inputs[k]);
    if (!t) return bn.describe() + ": parameter '" + bn.inputs[k] + "' is not a float32 initializer";
    if (t->numel() != channels)
      return bn.describe() + ": parameter '" + bn.inputs[k] + "' has " + std::to_string(t->numel()) +
             " values for " + std::to_string(channels) + " channels";
  }
  return std::nullopt;
}

// Geometry of a Conv that may be a branch.
struct ConvInfo {
  const Node* node = nullptr;
  const Tensor* w = nullptr;
  std::vector<int64_t> kernel, strides, pads;  // pads: begin h, w, end h, w
  int64_t group = 1, cout = 0, cin = 0;
};

std::optional<std::string> conv_problem(const Graph& g, const Node& n, ConvInfo* ci) {
  ci->node = &n;
  ci->w = n.has_input(1) ? float_init(g, n.inputs[1]) : nullptr;
  if (!ci->w) return n.describe() + ": the weight is not a float32 initializer";
  if (ci->w->rank() != 4) return n.describe() + ": not a 2-D convolution";
  if (n.has_input(2)) {
    const Tensor* b = float_init(g, n.inputs[2]);
    if (!b || b->numel() != ci->w->dim(0))
      return n.describe() + ": the bias is not a float32 initializer of Cout values";
  }
  const std::string ap = n.attr_string("auto_pad", "NOTSET");
  if (ap != "NOTSET" && ap != "VALID") return n.describe() + ": auto_pad " + ap + " (explicit pads only)";
  ci->kernel = {ci->w->dim(2), ci->w->dim(3)};
  const auto ks = n.attr_ints("kernel_shape", ci->kernel);
  if (ks != ci->kernel) return n.describe() + ": kernel_shape differs from the weight";
  if (ci->kernel[0] % 2 == 0 || ci->kernel[1] % 2 == 0) return n.describe() + ": even kernel (no centre)";
  for (int64_t d : n.attr_ints("dilations", {1, 1}))
    if (d != 1) return n.describe() + ": dilated";
  ci->strides = n.attr_ints("strides", {1, 1});
  ci->pads = ap == "VALID" ? std::vector<int64_t>{0, 0, 0, 0} : n.attr_ints("pads", {0, 0, 0, 0});
  if (ci->strides.size() != 2 || ci->pads.size() != 4)
    return n.describe() + ": strides/pads of the wrong length";
  ci->group = n.attr_int("group", 1);
  if (ci->group < 1 || ci->w->dim(0) % ci->group != 0) return n.describe() + ": bad group";
  ci->cout = ci->w->dim(0);
  ci->cin = ci->w->dim(1) * ci->group;
  return std::nullopt;
}

// How one summed value is explained as a branch reading x.
struct LeafExplain {
  Branch branch;
  ConvInfo conv;  // for conv branches
};

// nullopt: `v` is not a branch of x at all. A string in `problem`: it is, but not a fusable one.
std::optional<LeafExplain> explain(const Graph& g, const std::string& v, const std::string& x,
                                   std::string* problem) {
  LeafExplain e;
  e.branch.output = v;
  if (v == x) {
    e.branch.kind = BranchKind::Identity;
    e.branch.kernel = {1, 1};
    return e;
  }
  const Node* p = producer_node(g, v);
  const Node* conv = nullptr;
  if (is_op(p, "BatchNormalization") && p->has_input(0)) {
    if (p->inputs[0] == x) {
      e.branch.kind = BranchKind::Identity;
      e.branch.kernel = {1, 1};
      e.branch.bn = p->name;
      return e;
    }
    const Node* q = producer_node(g, p->inputs[0]);
    if (!is_op(q, "Conv") || !q->has_input(0) || q->inputs[0] != x) return std::nullopt;
    conv = q;
    e.branch.bn = p->name;
    if (!internal(g, p->inputs[0]))
      *problem = "the output of " + q->describe() + " is also used outside the block";
  } else if (is_op(p, "Conv") && p->has_input(0) && p->inputs[0] == x) {
    conv = p;
  } else {
    return std::nullopt;
  }
  if (auto pr = conv_problem(g, *conv, &e.conv); pr && problem->empty()) *problem = *pr;
  e.branch.kind = BranchKind::Conv;
  e.branch.conv = conv->name;
  e.branch.weight = conv->inputs[1];
  e.branch.bias = conv->has_input(2) ? conv->inputs[2] : "";
  e.branch.kernel = e.conv.kernel;
  return e;
}

bool is_activation(const Node* n) {
  static const std::set<std::string> ops = {"Relu",    "Clip",        "LeakyRelu", "PRelu",
                                            "Sigmoid", "HardSigmoid", "HardSwish", "Elu",
                                            "Selu",    "Softplus",    "Tanh",      "Mish"};
  return n && n->domain.empty() && ops.count(n->op_type);
}

// Tries to build a block for the sum rooted at `root` with branches read from x. Returns the block, or sets
// `problem` when the leaves are branches of x but the block cannot be fused; nullopt when x does not
// explain at least two leaves including a conv with a kernel larger than 1×1.
std::optional<Block> try_block(const Graph& g, const Node& root, const std::vector<std::string>& adds,
                               const std::vector<std::string>& leaves, const std::string& x,
                               std::string* problem) {
  std::vector<LeafExplain> ex;
  std::vector<std::string> unexplained;
  std::string first_problem;
  for (const auto& v : leaves) {
    std::string pr;
    auto e = explain(g, v, x, &pr);
    if (!e) {
      unexplained.push_back(v);
      continue;
    }
    if (!pr.empty() && first_problem.empty()) first_problem = pr;
    ex.push_back(std::move(*e));
  }
  const bool has_big = std::any_of(ex.begin(), ex.end(), [](const LeafExplain& e) {
    return e.branch.kind == BranchKind::Conv && e.branch.kernel[0] * e.branch.kernel[1] > 1;
  });
  if (ex.size() < 2 || !has_big) return std::nullopt;
  auto fail = [&](const std::string& why) -> std::optional<Block> {
    *problem = why;
    return std::nullopt;
  };
  if (!unexplained.empty())
    return fail("the summed value '" + unexplained[0] + "' is not a branch of '" + x + "'");
  if (!first_problem.empty()) return fail(first_problem);
  for (const auto& e : ex)  // (a bare identity adds x itself, which the other branches read too)
    if (e.branch.output != x && !internal(g, e.branch.output))
      return fail("branch value '" + e.branch.output + "' is also used outside the block");

  std::stable_sort(ex.begin(), ex.end(), [](const LeafExplain& a, const LeafExplain& b) {
    const auto area = [](const LeafExplain& e) {
      return e.branch.kind == BranchKind::Identity ? -1 : e.branch.kernel[0] * e.branch.kernel[1];
    };
    return area(a) > area(b);
  });
  const ConvInfo& main = ex[0].conv;
  Block b;
  b.name = main.node->name;
  b.input = x;
  b.adds = adds;
  b.sum = root.outputs[0];
  b.kernel = main.kernel;
  b.strides = main.strides;
  b.pads = main.pads;
  b.group = main.group;
  b.out_channels = main.cout;
  b.in_channels = main.cin;
  int identities = 0;
  for (const auto& e : ex) {
    if (e.branch.kind == BranchKind::Identity) {
      if (++identities > 1) return fail("more than one identity branch");
      if (b.in_channels != b.out_channels) return fail("identity branch but Cin != Cout");
      if (b.strides != std::vector<int64_t>{1, 1}) return fail("identity branch but stride != 1");
      for (int a = 0; a < 2; ++a)
        if (b.pads[a] != (b.kernel[a] - 1) / 2 || b.pads[a + 2] != (b.kernel[a] - 1) / 2)
          return fail("identity branch but the main conv does not keep the spatial size");
    } else {
      const ConvInfo& c = e.conv;
      const std::string who = c.node->describe();
      if (c.group != b.group)
        return fail(who + ": group " + std::to_string(c.group) + " differs from the main conv's");
      if (c.cout != b.out_channels || c.cin != b.in_channels) return fail(who + ": channel counts differ");
      if (c.strides != b.strides) return fail(who + ": strides differ from the main conv's");
      for (int a = 0; a < 2; ++a) {
        if (c.kernel[a] > b.kernel[a]) return fail(who + ": kernel larger than the main conv's on one axis");
        const int64_t off = (b.kernel[a] - c.kernel[a]) / 2;
        if (c.pads[a] != b.pads[a] - off || c.pads[a + 2] != b.pads[a + 2] - off)
          return fail(who + ": pads do not centre its kernel in the main conv's window");
      }
    }
    if (!e.branch.bn.empty()) {
      const Node& bn = g.nodes[static_cast<size_t>(g.producer(e.branch.output))];
      if (auto pr = bn_problem(g, bn, b.out_channels)) return fail(*pr);
    }
    b.branches.push_back(e.branch);
  }

  b.output = b.sum;
  const auto sum_users = g.consumers(b.sum);
  if (sum_users.size() == 1 && !is_graph_output(g, b.sum)) {
    const Node& u = g.nodes[static_cast<size_t>(sum_users[0])];
    if (is_op(&u, "BatchNormalization") && u.inputs[0] == b.sum && !bn_problem(g, u, b.out_channels)) {
      b.post_bn = u.name;
      b.output = u.outputs[0];
    }
  }
  b.activation = b.output;
  const auto users = g.consumers(b.output);
  if (users.size() == 1 && !is_graph_output(g, b.output)) {
    const Node& u = g.nodes[static_cast<size_t>(users[0])];
    if (is_activation(&u) && !u.outputs.empty()) {
      b.activation_node = u.name;
      b.activation_op = u.op_type;
      b.activation = u.outputs[0];
    }
  }
  return b;
}

}  // namespace

std::string Branch::label() const {
  std::string s = kind == BranchKind::Identity ? "identity"
                                               : std::to_string(kernel[0]) + "x" + std::to_string(kernel[1]) +
                                                     (bias.empty() ? "" : "(bias)");
  return bn.empty() ? s : s + "+BN";
}

bool Block::has_identity() const {
  return std::any_of(branches.begin(), branches.end(),
                     [](const Branch& b) { return b.kind == BranchKind::Identity; });
}

bool Block::bn_folded() const {
  bool conv_bn = false, conv_bias = false;
  for (const auto& b : branches)
    if (b.kind == BranchKind::Conv) {
      conv_bn = conv_bn || !b.bn.empty();
      conv_bias = conv_bias || !b.bias.empty();
    }
  return !conv_bn && conv_bias;
}

std::string Block::variant() const { return post_bn.empty() ? "RepVGG" : "QARepVGG"; }

std::string Block::structure() const {
  std::string s;
  for (const auto& b : branches) s += (s.empty() ? "" : ", ") + b.label();
  if (!post_bn.empty()) s += ", post-sum BN";
  return s;
}

std::vector<std::string> Block::replaced_nodes(const Graph& g) const {
  std::set<std::string> names(adds.begin(), adds.end());
  for (const auto& b : branches) {
    if (!b.conv.empty()) names.insert(b.conv);
    if (!b.bn.empty()) names.insert(b.bn);
  }
  if (!post_bn.empty()) names.insert(post_bn);
  std::vector<std::string> out;
  for (const auto& n : g.nodes)
    if (names.count(n.name)) out.push_back(n.name);
  return out;
}

Detection detect_blocks(const Graph& g) {
  Detection d;
  for (const Node& root : g.nodes) {
    if (!is_sum(&root) || root.outputs.empty() || root.outputs[0].empty()) continue;
    // Only the root of a tree of adds: an add whose single user is another add belongs to that one's tree.
    const auto users = g.consumers(root.outputs[0]);
    if (users.size() == 1 && is_sum(&g.nodes[static_cast<size_t>(users[0])]) &&
        !is_graph_output(g, root.outputs[0]))
      continue;
    std::vector<std::string> adds, leaves;
    std::vector<const Node*> stack{&root};
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      adds.push_back(n->name);
      for (const auto& in : n->inputs) {
        if (in.empty()) continue;
        const Node* p = producer_node(g, in);
        if (is_sum(p) && internal(g, in))
          stack.push_back(p);
        else
          leaves.push_back(in);
      }
    }
    // Candidate inputs x: what each conv branch (bare or under a BN) reads.
    std::vector<std::string> xs;
    for (const auto& v : leaves) {
      const Node* p = producer_node(g, v);
      if (is_op(p, "BatchNormalization") && p->has_input(0)) p = producer_node(g, p->inputs[0]);
      if (is_op(p, "Conv") && p->has_input(0) && std::find(xs.begin(), xs.end(), p->inputs[0]) == xs.end())
        xs.push_back(p->inputs[0]);
    }
    std::string problem;
    bool found = false;
    for (const auto& x : xs) {
      std::string pr;
      auto b = try_block(g, root, adds, leaves, x, &pr);
      if (b) {
        d.blocks.push_back(std::move(*b));
        found = true;
        break;
      }
      if (problem.empty()) problem = pr;
    }
    if (!found && !problem.empty()) d.skipped.push_back({root.name, problem});
  }
  return d;
}

}  // namespace qs::repvgg
