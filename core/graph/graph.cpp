#include "core/graph/graph.h"

#include <queue>
#include <set>
#include <unordered_map>

#include "core/common/error.h"

namespace qs {

const Attribute* Node::attr(const std::string& k) const {
  auto it = attrs.find(k);
  return it == attrs.end() ? nullptr : &it->second;
}

std::string Node::describe() const { return "node '" + name + "' (" + op_type + ")"; }

size_t Node::num_inputs() const {
  size_t n = inputs.size();
  while (n > 0 && inputs[n - 1].empty()) --n;
  return n;
}

namespace {
const Attribute* typed(const Node& n, const std::string& k, Attribute::Kind kind, const char* kind_name) {
  const Attribute* a = n.attr(k);
  if (a && a->kind != kind) throw Error(n.describe() + ": attribute '" + k + "' should be " + kind_name);
  return a;
}
}  // namespace

int64_t Node::attr_int(const std::string& k, int64_t def) const {
  const Attribute* a = typed(*this, k, Attribute::Kind::Int, "an int");
  return a ? a->i : def;
}
float Node::attr_float(const std::string& k, float def) const {
  const Attribute* a = attr(k);
  if (a && a->kind == Attribute::Kind::Int) return static_cast<float>(a->i);
  a = typed(*this, k, Attribute::Kind::Float, "a float");
  return a ? a->f : def;
}
std::string Node::attr_string(const std::string& k, const std::string& def) const {
  const Attribute* a = typed(*this, k, Attribute::Kind::String, "a string");
  return a ? a->s : def;
}
std::vector<int64_t> Node::attr_ints(const std::string& k, const std::vector<int64_t>& def) const {
  const Attribute* a = typed(*this, k, Attribute::Kind::Ints, "a list of ints");
  return a ? a->ints : def;
}
std::vector<float> Node::attr_floats(const std::string& k, const std::vector<float>& def) const {
  const Attribute* a = typed(*this, k, Attribute::Kind::Floats, "a list of floats");
  return a ? a->floats : def;
}

const Tensor* Graph::initializer(const std::string& n) const {
  auto it = initializers.find(n);
  return it == initializers.end() ? nullptr : &it->second;
}

int Graph::producer(const std::string& value) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& o : nodes[i].outputs)
      if (o == value) return static_cast<int>(i);
  return -1;
}

std::vector<int> Graph::consumers(const std::string& value) const {
  std::vector<int> r;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& in : nodes[i].inputs)
      if (in == value) {
        r.push_back(static_cast<int>(i));
        break;
      }
  return r;
}

void Graph::topological_sort() {
  std::unordered_map<std::string, int> producer_of;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& o : nodes[i].outputs) {
      if (o.empty()) continue;
      if (!producer_of.emplace(o, static_cast<int>(i)).second)
        throw Error(nodes[i].describe() + ": value '" + o + "' is produced by more than one node");
      if (initializers.count(o))
        throw Error(nodes[i].describe() + ": output '" + o + "' has the name of an initializer");
    }
  std::set<std::string> available;
  for (const auto& in : inputs) available.insert(in.name);
  for (const auto& [k, v] : initializers) available.insert(k);

  const size_t n = nodes.size();
  std::vector<int> indegree(n, 0);
  std::vector<std::vector<int>> users(n);
  for (size_t i = 0; i < n; ++i) {
    std::set<int> deps;
    for (const auto& in : nodes[i].inputs) {
      if (in.empty() || available.count(in)) continue;
      auto it = producer_of.find(in);
      if (it == producer_of.end())
        throw Error(nodes[i].describe() + ": input '" + in +
                    "' is not a graph input, an initializer, or the output of any node");
      deps.insert(it->second);
    }
    indegree[i] = static_cast<int>(deps.size());
    for (int d : deps) users[static_cast<size_t>(d)].push_back(static_cast<int>(i));
  }
  // Min-heap on the original index keeps file order among ready nodes.
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (size_t i = 0; i < n; ++i)
    if (indegree[i] == 0) ready.push(static_cast<int>(i));
  std::vector<Node> sorted;
  sorted.reserve(n);
  std::vector<bool> done(n, false);
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    done[static_cast<size_t>(i)] = true;
    sorted.push_back(nodes[static_cast<size_t>(i)]);
    for (int u : users[static_cast<size_t>(i)])
      if (--indegree[static_cast<size_t>(u)] == 0) ready.push(u);
  }
  if (sorted.size() != n) {
    for (size_t i = 0; i < n; ++i)
      if (!done[i]) throw Error("the graph has a cycle through " + nodes[i].describe());
  }
  nodes = std::move(sorted);
}

}  // namespace qs
