// LatestTask: short computations a view needs while the user interacts (a sample preview, a layer probe,
// re-simulating a dragged clip range). At most one runs at a time on the global thread pool; a request
// made while one runs replaces any request still waiting (latest wins), so dragging never queues up work.
// invalidate() drops the results of everything requested before it (the selection or the model changed).
#pragma once

#include <QFutureWatcher>
#include <QObject>
#include <functional>
#include <memory>
#include <optional>

namespace qs::gui {

class LatestTask : public QObject {
  Q_OBJECT

 public:
  explicit LatestTask(QObject* parent = nullptr);
  ~LatestTask() override;

  template <typename R>
  void run(std::function<R()> work, std::function<void(R&)> done,
           std::function<void(const QString&)> failed = {}) {
    auto slot = std::make_shared<std::optional<R>>();
    Request q;
    q.work = [work = std::move(work), slot] { slot->emplace(work()); };
    q.done = [done = std::move(done), slot] {
      if (*slot) done(**slot);
    };
    q.failed = std::move(failed);
    submit(std::move(q));
  }
  void invalidate();
  bool busy() const { return running_; }

 signals:
  void settled();  // nothing runs and nothing waits

 private:
  struct Request {
    std::function<void()> work;
    std::function<void()> done;
    std::function<void(const QString&)> failed;
    quint64 generation = 0;
  };
  void submit(Request q);
  void start(Request q);
  void onFinished();

  quint64 generation_ = 0;
  bool running_ = false;
  Request current_;
  std::optional<Request> pending_;
  std::shared_ptr<QString> error_;
  QFutureWatcher<void> watcher_;
};

}  // namespace qs::gui
