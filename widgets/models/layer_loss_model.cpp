#include "widgets/models/layer_loss_model.h"

#include <QLocale>
#include <cmath>
#include <limits>

#include "widgets/common/format.h"

namespace qs::ui {

void LayerLossModel::setRows(std::vector<LayerLoss> rows, const QString& algorithm) {
  beginResetModel();
  rows_ = std::move(rows);
  algorithm_ = algorithm;
  endResetModel();
  emit headerDataChanged(Qt::Horizontal, 0, columnCount() - 1);
}

double LayerLossModel::reduction(const LayerLoss& r) {
  if (!(r.loss_before > 0)) return std::numeric_limits<double>::quiet_NaN();
  return 1.0 - r.loss_after / r.loss_before;
}

int LayerLossModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}
int LayerLossModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(Column::Count);
}

QVariant LayerLossModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() ||
      !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
    return {};
  const LayerLoss& r = rows_[static_cast<size_t>(index.row())];
  const auto c = static_cast<Column>(index.column());
  // Losses relative to the layer's signal, so layers of different scales compare.
  auto rel = [&](double loss) { return r.signal > 0 ? loss / r.signal : loss; };
  if (role == Qt::DisplayRole) {
    switch (c) {
      case Column::Layer:
        return r.layer;
      case Column::Op:
        return r.op_type;
      case Column::Baseline:
        return r.compressed ? QLocale().toString(rel(r.loss_before), 'e', 2) : QVariant();
      case Column::After:
        return r.compressed ? QLocale().toString(rel(r.loss_after), 'e', 2) : r.note;
      case Column::Reduction:
        return r.compressed ? formatPercent(reduction(r), 1) : QVariant();
      case Column::Sparsity:
        return formatPercent(r.sparsity, 1);
      case Column::Time:
        return QLocale().toString(r.seconds, 'f', 2) + QStringLiteral(" s");
      case Column::Count:
        break;
    }
    return {};
  }
  if (role == SortRole) {
    switch (c) {
      case Column::Layer:
        return r.layer;
      case Column::Op:
        return r.op_type;
      case Column::Baseline:
        return rel(r.loss_before);
      case Column::After:
        return rel(r.loss_after);
      case Column::Reduction:
        return reduction(r);
      case Column::Sparsity:
        return r.sparsity;
      case Column::Time:
        return r.seconds;
      case Column::Count:
        break;
    }
    return {};
  }
  if (role == Qt::ToolTipRole && !r.note.isEmpty()) return r.note;
  if (role == Qt::TextAlignmentRole && c != Column::Layer && c != Column::Op)
    return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
  return {};
}

QVariant LayerLossModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || section < 0 || section >= columnCount()) return {};
  if (role == Qt::ToolTipRole &&
      (section == static_cast<int>(Column::Baseline) || section == static_cast<int>(Column::After)))
    return tr("Layer output error ‖WX − ŴX‖² relative to ‖WX‖², on the layer's calibration inputs");
  if (role != Qt::DisplayRole) return {};
  switch (static_cast<Column>(section)) {
    case Column::Layer:
      return tr("Layer");
    case Column::Op:
      return tr("Op");
    case Column::Baseline:
      return tr("Round-to-nearest");
    case Column::After:
      return algorithm_.isEmpty() ? tr("After") : algorithm_;
    case Column::Reduction:
      return tr("Error removed");
    case Column::Sparsity:
      return tr("Sparsity");
    case Column::Time:
      return tr("Time");
    case Column::Count:
      break;
  }
  return {};
}

}  // namespace qs::ui
