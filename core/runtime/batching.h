// Runs a model exported with a fixed batch dimension (torch.onnx's default: input [1, C, H, W]) on any
// number of samples: the feeds are cut into chunks of the model's batch, the last one padded by repeating
// its last row, and every fetched value that has the batch as its first dimension is joined back.
// The float executor, the fake-quant simulation (through the executor) and the integer engine share it,
// so all three accept the same inputs.
#pragma once

#include <functional>
#include <map>
#include <string>

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
template <class Key>
std::map<Key, Tensor> run_in_batches(
    int64_t batch, int64_t rows, const std::map<std::string, Tensor>& feeds,
    const std::function<std::map<Key, Tensor>(const std::map<std::string, Tensor>&)>& run_once);

// Rows [begin, begin + count) of `t` along dimension 0; rows past the end repeat the last row.
Tensor batch_rows(const Tensor& t, int64_t begin, int64_t count);
// The tensors joined along dimension 0 (same dtype and trailing dimensions).
Tensor join_rows(const std::vector<Tensor>& parts);

template <class Key>
std::map<Key, Tensor> run_in_batches(
    int64_t batch, int64_t rows, const std::map<std::string, Tensor>& feeds,
    const std::function<std::map<Key, Tensor>(const std::map<std::string, Tensor>&)>& run_once) {
  std::map<Key, std::vector<Tensor>> parts;
  std::map<Key, Tensor> result;
  for (int64_t begin = 0; begin < rows; begin += batch) {
    std::map<std::string, Tensor> chunk;
    for (const auto& [name, t] : feeds) chunk[name] = batch_rows(t, begin, batch);
    auto r = run_once(chunk);
    const int64_t valid = std::min(batch, rows - begin);
    for (auto& [key, t] : r) {
      if (begin == 0) result[key] = t;
      if (t.rank() > 0 && t.dim(0) == batch)
        parts[key].push_back(valid == batch ? t : batch_rows(t, 0, valid));
    }
  }
  const size_t chunks = static_cast<size_t>((rows + batch - 1) / batch);
  for (auto& [key, ps] : parts)
    if (ps.size() == chunks) result[key] = join_rows(ps);  // else: not a batch value in every chunk
  return result;
}

}  // namespace qs
