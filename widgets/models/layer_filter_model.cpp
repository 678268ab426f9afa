#include "widgets/models/layer_filter_model.h"

#include <QRegularExpression>

#include "widgets/models/layer_table_model.h"

namespace qs::ui {

LayerFilterModel::LayerFilterModel(QObject* parent) : QSortFilterProxyModel(parent) {
  setSortRole(LayerTableModel::SortRole);
  setDynamicSortFilter(true);
}

void LayerFilterModel::setText(const QString& text) {
  text_ = text.trimmed();
  // A plain substring unless the user typed wildcards.
  const QString pattern = text_.contains(QLatin1Char('*')) || text_.contains(QLatin1Char('?'))
                              ? QRegularExpression::wildcardToRegularExpression(
                                    text_, QRegularExpression::UnanchoredWildcardConversion)
                              : QRegularExpression::escape(text_);
  re_ = QRegularExpression(pattern, QRegularExpression::CaseInsensitiveOption);
  invalidateRowsFilter();
}

void LayerFilterModel::setFlaggedOnly(bool on) {
  flagged_only_ = on;
  invalidateRowsFilter();
}

bool LayerFilterModel::filterAcceptsRow(int source_row, const QModelIndex& source_parent) const {
  const QAbstractItemModel* m = sourceModel();
  if (!m) return true;
  if (flagged_only_ && !m->index(source_row, 0, source_parent).data(LayerTableModel::FlaggedRole).toBool())
    return false;
  if (text_.isEmpty()) return true;
  const QModelIndex name =
      m->index(source_row, LayerTableModel::col(LayerTableModel::Column::Name), source_parent);
  const QModelIndex op =
      m->index(source_row, LayerTableModel::col(LayerTableModel::Column::Op), source_parent);
  for (const QString& s :
       {name.data().toString(), op.data().toString(), name.data(LayerTableModel::WeightTensorRole).toString(),
        name.data(LayerTableModel::ActTensorRole).toString()})
    if (re_.match(s).hasMatch()) return true;
  return false;
}

}  // namespace qs::ui
