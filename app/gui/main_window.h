// MainWindow: the layer table in the center, dockable panels around it (data, quantize, distributions,
// per-channel, collapse, results, compare, history, log), menus with shortcuts, a status bar showing the
// running job with progress, ETA and cancel. Implements Workbench for the capabilities.
#pragma once

#include <QMainWindow>
#include <QMap>
#include <QPointer>

#include "app/gui/workbench.h"

class QAction;
class QActionGroup;
class QDockWidget;
class QLabel;
class QMenu;
class QPlainTextEdit;
class QProgressBar;
class QToolButton;
class QUndoView;

namespace qs::gui {

class DataPanel;
class DistributionsPanel;
class JobRunner;
class LayersPanel;
class PipelinePanel;
class CollapsePanel;
class ResultsPanel;
class ComparePanel;
class Session;
struct Project;

class MainWindow : public QMainWindow, public Workbench {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Workbench
  Session* session() override { return session_; }
  JobRunner* jobs() override { return jobs_; }
  QWidget* window() override { return this; }
  QDockWidget* addView(const QString& name, const QString& title, QWidget* view,
                       Qt::DockWidgetArea area) override;
  QAction* addRunAction(const QString& name, const QString& text, const QKeySequence& shortcut,
                        bool needs_plan, std::function<void()> trigger) override;
  QMenu* fileMenu() override { return file_menu_; }
  void addFileAction(QAction* action, bool needs_plan) override;
  void showError(const QString& title, const QString& message) override;
  void log(const QString& line) override;
  bool interactive() const override { return !quiet_errors_; }

  // Opening (each runs the load as a job; errors go to a dialog).
  void openModel(const QString& path);
  void openDemo();
  void openProject(const QString& path);
  void openFile(const QString& path);  // by suffix: .qsproj project, .json plan, else a model
  // Saving; `path` empty asks with a dialog. Return false on cancel or error (shown).
  bool saveProject(const QString& path = QString());
  bool savePlan(const QString& path = QString());
  bool saveReport(const QString& path = QString());
  bool loadPlan(const QString& path = QString());
  QString projectPath() const { return project_path_; }

  // A run action by name ("calibrate", "analyze", "evaluate", "run-all", and the capabilities').
  QAction* runAction(const QString& name) const { return run_actions_.value(name); }
  // Calibrate, analyze and evaluate in sequence (what "Run all" does).
  void runAll();

  // Views by name, for --screenshot --view NAME and tests: "window", "layers", and every dock's name.
  QStringList viewNames() const;
  QWidget* view(const QString& name) const;
  QDockWidget* dock(const QString& name) const { return docks_.value(name); }
  // Renders a view (the window, or one dock's widget at `size`) into an image.
  QImage renderView(const QString& name, const QSize& size = QSize(960, 640));

  LayersPanel* layersPanel() const { return layers_; }
  DistributionsPanel* distributionsPanel() const { return distributions_; }
  DataPanel* dataPanel() const { return data_; }
  // Dialogs are not shown when quiet (screenshots, tests): errors go to the log and errorShown only.
  void setQuietErrors(bool quiet) { quiet_errors_ = quiet; }

 signals:
  void errorShown(const QString& title, const QString& message);
  // A model (or project) finished loading and is installed in the session.
  void modelOpened();

 protected:
  void closeEvent(QCloseEvent* e) override;
  void dragEnterEvent(QDragEnterEvent* e) override;
  void dropEvent(QDropEvent* e) override;

 private:
  void createActions();
  void createMenus();
  void createDocks();
  void createStatusBar();
  void updateActions();
  void updateTitle();
  void addRecent(const QString& path);
  void rebuildRecentMenu();
  void restoreSettings();
  void onJobFinished(const QString& title, int outcome, const QString& message, double seconds);
  void applyProject(const Project& p, const QString& project_file);
  void selectDefaultRow();

  Session* session_;
  JobRunner* jobs_;
  LayersPanel* layers_ = nullptr;
  DataPanel* data_ = nullptr;
  PipelinePanel* pipeline_ = nullptr;
  DistributionsPanel* distributions_ = nullptr;
  CollapsePanel* collapse_ = nullptr;
  ResultsPanel* results_ = nullptr;
  ComparePanel* compare_ = nullptr;
  QUndoView* history_ = nullptr;
  QPlainTextEdit* log_ = nullptr;
  QMap<QString, QDockWidget*> docks_;
  QStringList dock_order_;
  QMap<QString, QAction*> run_actions_;
  QList<QPair<QAction*, bool>> job_actions_;  // enabled with a model and no job (and a plan when true)

  QMenu* file_menu_ = nullptr;
  QMenu* edit_menu_ = nullptr;
  QMenu* run_menu_ = nullptr;
  QMenu* view_menu_ = nullptr;
  QMenu* recent_menu_ = nullptr;
  QAction* open_ = nullptr;
  QAction* open_demo_ = nullptr;
  QAction* open_project_ = nullptr;
  QAction* save_project_ = nullptr;
  QAction* save_project_as_ = nullptr;
  QAction* load_plan_ = nullptr;
  QAction* save_plan_ = nullptr;
  QAction* save_report_ = nullptr;
  QAction* close_model_ = nullptr;
  QAction* file_extensions_ = nullptr;  // separator after which capabilities add file actions
  QAction* quit_ = nullptr;
  QAction* undo_ = nullptr;
  QAction* redo_ = nullptr;
  QAction* find_ = nullptr;
  QAction* cancel_ = nullptr;
  QAction* snapshot_b_ = nullptr;
  QAction* load_b_ = nullptr;
  QAction* clear_b_ = nullptr;
  QAction* log_scale_ = nullptr;
  QActionGroup* languages_ = nullptr;

  QLabel* job_label_ = nullptr;
  QProgressBar* job_bar_ = nullptr;
  QToolButton* job_cancel_ = nullptr;
  QString project_path_;
  bool quiet_errors_ = false;
};

}  // namespace qs::gui
