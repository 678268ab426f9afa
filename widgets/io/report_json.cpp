#include "widgets/io/report_json.h"

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/common/error.h"

namespace qs::ui {

namespace {

using nlohmann::json;

double num(const json& j, double if_null) { return j.is_null() ? if_null : j.get<double>(); }

ErrorStats err_from(const json& j) {
  ErrorStats e;
  e.sqnr_db = num(j.at("sqnr_db"), std::numeric_limits<double>::infinity());
  e.mse = num(j.at("mse"), 0);
  e.cosine = num(j.at("cosine"), 1);
  e.count = j.value("count", int64_t{0});
  return e;
}

}  // namespace

AnalysisReport report_from_json(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(source + ": not valid JSON: " + e.what());
  }
  if (!j.is_object() || j.value("format", "") != "quantscope-report")
    throw Error(source + ": not a QuantScope report (\"format\" should be \"quantscope-report\")");
  if (j.value("version", 0) != 1)
    throw Error(source + ": report version " + std::to_string(j.value("version", 0)) + " is not supported");
  AnalysisReport r;
  std::string where = source;
  try {
    r.model = j.value("model", "");
    r.plan = j.value("plan", "");
    r.samples = j.value("samples", int64_t{0});
    r.seconds = j.value("seconds", 0.0);
    where = source + ": output";
    r.output = err_from(j.at("output"));
    r.top1_agreement = j.at("output").value("top1_agreement", 0.0);
    r.float_islands = j.value("float_islands", std::vector<std::string>{});
    int index = 0;
    for (const auto& x : j.at("tensors")) {
      where = source + ": tensor " + std::to_string(index++);
      TensorReport t;
      t.tensor = x.at("tensor").get<std::string>();
      where += " ('" + t.tensor + "')";
      const std::string kind = x.at("kind").get<std::string>();
      if (kind != "weight" && kind != "activation") throw Error(where + ": kind '" + kind + "' is not known");
      t.kind = kind == "weight" ? TensorKind::Weight : TensorKind::Activation;
      t.layer = x.value("layer", "");
      t.op_type = x.value("op_type", "");
      t.observed = x.value("observed", "");
      t.quantized = x.value("quantized", true);
      t.bits = x.value("bits", 8);
      t.method = x.value("method", "");
      const auto fr = x.at("float_range").get<std::vector<float>>();
      const auto cr = x.at("clip_range").get<std::vector<float>>();
      if (fr.size() != 2 || cr.size() != 2) throw Error(where + ": ranges must have two values");
      t.float_min = fr[0];
      t.float_max = fr[1];
      t.clip_lo = cr[0];
      t.clip_hi = cr[1];
      t.clipped_fraction = x.value("clipped_fraction", 0.0);
      const json& h = x.at("histogram");
      t.hist_lo = h.at("lo").get<double>();
      t.hist_hi = h.at("hi").get<double>();
      t.hist = h.at("counts").get<std::vector<uint64_t>>();
      t.grid = x.value("grid", std::vector<float>{});
      t.isolated = err_from(x.at("isolated"));
      t.cumulative = err_from(x.at("cumulative"));
      if (x.contains("channels"))
        for (const auto& c : x["channels"]) {
          ChannelStats cs;
          cs.min = c.at("min").get<float>();
          cs.max = c.at("max").get<float>();
          cs.scale = c.at("scale").get<float>();
          cs.zero_point = c.at("zero_point").get<int32_t>();
          cs.sqnr_db = num(c.at("sqnr_db"), std::numeric_limits<double>::infinity());
          cs.zero_fraction = c.value("zero_fraction", 0.0);
          t.channels.push_back(cs);
        }
      r.tensors.push_back(std::move(t));
    }
  } catch (const json::exception& e) {
    throw Error(where + ": " + e.what());
  }
  return r;
}

AnalysisReport load_report(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error(path + ": cannot open report");
  std::stringstream ss;
  ss << f.rdbuf();
  return report_from_json(ss.str(), path);
}

}  // namespace qs::ui
