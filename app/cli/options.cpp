#include "app/cli/options.h"

#include <filesystem>
#include <iostream>
#include <sstream>

#include "core/common/parallel.h"

namespace qs::cli {

const CLI::Validator OutputPath(
    [](std::string& path) -> std::string {
      namespace fs = std::filesystem;
      const fs::path dir = fs::path(path).parent_path();
      std::error_code ec;
      if (fs::is_directory(path, ec)) return path + " is a folder; give a file name";
      if (!dir.empty() && !fs::is_directory(dir, ec))
        return path + ": folder " + dir.string() + " does not exist";
      return {};
    },
    "FILE", "OutputPath");

std::map<std::string, Shape> parse_input_shapes(const std::vector<std::string>& specs, const Graph& g) {
  std::map<std::string, Shape> out;
  for (const auto& spec : specs) {
    std::string name, dims = spec;
    if (auto colon = spec.rfind(':'); colon != std::string::npos) {
      name = spec.substr(0, colon);
      dims = spec.substr(colon + 1);
    } else {
      if (g.inputs.size() != 1)
        throw Error("--input-shape '" + spec + "': the model has " + std::to_string(g.inputs.size()) +
                    " inputs; write NAME:N,C,H,W");
      name = g.inputs[0].name;
    }
    Shape s;
    std::stringstream ss(dims);
    std::string item;
    while (std::getline(ss, item, ',')) {
      try {
        size_t used = 0;
        const long long v = std::stoll(item, &used);
        if (used != item.size() || v < 0) throw std::invalid_argument(item);
        s.push_back(v);
      } catch (const std::exception&) {
        throw Error("--input-shape '" + spec + "': '" + item + "' is not a non-negative integer");
      }
    }
    out[name] = s;
  }
  return out;
}

Model load_for_cli(const std::string& path, const LoadOptions& options, bool verbose) {
  Model m = load_model(path, options);
  if (verbose)
    for (const auto& w : m.warnings) std::cerr << "warning: " << w << "\n";
  return m;
}

void apply_threads(int threads) {
  if (threads > 0) set_num_threads(threads);
}

}  // namespace qs::cli
