// Sorting and filtering of the layer table: a text filter over name, op and tensor names (case-insensitive,
// wildcards * and ?), and "flagged rows only". Sorts on LayerTableModel::SortRole.
#pragma once

#include <QRegularExpression>
#include <QSortFilterProxyModel>

namespace qs::ui {

class LayerFilterModel : public QSortFilterProxyModel {
  Q_OBJECT

 public:
  explicit LayerFilterModel(QObject* parent = nullptr);
  void setText(const QString& text);
  void setFlaggedOnly(bool on);
  QString text() const { return text_; }
  bool flaggedOnly() const { return flagged_only_; }

 protected:
  bool filterAcceptsRow(int source_row, const QModelIndex& source_parent) const override;

 private:
  QString text_;
  QRegularExpression re_;
  bool flagged_only_ = false;
};

}  // namespace qs::ui
