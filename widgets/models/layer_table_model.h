// LayerTableModel: one row per layer / activation point (layer_rows.h) with the model's structure, the
// plan being edited (bit-widths editable in place, through PlanDocument's undo stack) and the figures of
// the last analysis. Sort with a QSortFilterProxyModel on SortRole (numbers sort as numbers).
//
// Figures from an analysis are shown as they were measured; when the entry has been edited since, they
// are greyed with a tooltip saying so, and replaced by a live re-simulation when the views have one
// (setLiveIsolated).
#pragma once

#include <QAbstractTableModel>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/quant/analysis.h"
#include "widgets/models/layer_rows.h"
#include "widgets/models/plan_document.h"

namespace qs::ui {

class LayerTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum class Column {
    Name,
    Op,
    WeightShape,
    Params,
    Macs,
    WeightRange,
    ActRange,
    WeightBits,
    ActBits,
    WeightSqnr,   // isolated SQNR of the weight (layer output, only this weight quantized)
    ActSqnr,      // isolated SQNR of the activation
    CumSqnr,      // cumulative SQNR at the row's output (everything quantized)
    Sensitivity,  // label-free Hessian trace (LFH), when a sensitivity result is set
    Flags,
    Count
  };
  enum Role {
    SortRole = Qt::UserRole + 1,  // double for numeric columns, QString otherwise
    WeightTensorRole,             // QString: the row's weight tensor ("" when none)
    ActTensorRole,                // QString: the row's activation tensor ("" when none)
    FlaggedRole,                  // bool: the row has at least one flag
    StaleRole,                    // bool: a figure of the row is from before the last edit
  };

  explicit LayerTableModel(PlanDocument* doc, QObject* parent = nullptr);

  // The model's rows; `g` gives the float weight ranges shown before a plan exists.
  void setRows(std::vector<LayerRow> rows, const Graph* g);
  // The last analysis and the plan it was made with (to tell stale figures), or null.
  void setReport(std::shared_ptr<const AnalysisReport> report, const QuantPlan* report_plan);
  // A re-simulated isolated SQNR for the tensor's current entry (histogram views), NaN to clear.
  void setLiveIsolated(const std::string& tensor, double sqnr_db);
  // Filled by capabilities as they run: LFH trace per tensor (the column shows a row's activation, else its
  // weight), and a per-layer verdict text shown in Flags (RepVGG diagnostics).
  void setSensitivity(std::map<std::string, double> trace_by_tensor);
  void setVerdicts(std::map<std::string, QString> verdict_by_layer);
  // Tensors whose width the user pinned (mixed precision keeps them): flagged "pinned".
  void setPins(std::set<std::string> pinned);
  // Fraction of clipped values above which a tensor is flagged.
  void setClipFlagThreshold(double fraction);

  const LayerRow& row(int r) const { return rows_[static_cast<size_t>(r)]; }
  int rowOfTensor(const std::string& tensor) const;  // -1 when no row has it
  int rowOfName(const std::string& name) const;
  bool hasSensitivity() const { return !sensitivity_.empty(); }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

  static int col(Column c) { return static_cast<int>(c); }

 signals:
  // setData refused a value (the engine's message), for the window to show.
  void editFailed(const QString& message);

 private:
  const TensorReport* report(const std::string& tensor) const;
  bool stale(const std::string& tensor) const;
  QStringList flagsOf(const LayerRow& r) const;
  double sensitivityOf(const LayerRow& r) const;
  QVariant display(const LayerRow& r, Column c) const;
  QVariant sortValue(const LayerRow& r, Column c) const;
  QVariant tooltip(const LayerRow& r, Column c) const;
  double isolatedSqnr(const std::string& tensor, bool* live, bool* is_stale) const;
  void onEntryChanged(const QString& tensor);
  void onPlanReset();

  PlanDocument* doc_;
  std::vector<LayerRow> rows_;
  std::map<std::string, int> row_of_tensor_;
  std::map<std::string, std::pair<float, float>> weight_minmax_;  // float range of each weight
  std::shared_ptr<const AnalysisReport> report_;
  std::map<std::string, const TensorReport*> report_by_tensor_;
  std::map<std::string, PlanEntry> report_entries_;  // the plan the report was made with
  std::map<std::string, double> live_;
  std::map<std::string, double> sensitivity_;
  std::map<std::string, QString> verdicts_;
  std::set<std::string> pins_;
  double clip_flag_ = 1e-3;
};

}  // namespace qs::ui
