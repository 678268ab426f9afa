#include "app/gui/screenshot.h"

#include <QAction>
#include <QCoreApplication>
#include <QImage>
#include <QTimer>
#include <cstdio>

#include "app/gui/job_runner.h"
#include "app/gui/main_window.h"
#include "app/gui/panels/data_panel.h"
#include "app/gui/panels/distributions_panel.h"
#include "app/gui/session.h"
#include "widgets/charts/collapse_view.h"

namespace qs::gui {

namespace {
constexpr int kPollMs = 50;
constexpr int kMaxPolls = 20 * 60 * 5;  // views settle in well under this (5 min at most, even on big models)
}  // namespace

ScreenshotDriver::ScreenshotDriver(MainWindow* w, ScreenshotOptions o, QObject* parent)
    : QObject(parent), w_(w), o_(std::move(o)) {
  poll_ = new QTimer(this);
  poll_->setInterval(kPollMs);
  connect(poll_, &QTimer::timeout, this, &ScreenshotDriver::waitForViews);
  connect(w_, &MainWindow::errorShown, this,
          [this](const QString& t, const QString& m) { fail(t + QStringLiteral(": ") + m); });
  connect(w_->jobs(), &JobRunner::idle, this, &ScreenshotDriver::onIdle);
}

void ScreenshotDriver::start() {
  if (!w_->viewNames().contains(o_.view)) {
    fail(QStringLiteral("unknown view '%1'; views: %2")
             .arg(o_.view, w_->viewNames().join(QStringLiteral(", "))));
    return;
  }
  w_->setQuietErrors(true);
  w_->resize(o_.size);
  w_->show();
  stage_ = 1;
  if (o_.input.isEmpty())
    w_->openDemo();
  else
    w_->openFile(o_.input);
}

void ScreenshotDriver::onIdle() {
  if (failed_) return;
  Session* s = w_->session();
  if (stage_ == 1) {
    stage_ = 2;
    if (s->hasModel() && s->data().hasCalibration() && !s->plan()->hasPlan()) {
      w_->runAll();
      if (w_->jobs()->busy()) return;  // idle again when the pipeline is done
    }
  }
  // The extra run actions, one per idle.
  while (stage_ == 2 && !o_.runs.isEmpty()) {
    const QString name = o_.runs.takeFirst();
    QAction* a = w_->runAction(name);
    if (!a) {
      fail(QStringLiteral("unknown run action '%1'").arg(name));
      return;
    }
    if (!a->isEnabled()) continue;
    a->trigger();
    if (w_->jobs()->busy()) return;
  }
  if (stage_ == 2) {
    stage_ = 3;
    if (!s->hasModel()) {
      fail(QStringLiteral("no model was opened"));
      return;
    }
    // The most telling row: where the cumulative error falls most, else the default selection.
    auto* collapse = w_->findChild<ui::CollapseView*>(QStringLiteral("collapseView"));
    if (collapse && !collapse->largestDrop().empty())
      s->selectTensor(QString::fromStdString(collapse->largestDrop()));
    polls_ = 0;
    quiet_ = 0;
    poll_->start();
  }
}

void ScreenshotDriver::waitForViews() {
  if (failed_) return;
  ++polls_;
  const bool busy = w_->jobs()->busy() || w_->distributionsPanel()->busy() || w_->dataPanel()->previewBusy();
  // A few quiet polls in a row: layouts and charts have applied their last updates.
  quiet_ = busy ? 0 : quiet_ + 1;
  if (quiet_ >= 4) {
    poll_->stop();
    capture();
  } else if (polls_ > kMaxPolls) {
    poll_->stop();
    fail(QStringLiteral("the views did not settle"));
  }
}

void ScreenshotDriver::capture() {
  const QImage img = w_->renderView(o_.view);
  if (img.isNull() || !img.save(o_.out, "PNG")) {
    fail(QStringLiteral("cannot write %1").arg(o_.out));
    return;
  }
  std::fprintf(stderr, "wrote %s (%dx%d)\n", qPrintable(o_.out), img.width(), img.height());
  emit done(0);
}

void ScreenshotDriver::fail(const QString& message) {
  if (failed_) return;
  failed_ = true;
  poll_->stop();
  std::fprintf(stderr, "quantscope: %s\n", qPrintable(message));
  emit done(1);
}

}  // namespace qs::gui
