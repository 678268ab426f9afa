// Capability: export (core/export/export.h) — the quantized model as ONNX that ONNX Runtime runs (QDQ or
// QOperator form), with the plan and a manifest beside it, and optionally the analysis report. File ▸
// Export… opens the dialog; the export runs as a job. Never writes over the input model (checked here and
// by the exporter).
#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPushButton>
#include <QSettings>

#include "app/gui/capabilities.h"
#include "app/gui/job_runner.h"
#include "app/gui/session.h"
#include "app/gui/workbench.h"
#include "core/common/error.h"
#include "core/export/export.h"
#include "core/quant/analysis.h"

namespace qs::gui {

namespace {

const QString kDirKey = QStringLiteral("files/lastExportDir");
const QString kFormatKey = QStringLiteral("defaults/exportFormat");
const QString kUint8Key = QStringLiteral("defaults/exportUint8Weights");

}  // namespace

ExportRequest exportRequestDefaults(const Session& s) {
  ExportRequest r;
  const QString dir = QSettings().value(kDirKey, QFileInfo(s.modelPath()).absolutePath()).toString();
  r.path =
      dir + QLatin1Char('/') + QFileInfo(s.modelPath()).completeBaseName() + QStringLiteral("_int8.onnx");
  r.format = QSettings().value(kFormatKey, QStringLiteral("qdq")).toString();
  r.report = static_cast<bool>(s.report());
  r.uint8Weights = QSettings().value(kUint8Key, false).toBool();
  return r;
}

void startExport(Workbench& w, const ExportRequest& req) {
  Session* s = w.session();
  w.jobs()->enqueue<ExportResult>(
      QCoreApplication::translate("qs::gui::Export", "Export"),
      [s, req]() -> std::function<ExportResult(JobContext&)> {
        if (!s->plan()->hasPlan()) throw Error("no plan to export: calibrate first");
        if (!s->points()) throw Error("the model's quantization points are not known yet");
        if (req.path.isEmpty()) throw Error("no output file");
        if (s->isInputModel(req.path))
          throw Error(req.path.toStdString() + " is the input model; QuantScope never writes it");
        auto graph = s->workingGraph();
        const QuantPlan plan = s->plan()->plan();
        const QuantPoints points = *s->points();
        const std::string model = s->modelPath().toStdString();
        auto report = req.report ? s->report() : nullptr;
        const std::string out = req.path.toStdString();
        const ExportFormat format = parse_export_format(req.format.toStdString());
        const WeightStorage weights =
            req.uint8Weights && format == ExportFormat::QDQ ? WeightStorage::UInt8 : WeightStorage::AsPlan;
        return [graph, plan, points, model, report, out, format, weights](JobContext& ctx) {
          ctx.setStage(
              0, 1, QCoreApplication::translate("qs::gui::Export", "building and checking the ONNX model"));
          ExportOptions o;
          o.format = format;
          o.weights = weights;
          o.source_model = model;
          o.settings = {{"tool", "quantscope (desktop)"}};
          if (weights == WeightStorage::UInt8) o.settings.emplace_back("weight_storage", "uint8");
          ExportResult r = export_model(*graph, plan, points, out, o);
          if (report) save_report(*report, export_sidecar_path(out, ".report.json"));
          return r;
        };
      },
      [&w, req](ExportResult& r) {
        w.log(QCoreApplication::translate("qs::gui::Export", "Exported %1 (plan %2, manifest %3)")
                  .arg(QString::fromStdString(r.model), QString::fromStdString(r.plan),
                       QString::fromStdString(r.manifest)));
        if (req.report)
          w.log(QCoreApplication::translate("qs::gui::Export", "Wrote the report %1")
                    .arg(QString::fromStdString(export_sidecar_path(r.model, ".report.json"))));
        for (const auto& n : r.float_islands)
          w.log(QCoreApplication::translate("qs::gui::Export", "float island: %1")
                    .arg(QString::fromStdString(n)));
        for (const auto& n : r.notes) w.log(QString::fromStdString(n));
      });
}

namespace {

class ExportDialog : public QDialog {
 public:
  ExportDialog(const ExportRequest& r, QWidget* parent) : QDialog(parent) {
    setWindowTitle(QCoreApplication::translate("qs::gui::Export", "Export Quantized Model"));
    auto* f = new QFormLayout(this);
    path_ = new QLineEdit(r.path, this);
    auto* browse = new QPushButton(QCoreApplication::translate("qs::gui::Export", "Browse…"), this);
    auto* row = new QHBoxLayout();
    row->addWidget(path_, 1);
    row->addWidget(browse);
    f->addRow(QCoreApplication::translate("qs::gui::Export", "Model file:"), row);
    format_ = new QComboBox(this);
    format_->addItem(
        QCoreApplication::translate("qs::gui::Export", "QDQ (QuantizeLinear/DequantizeLinear pairs)"),
        QStringLiteral("qdq"));
    format_->addItem(QCoreApplication::translate("qs::gui::Export", "QOperator (QLinearConv, QLinearMatMul)"),
                     QStringLiteral("qop"));
    format_->setCurrentIndex(format_->findData(r.format));
    f->addRow(QCoreApplication::translate("qs::gui::Export", "Form:"), format_);
    uint8_ =
        new QCheckBox(QCoreApplication::translate(
                          "qs::gui::Export", "Store int8 weights as uint8 (exact in ONNX Runtime on x86)"),
                      this);
    uint8_->setToolTip(QCoreApplication::translate(
        "qs::gui::Export",
        "The same weight values with the zero point moved by 128. ONNX Runtime on x86 CPUs without AVX-VNNI "
        "multiplies uint8 by int8 in saturating 16-bit pairs, so its results can differ slightly from the "
        "integer engine; uint8 weights it multiplies exactly (as it does int8 ones with its session option "
        "session.x64quantprecision=1). Leave off for runtimes that require int8 weights."));
    uint8_->setChecked(r.uint8Weights);
    f->addRow(QString(), uint8_);
    const auto qdqOnly = [this] {
      uint8_->setEnabled(format_->currentData().toString() == QStringLiteral("qdq"));
    };
    connect(format_, &QComboBox::currentIndexChanged, this, qdqOnly);
    qdqOnly();
    report_ = new QCheckBox(
        QCoreApplication::translate("qs::gui::Export", "Also write the analysis report (.report.json)"),
        this);
    report_->setChecked(r.report);
    f->addRow(QString(), report_);
    auto* note =
        new QLabel(QCoreApplication::translate(
                       "qs::gui::Export",
                       "The plan (.plan.json) and a manifest (.manifest.json) are written beside the model."),
                   this);
    note->setWordWrap(true);
    f->addRow(note);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(QCoreApplication::translate("qs::gui::Export", "Export"));
    f->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(browse, &QPushButton::clicked, this, [this] {
      const QString p = QFileDialog::getSaveFileName(
          this, QCoreApplication::translate("qs::gui::Export", "Export to"), path_->text(),
          QCoreApplication::translate("qs::gui::Export", "ONNX models (*.onnx)"));
      if (!p.isEmpty()) path_->setText(p);
    });
  }
  ExportRequest request() const {
    ExportRequest r;
    r.path = path_->text().trimmed();
    r.format = format_->currentData().toString();
    r.report = report_->isChecked();
    r.uint8Weights = uint8_->isChecked();
    return r;
  }

 private:
  QLineEdit* path_;
  QComboBox* format_;
  QCheckBox* report_;
  QCheckBox* uint8_;
};

}  // namespace

void installExport(Workbench& w) {
  auto* a =
      new QAction(QCoreApplication::translate("qs::gui::Export", "&Export Quantized Model…"), w.window());
  a->setObjectName(QStringLiteral("run-export"));
  a->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  a->setStatusTip(QCoreApplication::translate("qs::gui::Export",
                                              "ONNX in QDQ or QOperator form, with the plan and a manifest"));
  QObject::connect(a, &QAction::triggered, w.window(), [&w] {
    Session* s = w.session();
    if (!s->plan()->hasPlan()) return;
    auto* d = new ExportDialog(exportRequestDefaults(*s), w.window());
    d->setAttribute(Qt::WA_DeleteOnClose);
    QObject::connect(d, &QDialog::accepted, w.window(), [&w, d] {
      const ExportRequest r = d->request();
      QSettings().setValue(kDirKey, QFileInfo(r.path).absolutePath());
      QSettings().setValue(kFormatKey, r.format);
      QSettings().setValue(kUint8Key, r.uint8Weights);
      startExport(w, r);
    });
    d->open();
  });
  w.addFileAction(a, true);
}

}  // namespace qs::gui
