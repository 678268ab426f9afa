#include "app/gui/data_settings.h"

#include <QDir>
#include <QJsonArray>
#include <QRegularExpression>
#include <QStringList>

#include "core/common/error.h"

namespace qs::gui {

namespace {

// The configuration of one input's data: `in` decides images or tensors; the image settings are shared.
DataConfig inputConfig(const DataSettings& s, const QString& images, const QString& labels,
                       const ValueInfo& in) {
  DataConfig c;
  c.images = images.toStdString();
  c.labels = labels.toStdString();
  c.npy_layout = s.npy_layout;
  // Rank-4 inputs take images; others a .npy of tensors, fed as stored (the image settings below are then
  // not used).
  configure_for_input(c, in);
  c.pre.mean = s.mean;
  c.pre.stddev = s.stddev;
  c.pre.scale = s.scale;
  c.pre.resize = s.resize;
  c.pre.resize_height = s.resize_height;
  c.pre.resize_width = s.resize_width;
  c.pre.resize_shorter = s.resize_shorter;
  c.pre.center_crop = s.center_crop || s.resize == ResizeMode::kShorterSide;
  c.pre.channel_order = s.bgr ? ChannelOrder::kBGR : ChannelOrder::kRGB;
  return c;
}

// `images` feeds the first input; `more` the others, by name (sample i of each going together).
DataConfig configFor(const DataSettings& s, const QString& images, const QString& labels,
                     const QMap<QString, QString>& more, const Graph& g) {
  if (g.inputs.empty()) throw Error("the model has no inputs to feed data to");
  DataConfig c = inputConfig(s, images, labels, g.inputs[0]);
  for (size_t i = 1; i < g.inputs.size(); ++i) {
    const ValueInfo& in = g.inputs[i];
    const QString path = more.value(QString::fromStdString(in.name)).trimmed();
    if (path.isEmpty())
      throw Error("input '" + in.name + "' has no data: the model has " + std::to_string(g.inputs.size()) +
                  " inputs; choose a file for each in the Data panel");
    c.more.emplace_back(in.name, inputConfig(s, path, QString(), in));
  }
  return c;
}

QJsonObject relMap(const QDir& base, const QMap<QString, QString>& m) {
  QJsonObject o;
  for (auto it = m.begin(); it != m.end(); ++it)
    if (!it.value().isEmpty()) o[it.key()] = base.relativeFilePath(it.value());
  return o;
}
QMap<QString, QString> absMap(const QDir& base, const QJsonValue& v) {
  QMap<QString, QString> m;
  const QJsonObject o = v.toObject();
  for (auto it = o.begin(); it != o.end(); ++it)
    if (!it.value().toString().isEmpty())
      m[it.key()] = QDir::cleanPath(base.absoluteFilePath(it.value().toString()));
  return m;
}

QString rel(const QDir& base, const QString& path) {
  return path.isEmpty() ? QString() : base.relativeFilePath(path);
}
QString abs(const QDir& base, const QString& path) {
  return path.isEmpty() ? QString() : QDir::cleanPath(base.absoluteFilePath(path));
}

QJsonArray floats(const std::vector<float>& v) {
  QJsonArray a;
  for (float x : v) a.append(static_cast<double>(x));
  return a;
}
std::vector<float> floats(const QJsonValue& v, std::vector<float> def) {
  if (!v.isArray()) return def;
  std::vector<float> r;
  for (const auto& x : v.toArray()) r.push_back(static_cast<float>(x.toDouble()));
  return r.empty() ? def : r;
}

const char* resizeName(ResizeMode m) {
  switch (m) {
    case ResizeMode::kNone:
      return "none";
    case ResizeMode::kStretch:
      return "stretch";
    case ResizeMode::kShorterSide:
      return "shorter-side";
  }
  return "none";
}

}  // namespace

DataConfig DataSettings::calibConfig(const Graph& g) const {
  if (calib_images.isEmpty()) throw Error("no calibration data: choose images in the Data panel");
  return configFor(*this, calib_images, QString(), calib_more, g);
}

DataConfig DataSettings::evalConfig(const Graph& g) const {
  if (eval_images.isEmpty()) throw Error("no evaluation data: choose labeled images in the Data panel");
  return configFor(*this, eval_images, eval_labels, eval_more, g);
}

QJsonObject DataSettings::toJson(const QDir& base) const {
  QJsonObject o;
  o[QStringLiteral("calibration_images")] = rel(base, calib_images);
  o[QStringLiteral("evaluation_images")] = rel(base, eval_images);
  o[QStringLiteral("evaluation_labels")] = rel(base, eval_labels);
  if (!calib_more.isEmpty()) o[QStringLiteral("calibration_inputs")] = relMap(base, calib_more);
  if (!eval_more.isEmpty()) o[QStringLiteral("evaluation_inputs")] = relMap(base, eval_more);
  if (scale) o[QStringLiteral("scale")] = static_cast<double>(*scale);
  o[QStringLiteral("mean")] = floats(mean);
  o[QStringLiteral("std")] = floats(stddev);
  o[QStringLiteral("resize")] = QString::fromLatin1(resizeName(resize));
  o[QStringLiteral("resize_height")] = static_cast<qint64>(resize_height);
  o[QStringLiteral("resize_width")] = static_cast<qint64>(resize_width);
  o[QStringLiteral("resize_shorter")] = static_cast<qint64>(resize_shorter);
  o[QStringLiteral("center_crop")] = center_crop;
  o[QStringLiteral("bgr")] = bgr;
  o[QStringLiteral("npy_layout")] = npy_layout == NpyLayout::kNCHW   ? QStringLiteral("nchw")
                                    : npy_layout == NpyLayout::kNHWC ? QStringLiteral("nhwc")
                                                                     : QStringLiteral("auto");
  return o;
}

DataSettings DataSettings::fromJson(const QJsonObject& o, const QDir& base) {
  DataSettings s;
  s.calib_images = abs(base, o.value(QStringLiteral("calibration_images")).toString());
  s.eval_images = abs(base, o.value(QStringLiteral("evaluation_images")).toString());
  s.eval_labels = abs(base, o.value(QStringLiteral("evaluation_labels")).toString());
  s.calib_more = absMap(base, o.value(QStringLiteral("calibration_inputs")));
  s.eval_more = absMap(base, o.value(QStringLiteral("evaluation_inputs")));
  if (o.contains(QStringLiteral("scale")))
    s.scale = static_cast<float>(o.value(QStringLiteral("scale")).toDouble());
  s.mean = floats(o.value(QStringLiteral("mean")), {0.f});
  s.stddev = floats(o.value(QStringLiteral("std")), {1.f});
  const QString r = o.value(QStringLiteral("resize")).toString();
  s.resize = r == QLatin1String("stretch")        ? ResizeMode::kStretch
             : r == QLatin1String("shorter-side") ? ResizeMode::kShorterSide
                                                  : ResizeMode::kNone;
  s.resize_height = o.value(QStringLiteral("resize_height")).toInteger();
  s.resize_width = o.value(QStringLiteral("resize_width")).toInteger();
  s.resize_shorter = o.value(QStringLiteral("resize_shorter")).toInteger();
  s.center_crop = o.value(QStringLiteral("center_crop")).toBool();
  s.bgr = o.value(QStringLiteral("bgr")).toBool();
  const QString l = o.value(QStringLiteral("npy_layout")).toString();
  s.npy_layout = l == QLatin1String("nchw")   ? NpyLayout::kNCHW
                 : l == QLatin1String("nhwc") ? NpyLayout::kNHWC
                                              : NpyLayout::kAuto;
  return s;
}

bool DataSettings::operator==(const DataSettings& o) const {
  return calib_images == o.calib_images && eval_images == o.eval_images && eval_labels == o.eval_labels &&
         calib_more == o.calib_more && eval_more == o.eval_more && scale == o.scale && mean == o.mean &&
         stddev == o.stddev && resize == o.resize && resize_height == o.resize_height &&
         resize_width == o.resize_width && resize_shorter == o.resize_shorter &&
         center_crop == o.center_crop && bgr == o.bgr && npy_layout == o.npy_layout;
}

QJsonObject CalibSettings::toJson() const {
  QJsonObject o;
  o[QStringLiteral("weight_bits")] = options.weight_bits;
  o[QStringLiteral("act_bits")] = options.act_bits;
  o[QStringLiteral("per_channel")] = options.per_channel;
  o[QStringLiteral("act_signed")] = options.act_signed;
  o[QStringLiteral("act_method")] = QString::fromStdString(options.act_method);
  o[QStringLiteral("weight_method")] = QString::fromStdString(options.weight_method);
  o[QStringLiteral("percentile")] = options.observer.percentile;
  o[QStringLiteral("calib_count")] = static_cast<qint64>(options.calib_count);
  o[QStringLiteral("batch")] = static_cast<qint64>(options.batch);
  o[QStringLiteral("analysis_count")] = static_cast<qint64>(analysis_count);
  return o;
}

CalibSettings CalibSettings::fromJson(const QJsonObject& o) {
  CalibSettings s;
  auto& c = s.options;
  c.weight_bits = o.value(QStringLiteral("weight_bits")).toInt(c.weight_bits);
  c.act_bits = o.value(QStringLiteral("act_bits")).toInt(c.act_bits);
  c.per_channel = o.value(QStringLiteral("per_channel")).toBool(c.per_channel);
  c.act_signed = o.value(QStringLiteral("act_signed")).toBool(c.act_signed);
  c.act_method =
      o.value(QStringLiteral("act_method")).toString(QString::fromStdString(c.act_method)).toStdString();
  c.weight_method = o.value(QStringLiteral("weight_method"))
                        .toString(QString::fromStdString(c.weight_method))
                        .toStdString();
  c.observer.percentile = o.value(QStringLiteral("percentile")).toDouble(c.observer.percentile);
  c.calib_count = o.value(QStringLiteral("calib_count")).toInteger(c.calib_count);
  c.batch = o.value(QStringLiteral("batch")).toInteger(c.batch);
  s.analysis_count = o.value(QStringLiteral("analysis_count")).toInteger(s.analysis_count);
  return s;
}

std::vector<float> parseFloatList(const QString& text, const QString& what) {
  std::vector<float> v;
  const QStringList parts = text.split(QRegularExpression(QStringLiteral("[,;\\s]+")), Qt::SkipEmptyParts);
  for (const QString& p : parts) {
    bool ok = false;
    const float x = p.toFloat(&ok);
    if (!ok) throw Error(what.toStdString() + ": '" + p.toStdString() + "' is not a number");
    v.push_back(x);
  }
  return v;
}

QString floatListText(const std::vector<float>& v) {
  QStringList parts;
  for (float x : v) parts << QString::number(static_cast<double>(x), 'g', 6);
  return parts.join(QStringLiteral(", "));
}

}  // namespace qs::gui
