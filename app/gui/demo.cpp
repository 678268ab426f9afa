#include "app/gui/demo.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QStandardPaths>

#include "core/common/error.h"

namespace qs::gui {

namespace {
const char* const kFiles[] = {"mnist_demo.onnx", "calib-images-idx3-ubyte.gz", "test-images-idx3-ubyte.gz",
                              "test-labels-idx1-ubyte.gz", "demo.json"};
}

DemoFiles extractDemo(const QString& dir_in) {
  QString dir = dir_in;
  if (dir.isEmpty())
    dir = QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation) + QStringLiteral("/demo");
  if (!QDir().mkpath(dir)) throw Error(dir.toStdString() + ": cannot create the demo folder");
  for (const char* name : kFiles) {
    QFile res(QStringLiteral(":/demo/") + QLatin1String(name));
    if (!res.open(QIODevice::ReadOnly))
      throw Error(std::string("the embedded demo file ") + name + " is missing from this build");
    const QByteArray bytes = res.readAll();
    const QString target = dir + QLatin1Char('/') + QLatin1String(name);
    QFile existing(target);
    if (existing.open(QIODevice::ReadOnly) && existing.readAll() == bytes) continue;
    QSaveFile out(target);
    if (!out.open(QIODevice::WriteOnly) || out.write(bytes) != bytes.size() || !out.commit())
      throw Error(target.toStdString() + ": cannot write the demo file");
  }
  DemoFiles d;
  d.model = dir + QStringLiteral("/mnist_demo.onnx");
  auto data = demoDataFor(d.model);
  if (!data) throw Error(dir.toStdString() + ": the extracted demo is incomplete");
  d.data = *data;
  return d;
}

std::optional<DataSettings> demoDataFor(const QString& model_path) {
  const QFileInfo model(model_path);
  const QDir dir = model.absoluteDir();
  QFile f(dir.filePath(QStringLiteral("demo.json")));
  if (!f.open(QIODevice::ReadOnly)) return std::nullopt;
  const QJsonObject o = QJsonDocument::fromJson(f.readAll()).object();
  if (o.value(QStringLiteral("model")).toString() != model.fileName()) return std::nullopt;
  DataSettings d;
  auto file = [&](const char* name) {
    const QString p = dir.filePath(QLatin1String(name));
    return QFileInfo::exists(p) ? p : QString();
  };
  d.calib_images = file("calib-images-idx3-ubyte.gz");
  d.eval_images = file("test-images-idx3-ubyte.gz");
  d.eval_labels = d.eval_images.isEmpty() ? QString() : file("test-labels-idx1-ubyte.gz");
  if (d.calib_images.isEmpty()) return std::nullopt;
  // "x = (pixel * scale - mean) / std", as resources/demo/demo.json states it.
  const QJsonObject pre = o.value(QStringLiteral("preprocessing")).toObject();
  if (pre.contains(QStringLiteral("scale")))
    d.scale = static_cast<float>(pre.value(QStringLiteral("scale")).toDouble());
  d.mean = {static_cast<float>(pre.value(QStringLiteral("mean")).toDouble(0.0))};
  d.stddev = {static_cast<float>(pre.value(QStringLiteral("std")).toDouble(1.0))};
  return d;
}

}  // namespace qs::gui
