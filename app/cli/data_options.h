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
  // One --data per model input: "PATH" (the inputs in order) or "NAME=PATH"; a model with one input takes
  // one PATH.
  std::vector<std::string> data;
  std::string labels;
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

// Which of `values` ("NAME=VALUE", or "VALUE" for the names in order) goes to each of `names` (a model's
// inputs or outputs, `what` saying which), "" where none does. Throws Error naming `option` for a name
// given twice or more values than names.
std::vector<std::string> values_by_name(const std::vector<std::string>& values,
                                        const std::vector<std::string>& names, const std::string& option,
                                        const std::string& what);

// values_by_name over g's inputs, every input needing a value. Throws Error naming `option` and the input
// with no value.
std::vector<std::string> values_per_input(const std::vector<std::string>& values, const Graph& g,
                                          const std::string& option);

// Registers --data (required when `data_required`), --labels, --mean, --std, --scale, --limit, --batch,
// --resize, --resize-shorter, --center-crop, --bgr, --npy-layout.
void add_data_options(CLI::App* cmd, DataOptions& o, bool data_required = true);

// Opens the dataset, shaping samples for the model's inputs (an image input's C, H, W where known; tensor
// data for the others). Several inputs: the first input's dataset, the others attached to it
// (Dataset::attach_input); --labels go with the first.
std::unique_ptr<Dataset> open_data(const DataOptions& o, const Graph& g);

// A progress bar on stderr when it is a terminal; silent otherwise. Returns a ProgressFn.
ProgressFn terminal_progress(const std::string& label);

}  // namespace qs::cli
