// Session: the state of the window — the model, data settings, the plan being edited (with its undo
// stack), the last analysis, evaluation results, plan B for comparison, the selection and the layer-probe
// cache. Views read it and listen to its signals; jobs take snapshots of it (shared_ptr<const ...>) and
// hand their results back on the GUI thread. It never writes the input model.
#pragma once

#include <QObject>
#include <QString>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "app/gui/data_settings.h"
#include "app/gui/jobs.h"
#include "widgets/models/layer_table_model.h"
#include "widgets/models/plan_compare_model.h"
#include "widgets/models/plan_document.h"
#include "widgets/models/results_model.h"

namespace qs::gui {

class Session : public QObject {
  Q_OBJECT

 public:
  explicit Session(QObject* parent = nullptr);

  // --- model
  bool hasModel() const { return static_cast<bool>(model_); }
  std::shared_ptr<const Model> model() const { return model_; }
  QString modelPath() const { return model_path_; }
  const ModelSummary& summary() const { return summary_; }
  const QuantPoints* points() const { return points_ ? &*points_ : nullptr; }
  // Installs a loaded model: clears plan (and its history), report, results, plan B, probes.
  void setModel(LoadedModel m);
  void closeModel();
  // Points and rows once known from the data (calibration).
  void setPoints(QuantPoints points, std::vector<ui::LayerRow> rows);
  // True when `path` is the input model file (the app refuses to write it).
  bool isInputModel(const QString& path) const;
  // The graph the plan applies to: the plan's tuned weights when an algorithm made them (OBQ, GPTQ,
  // EPTQ), else the model's own graph. Shared, so jobs can hold it while the user edits on.
  std::shared_ptr<const Graph> workingGraph() const;

  // --- data and calibration settings
  const DataSettings& data() const { return data_; }
  void setData(const DataSettings& d);
  const CalibSettings& calib() const { return calib_; }
  void setCalib(const CalibSettings& c);

  // --- plan (A), analysis, results, plan B
  ui::PlanDocument* plan() { return &plan_; }
  const ui::PlanDocument* plan() const { return &plan_; }
  std::shared_ptr<const AnalysisReport> report() const { return report_; }
  const QuantPlan& reportPlan() const { return report_plan_; }
  void setReport(std::shared_ptr<const AnalysisReport> r, const QuantPlan& plan_used);
  const std::optional<QuantPlan>& planB() const { return compare_.planB(); }
  QString planBLabel() const { return plan_b_label_; }
  std::shared_ptr<const Graph> planBWeights() const { return plan_b_weights_; }
  void setPlanB(std::optional<QuantPlan> b, const QString& label,
                std::shared_ptr<const Graph> weights = nullptr);

  // Bit-widths the user fixed (tensor → bits, 32 = float): the mixed-precision solver keeps them.
  const std::map<std::string, int>& pins() const { return pins_; }
  void setPins(std::map<std::string, int> pins);

  ui::LayerTableModel* layers() { return &layers_; }
  ui::ResultsModel* results() { return &results_; }
  ui::PlanCompareModel* compare() { return &compare_; }

  // --- selection: a row of the layer table (by its name), driving every chart
  QString selectedRow() const { return selected_; }
  const ui::LayerRow* selectedLayer() const;
  void select(const QString& row_name);
  // Selects the row holding `tensor` (weight or activation).
  void selectTensor(const QString& tensor);

  // --- layer probes (histograms), cached per tensor until the model or data change
  std::shared_ptr<const ui::LayerProbe> probe(const std::string& tensor) const;
  void storeProbe(const std::string& tensor, std::shared_ptr<const ui::LayerProbe> p);

  // --- extension results (capabilities): keyed blobs a capability stores and its view reads; cleared
  // with the model. Keys are the capability's name.
  void setExtra(const QString& key, std::shared_ptr<const void> value);
  std::shared_ptr<const void> extra(const QString& key) const;

 signals:
  void modelChanged();
  void dataChanged();
  void calibChanged();
  void reportChanged();
  void planBChanged();
  void selectionChanged(const QString& row_name);
  void extraChanged(const QString& key);
  void pinsChanged();

 private:
  std::shared_ptr<const Model> model_;
  QString model_path_;
  ModelSummary summary_;
  std::optional<QuantPoints> points_;
  DataSettings data_;
  CalibSettings calib_;
  ui::PlanDocument plan_;
  ui::LayerTableModel layers_;
  ui::ResultsModel results_;
  ui::PlanCompareModel compare_;
  std::shared_ptr<const AnalysisReport> report_;
  QuantPlan report_plan_;
  QString plan_b_label_;
  std::shared_ptr<const Graph> plan_b_weights_;
  std::shared_ptr<const Graph> probe_weights_;  // the weights the cached probes were made from
  std::map<std::string, int> pins_;
  QString selected_;
  std::map<std::string, std::shared_ptr<const ui::LayerProbe>> probes_;
  std::map<QString, std::shared_ptr<const void>> extras_;
};

}  // namespace qs::gui
