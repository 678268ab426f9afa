// MainWindow: opening and saving (models, the demo, projects, plans, reports), recent files, drag and drop.
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMimeData>
#include <QSettings>
#include <QUndoStack>

#include "app/gui/demo.h"
#include "app/gui/job_runner.h"
#include "app/gui/main_window.h"
#include "app/gui/project.h"
#include "app/gui/session.h"
#include "app/gui/settings_keys.h"
#include "core/common/error.h"

namespace qs::gui {

namespace {
bool isProject(const QString& path) { return path.endsWith(QLatin1String(".qsproj"), Qt::CaseInsensitive); }
bool isPlan(const QString& path) { return path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive); }
}  // namespace

void MainWindow::openFile(const QString& path) {
  if (isProject(path))
    openProject(path);
  else if (isPlan(path) && session_->hasModel())
    loadPlan(path);
  else
    openModel(path);
}

void MainWindow::openModel(const QString& path_in) {
  QString path = path_in;
  if (path.isEmpty()) {
    QSettings s;
    path = QFileDialog::getOpenFileName(this, tr("Open model"), s.value(keys::kLastModelDir).toString(),
                                        tr("ONNX models (*.onnx);;All files (*)"));
    if (path.isEmpty()) return;
    s.setValue(keys::kLastModelDir, QFileInfo(path).absolutePath());
  }
  jobs_->enqueue<LoadedModel>(
      tr("Open %1").arg(QFileInfo(path).fileName()),
      [path]() -> std::function<LoadedModel(JobContext&)> {
        return [path](JobContext& ctx) { return loadModel(path, &ctx); };
      },
      [this](LoadedModel& m) {
        const QString p = m.path;
        for (const auto& w : m.model->warnings) log(tr("warning: %1").arg(QString::fromStdString(w)));
        project_path_.clear();
        session_->setModel(std::move(m));
        // A model next to its demo.json (resources/demo) opens with its data, as File ▸ Open Demo does.
        if (auto demo = demoDataFor(p)) session_->setData(*demo);
        addRecent(p);
        selectDefaultRow();
        updateTitle();
        log(tr("Opened %1").arg(p));
        emit modelOpened();
      });
}

void MainWindow::openDemo() {
  DemoFiles demo;
  try {
    demo = extractDemo();
  } catch (const std::exception& e) {
    showError(tr("Cannot open the demo"), QString::fromUtf8(e.what()));
    return;
  }
  const DataSettings data = demo.data;
  jobs_->enqueue<LoadedModel>(
      tr("Open the demo"),
      [path = demo.model]() -> std::function<LoadedModel(JobContext&)> {
        return [path](JobContext& ctx) { return loadModel(path, &ctx); };
      },
      [this, data](LoadedModel& m) {
        project_path_.clear();
        session_->setModel(std::move(m));
        session_->setData(data);
        selectDefaultRow();
        updateTitle();
        log(tr("Opened the demo model (MNIST) with its calibration and test images"));
        emit modelOpened();
      });
}

void MainWindow::selectDefaultRow() {
  // The first layer with a weight: its histograms are there before any calibration.
  auto* layers = session_->layers();
  for (int r = 0; r < layers->rowCount(); ++r)
    if (!layers->row(r).weight.empty()) {
      session_->select(QString::fromStdString(layers->row(r).name));
      return;
    }
}

void MainWindow::openProject(const QString& path_in) {
  QString path = path_in;
  if (path.isEmpty()) {
    QSettings s;
    path = QFileDialog::getOpenFileName(this, tr("Open project"), s.value(keys::kLastProjectDir).toString(),
                                        tr("QuantScope projects (*.qsproj);;All files (*)"));
    if (path.isEmpty()) return;
    s.setValue(keys::kLastProjectDir, QFileInfo(path).absolutePath());
  }
  std::shared_ptr<Project> project;
  try {
    project = std::make_shared<Project>(loadProject(path));
  } catch (const std::exception& e) {
    showError(tr("Cannot open the project"), QString::fromUtf8(e.what()));
    return;
  }
  const QString abs = QFileInfo(path).absoluteFilePath();
  jobs_->enqueue<LoadedModel>(
      tr("Open %1").arg(QFileInfo(path).fileName()),
      [model = project->model]() -> std::function<LoadedModel(JobContext&)> {
        return [model](JobContext& ctx) { return loadModel(model, &ctx); };
      },
      [this, project, abs](LoadedModel& m) {
        session_->setModel(std::move(m));
        applyProject(*project, abs);
        project_path_ = abs;
        addRecent(abs);
        updateTitle();
        log(tr("Opened project %1").arg(abs));
        emit modelOpened();
      });
}

void MainWindow::applyProject(const Project& p, const QString& project_file) {
  session_->setData(p.data);
  session_->setCalib(p.calib);
  // Plans must fit the model (the model file may have changed since the project was saved).
  auto check = [this](const QuantPlan& plan, const QString& what) {
    if (!session_->points()) return true;
    try {
      validate_plan(plan, session_->model()->graph, *session_->points());
      return true;
    } catch (const Error& e) {
      showError(tr("The project's %1 does not fit the model").arg(what), QString::fromUtf8(e.what()));
      return false;
    }
  };
  try {
    const Graph& g = session_->model()->graph;
    if (p.plan && check(*p.plan, tr("plan")))
      session_->plan()->reset(&*p.plan, weightsFor(g, *p.plan, project_file));
    if (p.plan_b && check(*p.plan_b, tr("plan B")))
      session_->setPlanB(*p.plan_b, p.plan_b_label, weightsFor(g, *p.plan_b, project_file));
  } catch (const std::exception& e) {
    showError(tr("Cannot open the project's tuned weights"), QString::fromUtf8(e.what()));
  }
  if (p.report && p.report_plan) session_->setReport(p.report, *p.report_plan);
  session_->results()->setRuns(p.results);
  if (!p.selection.isEmpty())
    session_->select(p.selection);
  else
    selectDefaultRow();
  session_->plan()->undoStack()->setClean();
}

bool MainWindow::saveProject(const QString& path_in) {
  if (!session_->hasModel()) return false;
  QString path = path_in;
  if (path.isEmpty()) {
    QSettings s;
    const QString start = s.value(keys::kLastProjectDir).toString() + QLatin1Char('/') +
                          QFileInfo(session_->modelPath()).completeBaseName() + QStringLiteral(".qsproj");
    path =
        QFileDialog::getSaveFileName(this, tr("Save project"), start, tr("QuantScope projects (*.qsproj)"));
    if (path.isEmpty()) return false;
    if (!isProject(path)) path += QStringLiteral(".qsproj");
    s.setValue(keys::kLastProjectDir, QFileInfo(path).absolutePath());
  }
  if (session_->isInputModel(path)) {
    showError(tr("Cannot save the project"),
              tr("%1 is the input model; QuantScope never writes it.").arg(path));
    return false;
  }
  Project p;
  p.model = session_->modelPath();
  p.data = session_->data();
  p.calib = session_->calib();
  if (session_->plan()->hasPlan()) p.plan = session_->plan()->plan();
  p.weights = session_->plan()->weights();
  p.plan_b = session_->planB();
  p.weights_b = session_->planBWeights();
  p.plan_b_label = session_->planBLabel();
  p.report = session_->report();
  if (p.report) p.report_plan = session_->reportPlan();
  p.results = session_->results()->runs();
  p.selection = session_->selectedRow();
  try {
    qs::gui::saveProject(p, path);
  } catch (const std::exception& e) {
    showError(tr("Cannot save the project"), QString::fromUtf8(e.what()));
    return false;
  }
  project_path_ = QFileInfo(path).absoluteFilePath();
  session_->plan()->undoStack()->setClean();
  addRecent(project_path_);
  updateTitle();
  log(tr("Saved project %1").arg(project_path_));
  return true;
}

bool MainWindow::savePlan(const QString& path_in) {
  if (!session_->plan()->hasPlan()) return false;
  QString path = path_in;
  if (path.isEmpty()) {
    QSettings s;
    path = QFileDialog::getSaveFileName(this, tr("Save plan"), s.value(keys::kLastPlanDir).toString(),
                                        tr("Plans (*.json)"));
    if (path.isEmpty()) return false;
    s.setValue(keys::kLastPlanDir, QFileInfo(path).absolutePath());
  }
  if (session_->isInputModel(path)) {
    showError(tr("Cannot save the plan"), tr("%1 is the input model; QuantScope never writes it.").arg(path));
    return false;
  }
  try {
    // Tuned weights (OBQ, GPTQ, EPTQ) travel as PLAN.weights.onnx, named by the plan as the CLI does.
    const QuantPlan p = withWeightsModel(session_->plan()->plan(), session_->plan()->weights(),
                                         session_->modelPath(), path, QStringLiteral(".weights.onnx"));
    save_plan(p, path.toStdString());
  } catch (const std::exception& e) {
    showError(tr("Cannot save the plan"), QString::fromUtf8(e.what()));
    return false;
  }
  log(tr("Saved plan %1").arg(path));
  return true;
}

bool MainWindow::saveReport(const QString& path_in) {
  auto r = session_->report();
  if (!r) return false;
  QString path = path_in;
  if (path.isEmpty()) {
    QSettings s;
    path = QFileDialog::getSaveFileName(this, tr("Save analysis report"),
                                        s.value(keys::kLastPlanDir).toString(), tr("Reports (*.json)"));
    if (path.isEmpty()) return false;
  }
  if (session_->isInputModel(path)) {
    showError(tr("Cannot save the report"),
              tr("%1 is the input model; QuantScope never writes it.").arg(path));
    return false;
  }
  try {
    save_report(*r, path.toStdString());
  } catch (const std::exception& e) {
    showError(tr("Cannot save the report"), QString::fromUtf8(e.what()));
    return false;
  }
  log(tr("Saved report %1").arg(path));
  return true;
}

bool MainWindow::loadPlan(const QString& path_in) {
  if (!session_->hasModel()) return false;
  QString path = path_in;
  if (path.isEmpty()) {
    QSettings s;
    path = QFileDialog::getOpenFileName(this, tr("Load plan"), s.value(keys::kLastPlanDir).toString(),
                                        tr("Plans (*.json);;All files (*)"));
    if (path.isEmpty()) return false;
    s.setValue(keys::kLastPlanDir, QFileInfo(path).absolutePath());
  }
  try {
    QuantPlan p = load_plan(path.toStdString());
    if (!session_->points())
      throw Error("the model's quantization points are not known yet: choose calibration data first");
    validate_plan(p, session_->model()->graph, *session_->points());
    auto weights = weightsFor(session_->model()->graph, p, path);
    session_->plan()->replacePlan(p, tr("load %1").arg(QFileInfo(path).fileName()), std::move(weights));
  } catch (const std::exception& e) {
    showError(tr("Cannot load the plan"), QString::fromUtf8(e.what()));
    return false;
  }
  log(tr("Loaded plan %1").arg(path));
  return true;
}

void MainWindow::addRecent(const QString& path) {
  QSettings s;
  QStringList r = s.value(keys::kRecentFiles).toStringList();
  r.removeAll(path);
  r.prepend(path);
  while (r.size() > keys::kMaxRecentFiles) r.removeLast();
  s.setValue(keys::kRecentFiles, r);
}

void MainWindow::rebuildRecentMenu() {
  recent_menu_->clear();
  const QStringList r = QSettings().value(keys::kRecentFiles).toStringList();
  int i = 1;
  for (const QString& path : r) {
    QAction* a = recent_menu_->addAction(QStringLiteral("&%1 %2").arg(i++).arg(QFileInfo(path).fileName()));
    a->setToolTip(path);
    a->setStatusTip(path);
    a->setEnabled(QFileInfo::exists(path) && !jobs_->busy());
    connect(a, &QAction::triggered, this, [this, path] { openFile(path); });
  }
  if (r.isEmpty())
    recent_menu_->addAction(tr("(none)"))->setEnabled(false);
  else {
    recent_menu_->addSeparator();
    connect(recent_menu_->addAction(tr("Clear")), &QAction::triggered, this,
            [] { QSettings().remove(keys::kRecentFiles); });
  }
}

void MainWindow::dragEnterEvent(QDragEnterEvent* e) {
  if (!e->mimeData()->hasUrls()) return;
  for (const QUrl& u : e->mimeData()->urls())
    if (u.isLocalFile()) {
      e->acceptProposedAction();
      return;
    }
}

void MainWindow::dropEvent(QDropEvent* e) {
  for (const QUrl& u : e->mimeData()->urls())
    if (u.isLocalFile()) {
      openFile(u.toLocalFile());
      e->acceptProposedAction();
      return;
    }
}

}  // namespace qs::gui
