// Data panel: calibration images, the labeled evaluation set, the preprocessing both share, and a preview
// of one sample exactly as the model receives it. Edits apply to the session after a short pause (or on
// Enter), and the preview follows.
#pragma once

#include <QList>
#include <QMap>
#include <QWidget>

#include "app/gui/data_settings.h"

class QCheckBox;
class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QSpinBox;
class QTimer;

namespace qs::ui {
class SamplePreview;
}

namespace qs::gui {

class LatestTask;
class Session;

class DataPanel : public QWidget {
  Q_OBJECT

 public:
  DataPanel(Session* session, QWidget* parent = nullptr);
  // The form's settings (throws qs::Error naming the field when a value does not parse).
  DataSettings formSettings() const;
  ui::SamplePreview* preview() const { return preview_; }
  bool previewBusy() const;

 signals:
  void errorOccurred(const QString& title, const QString& message);

 private:
  void loadFromSession();
  void applyToSession();
  void scheduleApply();
  void refreshPreview();
  void browse(QLineEdit* edit, bool folder, const QString& title);
  QWidget* pathRow(QLineEdit* edit, const QString& title, bool allow_folder);
  // A model with several inputs: a calibration and an evaluation row for each input after the first.
  void rebuildInputRows();

  Session* session_;
  LatestTask* task_;
  QTimer* debounce_;
  bool loading_ = false;
  QLineEdit* calib_;
  QLineEdit* eval_;
  QLineEdit* labels_;
  QFormLayout* files_form_;
  QMap<QString, QLineEdit*> calib_more_, eval_more_;  // by input name
  QList<QWidget*> more_rows_;                         // their rows, removed when the model changes
  QLineEdit* scale_;
  QLineEdit* mean_;
  QLineEdit* std_;
  QComboBox* resize_;
  QSpinBox* resize_h_;
  QSpinBox* resize_w_;
  QSpinBox* shorter_;
  QCheckBox* crop_;
  QComboBox* order_;
  QComboBox* layout_;
  QComboBox* which_;
  QSpinBox* index_;
  QLabel* info_;
  ui::SamplePreview* preview_;
};

}  // namespace qs::gui
