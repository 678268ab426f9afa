// Shared by `quantize --algo obq|gptq` and `prune`: the OBC options, the per-layer report (a table on
// stderr and an optional JSON file) and a progress line.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/algo/obc/compress.h"

namespace qs::cli {

// --damp, --sequential/--no-sequential.
void add_obc_common_options(CLI::App* c, obc::CompressOptions& o);

// One line per layer: shape, Hessian columns, loss before/after, sparsity, time; then the totals.
void print_layer_reports(const obc::CompressResult& r, const std::string& before_label);
nlohmann::json layer_reports_json(const obc::CompressResult& r);
// Writes `j` to `path` (pretty-printed). Throws Error naming the file.
void write_json_file(const nlohmann::json& j, const std::string& path);

// "obq 3/20 'conv2' quantize 64/128" on stderr when it is a terminal; nullptr otherwise.
obc::CompressProgressFn terminal_compress_progress(const std::string& label);

// `path` with its extension replaced by `ext` (".onnx").
std::string replace_extension(const std::string& path, const std::string& ext);

}  // namespace qs::cli
