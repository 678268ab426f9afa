// The embedded demo (resources/demo, compiled into the executable): a small MNIST CNN with its
// calibration and test images. Opening it copies the files once into the user's data folder (so the data
// readers, which read files, can use them) and sets the data settings the model was trained with.
#pragma once

#include <QString>
#include <optional>

#include "app/gui/data_settings.h"

namespace qs::gui {

struct DemoFiles {
  QString model;
  DataSettings data;  // calibration + labeled test images, mean 0.5, std 0.5 (resources/demo/demo.json)
};

// Extracts the demo into `dir` (default: the application's data location) when missing or different.
// Throws qs::Error naming the file that cannot be written.
DemoFiles extractDemo(const QString& dir = QString());

// The data settings of a demo-style folder: when `model_path` sits next to a demo.json naming it (as
// resources/demo does), its calibration and test files and preprocessing. Empty otherwise.
std::optional<DataSettings> demoDataFor(const QString& model_path);

}  // namespace qs::gui
