#include "core/algo/repvgg/export.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "core/common/error.h"
#include "core/onnx/import.h"
#include "core/onnx/save.h"

namespace qs::repvgg {

namespace fs = std::filesystem;

namespace {

// Removes the temporary file unless released (every early exit, including exceptions).
struct TempFile {
  fs::path path;
  bool keep = false;
  ~TempFile() {
    std::error_code ec;
    if (!keep) fs::remove(path, ec);
  }
};

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

}  // namespace

FusionCheck export_fused(const Graph& original, const FusedModel& fused, const std::string& source_path,
                         const std::string& out_path, Dataset& data, const ExportOptions& o) {
  if (out_path.empty()) throw Error("no output file given for the fused model");
  if (!source_path.empty() && same_file(source_path, out_path))
    throw Error(out_path + ": is the model the fused one is made from; write to another file");
  const fs::path target(out_path);
  TempFile tmp{target.parent_path() /
               (target.filename().string() + ".verify.tmp." + std::to_string(::getpid()))};
  save_model(fused.graph, source_path, tmp.path.string());

  LoadOptions lo;
  lo.fold_batchnorm = false;  // check the graph exactly as written
  const Model written = load_model(tmp.path.string(), lo);
  for (const auto& w : written.warnings)
    if (w.rfind("ONNX checker:", 0) == 0)
      throw Error(out_path + ": the fused model fails ONNX's checker: " + w);
  const FusionCheck c = check_fusion(original, written.graph, fused.blocks, data, o.count, o.batch);
  if (!c.ok(o.tolerance)) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "relative error %.3g (max allowed %.3g)", c.max_rel_error(), o.tolerance);
    throw Error(out_path + ": the written fused model differs from the original: " + buf);
  }
  std::error_code ec;
  fs::rename(tmp.path, target, ec);
  if (ec) throw Error(out_path + ": cannot move the verified file into place: " + ec.message());
  tmp.keep = true;
  return c;
}

}  // namespace qs::repvgg
