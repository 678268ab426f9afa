// Data settings of a session: the calibration images, the labeled evaluation set, and the preprocessing
// both share (the model sees evaluation data exactly as it saw calibration data). Converted to the
// engine's DataConfig against the model's input shape, and to/from the project file with paths relative to
// the project.
#pragma once

#include <QJsonObject>
#include <QMap>
#include <QString>
#include <optional>
#include <vector>

#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/quant/calibrate.h"

class QDir;

namespace qs::gui {

struct DataSettings {
  QString calib_images;  // IDX (.gz), .npy, folder or image
  QString eval_images;
  QString eval_labels;         // optional with a class-folder eval set
  // A model with several inputs: the files of the inputs after the first, by input name (the fields above
  // feed the first input; sample i of every file goes together).
  QMap<QString, QString> calib_more, eval_more;
  std::optional<float> scale;  // unset: 1/255 for 8-bit sources
  std::vector<float> mean{0.f};
  std::vector<float> stddev{1.f};
  ResizeMode resize = ResizeMode::kNone;
  int64_t resize_height = 0, resize_width = 0, resize_shorter = 0;
  bool center_crop = false;
  bool bgr = false;
  NpyLayout npy_layout = NpyLayout::kAuto;

  bool hasCalibration() const { return !calib_images.isEmpty(); }
  bool hasEvaluation() const { return !eval_images.isEmpty(); }

  // The engine's configuration for the model's inputs (an image input's C, H, W where known, as the CLI
  // does; the other inputs' files in DataConfig::more). Throws qs::Error naming an input without a file.
  DataConfig calibConfig(const Graph& g) const;
  DataConfig evalConfig(const Graph& g) const;

  QJsonObject toJson(const QDir& base) const;
  static DataSettings fromJson(const QJsonObject& o, const QDir& base);
  bool operator==(const DataSettings& o) const;
};

// Calibration and analysis settings (the `quantize` and `analyze` options of the CLI).
struct CalibSettings {
  CalibrationOptions options;  // progress is set by the job
  int64_t analysis_count = 256;

  QJsonObject toJson() const;
  static CalibSettings fromJson(const QJsonObject& o);
};

// "0.485, 0.456, 0.406" ↔ values; throws qs::Error naming the text when a value is not a number.
std::vector<float> parseFloatList(const QString& text, const QString& what);
QString floatListText(const std::vector<float>& v);

}  // namespace qs::gui
