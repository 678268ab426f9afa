// `quantscope --screenshot OUT.png [--view NAME] [MODEL]`: opens MODEL (a model or a project; the
// embedded demo when none), runs calibrate → analyze → evaluate when data is set and there is no plan yet,
// selects the layer where the cumulative SQNR falls most, waits for every view to settle, renders the
// window or one view, writes the PNG and exits. For the README's images and for checks.
#pragma once

#include <QObject>
#include <QSize>
#include <QString>
#include <QStringList>

class QTimer;

namespace qs::gui {

class MainWindow;

struct ScreenshotOptions {
  QString out;  // PNG path
  QString view = QStringLiteral("window");
  QString input;          // model or project; empty: the demo
  QSize size{1440, 900};  // window size; a single view is rendered at 960×640
  QStringList runs;       // run actions triggered after the pipeline, in order (MainWindow::runAction names)
};

class ScreenshotDriver : public QObject {
  Q_OBJECT

 public:
  ScreenshotDriver(MainWindow* w, ScreenshotOptions o, QObject* parent = nullptr);
  void start();

 signals:
  // exit code: 0 written, 1 failed (message on stderr)
  void done(int exit_code);

 private:
  void onIdle();
  void waitForViews();
  void capture();
  void fail(const QString& message);

  MainWindow* w_;
  ScreenshotOptions o_;
  QTimer* poll_;
  int stage_ = 0;
  int polls_ = 0;
  int quiet_ = 0;
  bool failed_ = false;
};

}  // namespace qs::gui
