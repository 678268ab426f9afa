// `eval MODEL --data IMAGES [--labels LABELS] [preprocessing] [--limit N] [--batch B] [--json]`
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/data_options.h"
#include "app/cli/options.h"
#include "core/runtime/executor.h"

namespace qs::cli {

namespace {

struct EvalOptions {
  std::string model;
  DataOptions data;
  bool json = false;
  int threads = 0;
};

// Index of the largest of `n` logits (first one on ties, as numpy's argmax).
int64_t argmax(const float* p, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (p[i] > p[best]) best = i;
  return best;
}

void run_eval(const EvalOptions& o) {
  apply_threads(o.threads);
  Model m = load_for_cli(o.model, {}, !o.json);
  Executor ex(std::move(m.graph));
  auto ds = open_data(o.data, ex.graph());
  if (!ds->has_labels()) throw Error(o.data.data + ": no labels (give --labels, or a folder with class subfolders)");
  const auto t0 = std::chrono::steady_clock::now();
  BatchReader reader(*ds, o.data.batch, o.json ? nullptr : terminal_progress("eval"));
  Batch b;
  int64_t correct = 0, count = 0;
  while (reader.next(b)) {
    const Tensor y = ex.run({b.images})[0];
    if (y.dtype() != DType::Float32 || y.rank() != 2 || y.dim(0) != b.images.dim(0))
      throw Error(o.model + ": output '" + ex.graph().outputs[0].name + "' is " + y.str() +
                  "; eval needs float32 [batch, classes] scores");
    const int64_t classes = y.dim(1);
    for (int64_t i = 0; i < y.dim(0); ++i) {
      correct += argmax(y.data<float>() + i * classes, classes) == b.labels[static_cast<size_t>(i)];
      ++count;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double top1 = count ? static_cast<double>(correct) / static_cast<double>(count) : 0.0;
  if (o.json) {
    nlohmann::json j{{"model", o.model}, {"engine", "float"}, {"top1", top1}, {"correct", correct},
                     {"count", count}, {"seconds", secs}, {"data", ds->description()}};
    std::cout << j.dump() << "\n";
  } else {
    std::printf("top-1: %.4f (%lld / %lld) in %.2f s\n", top1, static_cast<long long>(correct),
                static_cast<long long>(count), secs);
  }
}

}  // namespace

void add_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* c = app.add_subcommand("eval", "Top-1 accuracy over a labeled data set");
  c->add_option("model", o->model, "ONNX model")->required();
  add_data_options(c, o->data);
  c->add_flag("--json", o->json, "Print one JSON object");
  c->add_option("--threads", o->threads, "Threads (default: all cores)");
  c->callback([o] { run_eval(*o); });
}

}  // namespace qs::cli
