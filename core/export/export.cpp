// export_model(): the three files, written atomically, never over the source model or plan.
#include "core/export/export.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/file_io.h"
#include "core/export/onnx_writer.h"
#include "core/export/sha256.h"

namespace qs {

namespace fs = std::filesystem;

namespace {

bool same_file(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return false;
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error(path + ": cannot write (folder missing or not writable)");
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) throw Error(path + ": writing failed (disk full?)");
}

}  // namespace

std::string export_sidecar_path(const std::string& out, const std::string& suffix) {
  std::string base = out;
  if (base.size() > 5 && base.compare(base.size() - 5, 5, ".onnx") == 0) base.resize(base.size() - 5);
  return base + suffix;
}

ExportResult export_model(const Graph& g, const QuantPlan& plan, const QuantPoints& points,
                          const std::string& out, const ExportOptions& o) {
  if (out.empty()) throw Error("export: no output file given");
  ExportResult r;
  r.model = out;
  r.plan = export_sidecar_path(out, ".plan.json");
  r.manifest = export_sidecar_path(out, ".manifest.json");
  for (const std::string& target : {r.model, r.plan, r.manifest}) {
    if (same_file(target, o.source_model))
      throw Error(target + ": is the input model; the export never overwrites it (choose another --out)");
    if (same_file(target, o.source_plan))
      throw Error(target + ": is the input plan; the export never overwrites it (choose another --out)");
  }

  const ExportedGraph e = build_export_graph(g, plan, points, o.format, o.weights);
  const std::string bytes = write_onnx_bytes(e.graph);
  check_onnx_bytes(bytes, out);
  r.float_islands = e.float_islands;
  r.notes = e.notes;

  QuantPlan written = plan;
  written.weights_model.clear();  // the exported model holds the weights the plan was made for
  nlohmann::json m;
  m["format"] = "quantscope-export-manifest";
  m["version"] = 1;
  m["quantscope_version"] = QS_VERSION;
  m["model"] = fs::path(r.model).filename().string();
  m["plan"] = fs::path(r.plan).filename().string();
  m["export_format"] = export_format_name(o.format);
  m["opset"] = e.graph.opset;
  m["source_model"] = o.source_model;
  m["source_model_sha256"] =
      o.source_model.empty() ? nlohmann::json(nullptr) : nlohmann::json(sha256_file(o.source_model));
  m["source_plan"] = o.source_plan;
  m["model_sha256"] = sha256_hex(bytes);
  nlohmann::json settings = nlohmann::json::object();
  for (const auto& [k, v] : o.settings) settings[k] = v;
  m["settings"] = settings;
  m["float_islands"] = e.float_islands;
  m["notes"] = e.notes;
  m["rounding"] =
      "QuantScope's integer engine requantizes with a fixed-point multiplier, one rounding half up; "
      "ONNX Runtime rounds half to even in float: outputs agree within 1 LSB";

  // All three temporaries first, then the renames, so a failure leaves no half-written export.
  const std::vector<std::pair<std::string, std::string>> files = {
      {r.model, bytes}, {r.plan, plan_to_json(written) + "\n"}, {r.manifest, m.dump(1) + "\n"}};
  std::vector<std::string> temps;
  try {
    for (const auto& [path, content] : files) {
      temps.push_back(temp_path_beside(path));
      write_file(temps.back(), content);
    }
    for (size_t i = 0; i < files.size(); ++i) fs::rename(temps[i], files[i].first);
  } catch (const std::exception& ex) {
    std::error_code ec;
    for (const auto& t : temps) fs::remove(t, ec);
    throw Error(std::string("export: ") + ex.what());
  }
  return r;
}

}  // namespace qs
