// Workbench: what a capability sees of the window when it plugs in (capabilities.h). A capability is one
// engine feature made reachable: a job (JobRunner::enqueue over the engine's call, with ctx.progress()
// as its ProgressFn) and a view (a widget in a dock) reading its result from the session.
#pragma once

#include <QKeySequence>
#include <QString>
#include <functional>

class QAction;
class QDockWidget;
class QMenu;
class QWidget;

namespace qs::gui {

class JobRunner;
class Session;

class Workbench {
 public:
  virtual ~Workbench() = default;
  virtual Session* session() = 0;
  virtual JobRunner* jobs() = 0;
  virtual QWidget* window() = 0;
  // Adds `view` in a dock of its own (tabbed with the area's others). `name` identifies it in the View
  // menu, in saved layouts and for `quantscope --screenshot --view NAME`.
  virtual QDockWidget* addView(const QString& name, const QString& title, QWidget* view,
                               Qt::DockWidgetArea area) = 0;
  // An action in the Run menu and a button in the Quantize panel, found again by `name`. It is enabled
  // while a model is open and no job runs (`needs_plan`: and a plan exists).
  virtual QAction* addRunAction(const QString& name, const QString& text, const QKeySequence& shortcut,
                                bool needs_plan, std::function<void()> trigger) = 0;
  // The File menu, for capabilities that write files (export).
  virtual QMenu* fileMenu() = 0;
  // An action in the File menu (after the plan's entries), enabled while no job runs and a model is open
  // (`needs_plan`: and a plan exists).
  virtual void addFileAction(QAction* action, bool needs_plan) = 0;
  // An error dialog with the engine's message (and a line in the log).
  virtual void showError(const QString& title, const QString& message) = 0;
  virtual void log(const QString& line) = 0;
  // False in scripted runs (screenshots, tests): no dialogs that wait for the user.
  virtual bool interactive() const = 0;
};

}  // namespace qs::gui
