// Evaluation results: one row per run (float, a plan simulated, later the integer engine), with top-1,
// agreement with float, weight size and compression.
#pragma once

#include <QAbstractTableModel>
#include <QString>
#include <vector>

namespace qs::ui {

struct EvalRun {
  QString label;            // "float", "plan A", "plan B"
  QString engine;           // float | sim | int
  double top1 = 0;          // fraction correct
  double agreement = -1;    // top-1 agreement with float (< 0: not applicable)
  int64_t count = 0;        // samples
  double weight_bytes = 0;  // layer weights under the run's plan (float: 4 bytes each)
  double float_weight_bytes = 0;
  double seconds = 0;
};

class ResultsModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum class Column { Run, Engine, Top1, Agreement, WeightSize, Compression, Samples, Time, Count };
  enum Role { SortRole = Qt::UserRole + 1 };

  using QAbstractTableModel::QAbstractTableModel;
  // Replaces every row.
  void setRuns(std::vector<EvalRun> runs);
  // Adds a run, replacing an earlier one with the same label and engine.
  void addRun(const EvalRun& run);
  void clear();
  const std::vector<EvalRun>& runs() const { return runs_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  std::vector<EvalRun> runs_;
};

}  // namespace qs::ui
