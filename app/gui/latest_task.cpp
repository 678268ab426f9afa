#include "app/gui/latest_task.h"

#include <QtConcurrent/QtConcurrentRun>

namespace qs::gui {

LatestTask::LatestTask(QObject* parent) : QObject(parent) {
  connect(&watcher_, &QFutureWatcher<void>::finished, this, &LatestTask::onFinished);
}

LatestTask::~LatestTask() {
  pending_.reset();
  watcher_.disconnect(this);
  watcher_.waitForFinished();
}

void LatestTask::invalidate() {
  ++generation_;
  pending_.reset();
}

void LatestTask::submit(Request q) {
  q.generation = generation_;
  if (running_) {
    pending_ = std::move(q);
    return;
  }
  start(std::move(q));
}

void LatestTask::start(Request q) {
  running_ = true;
  current_ = std::move(q);
  auto err = std::make_shared<QString>();
  error_ = err;
  watcher_.setFuture(QtConcurrent::run([work = current_.work, err] {
    try {
      work();
    } catch (const std::exception& e) {
      *err = QString::fromUtf8(e.what());
    } catch (...) {
      *err = QStringLiteral("unknown error");
    }
  }));
}

void LatestTask::onFinished() {
  running_ = false;
  Request done = std::move(current_);
  current_ = Request{};
  if (done.generation == generation_) {
    if (error_ && !error_->isEmpty()) {
      if (done.failed) done.failed(*error_);
    } else if (done.done) {
      done.done();
    }
  }
  if (pending_) {
    Request next = std::move(*pending_);
    pending_.reset();
    start(std::move(next));
    return;
  }
  emit settled();
}

}  // namespace qs::gui
