#include "widgets/models/plan_compare_model.h"

#include <QCoreApplication>
#include <QFont>
#include <algorithm>
#include <limits>
#include <set>

#include "widgets/common/format.h"
#include "widgets/models/plan_edit.h"
#include "widgets/probe/layer_probe.h"

namespace qs::ui {

namespace {
QString rangeText(const PlanEntry* e) {
  if (!e) return {};
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (float v : e->lo) lo = std::min(lo, v);
  for (float v : e->hi) hi = std::max(hi, v);
  return formatRange(lo, hi);
}
QString bitsText(const PlanEntry* e) {
  if (!e) return {};
  const int b = displayBits(*e);
  return b == kFloatBits ? QCoreApplication::translate("qs::ui::PlanCompareModel", "float")
                         : QString::number(b);
}
}  // namespace

PlanCompareModel::PlanCompareModel(PlanDocument* a, QObject* parent) : QAbstractTableModel(parent), a_(a) {
  connect(a_, &PlanDocument::planReset, this, &PlanCompareModel::rebuild);
  connect(a_, &PlanDocument::entryChanged, this, [this](const QString& t) {
    const auto it = std::find(tensors_.begin(), tensors_.end(), sstr(t));
    if (it == tensors_.end()) return;
    const int r = static_cast<int>(it - tensors_.begin());
    emit dataChanged(index(r, 0), index(r, columnCount() - 1));
  });
  rebuild();
}

void PlanCompareModel::setGraph(const Graph* g) {
  g_ = g;
  rebuild();
}

void PlanCompareModel::setPlanB(std::optional<QuantPlan> b) {
  b_ = std::move(b);
  rebuild();
}

void PlanCompareModel::rebuild() {
  beginResetModel();
  tensors_.clear();
  std::set<std::string> seen;
  auto add = [&](const QuantPlan& p) {
    std::vector<size_t> order;
    if (g_)
      order = network_order(*g_, p);
    else
      for (size_t i = 0; i < p.entries.size(); ++i) order.push_back(i);
    for (size_t i : order)
      if (seen.insert(p.entries[i].tensor).second) tensors_.push_back(p.entries[i].tensor);
  };
  if (a_->hasPlan()) add(a_->plan());
  if (b_) add(*b_);
  endResetModel();
}

const PlanEntry* PlanCompareModel::entryB(const std::string& t) const { return b_ ? b_->find(t) : nullptr; }

bool PlanCompareModel::differs(const std::string& t) const {
  const PlanEntry* a = a_->entry(t);
  const PlanEntry* b = entryB(t);
  if (!a || !b) return true;
  return !sameQuantization(*a, *b);
}

int PlanCompareModel::differences() const {
  int n = 0;
  for (const auto& t : tensors_) n += differs(t);
  return n;
}

int PlanCompareModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(tensors_.size());
}
int PlanCompareModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(Column::Count);
}

QVariant PlanCompareModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() ||
      !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
    return {};
  const std::string& t = tensors_[static_cast<size_t>(index.row())];
  const PlanEntry* a = a_->entry(t);
  const PlanEntry* b = entryB(t);
  const PlanEntry* any = a ? a : b;
  const auto c = static_cast<Column>(index.column());
  if (role == Qt::DisplayRole) {
    switch (c) {
      case Column::Tensor:
        return qstr(t);
      case Column::Kind:
        return any && any->kind == TensorKind::Weight ? tr("weight") : tr("activation");
      case Column::BitsA:
        return bitsText(a);
      case Column::BitsB:
        return bitsText(b);
      case Column::RangeA:
        return rangeText(a);
      case Column::RangeB:
        return rangeText(b);
      case Column::Count:
        break;
    }
    return {};
  }
  if (role == Qt::FontRole && differs(t) &&
      (c == Column::BitsA || c == Column::BitsB || c == Column::RangeA || c == Column::RangeB)) {
    QFont f;
    f.setBold(true);
    return f;
  }
  if (role == Qt::TextAlignmentRole && c != Column::Tensor && c != Column::Kind)
    return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
  if (role == DiffersRole) return differs(t);
  if (role == TensorRole) return qstr(t);
  return {};
}

QVariant PlanCompareModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 || section >= columnCount())
    return {};
  switch (static_cast<Column>(section)) {
    case Column::Tensor:
      return tr("Tensor");
    case Column::Kind:
      return tr("Kind");
    case Column::BitsA:
      return tr("Bits A");
    case Column::BitsB:
      return tr("Bits B");
    case Column::RangeA:
      return tr("Range A");
    case Column::RangeB:
      return tr("Range B");
    case Column::Count:
      break;
  }
  return {};
}

}  // namespace qs::ui
