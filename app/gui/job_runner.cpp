#include "app/gui/job_runner.h"

#include <QThread>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>

#ifdef __linux__
#include <sys/resource.h>
#include <unistd.h>
#endif

#include "core/common/error.h"
#include "core/common/parallel.h"

namespace qs::gui {

namespace {
constexpr int kProgressScale = 10000;  // QPromise progress is an int: fractions in 1/10000

// Jobs run below the interface's priority, so the event loop gets a core the moment it wakes up, however
// many threads the engine starts. On Linux the nice value is per thread and inherited by the threads a
// thread creates, so the engine's OpenMP team (created by the job thread) runs at it too.
void lowerJobThreadPriority() {
#ifdef __linux__
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
#else
  QThread::currentThread()->setPriority(QThread::LowPriority);
#endif
}
}  // namespace

JobContext::JobContext(QPromise<void>& promise) : p_(promise) { p_.setProgressRange(0, kProgressScale); }

void JobContext::reportFraction(double f) {
  const double overall = (stage_ + std::clamp(f, 0.0, 1.0)) / std::max(1, stages_);
  p_.setProgressValueAndText(static_cast<int>(overall * kProgressScale), stage_name_);
}

bool JobContext::report(double f, const QString& detail) {
  const double overall = (stage_ + std::clamp(f, 0.0, 1.0)) / std::max(1, stages_);
  p_.setProgressValueAndText(static_cast<int>(overall * kProgressScale),
                             detail.isEmpty() ? stage_name_ : stage_name_ + QStringLiteral(" · ") + detail);
  return !p_.isCanceled();
}

ProgressFn JobContext::progress() {
  return [this](int64_t done, int64_t total) {
    reportFraction(total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0);
    return !p_.isCanceled();
  };
}

void JobContext::setStage(int index, int count, const QString& name) {
  stage_ = index;
  stages_ = count;
  stage_name_ = name;
  reportFraction(0);
}

bool JobContext::cancelled() const { return p_.isCanceled(); }

void JobContext::checkCancelled() const {
  if (p_.isCanceled()) throw CancelledError();
}

JobRunner::JobRunner(QObject* parent) : QObject(parent) {
  // One job at a time, on a pool of its own: the global pool stays free for the views' short tasks.
  pool_.setMaxThreadCount(1);
  connect(&watcher_, &QFutureWatcher<void>::finished, this, &JobRunner::onFinished);
  connect(&watcher_, &QFutureWatcher<void>::progressValueChanged, this, &JobRunner::onProgress);
  connect(&watcher_, &QFutureWatcher<void>::progressTextChanged, this, &JobRunner::onProgress);
}

JobRunner::~JobRunner() {
  queue_.clear();
  if (running_) {
    watcher_.disconnect(this);
    watcher_.future().cancel();
    watcher_.waitForFinished();
  }
  pool_.waitForDone();
}

void JobRunner::enqueueJob(Job job) {
  const bool was_busy = busy();
  queue_.push_back(std::move(job));
  if (!was_busy) emit busyChanged(true);
  if (!running_) startNext();
}

void JobRunner::cancelAll() {
  queue_.clear();
  if (running_) watcher_.future().cancel();
}

void JobRunner::startNext() {
  while (!queue_.empty()) {
    Job job = std::move(queue_.front());
    queue_.pop_front();
    title_ = job.title;
    Work work;
    try {
      work = job.prepare();
    } catch (const std::exception& e) {
      queue_.clear();
      emit finished(job.title, Outcome::Failed, QString::fromUtf8(e.what()), 0);
      continue;
    }
    running_ = true;
    apply_ = std::move(job.apply);
    state_ = std::make_shared<State>();
    clock_.start();
    emit started(title_);
    if (engine_threads_ > 0) set_num_threads(engine_threads_);
    auto state = state_;
    QFuture<void> f = QtConcurrent::run(&pool_, [work = std::move(work), state](QPromise<void>& promise) {
      lowerJobThreadPriority();
      JobContext ctx(promise);
      try {
        work(ctx);
        if (promise.isCanceled()) state->cancelled = true;  // finished, but the user no longer wants it
      } catch (const CancelledError&) {
        state->cancelled = true;
      } catch (const std::exception& e) {
        state->error = QString::fromUtf8(e.what());
      } catch (...) {
        state->error = QStringLiteral("unknown error");
      }
    });
    watcher_.setFuture(f);
    return;
  }
  emit busyChanged(false);
  emit idle();
}

void JobRunner::onProgress() {
  if (!running_) return;
  const int min = watcher_.progressMinimum(), max = watcher_.progressMaximum();
  const double f = max > min ? static_cast<double>(watcher_.progressValue() - min) / (max - min) : 0.0;
  const double elapsed = static_cast<double>(clock_.elapsed()) / 1000.0;
  // The ETA is extrapolated once a little progress is made (earlier estimates jump around too much).
  const double eta = f > 0.02 && f < 1 ? elapsed * (1 - f) / f : -1;
  emit progressChanged(title_, f, watcher_.progressText(), elapsed, eta);
}

void JobRunner::onFinished() {
  const double seconds = static_cast<double>(clock_.elapsed()) / 1000.0;
  const QString title = title_;
  running_ = false;
  auto state = std::move(state_);
  auto apply = std::move(apply_);
  apply_ = nullptr;
  Outcome outcome = Outcome::Done;
  QString message;
  // A job cancelled before its worker started never runs its function: the future says so.
  if (state->cancelled || watcher_.isCanceled()) {
    outcome = Outcome::Cancelled;
  } else if (!state->error.isEmpty()) {
    outcome = Outcome::Failed;
    message = state->error;
  } else {
    try {
      apply();
    } catch (const std::exception& e) {
      outcome = Outcome::Failed;
      message = QString::fromUtf8(e.what());
    }
  }
  if (outcome != Outcome::Done) queue_.clear();
  emit finished(title, outcome, message, seconds);
  startNext();
}

}  // namespace qs::gui
