#include "app/gui/panels/pipeline_panel.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include "app/gui/session.h"
#include "widgets/common/format.h"

namespace qs::gui {

PipelinePanel::PipelinePanel(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(4, 4, 4, 4);
  auto* box = new QGroupBox(tr("Calibration"), this);
  auto* f = new QFormLayout(box);
  wbits_ = new QComboBox(box);
  for (int b : {8, 7, 6, 5, 4, 3, 2}) wbits_->addItem(tr("%1 bits").arg(b), b);
  wbits_->addItem(tr("float"), 32);
  abits_ = new QComboBox(box);
  for (int b : {8, 16, 7, 6, 5, 4}) abits_->addItem(tr("%1 bits").arg(b), b);
  abits_->addItem(tr("float"), 32);
  per_channel_ = new QCheckBox(tr("Weights per output channel"), box);
  act_type_ = new QComboBox(box);
  act_type_->addItem(tr("signed (int8, TFLite)"), true);
  act_type_->addItem(tr("unsigned (uint8, ONNX Runtime)"), false);
  act_method_ = new QComboBox(box);
  act_method_->addItem(tr("min/max"), QStringLiteral("minmax"));
  act_method_->addItem(tr("moving average (EMA)"), QStringLiteral("ema"));
  act_method_->addItem(tr("percentile"), QStringLiteral("percentile"));
  act_method_->addItem(tr("MSE-optimal"), QStringLiteral("mse"));
  act_method_->addItem(tr("KL divergence (entropy)"), QStringLiteral("kl"));
  percentile_ = new QDoubleSpinBox(box);
  percentile_->setRange(50, 100);
  percentile_->setDecimals(3);
  percentile_->setSingleStep(0.01);
  weight_method_ = new QComboBox(box);
  weight_method_->addItem(tr("min/max"), QStringLiteral("minmax"));
  weight_method_->addItem(tr("MSE-optimal"), QStringLiteral("mse"));
  calib_count_ = new QSpinBox(box);
  calib_count_->setRange(1, 1000000);
  analysis_count_ = new QSpinBox(box);
  analysis_count_->setRange(1, 1000000);
  batch_ = new QSpinBox(box);
  batch_->setRange(1, 4096);
  f->addRow(tr("Weights:"), wbits_);
  f->addRow(QString(), per_channel_);
  f->addRow(tr("Weight range:"), weight_method_);
  f->addRow(tr("Activations:"), abits_);
  f->addRow(tr("Activation type:"), act_type_);
  f->addRow(tr("Activation range:"), act_method_);
  f->addRow(tr("Percentile:"), percentile_);
  f->addRow(tr("Calibration samples:"), calib_count_);
  f->addRow(tr("Analysis samples:"), analysis_count_);
  f->addRow(tr("Batch:"), batch_);
  outer->addWidget(box);

  auto* runs = new QGroupBox(tr("Run"), this);
  runs_ = new QVBoxLayout(runs);
  outer->addWidget(runs);
  summary_ = new QLabel(this);
  summary_->setWordWrap(true);
  outer->addWidget(summary_);
  outer->addStretch(1);

  for (QComboBox* c : {wbits_, abits_, act_type_, act_method_, weight_method_})
    connect(c, &QComboBox::currentIndexChanged, this, &PipelinePanel::applyToSession);
  connect(per_channel_, &QCheckBox::toggled, this, &PipelinePanel::applyToSession);
  connect(percentile_, &QDoubleSpinBox::valueChanged, this, &PipelinePanel::applyToSession);
  for (QSpinBox* s : {calib_count_, analysis_count_, batch_})
    connect(s, &QSpinBox::valueChanged, this, &PipelinePanel::applyToSession);
  connect(session_, &Session::calibChanged, this, &PipelinePanel::loadFromSession);
  connect(session_, &Session::modelChanged, this, &PipelinePanel::updateSummary);
  connect(session_, &Session::reportChanged, this, &PipelinePanel::updateSummary);
  connect(session_->plan(), &ui::PlanDocument::planReset, this, &PipelinePanel::updateSummary);
  connect(session_->plan(), &ui::PlanDocument::entryChanged, this, &PipelinePanel::updateSummary);
  loadFromSession();
  updateSummary();
}

void PipelinePanel::addRunButton(QAction* action) {
  auto* b = new QToolButton(this);
  b->setDefaultAction(action);
  b->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  b->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
  runs_->addWidget(b);
}

void PipelinePanel::loadFromSession() {
  loading_ = true;
  const CalibrationOptions& o = session_->calib().options;
  wbits_->setCurrentIndex(wbits_->findData(o.weight_bits));
  abits_->setCurrentIndex(abits_->findData(o.act_bits));
  per_channel_->setChecked(o.per_channel);
  act_type_->setCurrentIndex(o.act_signed ? 0 : 1);
  act_method_->setCurrentIndex(act_method_->findData(QString::fromStdString(o.act_method)));
  weight_method_->setCurrentIndex(weight_method_->findData(QString::fromStdString(o.weight_method)));
  percentile_->setValue(o.observer.percentile);
  percentile_->setEnabled(o.act_method == "percentile");
  calib_count_->setValue(static_cast<int>(o.calib_count));
  analysis_count_->setValue(static_cast<int>(session_->calib().analysis_count));
  batch_->setValue(static_cast<int>(o.batch));
  loading_ = false;
}

CalibSettings PipelinePanel::formSettings() const {
  CalibSettings s = session_->calib();
  CalibrationOptions& o = s.options;
  o.weight_bits = wbits_->currentData().toInt();
  o.act_bits = abits_->currentData().toInt();
  o.per_channel = per_channel_->isChecked();
  o.act_signed = act_type_->currentData().toBool();
  o.act_method = act_method_->currentData().toString().toStdString();
  o.weight_method = weight_method_->currentData().toString().toStdString();
  o.observer.percentile = percentile_->value();
  o.calib_count = calib_count_->value();
  o.batch = batch_->value();
  s.analysis_count = analysis_count_->value();
  return s;
}

void PipelinePanel::applyToSession() {
  if (loading_) return;
  session_->setCalib(formSettings());
}

void PipelinePanel::updateSummary() {
  if (!session_->hasModel()) {
    summary_->setText(tr("No model open."));
    return;
  }
  const auto* doc = session_->plan();
  QString t;
  if (!doc->hasPlan()) {
    t = tr("No plan yet: calibrate to make one.");
  } else {
    int w = 0, a = 0;
    for (const auto& e : doc->plan().entries) (e.kind == TensorKind::Weight ? w : a) += e.quantize;
    const double bytes = doc->plan().weight_bytes(session_->model()->graph);
    const double fbytes = floatWeightBytes(session_->model()->graph);
    t = tr("Plan: %1 weight and %2 activation tensors quantized; weights %3 (float %4).")
            .arg(w)
            .arg(a)
            .arg(ui::formatBytes(bytes), ui::formatBytes(fbytes));
  }
  if (auto r = session_->report())
    t += QLatin1Char('\n') + tr("Last analysis: output SQNR %1, top-1 agreement %2 over %n sample(s).",
                                nullptr, static_cast<int>(r->samples))
                                 .arg(ui::formatDb(r->output.sqnr_db), ui::formatPercent(r->top1_agreement));
  summary_->setText(t);
}

}  // namespace qs::gui
