#include "app/gui/project.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include "core/algo/obc/weights_model.h"
#include "core/common/error.h"
#include "core/onnx/save.h"
#include "widgets/io/report_json.h"

namespace qs::gui {

namespace {

// Plans and reports are embedded in their own JSON formats (plan-format.md, the report format), so a
// project's parts can be extracted and used with quantscope-cli.
QJsonValue embed(const std::string& json_text) {
  return QJsonDocument::fromJson(QByteArray::fromStdString(json_text)).object();
}
std::string extract(const QJsonValue& v) {
  return QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact).toStdString();
}

QJsonObject runJson(const ui::EvalRun& r) {
  QJsonObject o;
  o[QStringLiteral("label")] = r.label;
  o[QStringLiteral("engine")] = r.engine;
  o[QStringLiteral("top1")] = r.top1;
  o[QStringLiteral("agreement")] = r.agreement;
  o[QStringLiteral("count")] = static_cast<qint64>(r.count);
  o[QStringLiteral("weight_bytes")] = r.weight_bytes;
  o[QStringLiteral("float_weight_bytes")] = r.float_weight_bytes;
  o[QStringLiteral("seconds")] = r.seconds;
  return o;
}

ui::EvalRun runFrom(const QJsonObject& o) {
  ui::EvalRun r;
  r.label = o.value(QStringLiteral("label")).toString();
  r.engine = o.value(QStringLiteral("engine")).toString();
  r.top1 = o.value(QStringLiteral("top1")).toDouble();
  r.agreement = o.value(QStringLiteral("agreement")).toDouble(-1);
  r.count = o.value(QStringLiteral("count")).toInteger();
  r.weight_bytes = o.value(QStringLiteral("weight_bytes")).toDouble();
  r.float_weight_bytes = o.value(QStringLiteral("float_weight_bytes")).toDouble();
  r.seconds = o.value(QStringLiteral("seconds")).toDouble();
  return r;
}

}  // namespace

std::shared_ptr<const Graph> weightsFor(const Graph& model, const QuantPlan& plan, const QString& plan_path) {
  if (plan.weights_model.empty()) return nullptr;
  auto g = std::make_shared<Graph>(model);
  obc::apply_weights_model(*g, plan, plan_path.toStdString());
  return g;
}

QuantPlan withWeightsModel(const QuantPlan& plan, const std::shared_ptr<const Graph>& weights,
                           const QString& model_path, const QString& plan_path, const QString& suffix) {
  QuantPlan p = plan;
  p.weights_model.clear();
  if (!weights) return p;
  const QFileInfo fi(plan_path);
  const QString out = fi.absoluteDir().filePath(fi.completeBaseName() + suffix);
  save_model(*weights, model_path.toStdString(), out.toStdString());
  p.weights_model = obc::weights_model_reference(out.toStdString(), plan_path.toStdString());
  return p;
}

void saveProject(const Project& p_in, const QString& path) {
  const QDir base = QFileInfo(path).absoluteDir();
  Project p = p_in;
  if (p.plan) p.plan = withWeightsModel(*p.plan, p.weights, p.model, path, QStringLiteral(".weights.onnx"));
  if (p.plan_b)
    p.plan_b = withWeightsModel(*p.plan_b, p.weights_b, p.model, path, QStringLiteral(".b.weights.onnx"));
  QJsonObject o;
  o[QStringLiteral("format")] = QStringLiteral("quantscope-project");
  o[QStringLiteral("version")] = Project::kVersion;
  o[QStringLiteral("model")] = base.relativeFilePath(p.model);
  o[QStringLiteral("data")] = p.data.toJson(base);
  o[QStringLiteral("calibration")] = p.calib.toJson();
  if (p.plan) o[QStringLiteral("plan")] = embed(plan_to_json(*p.plan));
  if (p.plan_b) {
    o[QStringLiteral("plan_b")] = embed(plan_to_json(*p.plan_b));
    o[QStringLiteral("plan_b_label")] = p.plan_b_label;
  }
  if (p.report && p.report_plan) {
    o[QStringLiteral("report")] = embed(report_to_json(*p.report));
    o[QStringLiteral("report_plan")] = embed(plan_to_json(*p.report_plan));
  }
  QJsonArray runs;
  for (const auto& r : p.results) runs.append(runJson(r));
  o[QStringLiteral("results")] = runs;
  o[QStringLiteral("selection")] = p.selection;

  QSaveFile f(path);
  if (!f.open(QIODevice::WriteOnly))
    throw Error(path.toStdString() + ": cannot write: " + f.errorString().toStdString());
  f.write(QJsonDocument(o).toJson(QJsonDocument::Indented));
  if (!f.commit()) throw Error(path.toStdString() + ": writing failed: " + f.errorString().toStdString());
}

Project loadProject(const QString& path) {
  const std::string where = path.toStdString();
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly))
    throw Error(where + ": cannot open project: " + f.errorString().toStdString());
  QJsonParseError err;
  const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &err);
  if (doc.isNull()) throw Error(where + ": not valid JSON: " + err.errorString().toStdString());
  const QJsonObject o = doc.object();
  if (o.value(QStringLiteral("format")).toString() != QLatin1String("quantscope-project"))
    throw Error(where + ": not a QuantScope project (\"format\" should be \"quantscope-project\")");
  const int version = o.value(QStringLiteral("version")).toInt();
  if (version != Project::kVersion)
    throw Error(where + ": project version " + std::to_string(version) +
                " is not supported (this build reads " + std::to_string(Project::kVersion) + ")");
  const QDir base = QFileInfo(path).absoluteDir();
  Project p;
  const QString model = o.value(QStringLiteral("model")).toString();
  if (model.isEmpty()) throw Error(where + ": \"model\" is missing");
  p.model = QDir::cleanPath(base.absoluteFilePath(model));
  p.data = DataSettings::fromJson(o.value(QStringLiteral("data")).toObject(), base);
  p.calib = CalibSettings::fromJson(o.value(QStringLiteral("calibration")).toObject());
  if (o.contains(QStringLiteral("plan")))
    p.plan = plan_from_json(extract(o.value(QStringLiteral("plan"))), where + ": plan");
  if (o.contains(QStringLiteral("plan_b"))) {
    p.plan_b = plan_from_json(extract(o.value(QStringLiteral("plan_b"))), where + ": plan_b");
    p.plan_b_label = o.value(QStringLiteral("plan_b_label")).toString();
  }
  if (o.contains(QStringLiteral("report")) && o.contains(QStringLiteral("report_plan"))) {
    p.report = std::make_shared<AnalysisReport>(
        ui::report_from_json(extract(o.value(QStringLiteral("report"))), where + ": report"));
    p.report_plan = plan_from_json(extract(o.value(QStringLiteral("report_plan"))), where + ": report_plan");
  }
  for (const auto& r : o.value(QStringLiteral("results")).toArray())
    p.results.push_back(runFrom(r.toObject()));
  p.selection = o.value(QStringLiteral("selection")).toString();
  return p;
}

}  // namespace qs::gui
