// JobRunner: every long computation of the window (load, calibrate, analyze, evaluate, and the
// capabilities that plug in: sensitivity, GPTQ/OBQ, EPTQ, mixed precision, integer evaluation, export)
// runs off the GUI thread through here, one at a time, in order.
//
// A job has three parts:
//   prepare  GUI thread, when the job starts: snapshots what it needs from the session (so a job queued
//            behind another sees that one's result) and returns the work. Throwing qs::Error fails the job.
//   work     worker thread (QtConcurrent::run with a QPromise): computes a result from the snapshot only,
//            reporting progress through JobContext. The engine's ProgressFn returning false makes it throw
//            qs::CancelledError, which ends the job as cancelled.
//   apply    GUI thread, after success: stores the result in the session.
// A failed or cancelled job clears the queue (what was queued behind it depended on it).
//
//   runner.enqueue<Plan>(tr("Calibrate"),
//       [this] { auto snap = ...; return [snap](JobContext& ctx) { return calibrate(..., ctx.progress()); };
//       }, [this](Plan& p) { session->setPlan(p); });
#pragma once

#include <QElapsedTimer>
#include <QFuture>
#include <QFutureWatcher>
#include <QObject>
#include <QPromise>
#include <QString>
#include <QThreadPool>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>

#include "core/data/dataset.h"

namespace qs::gui {

// What a job's work function sees on the worker thread.
class JobContext {
 public:
  explicit JobContext(QPromise<void>& promise);
  // For the engine's long calls: reports (done, total) within the current stage and returns false once
  // the user has cancelled.
  ProgressFn progress();
  // Jobs made of several engine calls: progress of stage `index` (0-based) of `count` maps to its share.
  void setStage(int index, int count, const QString& name);
  // Progress as a fraction of the current stage with a detail text (engines with their own progress
  // structs: a layer's name, an iteration). Returns false once the user has cancelled.
  bool report(double fraction_in_stage, const QString& detail);
  bool cancelled() const;
  // Throws qs::CancelledError when the user has cancelled (between stages that report no progress).
  void checkCancelled() const;

 private:
  void reportFraction(double fraction_in_stage);
  QPromise<void>& p_;
  int stage_ = 0, stages_ = 1;
  QString stage_name_;
};

class JobRunner : public QObject {
  Q_OBJECT

 public:
  enum class Outcome { Done, Cancelled, Failed };
  Q_ENUM(Outcome)

  using Work = std::function<void(JobContext&)>;
  struct Job {
    QString title;
    std::function<Work()> prepare;
    std::function<void()> apply;
  };

  explicit JobRunner(QObject* parent = nullptr);
  // Cancels what runs and waits for it: the engine checks for cancellation at every batch.
  ~JobRunner() override;

  template <typename R>
  void enqueue(const QString& title, std::function<std::function<R(JobContext&)>()> prepare,
               std::function<void(R&)> apply) {
    auto slot = std::make_shared<std::optional<R>>();
    Job j;
    j.title = title;
    j.prepare = [prepare = std::move(prepare), slot]() -> Work {
      auto work = prepare();
      return [work = std::move(work), slot](JobContext& ctx) { slot->emplace(work(ctx)); };
    };
    j.apply = [apply = std::move(apply), slot]() {
      if (!*slot) throw std::logic_error("the job finished without a result");
      R r = std::move(**slot);
      slot->reset();
      apply(r);
    };
    enqueueJob(std::move(j));
  }
  void enqueueJob(Job job);

  bool busy() const { return running_ || !queue_.empty(); }
  QString currentTitle() const { return running_ ? title_ : QString(); }
  int queued() const { return static_cast<int>(queue_.size()); }
  // Cancels the running job and drops the queued ones.
  void cancelAll();
  // Threads the engine may use in jobs (0: all cores). Applied to qs::set_num_threads before each job.
  void setEngineThreads(int n) { engine_threads_ = n; }

 signals:
  void busyChanged(bool busy);
  void started(const QString& title);
  // fraction in [0, 1]; eta_seconds < 0 while unknown.
  void progressChanged(const QString& title, double fraction, const QString& stage, double elapsed_seconds,
                       double eta_seconds);
  void finished(const QString& title, qs::gui::JobRunner::Outcome outcome, const QString& message,
                double seconds);
  // The queue is empty and nothing runs.
  void idle();

 private:
  struct State {
    QString error;
    bool cancelled = false;
  };
  void startNext();
  void onFinished();
  void onProgress();

  QThreadPool pool_;
  std::deque<Job> queue_;
  bool running_ = false;
  QString title_;
  std::function<void()> apply_;
  std::shared_ptr<State> state_;
  QFutureWatcher<void> watcher_;
  QElapsedTimer clock_;
  int engine_threads_ = 0;
};

}  // namespace qs::gui
