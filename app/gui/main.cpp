// quantscope: the desktop application.
//   quantscope [MODEL.onnx | PROJECT.qsproj | PLAN.json]
//   quantscope --screenshot OUT.png [--view NAME] [MODEL]
#include <QApplication>
#include <QCommandLineParser>
#include <QSettings>
#include <QTimer>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "app/gui/language.h"
#include "app/gui/main_window.h"
#include "app/gui/screenshot.h"
#include "app/gui/settings_keys.h"

namespace {

bool hasArg(int argc, char** argv, const char* a) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], a) == 0) return true;
  return false;
}

bool hasDisplay() {
  auto set = [](const char* v) { return std::getenv(v) && *std::getenv(v); };
  return set("DISPLAY") || set("WAYLAND_DISPLAY") || set("QT_QPA_PLATFORM");
}

}  // namespace

int main(int argc, char** argv) {
  if (!hasDisplay()) {
    if (hasArg(argc, argv, "--screenshot")) {
      setenv("QT_QPA_PLATFORM", "offscreen", 1);  // rendering to a file needs no display
    } else if (!hasArg(argc, argv, "--help") && !hasArg(argc, argv, "-h") &&
               !hasArg(argc, argv, "--version")) {
      std::fprintf(stderr,
                   "quantscope: no display ($DISPLAY and $WAYLAND_DISPLAY are empty).\n"
                   "Run it in a desktop session, or use quantscope-cli (same jobs, headless), or\n"
                   "quantscope --screenshot OUT.png [MODEL] to render the window to a file.\n");
      return 2;
    }
  }
  QGuiApplication::setHighDpiScaleFactorRoundingPolicy(Qt::HighDpiScaleFactorRoundingPolicy::PassThrough);
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("QuantScope"));
  QApplication::setOrganizationName(QStringLiteral("QuantScope"));
  QApplication::setApplicationVersion(QStringLiteral(QS_VERSION));

  // The language is chosen before any widget exists (so every tr() sees it).
  QString lang = QSettings().value(qs::gui::keys::kLanguage).toString();
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--lang") == 0) lang = QString::fromLocal8Bit(argv[i + 1]);
  qs::gui::installLanguage(&app, lang);

  QCommandLineParser p;
  p.setApplicationDescription(QCoreApplication::translate(
      "main", "See where quantization hurts a neural network, layer by layer, and fix it."));
  p.addHelpOption();
  p.addVersionOption();
  p.addPositionalArgument(
      QStringLiteral("file"),
      QCoreApplication::translate("main", "An ONNX model, a project (.qsproj) or a plan to open."),
      QStringLiteral("[file]"));
  QCommandLineOption shot(
      QStringLiteral("screenshot"),
      QCoreApplication::translate("main", "Render the window (or --view) to a PNG and exit."),
      QStringLiteral("OUT.png"));
  QCommandLineOption view(
      QStringLiteral("view"),
      QCoreApplication::translate("main",
                                  "With --screenshot: the view to render (window, layers, data, quantize, "
                                  "distributions, channels, collapse, results, compare, history, log)."),
      QStringLiteral("NAME"), QStringLiteral("window"));
  QCommandLineOption runOpt(QStringLiteral("run"),
                            QCoreApplication::translate("main", "With --screenshot: run these jobs after calibrate, analyze and evaluate (comma-separated: sensitivity, gptq, obq, eptq, mixed, repvgg)."),
                            QStringLiteral("NAMES"));
  QCommandLineOption langOpt(QStringLiteral("lang"),
                             QCoreApplication::translate("main", "Interface language (en, zh_CN)."),
                             QStringLiteral("CODE"));
  p.addOption(shot);
  p.addOption(view);
  p.addOption(langOpt);
  p.addOption(runOpt);
  p.process(app);
  const QStringList files = p.positionalArguments();

  qs::gui::MainWindow w;
  if (p.isSet(shot)) {
    qs::gui::ScreenshotOptions o;
    o.out = p.value(shot);
    o.view = p.value(view);
    o.input = files.value(0);
    if (p.isSet(runOpt)) o.runs = p.value(runOpt).split(QLatin1Char(','), Qt::SkipEmptyParts);
    auto* driver = new qs::gui::ScreenshotDriver(&w, o, &w);
    QObject::connect(
        driver, &qs::gui::ScreenshotDriver::done, &app, [](int code) { QCoreApplication::exit(code); },
        Qt::QueuedConnection);
    QTimer::singleShot(0, driver, &qs::gui::ScreenshotDriver::start);
    return app.exec();
  }
  w.show();
  if (!files.isEmpty()) {
    const QString f = files.first();
    QTimer::singleShot(0, &w, [&w, f] { w.openFile(f); });
  }
  return app.exec();
}
