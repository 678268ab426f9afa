// Quantize panel: calibration and analysis settings and the buttons that run the jobs (calibrate, analyze,
// evaluate, all three). Capabilities add their own run buttons below (Workbench::addRunAction).
#pragma once

#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSpinBox;
class QVBoxLayout;
class QAction;

namespace qs::gui {

class Session;
struct CalibSettings;

class PipelinePanel : public QWidget {
  Q_OBJECT

 public:
  PipelinePanel(Session* session, QWidget* parent = nullptr);
  // A button for `action` in the panel's run area (built-in jobs and capabilities alike).
  void addRunButton(QAction* action);
  CalibSettings formSettings() const;

 private:
  void loadFromSession();
  void applyToSession();
  void updateSummary();

  Session* session_;
  bool loading_ = false;
  QComboBox* wbits_;
  QComboBox* abits_;
  QCheckBox* per_channel_;
  QComboBox* act_type_;
  QComboBox* act_method_;
  QDoubleSpinBox* percentile_;
  QComboBox* weight_method_;
  QSpinBox* calib_count_;
  QSpinBox* analysis_count_;
  QSpinBox* batch_;
  QVBoxLayout* runs_;
  QLabel* summary_;
};

}  // namespace qs::gui
