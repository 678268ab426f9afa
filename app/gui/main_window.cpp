#include "app/gui/main_window.h"

#include <QActionGroup>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QDateTime>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QScrollArea>
#include <QSettings>
#include <QStatusBar>
#include <QTableView>
#include <QThread>
#include <QToolBar>
#include <QToolButton>
#include <QUndoView>

#include "app/gui/capabilities.h"
#include "app/gui/icons.h"
#include "app/gui/job_runner.h"
#include "app/gui/language.h"
#include "app/gui/panels/analysis_panels.h"
#include "app/gui/panels/data_panel.h"
#include "app/gui/panels/distributions_panel.h"
#include "app/gui/panels/layers_panel.h"
#include "app/gui/panels/pipeline_panel.h"
#include "app/gui/project.h"
#include "app/gui/session.h"
#include "app/gui/settings_keys.h"
#include "widgets/charts/channel_view.h"
#include "widgets/common/format.h"

namespace qs::gui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setObjectName(QStringLiteral("MainWindow"));
  setWindowIcon(appIcon());
  setAcceptDrops(true);
  setDockNestingEnabled(true);
  // The right column (distributions) runs the full height: histograms need it more than the bottom row.
  setCorner(Qt::BottomRightCorner, Qt::RightDockWidgetArea);
  setCorner(Qt::TopRightCorner, Qt::RightDockWidgetArea);
  session_ = new Session(this);
  jobs_ = new JobRunner(this);
  {
    QSettings s;
    const QJsonObject calib = QJsonDocument::fromJson(s.value(keys::kCalibration).toByteArray()).object();
    if (!calib.isEmpty()) session_->setCalib(CalibSettings::fromJson(calib));
    jobs_->setEngineThreads(s.value(keys::kEngineThreads, 0).toInt());
  }
  layers_ = new LayersPanel(session_, this);
  setCentralWidget(layers_);
  createActions();
  createDocks();
  createMenus();
  createStatusBar();
  for (const Capability& c : capabilities()) c.install(*this);

  connect(jobs_, &JobRunner::busyChanged, this, &MainWindow::updateActions);
  connect(jobs_, &JobRunner::finished, this,
          [this](const QString& t, JobRunner::Outcome o, const QString& m, double s) {
            onJobFinished(t, static_cast<int>(o), m, s);
          });
  connect(session_, &Session::modelChanged, this, &MainWindow::updateActions);
  connect(session_, &Session::modelChanged, this, &MainWindow::updateTitle);
  connect(session_->plan(), &ui::PlanDocument::planReset, this, &MainWindow::updateActions);
  connect(session_->plan()->undoStack(), &QUndoStack::cleanChanged, this, &MainWindow::updateTitle);
  connect(session_, &Session::calibChanged, this, [this] {
    QSettings().setValue(keys::kCalibration,
                         QJsonDocument(session_->calib().toJson()).toJson(QJsonDocument::Compact));
  });
  connect(layers_, &LayersPanel::errorOccurred, this, &MainWindow::showError);
  connect(data_, &DataPanel::errorOccurred, this, &MainWindow::showError);
  connect(distributions_, &DistributionsPanel::errorOccurred, this, &MainWindow::showError);
  restoreSettings();
  updateActions();
  updateTitle();
}

MainWindow::~MainWindow() {
  // The session, a child QObject, is deleted by ~QWidget after this object has stopped being a MainWindow;
  // its undo stack emits cleanChanged as it goes, and a MainWindow slot would run on a destroyed object
  // (UBSan: downcast of a QWidget). Nothing of the session may call back into this window from here on.
  disconnect(session_->plan()->undoStack(), nullptr, this, nullptr);
  disconnect(session_->plan(), nullptr, this, nullptr);
  disconnect(session_, nullptr, this, nullptr);
}

void MainWindow::createActions() {
  open_ = new QAction(themedIcon("document-open", QStyle::SP_DialogOpenButton), tr("&Open Model…"), this);
  open_->setShortcut(QKeySequence::Open);
  open_->setStatusTip(tr("Open an ONNX model (it is only read, never written)"));
  connect(open_, &QAction::triggered, this, [this] { openModel(QString()); });
  open_demo_ = new QAction(tr("Open &Demo"), this);
  open_demo_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_D));
  open_demo_->setStatusTip(tr("Open the embedded MNIST demo model with its calibration and test images"));
  connect(open_demo_, &QAction::triggered, this, &MainWindow::openDemo);
  open_project_ = new QAction(tr("Open &Project…"), this);
  open_project_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
  connect(open_project_, &QAction::triggered, this, [this] { openProject(QString()); });
  save_project_ =
      new QAction(themedIcon("document-save", QStyle::SP_DialogSaveButton), tr("&Save Project"), this);
  save_project_->setShortcut(QKeySequence::Save);
  connect(save_project_, &QAction::triggered, this, [this] { saveProject(project_path_); });
  save_project_as_ = new QAction(tr("Save Project &As…"), this);
  save_project_as_->setShortcut(QKeySequence::SaveAs);
  connect(save_project_as_, &QAction::triggered, this, [this] { saveProject(QString()); });
  load_plan_ = new QAction(tr("&Load Plan…"), this);
  load_plan_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
  connect(load_plan_, &QAction::triggered, this, [this] { loadPlan(QString()); });
  save_plan_ = new QAction(tr("Save &Plan As…"), this);
  save_plan_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
  connect(save_plan_, &QAction::triggered, this, [this] { savePlan(QString()); });
  save_report_ = new QAction(tr("Save Analysis &Report…"), this);
  connect(save_report_, &QAction::triggered, this, [this] { saveReport(QString()); });
  close_model_ = new QAction(tr("&Close Model"), this);
  close_model_->setShortcut(QKeySequence::Close);
  connect(close_model_, &QAction::triggered, this, [this] {
    project_path_.clear();
    session_->closeModel();
  });
  quit_ = new QAction(tr("&Quit"), this);
  quit_->setShortcut(QKeySequence::Quit);
  quit_->setMenuRole(QAction::QuitRole);
  connect(quit_, &QAction::triggered, this, &QWidget::close);

  QUndoStack* stack = session_->plan()->undoStack();
  undo_ = stack->createUndoAction(this, tr("&Undo"));
  undo_->setShortcut(QKeySequence::Undo);
  undo_->setIcon(themedIcon("edit-undo", QStyle::SP_ArrowBack));
  redo_ = stack->createRedoAction(this, tr("&Redo"));
  // The platform's redo keys plus both common ones, whatever the platform's keyboard scheme.
  QList<QKeySequence> redo_keys = QKeySequence::keyBindings(QKeySequence::Redo);
  for (const QKeySequence& k :
       {QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z), QKeySequence(Qt::CTRL | Qt::Key_Y)})
    if (!redo_keys.contains(k)) redo_keys << k;
  redo_->setShortcuts(redo_keys);
  redo_->setIcon(themedIcon("edit-redo", QStyle::SP_ArrowForward));
  find_ = new QAction(tr("&Find Layer"), this);
  find_->setShortcut(QKeySequence::Find);
  connect(find_, &QAction::triggered, this, [this] {
    layers_->filter()->setFocus();
    layers_->filter()->selectAll();
  });

  cancel_ = new QAction(themedIcon("process-stop", QStyle::SP_BrowserStop), tr("&Cancel Job"), this);
  cancel_->setShortcut(QKeySequence(Qt::Key_Escape));
  cancel_->setShortcutContext(Qt::ApplicationShortcut);
  cancel_->setEnabled(false);
  connect(cancel_, &QAction::triggered, jobs_, &JobRunner::cancelAll);

  snapshot_b_ = new QAction(tr("Snapshot Plan as &B"), this);
  snapshot_b_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
  snapshot_b_->setStatusTip(tr("Keep a copy of the current plan to compare against"));
  connect(snapshot_b_, &QAction::triggered, this, [this] {
    session_->setPlanB(session_->plan()->plan(),
                       tr("snapshot %1").arg(QTime::currentTime().toString(QStringLiteral("HH:mm:ss"))),
                       session_->plan()->weights());
  });
  load_b_ = new QAction(tr("Load Plan &B…"), this);
  connect(load_b_, &QAction::triggered, this, [this] {
    QSettings s;
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Load plan B"), s.value(keys::kLastPlanDir).toString(), tr("Plans (*.json);;All files (*)"));
    if (path.isEmpty()) return;
    s.setValue(keys::kLastPlanDir, QFileInfo(path).absolutePath());
    try {
      QuantPlan p = load_plan(path.toStdString());
      if (session_->points()) validate_plan(p, session_->model()->graph, *session_->points());
      auto weights = weightsFor(session_->model()->graph, p, path);
      session_->setPlanB(std::move(p), QFileInfo(path).fileName(), std::move(weights));
    } catch (const std::exception& e) {
      showError(tr("Cannot load plan B"), QString::fromUtf8(e.what()));
    }
  });
  clear_b_ = new QAction(tr("&Clear Plan B"), this);
  connect(clear_b_, &QAction::triggered, this, [this] { session_->setPlanB(std::nullopt, QString()); });
  connect(session_, &Session::planBChanged, this, &MainWindow::updateActions);
}

void MainWindow::createDocks() {
  data_ = new DataPanel(session_, this);
  auto* data_scroll = new QScrollArea(this);
  data_scroll->setWidget(data_);
  data_scroll->setWidgetResizable(true);
  data_scroll->setFrameShape(QFrame::NoFrame);
  addView(QStringLiteral("data"), tr("Data"), data_scroll, Qt::LeftDockWidgetArea);
  pipeline_ = new PipelinePanel(session_, this);
  auto* pipe_scroll = new QScrollArea(this);
  pipe_scroll->setWidget(pipeline_);
  pipe_scroll->setWidgetResizable(true);
  pipe_scroll->setFrameShape(QFrame::NoFrame);
  addView(QStringLiteral("quantize"), tr("Quantize"), pipe_scroll, Qt::LeftDockWidgetArea);
  distributions_ = new DistributionsPanel(session_, this);
  addView(QStringLiteral("distributions"), tr("Distributions"), distributions_, Qt::RightDockWidgetArea);
  addView(QStringLiteral("channels"), tr("Per-channel Weights"), distributions_->channelView(),
          Qt::RightDockWidgetArea);
  collapse_ = new CollapsePanel(session_, this);
  addView(QStringLiteral("collapse"), tr("Collapse"), collapse_, Qt::BottomDockWidgetArea);
  results_ = new ResultsPanel(session_, this);
  addView(QStringLiteral("results"), tr("Results"), results_, Qt::BottomDockWidgetArea);
  compare_ = new ComparePanel(session_, this);
  addView(QStringLiteral("compare"), tr("Compare Plans"), compare_, Qt::BottomDockWidgetArea);
  compare_->addButton(snapshot_b_);
  compare_->addButton(load_b_);
  compare_->addButton(clear_b_);
  history_ = new QUndoView(session_->plan()->undoStack(), this);
  history_->setEmptyLabel(tr("<plan as calibrated>"));
  addView(QStringLiteral("history"), tr("History"), history_, Qt::RightDockWidgetArea);
  log_ = new QPlainTextEdit(this);
  log_->setReadOnly(true);
  log_->setMaximumBlockCount(5000);
  addView(QStringLiteral("log"), tr("Log"), log_, Qt::BottomDockWidgetArea);
  // The distributions are what one looks at first on the right; collapse first at the bottom.
  docks_.value(QStringLiteral("distributions"))->raise();
  docks_.value(QStringLiteral("collapse"))->raise();
  docks_.value(QStringLiteral("data"))->raise();
  resizeDocks({docks_.value(QStringLiteral("data")), docks_.value(QStringLiteral("distributions"))},
              {300, 540}, Qt::Horizontal);
  resizeDocks({docks_.value(QStringLiteral("collapse"))}, {250}, Qt::Vertical);
}

QDockWidget* MainWindow::addView(const QString& name, const QString& title, QWidget* view,
                                 Qt::DockWidgetArea area) {
  auto* d = new QDockWidget(title, this);
  d->setObjectName(QStringLiteral("dock-") + name);  // for saveState/restoreState
  d->setWidget(view);
  d->setAllowedAreas(Qt::AllDockWidgetAreas);
  // Tab with the first dock already in that area.
  QDockWidget* first = nullptr;
  for (const QString& n : dock_order_)
    if (dockWidgetArea(docks_.value(n)) == area) {
      first = docks_.value(n);
      break;
    }
  addDockWidget(area, d);
  if (first) tabifyDockWidget(first, d);
  docks_.insert(name, d);
  dock_order_ << name;
  if (view_menu_) view_menu_->addAction(d->toggleViewAction());
  return d;
}

QAction* MainWindow::addRunAction(const QString& name, const QString& text, const QKeySequence& shortcut,
                                  bool needs_plan, std::function<void()> trigger) {
  auto* a = new QAction(text, this);
  a->setObjectName(QStringLiteral("run-") + name);
  if (!shortcut.isEmpty()) a->setShortcut(shortcut);
  connect(a, &QAction::triggered, this, [trigger = std::move(trigger)] { trigger(); });
  run_actions_.insert(name, a);
  job_actions_.append({a, needs_plan});
  if (run_menu_) run_menu_->insertAction(cancel_, a);
  if (pipeline_) pipeline_->addRunButton(a);
  updateActions();
  return a;
}

void MainWindow::addFileAction(QAction* action, bool needs_plan) {
  file_menu_->insertAction(file_extensions_, action);
  job_actions_.append({action, needs_plan});
  updateActions();
}

void MainWindow::createMenus() {
  file_menu_ = menuBar()->addMenu(tr("&File"));
  file_menu_->addAction(open_);
  file_menu_->addAction(open_demo_);
  recent_menu_ = file_menu_->addMenu(tr("Open &Recent"));
  connect(recent_menu_, &QMenu::aboutToShow, this, &MainWindow::rebuildRecentMenu);
  file_menu_->addAction(open_project_);
  file_menu_->addSeparator();
  file_menu_->addAction(save_project_);
  file_menu_->addAction(save_project_as_);
  file_menu_->addSeparator();
  file_menu_->addAction(load_plan_);
  file_menu_->addAction(save_plan_);
  file_menu_->addAction(save_report_);
  file_extensions_ = file_menu_->addSeparator();
  file_menu_->addAction(close_model_);
  file_menu_->addAction(quit_);

  edit_menu_ = menuBar()->addMenu(tr("&Edit"));
  edit_menu_->addAction(undo_);
  edit_menu_->addAction(redo_);
  edit_menu_->addSeparator();
  QMenu* wbits = edit_menu_->addMenu(tr("&Weight Bits of Selection"));
  QMenu* abits = edit_menu_->addMenu(tr("&Activation Bits of Selection"));
  connect(edit_menu_, &QMenu::aboutToShow, this, [this, wbits, abits] {
    layers_->fillBitsMenu(wbits, true);
    layers_->fillBitsMenu(abits, false);
  });
  QAction* pin = edit_menu_->addAction(tr("&Pin Widths of Selection"));
  pin->setStatusTip(tr("Mixed precision keeps these tensors at their current widths"));
  connect(pin, &QAction::triggered, this, [this] { layers_->pinSelected(true); });
  QAction* unpin = edit_menu_->addAction(tr("U&npin Selection"));
  connect(unpin, &QAction::triggered, this, [this] { layers_->pinSelected(false); });
  edit_menu_->addSeparator();
  edit_menu_->addAction(find_);

  run_menu_ = menuBar()->addMenu(tr("&Run"));
  run_menu_->addSeparator();
  run_menu_->addAction(cancel_);

  QMenu* compare = menuBar()->addMenu(tr("&Compare"));
  compare->addAction(snapshot_b_);
  compare->addAction(load_b_);
  compare->addAction(clear_b_);

  view_menu_ = menuBar()->addMenu(tr("&View"));
  log_scale_ = new QAction(tr("&Logarithmic Histograms"), this);
  log_scale_->setCheckable(true);
  log_scale_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L));
  log_scale_->setChecked(distributions_->logScale()->isChecked());
  connect(log_scale_, &QAction::toggled, distributions_->logScale(), &QCheckBox::setChecked);
  connect(distributions_->logScale(), &QCheckBox::toggled, log_scale_, &QAction::setChecked);
  view_menu_->addAction(log_scale_);
  view_menu_->addSeparator();
  for (const QString& n : dock_order_) view_menu_->addAction(docks_.value(n)->toggleViewAction());

  QMenu* settings = menuBar()->addMenu(tr("&Settings"));
  QMenu* lang = settings->addMenu(tr("&Language"));
  languages_ = new QActionGroup(this);
  const QString current = QSettings().value(keys::kLanguage).toString();
  QAction* sys = lang->addAction(tr("System default"));
  sys->setData(QString());
  sys->setCheckable(true);
  sys->setChecked(current.isEmpty());
  languages_->addAction(sys);
  for (const QString& code : availableLanguages()) {
    QAction* a = lang->addAction(languageName(code));
    a->setData(code);
    a->setCheckable(true);
    a->setChecked(current == code);
    languages_->addAction(a);
  }
  connect(languages_, &QActionGroup::triggered, this, [this](QAction* a) {
    QSettings().setValue(keys::kLanguage, a->data().toString());
    if (!quiet_errors_)
      QMessageBox::information(this, tr("Language"),
                               tr("The language changes the next time QuantScope starts."));
  });
  QAction* threads = settings->addAction(tr("Use &All Cores for Jobs"));
  threads->setCheckable(true);
  threads->setChecked(QSettings().value(keys::kEngineThreads, 0).toInt() == 0);
  threads->setStatusTip(tr("Unchecked: jobs leave one core to the interface"));
  connect(threads, &QAction::toggled, this, [this](bool all) {
    const int n = all ? 0 : std::max(1, QThread::idealThreadCount() - 1);
    QSettings().setValue(keys::kEngineThreads, n);
    jobs_->setEngineThreads(n == 0 ? QThread::idealThreadCount() : n);
  });

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  QAction* about = help->addAction(tr("&About QuantScope"));
  about->setMenuRole(QAction::AboutRole);
  connect(about, &QAction::triggered, this, [this] {
    QMessageBox::about(
        this, tr("About QuantScope"),
        tr("<h3>QuantScope %1</h3><p>See where quantization hurts a neural network, layer by layer, "
           "and fix it.</p><p>Every job here has a <code>quantscope-cli</code> equivalent.</p>")
            .arg(QStringLiteral(QS_VERSION)));
  });

  auto* tb = addToolBar(tr("Main"));
  tb->setObjectName(QStringLiteral("toolbar-main"));
  tb->addAction(open_);
  tb->addAction(save_project_);
  tb->addSeparator();
  tb->addAction(undo_);
  tb->addAction(redo_);
  tb->addSeparator();
  tb->addAction(cancel_);
}

void MainWindow::createStatusBar() {
  job_label_ = new QLabel(this);
  job_bar_ = new QProgressBar(this);
  job_bar_->setRange(0, 1000);
  job_bar_->setMaximumWidth(220);
  job_bar_->setTextVisible(true);
  job_bar_->setVisible(false);
  job_cancel_ = new QToolButton(this);
  job_cancel_->setDefaultAction(cancel_);
  job_cancel_->setVisible(false);
  statusBar()->addPermanentWidget(job_label_);
  statusBar()->addPermanentWidget(job_bar_);
  statusBar()->addPermanentWidget(job_cancel_);
  connect(jobs_, &JobRunner::started, this, [this](const QString& title) {
    job_label_->setText(title);
    job_bar_->setValue(0);
    job_bar_->setVisible(true);
    job_cancel_->setVisible(true);
  });
  connect(jobs_, &JobRunner::progressChanged, this,
          [this](const QString& title, double f, const QString& stage, double elapsed, double eta) {
            job_bar_->setValue(static_cast<int>(f * 1000));
            QString t = stage.isEmpty() ? title : tr("%1: %2").arg(title, stage);
            t += QStringLiteral(" · ") + ui::formatDuration(elapsed);
            if (eta >= 0) t += QStringLiteral(" · ") + tr("ETA %1").arg(ui::formatDuration(eta));
            job_label_->setText(t);
          });
  connect(jobs_, &JobRunner::idle, this, [this] {
    job_bar_->setVisible(false);
    job_cancel_->setVisible(false);
    job_label_->clear();
  });
}

void MainWindow::updateActions() {
  const bool model = session_->hasModel();
  const bool plan = session_->plan()->hasPlan();
  const bool busy = jobs_->busy();
  for (const auto& [a, needs_plan] : job_actions_) a->setEnabled(model && !busy && (!needs_plan || plan));
  cancel_->setEnabled(busy);
  for (QAction* a : {open_, open_demo_, open_project_, close_model_}) a->setEnabled(!busy);
  close_model_->setEnabled(!busy && model);
  save_project_->setEnabled(model);
  save_project_as_->setEnabled(model);
  load_plan_->setEnabled(model && !busy);
  save_plan_->setEnabled(plan);
  save_report_->setEnabled(static_cast<bool>(session_->report()));
  snapshot_b_->setEnabled(plan);
  load_b_->setEnabled(model);
  clear_b_->setEnabled(session_->planB().has_value());
}

void MainWindow::updateTitle() {
  QString t = QStringLiteral("QuantScope");
  if (session_->hasModel()) {
    const QString what = project_path_.isEmpty() ? QFileInfo(session_->modelPath()).fileName()
                                                 : QFileInfo(project_path_).fileName();
    t = what + QStringLiteral("[*] — QuantScope");
  }
  setWindowTitle(t);
  setWindowModified(session_->hasModel() && !session_->plan()->undoStack()->isClean());
}

void MainWindow::showError(const QString& title, const QString& message) {
  log(tr("Error: %1: %2").arg(title, message));
  emit errorShown(title, message);
  if (quiet_errors_) return;
  // Non-blocking: the event loop (and any running job) keeps going while the dialog is up.
  auto* box = new QMessageBox(QMessageBox::Critical, title, message, QMessageBox::Ok, this);
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->setTextInteractionFlags(Qt::TextSelectableByMouse);
  box->open();
}

void MainWindow::log(const QString& line) {
  log_->appendPlainText(QTime::currentTime().toString(QStringLiteral("HH:mm:ss ")) + line);
}

void MainWindow::onJobFinished(const QString& title, int outcome, const QString& message, double seconds) {
  switch (static_cast<JobRunner::Outcome>(outcome)) {
    case JobRunner::Outcome::Done:
      log(tr("%1: done in %2 s").arg(title).arg(seconds, 0, 'f', 2));
      statusBar()->showMessage(tr("%1 finished").arg(title), 4000);
      break;
    case JobRunner::Outcome::Cancelled:
      log(tr("%1: cancelled").arg(title));
      statusBar()->showMessage(tr("%1 cancelled").arg(title), 4000);
      break;
    case JobRunner::Outcome::Failed:
      showError(tr("%1 failed").arg(title), message);
      break;
  }
  updateActions();
}

void MainWindow::restoreSettings() {
  QSettings s;
  if (!restoreGeometry(s.value(keys::kGeometry).toByteArray())) resize(1440, 900);
  restoreState(s.value(keys::kWindowState).toByteArray());
}

void MainWindow::closeEvent(QCloseEvent* e) {
  if (session_->hasModel() && !session_->plan()->undoStack()->isClean() && !quiet_errors_) {
    const auto r =
        QMessageBox::question(this, tr("Unsaved plan edits"),
                              tr("The plan has edits that are not saved in a project. Save the project?"),
                              QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
    if (r == QMessageBox::Cancel || (r == QMessageBox::Save && !saveProject(project_path_))) {
      e->ignore();
      return;
    }
  }
  jobs_->cancelAll();
  QSettings s;
  s.setValue(keys::kGeometry, saveGeometry());
  s.setValue(keys::kWindowState, saveState());
  e->accept();
}

QStringList MainWindow::viewNames() const {
  QStringList n{QStringLiteral("window"), QStringLiteral("layers")};
  n << dock_order_;
  return n;
}

QWidget* MainWindow::view(const QString& name) const {
  if (name == QLatin1String("window")) return const_cast<MainWindow*>(this);
  if (name == QLatin1String("layers")) return layers_;
  QDockWidget* d = docks_.value(name);
  return d ? d->widget() : nullptr;
}

QImage MainWindow::renderView(const QString& name, const QSize& size) {
  if (name == QLatin1String("window") || name == QLatin1String("layers")) {
    QWidget* w = view(name);
    return w->grab().toImage();
  }
  QDockWidget* d = docks_.value(name);
  if (!d) return {};
  // A dock tabbed behind another is not laid out: float it at the requested size to render it.
  d->setFloating(true);
  d->show();
  d->raise();
  d->resize(size);
  QCoreApplication::processEvents();
  QCoreApplication::processEvents();
  return d->widget()->grab().toImage();
}

}  // namespace qs::gui

namespace qs::gui {

void MainWindow::runAll() {
  if (QAction* a = runAction(QStringLiteral("run-all")); a && a->isEnabled()) a->trigger();
}

}  // namespace qs::gui
