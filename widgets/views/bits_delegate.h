// BitsDelegate: edits a bit-width cell of the layer table with a combo box offering only the widths the
// kind of tensor allows (plan_edit.h), "float" last.
#pragma once

#include <QStyledItemDelegate>

#include "core/quant/plan.h"

namespace qs::ui {

class BitsDelegate : public QStyledItemDelegate {
  Q_OBJECT

 public:
  BitsDelegate(TensorKind kind, QObject* parent = nullptr);
  QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem& option,
                        const QModelIndex& index) const override;
  void setEditorData(QWidget* editor, const QModelIndex& index) const override;
  void setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const override;

 private:
  TensorKind kind_;
};

}  // namespace qs::ui
