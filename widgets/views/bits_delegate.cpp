#include "widgets/views/bits_delegate.h"

#include <QComboBox>

#include "widgets/models/plan_edit.h"

namespace qs::ui {

BitsDelegate::BitsDelegate(TensorKind kind, QObject* parent) : QStyledItemDelegate(parent), kind_(kind) {}

QWidget* BitsDelegate::createEditor(QWidget* parent, const QStyleOptionViewItem&, const QModelIndex&) const {
  auto* box = new QComboBox(parent);
  for (int b : offeredBits(kind_)) box->addItem(b == kFloatBits ? tr("float") : tr("%1 bits").arg(b), b);
  // Commit as soon as a value is picked: one click changes the plan (and pushes one undo step).
  connect(box, &QComboBox::activated, this, [this, box] {
    emit const_cast<BitsDelegate*>(this)->commitData(box);
    emit const_cast<BitsDelegate*>(this)->closeEditor(box);
  });
  return box;
}

void BitsDelegate::setEditorData(QWidget* editor, const QModelIndex& index) const {
  auto* box = static_cast<QComboBox*>(editor);
  const int i = box->findData(index.data(Qt::EditRole).toInt());
  if (i >= 0) box->setCurrentIndex(i);
}

void BitsDelegate::setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const {
  auto* box = static_cast<QComboBox*>(editor);
  model->setData(index, box->currentData(), Qt::EditRole);
}

}  // namespace qs::ui
