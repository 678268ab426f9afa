#include "app/cli/obc_report.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/common/error.h"
#include "core/common/file_io.h"

namespace qs::cli {

void add_obc_common_options(CLI::App* c, obc::CompressOptions& o) {
  c->add_option("--damp", o.damp, "Hessian dampening λ (λ·mean(diag H) added to the diagonal)")
      ->check(CLI::NonNegativeNumber);
  c->add_flag("--sequential,!--no-sequential", o.sequential,
              "Layer inputs from the model compressed so far (default) or from the float model");
}

void print_layer_reports(const obc::CompressResult& r, const std::string& before_label) {
  std::fprintf(stderr, "%-28s %-6s %11s %4s %8s %12s %12s %7s %7s %8s\n", "layer", "op", "rows x cols", "grp",
               "N", before_label.c_str(), "after", "ratio", "zeros", "seconds");
  double before = 0, after = 0, secs = 0;
  for (const auto& l : r.layers) {
    if (!l.compressed) {
      std::fprintf(stderr, "%-28s %-6s  skipped: %s\n", l.layer.c_str(), l.op_type.c_str(), l.note.c_str());
      continue;
    }
    const std::string shape = std::to_string(l.rows) + "x" + std::to_string(l.cols);
    std::fprintf(stderr, "%-28s %-6s %11s %4lld %8lld %12.5g %12.5g %7.3f %6.1f%% %8.2f%s\n", l.layer.c_str(),
                 l.op_type.c_str(), shape.c_str(), static_cast<long long>(l.groups),
                 static_cast<long long>(l.samples), l.loss_before, l.loss_after,
                 l.loss_before > 0 ? l.loss_after / l.loss_before : 0.0, 100.0 * l.sparsity, l.seconds_solve,
                 l.breakdowns ? "  (pivot breakdowns)" : "");
    before += l.loss_before;
    after += l.loss_after;
    secs += l.seconds_solve;
  }
  std::fprintf(stderr, "total: loss %s %.5g -> %.5g; solve %.2f s, all %.2f s\n", before_label.c_str(),
               before, after, secs, r.seconds);
}

nlohmann::json layer_reports_json(const obc::CompressResult& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers) {
    nlohmann::json j{
        {"layer", l.layer}, {"op_type", l.op_type}, {"weight", l.weight}, {"compressed", l.compressed}};
    if (!l.compressed) {
      j["note"] = l.note;
    } else {
      j.update({{"rows", l.rows},
                {"cols", l.cols},
                {"groups", l.groups},
                {"samples", l.samples},
                {"signal", l.signal},
                {"loss_before", l.loss_before},
                {"loss_after", l.loss_after},
                {"pruned", l.pruned},
                {"sparsity", l.sparsity},
                {"seconds_inputs", l.seconds_inputs},
                {"seconds_solve", l.seconds_solve},
                {"pivot_breakdowns", l.breakdowns}});
      if (!l.note.empty()) j["note"] = l.note;
    }
    layers.push_back(j);
  }
  return layers;
}

void write_json_file(const nlohmann::json& j, const std::string& path) {
  write_file_atomic(path, j.dump(1) + "\n");
}

obc::CompressProgressFn terminal_compress_progress(const std::string& label) {
  if (!isatty(STDERR_FILENO)) return nullptr;
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  return [label, last](const obc::CompressProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (p.done < p.total && now - *last < std::chrono::milliseconds(100)) return true;
    *last = now;
    std::fprintf(stderr, "\r\033[K%s %lld/%lld '%s' %s %lld/%lld", label.c_str(),
                 static_cast<long long>(p.layer + 1), static_cast<long long>(p.layers), p.name.c_str(),
                 p.phase.c_str(), static_cast<long long>(p.done), static_cast<long long>(p.total));
    std::fflush(stderr);
    return true;
  };
}

std::string replace_extension(const std::string& path, const std::string& ext) {
  return std::filesystem::path(path).replace_extension(ext).string();
}

}  // namespace qs::cli
