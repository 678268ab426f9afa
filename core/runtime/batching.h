// Runs a model exported with a fixed batch dimension (torch.onnx's default: input [1, C, H, W]) on any
// number of samples: the feeds are cut into chunks of the model's batch, the last one padded by repeating
// its last row, and every fetched value that has the batch as its first dimension is joined back.
// The float executor, the fake-quant simulation (through the executor) and the integer engine share it,
// so all three accept the same inputs.
#pragma once

#include <exception>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/common/parallel.h"
#include "core/graph/graph.h"
#include "core/tensor/tensor.h"

namespace qs {

// The batch B > 0 that every graph input fixes as its first dimension, or 0 (a dynamic or disagreeing
// batch, or an input of rank 0).
int64_t fixed_batch_of(const Graph& g);

// The number of rows the feeds hold when they all agree and it differs from `batch` (> 0): the caller
// should then run_in_batches. 0 otherwise (run once as given).
int64_t rows_to_batch(int64_t batch, const std::map<std::string, Tensor>& feeds);

// Calls run_once on ceil(rows / batch) chunks of `batch` rows and joins the results: a value whose first
// dimension is `batch` in every chunk becomes `rows` rows; any other value is the first chunk's.
// `parallel`: run_once may be called from several threads at once, and the chunks are spread over the
// threads (each chunk's kernels then run on its own thread: a batch-1 model gains far more from whole
// samples per thread than from splitting each small layer). The result is the same either way.
template <class Key>
std::map<Key, Tensor> run_in_batches(
    int64_t batch, int64_t rows, const std::map<std::string, Tensor>& feeds,
    const std::function<std::map<Key, Tensor>(const std::map<std::string, Tensor>&)>& run_once,
    bool parallel = false);

// The positional form of a run by name: `inputs` in the order of g's inputs (Error naming the count when
// it differs), the result in the order of g's outputs, through run_named(feeds, fetch).
using NamedRun = std::function<std::map<std::string, Tensor>(const std::map<std::string, Tensor>&,
                                                             const std::vector<std::string>&)>;
std::vector<Tensor> run_positional(const Graph& g, const std::vector<Tensor>& inputs, const NamedRun& run_named);

// Rows [begin, begin + count) of `t` along dimension 0; rows past the end repeat the last row.
Tensor batch_rows(const Tensor& t, int64_t begin, int64_t count);
// The tensors joined along dimension 0 (same dtype and trailing dimensions).
Tensor join_rows(const std::vector<Tensor>& parts);

template <class Key>
std::map<Key, Tensor> run_in_batches(
    int64_t batch, int64_t rows, const std::map<std::string, Tensor>& feeds,
    const std::function<std::map<Key, Tensor>(const std::map<std::string, Tensor>&)>& run_once,
    bool parallel) {
  const size_t chunks = static_cast<size_t>((rows + batch - 1) / batch);
  std::vector<std::map<Key, Tensor>> results(chunks);
  std::vector<std::exception_ptr> errors(chunks);
  auto one = [&](int64_t c) {
    try {
      std::map<std::string, Tensor> chunk;
      for (const auto& [name, t] : feeds) chunk[name] = batch_rows(t, c * batch, batch);
      results[static_cast<size_t>(c)] = run_once(chunk);
    } catch (...) {
      errors[static_cast<size_t>(c)] = std::current_exception();
    }
  };
  if (parallel && num_threads() > 1) {
    parallel_for(0, static_cast<int64_t>(chunks), one, int64_t{1} << 20);
  } else {
    for (size_t c = 0; c < chunks; ++c) {
      one(static_cast<int64_t>(c));
      if (errors[c]) break;
    }
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  std::map<Key, std::vector<Tensor>> parts;
  std::map<Key, Tensor> result;
  for (size_t c = 0; c < chunks; ++c) {
    const int64_t valid = std::min(batch, rows - static_cast<int64_t>(c) * batch);
    for (auto& [key, t] : results[c]) {
      if (c == 0) result[key] = t;
      if (t.rank() > 0 && t.dim(0) == batch)
        parts[key].push_back(valid == batch ? t : batch_rows(t, 0, valid));
    }
  }
  for (auto& [key, ps] : parts)
    if (ps.size() == chunks) result[key] = join_rows(ps);  // else: not a batch value in every chunk
  return result;
}

}  // namespace qs
