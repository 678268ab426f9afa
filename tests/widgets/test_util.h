// Shared helpers of the widget tests: the demo model and data (resources/demo), a synchronously made plan
// and report as the reference, waiting on the window, and image statistics.
#pragma once

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QImage>
#include <QSet>
#include <QSignalSpy>
#include <QTest>
#include <functional>
#include <memory>

#include "app/gui/data_settings.h"
#include "app/gui/jobs.h"
#include "core/onnx/import.h"
#include "core/quant/analysis.h"
#include "core/quant/calibrate.h"

namespace qs::test {

inline QString demoPath(const char* file) {
  return QStringLiteral(QS_RESOURCES "/demo/") + QLatin1String(file);
}

inline gui::DataSettings demoData() {
  gui::DataSettings d;
  d.calib_images = demoPath("calib-images-idx3-ubyte.gz");
  d.eval_images = demoPath("test-images-idx3-ubyte.gz");
  d.eval_labels = demoPath("test-labels-idx1-ubyte.gz");
  d.mean = {0.5f};
  d.stddev = {0.5f};
  return d;
}

// The demo model, a plan calibrated the way the window does it, and the engine's own analysis of it.
struct DemoFixture {
  gui::LoadedModel loaded;
  QuantPlan plan;
  QuantPoints points;
  std::shared_ptr<AnalysisReport> report;
  DataConfig data;

  explicit DemoFixture(int64_t analysis_count = 64) {
    loaded = gui::loadModel(demoPath("mnist_demo.onnx"), nullptr);
    data = demoData().calibConfig(loaded.model->graph);
    auto ds = open_dataset(data);
    CalibrationOptions o;
    o.calib_count = 128;
    plan = calibrate(loaded.model->graph, *ds, o);
    points = quant_points_for(loaded.model->graph, ds->sample_shape());
    AnalysisOptions ao;
    ao.count = analysis_count;
    report = std::make_shared<AnalysisReport>(analyze(loaded.model->graph, plan, *ds, ao));
  }
};

// Processes events until `done` or `ms` pass; returns done().
inline bool waitUntil(const std::function<bool()>& done, int ms = 120000) {
  QElapsedTimer t;
  t.start();
  while (!done()) {
    if (t.elapsed() > ms) return false;
    QTest::qWait(10);
  }
  return true;
}

inline int distinctColors(const QImage& img) {
  QSet<QRgb> c;
  const QImage i = img.convertToFormat(QImage::Format_RGB32);
  for (int y = 0; y < i.height(); y += 2)
    for (int x = 0; x < i.width(); x += 2) c.insert(i.pixel(x, y));
  return static_cast<int>(c.size());
}

// Share of sampled pixels that have the image's most frequent color.
inline double dominantShare(const QImage& img) {
  QHash<QRgb, int> n;
  const QImage i = img.convertToFormat(QImage::Format_RGB32);
  int total = 0, best = 0;
  for (int y = 0; y < i.height(); y += 2)
    for (int x = 0; x < i.width(); x += 2) {
      best = std::max(best, ++n[i.pixel(x, y)]);
      ++total;
    }
  return total ? static_cast<double>(best) / total : 1.0;
}

}  // namespace qs::test
