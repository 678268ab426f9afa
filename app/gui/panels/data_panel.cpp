#include "app/gui/panels/data_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include "app/gui/latest_task.h"
#include "app/gui/session.h"
#include "app/gui/settings_keys.h"
#include "core/common/error.h"
#include "widgets/views/sample_preview.h"

namespace qs::gui {

DataPanel::DataPanel(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
  task_ = new LatestTask(this);
  debounce_ = new QTimer(this);
  debounce_->setSingleShot(true);
  debounce_->setInterval(500);
  connect(debounce_, &QTimer::timeout, this, &DataPanel::applyToSession);

  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(4, 4, 4, 4);

  auto* files = new QGroupBox(tr("Files"), this);
  auto* ff = new QFormLayout(files);
  files_form_ = ff;
  calib_ = new QLineEdit(files);
  calib_->setPlaceholderText(tr("IDX (.gz), .npy, image folder or image"));
  eval_ = new QLineEdit(files);
  eval_->setPlaceholderText(tr("labeled images for top-1"));
  labels_ = new QLineEdit(files);
  labels_->setPlaceholderText(tr("IDX labels or integer .npy (not for class folders)"));
  ff->addRow(tr("Calibration:"), pathRow(calib_, tr("Calibration images"), true));
  ff->addRow(tr("Evaluation:"), pathRow(eval_, tr("Evaluation images"), true));
  ff->addRow(tr("Labels:"), pathRow(labels_, tr("Evaluation labels"), false));
  outer->addWidget(files);

  auto* pre = new QGroupBox(tr("Preprocessing"), this);
  auto* pf = new QFormLayout(pre);
  scale_ = new QLineEdit(pre);
  scale_->setPlaceholderText(tr("auto (1/255 for 8-bit data)"));
  scale_->setToolTip(tr("Source values are multiplied by this first"));
  mean_ = new QLineEdit(pre);
  mean_->setToolTip(tr("One value, or one per channel, after scaling"));
  std_ = new QLineEdit(pre);
  std_->setToolTip(tr("One value, or one per channel"));
  pf->addRow(tr("Scale:"), scale_);
  pf->addRow(tr("Mean:"), mean_);
  pf->addRow(tr("Std:"), std_);
  resize_ = new QComboBox(pre);
  resize_->addItem(tr("none"), static_cast<int>(ResizeMode::kNone));
  resize_->addItem(tr("stretch to H×W"), static_cast<int>(ResizeMode::kStretch));
  resize_->addItem(tr("shorter side, then center crop"), static_cast<int>(ResizeMode::kShorterSide));
  pf->addRow(tr("Resize:"), resize_);
  auto* hw = new QWidget(pre);
  auto* hwl = new QHBoxLayout(hw);
  hwl->setContentsMargins(0, 0, 0, 0);
  resize_h_ = new QSpinBox(hw);
  resize_w_ = new QSpinBox(hw);
  shorter_ = new QSpinBox(hw);
  for (QSpinBox* s : {resize_h_, resize_w_, shorter_}) {
    s->setRange(0, 16384);
    s->setSpecialValueText(tr("auto"));
  }
  hwl->addWidget(resize_h_);
  hwl->addWidget(new QLabel(QStringLiteral("×"), hw));
  hwl->addWidget(resize_w_);
  hwl->addWidget(new QLabel(tr("shorter:"), hw));
  hwl->addWidget(shorter_);
  pf->addRow(tr("Size:"), hw);
  crop_ = new QCheckBox(tr("Center-crop to the model's input"), pre);
  pf->addRow(QString(), crop_);
  order_ = new QComboBox(pre);
  order_->addItem(tr("RGB"), false);
  order_->addItem(tr("BGR"), true);
  pf->addRow(tr("Channel order:"), order_);
  layout_ = new QComboBox(pre);
  layout_->addItem(tr("auto"), static_cast<int>(NpyLayout::kAuto));
  layout_->addItem(QStringLiteral("NCHW"), static_cast<int>(NpyLayout::kNCHW));
  layout_->addItem(QStringLiteral("NHWC"), static_cast<int>(NpyLayout::kNHWC));
  pf->addRow(tr(".npy layout:"), layout_);
  outer->addWidget(pre);

  auto* prev = new QGroupBox(tr("Sample as the model sees it"), this);
  auto* pv = new QVBoxLayout(prev);
  auto* row = new QHBoxLayout();
  which_ = new QComboBox(prev);
  which_->addItem(tr("calibration"));
  which_->addItem(tr("evaluation"));
  index_ = new QSpinBox(prev);
  index_->setRange(0, 0);
  index_->setPrefix(tr("sample "));
  row->addWidget(which_);
  row->addWidget(index_, 1);
  pv->addLayout(row);
  preview_ = new ui::SamplePreview(prev);
  pv->addWidget(preview_, 1);
  info_ = new QLabel(prev);
  info_->setWordWrap(true);
  info_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  pv->addWidget(info_);
  outer->addWidget(prev, 1);

  for (QLineEdit* e : {calib_, eval_, labels_, scale_, mean_, std_}) {
    connect(e, &QLineEdit::textEdited, this, &DataPanel::scheduleApply);
    connect(e, &QLineEdit::returnPressed, this, &DataPanel::applyToSession);
  }
  for (QSpinBox* s : {resize_h_, resize_w_, shorter_})
    connect(s, &QSpinBox::valueChanged, this, &DataPanel::scheduleApply);
  for (QComboBox* c : {resize_, order_, layout_})
    connect(c, &QComboBox::currentIndexChanged, this, &DataPanel::scheduleApply);
  connect(crop_, &QCheckBox::toggled, this, &DataPanel::scheduleApply);
  connect(which_, &QComboBox::currentIndexChanged, this, &DataPanel::refreshPreview);
  connect(index_, &QSpinBox::valueChanged, this, &DataPanel::refreshPreview);
  connect(session_, &Session::dataChanged, this, [this] {
    loadFromSession();
    refreshPreview();
  });
  connect(session_, &Session::modelChanged, this, [this] {
    rebuildInputRows();
    refreshPreview();
  });
  rebuildInputRows();
  loadFromSession();
}

void DataPanel::rebuildInputRows() {
  for (QWidget* w : more_rows_) files_form_->removeRow(w);
  more_rows_.clear();
  calib_more_.clear();
  eval_more_.clear();
  const Graph* g = session_->hasModel() ? &session_->model()->graph : nullptr;
  const bool several = g && g->inputs.size() > 1;
  const QString first = several ? QString::fromStdString(g->inputs[0].name) : QString();
  calib_->setToolTip(several ? tr("Feeds input '%1'; the other inputs have rows of their own").arg(first)
                             : QString());
  eval_->setToolTip(calib_->toolTip());
  if (!several) return;
  int at = files_form_->rowCount() - 1;  // before the labels row
  for (size_t i = 1; i < g->inputs.size(); ++i) {
    const QString name = QString::fromStdString(g->inputs[i].name);
    for (bool eval : {false, true}) {
      auto* e = new QLineEdit(files_form_->parentWidget());
      e->setPlaceholderText(
          tr(".npy (or images) for input '%1', one sample per sample of '%2'").arg(name, first));
      QWidget* row = pathRow(e,
                             eval ? tr("Evaluation data of input '%1'").arg(name)
                                  : tr("Calibration data of input '%1'").arg(name),
                             true);
      files_form_->insertRow(eval ? at + 1 : at,
                             eval ? tr("Evaluation, '%1':").arg(name) : tr("Calibration, '%1':").arg(name),
                             row);
      more_rows_ << row;
      (eval ? eval_more_ : calib_more_)[name] = e;
      connect(e, &QLineEdit::textEdited, this, &DataPanel::scheduleApply);
      connect(e, &QLineEdit::returnPressed, this, &DataPanel::applyToSession);
    }
    at += 2;
  }
  loadFromSession();
}

QWidget* DataPanel::pathRow(QLineEdit* edit, const QString& title, bool allow_folder) {
  auto* w = new QWidget(this);
  auto* l = new QHBoxLayout(w);
  l->setContentsMargins(0, 0, 0, 0);
  l->addWidget(edit, 1);
  auto* file = new QToolButton(w);
  file->setText(tr("File…"));
  file->setToolTip(tr("Choose a file"));
  connect(file, &QToolButton::clicked, this, [this, edit, title] { browse(edit, false, title); });
  l->addWidget(file);
  if (allow_folder) {
    auto* folder = new QToolButton(w);
    folder->setText(tr("Folder…"));
    folder->setToolTip(tr("Choose a folder of images (one subfolder per class gives labels)"));
    connect(folder, &QToolButton::clicked, this, [this, edit, title] { browse(edit, true, title); });
    l->addWidget(folder);
  }
  return w;
}

void DataPanel::browse(QLineEdit* edit, bool folder, const QString& title) {
  QSettings s;
  const QString start = edit->text().isEmpty() ? s.value(keys::kLastDataDir).toString() : edit->text();
  const QString path =
      folder ? QFileDialog::getExistingDirectory(this, title, start)
             : QFileDialog::getOpenFileName(
                   this, title, start,
                   tr("Data (*.gz *.npy *-ubyte *.idx *.png *.jpg *.jpeg *.bmp *.pgm *.ppm);;All files (*)"));
  if (path.isEmpty()) return;
  s.setValue(keys::kLastDataDir, QFileInfo(path).absolutePath());
  edit->setText(path);
  applyToSession();
}

void DataPanel::loadFromSession() {
  loading_ = true;
  const DataSettings& d = session_->data();
  auto set = [](QLineEdit* e, const QString& t) {
    if (e->text() != t) e->setText(t);
  };
  set(calib_, d.calib_images);
  set(eval_, d.eval_images);
  set(labels_, d.eval_labels);
  for (auto it = calib_more_.begin(); it != calib_more_.end(); ++it)
    set(it.value(), d.calib_more.value(it.key()));
  for (auto it = eval_more_.begin(); it != eval_more_.end(); ++it)
    set(it.value(), d.eval_more.value(it.key()));
  set(scale_, d.scale ? QString::number(static_cast<double>(*d.scale), 'g', 8) : QString());
  set(mean_, floatListText(d.mean));
  set(std_, floatListText(d.stddev));
  resize_->setCurrentIndex(resize_->findData(static_cast<int>(d.resize)));
  resize_h_->setValue(static_cast<int>(d.resize_height));
  resize_w_->setValue(static_cast<int>(d.resize_width));
  shorter_->setValue(static_cast<int>(d.resize_shorter));
  crop_->setChecked(d.center_crop);
  order_->setCurrentIndex(d.bgr ? 1 : 0);
  layout_->setCurrentIndex(layout_->findData(static_cast<int>(d.npy_layout)));
  loading_ = false;
}

DataSettings DataPanel::formSettings() const {
  DataSettings d;
  d.calib_images = calib_->text().trimmed();
  d.eval_images = eval_->text().trimmed();
  d.eval_labels = labels_->text().trimmed();
  // Files of inputs the current model does not have are kept (another model of the project may).
  d.calib_more = session_->data().calib_more;
  d.eval_more = session_->data().eval_more;
  auto take = [](const QMap<QString, QLineEdit*>& edits, QMap<QString, QString>& files) {
    for (auto it = edits.begin(); it != edits.end(); ++it) {
      const QString t = it.value()->text().trimmed();
      if (t.isEmpty())
        files.remove(it.key());
      else
        files[it.key()] = t;
    }
  };
  take(calib_more_, d.calib_more);
  take(eval_more_, d.eval_more);
  if (!scale_->text().trimmed().isEmpty()) {
    const auto v = parseFloatList(scale_->text(), tr("Scale"));
    if (v.size() != 1) throw Error(tr("Scale: one number").toStdString());
    d.scale = v[0];
  }
  d.mean = parseFloatList(mean_->text(), tr("Mean"));
  d.stddev = parseFloatList(std_->text(), tr("Std"));
  if (d.mean.empty()) d.mean = {0.f};
  if (d.stddev.empty()) d.stddev = {1.f};
  d.resize = static_cast<ResizeMode>(resize_->currentData().toInt());
  d.resize_height = resize_h_->value();
  d.resize_width = resize_w_->value();
  d.resize_shorter = shorter_->value();
  d.center_crop = crop_->isChecked();
  d.bgr = order_->currentData().toBool();
  d.npy_layout = static_cast<NpyLayout>(layout_->currentData().toInt());
  return d;
}

void DataPanel::scheduleApply() {
  if (!loading_) debounce_->start();
}

void DataPanel::applyToSession() {
  debounce_->stop();
  try {
    session_->setData(formSettings());
  } catch (const Error& e) {
    info_->setText(QString::fromUtf8(e.what()));
  }
}

bool DataPanel::previewBusy() const { return task_->busy(); }

void DataPanel::refreshPreview() {
  task_->invalidate();
  const DataSettings& d = session_->data();
  const bool eval = which_->currentIndex() == 1;
  if (!session_->hasModel() || (eval ? !d.hasEvaluation() : !d.hasCalibration())) {
    preview_->clear(session_->hasModel()
                        ? tr("Choose %1 data to preview a sample.").arg(which_->currentText())
                        : tr("Open a model first: the preview shows samples shaped for its input."));
    info_->clear();
    return;
  }
  DataConfig cfg;
  try {
    cfg = eval ? d.evalConfig(session_->model()->graph) : d.calibConfig(session_->model()->graph);
  } catch (const Error& e) {
    preview_->clear(QString::fromUtf8(e.what()));
    return;
  }
  const int64_t i = index_->value();
  task_->run<SamplePreview>(
      [cfg, i] { return previewSample(cfg, i); },
      [this](SamplePreview& p) {
        index_->blockSignals(true);
        index_->setRange(0, static_cast<int>(std::max<int64_t>(0, p.size - 1)));
        index_->blockSignals(false);
        preview_->setSample(p.sample, p.caption);
        info_->setText(tr("%1 · %n sample(s)", nullptr, static_cast<int>(p.size)).arg(p.description) +
                       (p.has_labels ? tr(" · labeled") : QString()));
      },
      [this](const QString& msg) {
        preview_->clear(msg);
        info_->clear();
      });
}

}  // namespace qs::gui
