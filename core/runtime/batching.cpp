#include "core/runtime/batching.h"

#include <cstring>

#include "core/common/error.h"

namespace qs {

int64_t fixed_batch_of(const Graph& g) {
  int64_t batch = 0;
  for (const auto& in : g.inputs) {
    const int64_t b = in.shape && !in.shape->empty() && (*in.shape)[0].known() ? (*in.shape)[0].value : -1;
    if (b <= 0 || (batch > 0 && b != batch)) return 0;
    batch = b;
  }
  return batch;
}

int64_t rows_to_batch(int64_t batch, const std::map<std::string, Tensor>& feeds) {
  if (batch <= 0) return 0;
  int64_t n = -1;
  for (const auto& [name, t] : feeds) {
    const int64_t rows = t.defined() && t.rank() > 0 ? t.dim(0) : -1;
    n = (n == -1 || n == rows) ? rows : -2;
  }
  return n > 0 && n != batch ? n : 0;
}

Tensor batch_rows(const Tensor& t, int64_t begin, int64_t count) {
  Shape shape = t.shape();
  const int64_t n = shape[0];
  shape[0] = count;
  Tensor out(t.dtype(), shape);
  const size_t row = n ? t.nbytes() / static_cast<size_t>(n) : 0;
  for (int64_t i = 0; i < count; ++i)
    std::memcpy(
        static_cast<std::byte*>(out.raw()) + static_cast<size_t>(i) * row,
        static_cast<const std::byte*>(t.raw()) + static_cast<size_t>(std::min(begin + i, n - 1)) * row, row);
  return out;
}

Tensor join_rows(const std::vector<Tensor>& parts) {
  Shape shape = parts.at(0).shape();
  shape[0] = 0;
  for (const auto& p : parts) shape[0] += p.dim(0);
  Tensor joined(parts[0].dtype(), shape);
  size_t off = 0;
  for (const auto& p : parts) {
    std::memcpy(static_cast<std::byte*>(joined.raw()) + off, p.raw(), p.nbytes());
    off += p.nbytes();
  }
  return joined;
}

std::vector<Tensor> run_positional(const Graph& g, const std::vector<Tensor>& inputs, const NamedRun& run_named) {
  if (inputs.size() != g.inputs.size())
    throw Error("the model takes " + std::to_string(g.inputs.size()) + " input(s), " +
                std::to_string(inputs.size()) + " given");
  std::map<std::string, Tensor> feeds;
  for (size_t i = 0; i < inputs.size(); ++i) feeds[g.inputs[i].name] = inputs[i];
  std::vector<std::string> fetch;
  for (const auto& o : g.outputs) fetch.push_back(o.name);
  auto r = run_named(feeds, fetch);
  std::vector<Tensor> out;
  for (const auto& o : g.outputs) out.push_back(r[o.name]);
  return out;
}

}  // namespace qs
