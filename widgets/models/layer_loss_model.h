// LayerLossModel: per-layer results of a weight-recovery algorithm (OBQ, GPTQ, pruning; core/algo/obc/):
// the layer loss ‖WX − ŴX‖²/N of round-to-nearest on the same grid and of the algorithm, the reduction,
// sparsity and time — to see which layers the algorithm helped.
#pragma once

#include <QAbstractTableModel>
#include <QString>
#include <vector>

namespace qs::ui {

struct LayerLoss {
  QString layer, op_type;
  double signal = 0;       // ‖WX‖²/N, for scale
  double loss_before = 0;  // baseline (round-to-nearest on the same grid)
  double loss_after = 0;   // the algorithm
  double sparsity = 0;
  double seconds = 0;
  bool compressed = true;
  QString note;  // why a layer was left alone
};

class LayerLossModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum class Column { Layer, Op, Baseline, After, Reduction, Sparsity, Time, Count };
  enum Role { SortRole = Qt::UserRole + 1 };

  using QAbstractTableModel::QAbstractTableModel;
  void setRows(std::vector<LayerLoss> rows, const QString& algorithm);
  const std::vector<LayerLoss>& rows() const { return rows_; }
  // 1 − after/before: the share of the baseline's loss removed (NaN without a baseline loss).
  static double reduction(const LayerLoss& r);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  std::vector<LayerLoss> rows_;
  QString algorithm_;
};

}  // namespace qs::ui
