#include "widgets/models/results_model.h"

#include <QLocale>

#include "widgets/common/format.h"

namespace qs::ui {

void ResultsModel::setRuns(std::vector<EvalRun> runs) {
  beginResetModel();
  runs_ = std::move(runs);
  endResetModel();
}

void ResultsModel::addRun(const EvalRun& run) {
  for (size_t i = 0; i < runs_.size(); ++i)
    if (runs_[i].label == run.label && runs_[i].engine == run.engine) {
      runs_[i] = run;
      const int r = static_cast<int>(i);
      emit dataChanged(index(r, 0), index(r, columnCount() - 1));
      return;
    }
  const int r = rowCount();
  beginInsertRows({}, r, r);
  runs_.push_back(run);
  endInsertRows();
}

void ResultsModel::clear() {
  if (runs_.empty()) return;
  beginRemoveRows({}, 0, rowCount() - 1);
  runs_.clear();
  endRemoveRows();
}

int ResultsModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(runs_.size());
}
int ResultsModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(Column::Count);
}

QVariant ResultsModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() ||
      !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
    return {};
  const EvalRun& r = runs_[static_cast<size_t>(index.row())];
  const auto c = static_cast<Column>(index.column());
  const double compression = r.weight_bytes > 0 ? r.float_weight_bytes / r.weight_bytes : 0;
  if (role == Qt::DisplayRole) {
    switch (c) {
      case Column::Run:
        return r.label;
      case Column::Engine:
        return r.engine;
      case Column::Top1:
        return formatPercent(r.top1);
      case Column::Agreement:
        return r.agreement < 0 ? QVariant() : formatPercent(r.agreement);
      case Column::WeightSize:
        return formatBytes(r.weight_bytes);
      case Column::Compression:
        return compression > 0 ? QLocale().toString(compression, 'f', 2) + QChar(0x00D7) : QVariant();
      case Column::Samples:
        return formatCount(r.count);
      case Column::Time:
        return QLocale().toString(r.seconds, 'f', 2) + QStringLiteral(" s");
      case Column::Count:
        break;
    }
    return {};
  }
  if (role == SortRole) {
    switch (c) {
      case Column::Run:
        return r.label;
      case Column::Engine:
        return r.engine;
      case Column::Top1:
        return r.top1;
      case Column::Agreement:
        return r.agreement;
      case Column::WeightSize:
        return r.weight_bytes;
      case Column::Compression:
        return compression;
      case Column::Samples:
        return static_cast<qlonglong>(r.count);
      case Column::Time:
        return r.seconds;
      case Column::Count:
        break;
    }
    return {};
  }
  if (role == Qt::TextAlignmentRole && c != Column::Run && c != Column::Engine)
    return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
  return {};
}

QVariant ResultsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 || section >= columnCount())
    return {};
  switch (static_cast<Column>(section)) {
    case Column::Run:
      return tr("Run");
    case Column::Engine:
      return tr("Engine");
    case Column::Top1:
      return tr("Top-1");
    case Column::Agreement:
      return tr("Agreement with float");
    case Column::WeightSize:
      return tr("Weights");
    case Column::Compression:
      return tr("Compression");
    case Column::Samples:
      return tr("Samples");
    case Column::Time:
      return tr("Time");
    case Column::Count:
      break;
  }
  return {};
}

}  // namespace qs::ui
