// Options shared by several subcommands: model loading and input shapes.
#pragma once

#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "core/onnx/import.h"

namespace qs::cli {

// Parses "N,C,H,W" (or "name:N,C,H,W" for a named input) into the map given to LoadOptions/summarize.
// Throws qs::Error naming the text at fault.
std::map<std::string, Shape> parse_input_shapes(const std::vector<std::string>& specs, const Graph& g);

// Loads a model, printing the loader's warnings to stderr when `verbose`.
Model load_for_cli(const std::string& path, const LoadOptions& options = {}, bool verbose = false);

// Validator for options naming a file to write: its folder must exist, so a typo fails at once rather than
// after a long computation.
extern const CLI::Validator OutputPath;

// Sets qs::num_threads from --threads (0 = all cores).
void apply_threads(int threads);

}  // namespace qs::cli
