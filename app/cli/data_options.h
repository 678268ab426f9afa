// The data and preprocessing options every data-reading subcommand takes (the same as `eval`).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/data/dataset.h"
#include "core/graph/graph.h"

namespace qs::cli {

struct DataOptions {
  std::string data, labels;
  std::vector<float> mean, stddev;
  float scale = 0;  // 0: the default for the source (1/255 for 8-bit data)
  int64_t limit = -1;
  int64_t batch = 32;
  std::string resize;          // "HxW"
  int64_t resize_shorter = 0;  // resize the shorter side, then center crop to the model's size
  bool center_crop = false;
  bool bgr = false;
  std::string layout = "auto";  // .npy rank-4 layout
};

// Registers --data (required when `data_required`), --labels, --mean, --std, --scale, --limit, --batch,
// --resize, --resize-shorter, --center-crop, --bgr, --npy-layout.
void add_data_options(CLI::App* cmd, DataOptions& o, bool data_required = true);

// Opens the dataset, shaping samples for the model's first input (its C, H, W where known).
std::unique_ptr<Dataset> open_data(const DataOptions& o, const Graph& g);

// A progress bar on stderr when it is a terminal; silent otherwise. Returns a ProgressFn.
ProgressFn terminal_progress(const std::string& label);

}  // namespace qs::cli
