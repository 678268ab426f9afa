#include "widgets/models/layer_table_model.h"

#include <QBrush>
#include <QFont>
#include <QGuiApplication>
#include <QLocale>
#include <QPalette>
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/common/error.h"
#include "widgets/common/format.h"
#include "widgets/models/plan_edit.h"

namespace qs::ui {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::pair<float, float> entryRange(const PlanEntry& e) {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (float v : e.lo) lo = std::min(lo, v);
  for (float v : e.hi) hi = std::max(hi, v);
  return {lo, hi};
}

QString bitsLabel(int bits) {
  return bits == kFloatBits ? QCoreApplication::translate("qs::ui::LayerTableModel", "float")
                            : QString::number(bits);
}
}  // namespace

LayerTableModel::LayerTableModel(PlanDocument* doc, QObject* parent)
    : QAbstractTableModel(parent), doc_(doc) {
  connect(doc_, &PlanDocument::entryChanged, this, &LayerTableModel::onEntryChanged);
  connect(doc_, &PlanDocument::planReset, this, &LayerTableModel::onPlanReset);
}

void LayerTableModel::setRows(std::vector<LayerRow> rows, const Graph* g) {
  beginResetModel();
  rows_ = std::move(rows);
  row_of_tensor_.clear();
  weight_minmax_.clear();
  live_.clear();
  for (size_t i = 0; i < rows_.size(); ++i) {
    const LayerRow& r = rows_[i];
    if (!r.weight.empty()) {
      row_of_tensor_[r.weight] = static_cast<int>(i);
      if (const Tensor* t = g ? g->initializer(r.weight) : nullptr;
          t && t->dtype() == DType::Float32 && t->numel()) {
        const auto s = t->span<float>();
        const auto [mn, mx] = std::minmax_element(s.begin(), s.end());
        weight_minmax_[r.weight] = {*mn, *mx};
      }
    }
    if (!r.activation.empty()) row_of_tensor_[r.activation] = static_cast<int>(i);
  }
  endResetModel();
}

void LayerTableModel::setReport(std::shared_ptr<const AnalysisReport> report, const QuantPlan* report_plan) {
  report_ = std::move(report);
  report_by_tensor_.clear();
  report_entries_.clear();
  live_.clear();
  if (report_)
    for (const auto& t : report_->tensors) report_by_tensor_[t.tensor] = &t;
  if (report_plan)
    for (const auto& e : report_plan->entries) report_entries_[e.tensor] = e;
  if (!rows_.empty()) emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
}

void LayerTableModel::setLiveIsolated(const std::string& tensor, double sqnr_db) {
  if (std::isnan(sqnr_db))
    live_.erase(tensor);
  else
    live_[tensor] = sqnr_db;
  const int r = rowOfTensor(tensor);
  if (r >= 0) emit dataChanged(index(r, 0), index(r, columnCount() - 1));
}

void LayerTableModel::setSensitivity(std::map<std::string, double> trace_by_tensor) {
  sensitivity_ = std::move(trace_by_tensor);
  if (!rows_.empty())
    emit dataChanged(index(0, col(Column::Sensitivity)), index(rowCount() - 1, col(Column::Flags)));
}

void LayerTableModel::setVerdicts(std::map<std::string, QString> verdict_by_layer) {
  verdicts_ = std::move(verdict_by_layer);
  if (!rows_.empty())
    emit dataChanged(index(0, col(Column::Flags)), index(rowCount() - 1, col(Column::Flags)));
}

void LayerTableModel::setPins(std::set<std::string> pinned) {
  pins_ = std::move(pinned);
  if (!rows_.empty())
    emit dataChanged(index(0, col(Column::Flags)), index(rowCount() - 1, col(Column::Flags)));
}

void LayerTableModel::setClipFlagThreshold(double fraction) {
  clip_flag_ = fraction;
  if (!rows_.empty())
    emit dataChanged(index(0, col(Column::Flags)), index(rowCount() - 1, col(Column::Flags)));
}

int LayerTableModel::rowOfTensor(const std::string& tensor) const {
  auto it = row_of_tensor_.find(tensor);
  return it == row_of_tensor_.end() ? -1 : it->second;
}

int LayerTableModel::rowOfName(const std::string& name) const {
  for (size_t i = 0; i < rows_.size(); ++i)
    if (rows_[i].name == name) return static_cast<int>(i);
  return -1;
}

int LayerTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int LayerTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(Column::Count);
}

const TensorReport* LayerTableModel::report(const std::string& tensor) const {
  auto it = report_by_tensor_.find(tensor);
  return it == report_by_tensor_.end() ? nullptr : it->second;
}

bool LayerTableModel::stale(const std::string& tensor) const {
  if (!report_) return false;
  const PlanEntry* now = doc_->entry(tensor);
  auto then = report_entries_.find(tensor);
  if (!now || then == report_entries_.end()) return now != nullptr;
  return !sameQuantization(*now, then->second);
}

double LayerTableModel::isolatedSqnr(const std::string& tensor, bool* live, bool* is_stale) const {
  *live = false;
  *is_stale = false;
  if (tensor.empty()) return kNaN;
  const bool st = stale(tensor);
  if (auto it = live_.find(tensor); it != live_.end() && (st || !report(tensor))) {
    *live = true;
    return it->second;
  }
  const TensorReport* t = report(tensor);
  if (!t) return kNaN;
  *is_stale = st;
  return t->isolated.sqnr_db;
}

double LayerTableModel::sensitivityOf(const LayerRow& r) const {
  // The row's activation (what flows on), else its weight.
  for (const std::string* t : {&r.activation, &r.weight})
    if (auto it = sensitivity_.find(*t); !t->empty() && it != sensitivity_.end()) return it->second;
  return kNaN;
}

QStringList LayerTableModel::flagsOf(const LayerRow& r) const {
  QStringList f;
  for (const std::string* t : {&r.weight, &r.activation}) {
    if (t->empty()) continue;
    if (const TensorReport* tr_ = report(*t); tr_ && tr_->quantized && tr_->clipped_fraction > clip_flag_)
      f << (tr_->kind == TensorKind::Weight ? tr("weights clipped") : tr("activations clipped"));
    if (const PlanEntry* e = doc_->entry(*t); e && !e->quantize)
      f << (e->kind == TensorKind::Weight ? tr("float weights") : tr("float activations"));
  }
  if (auto it = verdicts_.find(r.name); it != verdicts_.end() && !it->second.isEmpty()) f << it->second;
  for (const std::string* t : {&r.weight, &r.activation})
    if (!t->empty() && pins_.count(*t)) f << tr("pinned");
  return f;
}

QVariant LayerTableModel::display(const LayerRow& r, Column c) const {
  auto entryText = [&](const std::string& tensor) -> QVariant {
    const PlanEntry* e = tensor.empty() ? nullptr : doc_->entry(tensor);
    if (!e) return {};
    return bitsLabel(displayBits(*e));
  };
  auto sqnr = [&](const std::string& tensor) -> QVariant {
    bool live = false, st = false;
    const double v = isolatedSqnr(tensor, &live, &st);
    if (std::isnan(v)) return {};
    return formatDb(v);
  };
  switch (c) {
    case Column::Name:
      return qstr(r.name);
    case Column::Op:
      return qstr(r.op_type);
    case Column::WeightShape:
      return r.weight.empty() ? QVariant() : formatShape(r.weight_shape, true);
    case Column::Params:
      return r.weight.empty() ? QVariant() : formatCount(r.params);
    case Column::Macs:
      return r.macs ? formatSi(static_cast<double>(*r.macs)) : QVariant();
    case Column::WeightRange: {
      if (r.weight.empty()) return {};
      if (const PlanEntry* e = doc_->entry(r.weight)) {
        const auto [lo, hi] = entryRange(*e);
        return formatRange(lo, hi);
      }
      if (auto it = weight_minmax_.find(r.weight); it != weight_minmax_.end())
        return formatRange(it->second.first, it->second.second);
      return {};
    }
    case Column::ActRange: {
      if (r.activation.empty()) return {};
      if (const PlanEntry* e = doc_->entry(r.activation)) {
        const auto [lo, hi] = entryRange(*e);
        return formatRange(lo, hi);
      }
      return {};
    }
    case Column::WeightBits:
      return entryText(r.weight);
    case Column::ActBits:
      return entryText(r.activation);
    case Column::WeightSqnr:
      return sqnr(r.weight);
    case Column::ActSqnr:
      return sqnr(r.activation);
    case Column::CumSqnr: {
      const std::string& t = r.activation.empty() ? r.weight : r.activation;
      const TensorReport* tr_ = t.empty() ? nullptr : report(t);
      return tr_ ? formatDb(tr_->cumulative.sqnr_db) : QVariant();
    }
    case Column::Sensitivity: {
      const double v = sensitivityOf(r);
      if (std::isnan(v)) return {};
      return QLocale().toString(v, 'g', 3);
    }
    case Column::Flags:
      return flagsOf(r).join(QStringLiteral(", "));
    case Column::Count:
      break;
  }
  return {};
}

QVariant LayerTableModel::sortValue(const LayerRow& r, Column c) const {
  auto num = [](double v) {
    return std::isnan(v) ? QVariant(-std::numeric_limits<double>::infinity()) : QVariant(v);
  };
  switch (c) {
    case Column::Params:
      return static_cast<double>(r.params);
    case Column::Macs:
      return r.macs ? static_cast<double>(*r.macs) : -1.0;
    case Column::WeightShape:
      return static_cast<double>(r.weight.empty() ? 0 : numel(r.weight_shape));
    case Column::WeightBits:
    case Column::ActBits: {
      const std::string& t = c == Column::WeightBits ? r.weight : r.activation;
      const PlanEntry* e = t.empty() ? nullptr : doc_->entry(t);
      return e ? static_cast<double>(displayBits(*e)) : 0.0;
    }
    case Column::WeightSqnr:
    case Column::ActSqnr: {
      bool live = false, st = false;
      return num(isolatedSqnr(c == Column::WeightSqnr ? r.weight : r.activation, &live, &st));
    }
    case Column::CumSqnr: {
      const std::string& t = r.activation.empty() ? r.weight : r.activation;
      const TensorReport* tr_ = t.empty() ? nullptr : report(t);
      return num(tr_ ? tr_->cumulative.sqnr_db : kNaN);
    }
    case Column::Sensitivity:
      return num(sensitivityOf(r));
    case Column::WeightRange:
    case Column::ActRange: {
      const std::string& t = c == Column::WeightRange ? r.weight : r.activation;
      const PlanEntry* e = t.empty() ? nullptr : doc_->entry(t);
      if (!e) return num(kNaN);
      const auto [lo, hi] = entryRange(*e);
      return static_cast<double>(hi - lo);
    }
    default:
      return display(r, c).toString();
  }
}

QVariant LayerTableModel::tooltip(const LayerRow& r, Column c) const {
  switch (c) {
    case Column::Name: {
      QString t = tr("Node: %1").arg(qstr(r.name));
      if (!r.weight.empty()) t += QLatin1Char('\n') + tr("Weight: %1").arg(qstr(r.weight));
      if (!r.activation.empty())
        t += QLatin1Char('\n') +
             (r.fused_activation ? tr("Activation: %1 (after the fused activation)") : tr("Activation: %1"))
                 .arg(qstr(r.activation));
      if (r.output_shape) t += QLatin1Char('\n') + tr("Output shape: %1").arg(formatShape(*r.output_shape));
      return t;
    }
    case Column::Macs:
      return r.macs ? tr("%1 multiply-accumulates per sample").arg(formatCount(*r.macs)) : QVariant();
    case Column::WeightBits:
    case Column::ActBits: {
      const std::string& t = c == Column::WeightBits ? r.weight : r.activation;
      const PlanEntry* e = t.empty() ? nullptr : doc_->entry(t);
      if (!e) return {};
      const QString kind = e->spec.symmetric ? tr("symmetric") : tr("asymmetric");
      const QString sign = e->spec.is_signed ? tr("signed") : tr("unsigned");
      const QString gran =
          e->spec.axis < 0 ? tr("per tensor") : tr("per channel (axis %1)").arg(e->spec.axis);
      return tr("%1, %2, %3; range from %4").arg(kind, sign, gran, qstr(e->method));
    }
    case Column::WeightSqnr:
    case Column::ActSqnr: {
      bool live = false, st = false;
      isolatedSqnr(c == Column::WeightSqnr ? r.weight : r.activation, &live, &st);
      if (live) return tr("Re-simulated after the last edit (only this tensor quantized)");
      if (st) return tr("From the last analysis; the entry has changed since (analyze again to update)");
      return tr("Only this tensor quantized, the rest of the network in float");
    }
    case Column::CumSqnr:
      return tr("The whole plan applied: error accumulated up to this point");
    case Column::Sensitivity: {
      QString t = tr("Label-free Hessian trace of the model output with respect to this activation");
      if (auto it = sensitivity_.find(r.weight); !r.weight.empty() && it != sensitivity_.end())
        t += QLatin1Char('\n') + tr("Weight: %1").arg(QLocale().toString(it->second, 'g', 3));
      return t;
    }
    default:
      return {};
  }
}

QVariant LayerTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() ||
      !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
    return {};
  const LayerRow& r = rows_[static_cast<size_t>(index.row())];
  const auto c = static_cast<Column>(index.column());
  switch (role) {
    case Qt::DisplayRole:
      return display(r, c);
    case Qt::EditRole:
      if (c == Column::WeightBits || c == Column::ActBits) {
        const std::string& t = c == Column::WeightBits ? r.weight : r.activation;
        const PlanEntry* e = t.empty() ? nullptr : doc_->entry(t);
        return e ? QVariant(displayBits(*e)) : QVariant();
      }
      return display(r, c);
    case SortRole:
      return sortValue(r, c);
    case Qt::ToolTipRole:
      return tooltip(r, c);
    case Qt::TextAlignmentRole:
      if (c == Column::Name || c == Column::Op || c == Column::Flags)
        return QVariant::fromValue(Qt::AlignLeft | Qt::AlignVCenter);
      return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::ForegroundRole:
      if (c == Column::WeightSqnr || c == Column::ActSqnr) {
        bool live = false, st = false;
        isolatedSqnr(c == Column::WeightSqnr ? r.weight : r.activation, &live, &st);
        if (st) return QGuiApplication::palette().brush(QPalette::Disabled, QPalette::Text);
      }
      if (c == Column::CumSqnr && (stale(r.weight) || stale(r.activation)))
        return QGuiApplication::palette().brush(QPalette::Disabled, QPalette::Text);
      return {};
    case Qt::FontRole:
      if (c == Column::WeightSqnr || c == Column::ActSqnr) {
        bool live = false, st = false;
        isolatedSqnr(c == Column::WeightSqnr ? r.weight : r.activation, &live, &st);
        if (live) {
          QFont f;
          f.setItalic(true);
          return f;
        }
      }
      return {};
    case WeightTensorRole:
      return qstr(r.weight);
    case ActTensorRole:
      return qstr(r.activation);
    case FlaggedRole:
      return !flagsOf(r).isEmpty();
    case StaleRole:
      return stale(r.weight) || stale(r.activation);
    default:
      return {};
  }
}

bool LayerTableModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (role != Qt::EditRole || !index.isValid() ||
      !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
    return false;
  const auto c = static_cast<Column>(index.column());
  if (c != Column::WeightBits && c != Column::ActBits) return false;
  const LayerRow& r = rows_[static_cast<size_t>(index.row())];
  const std::string& t = c == Column::WeightBits ? r.weight : r.activation;
  bool ok = false;
  const int bits = value.toInt(&ok);
  if (t.empty() || !ok) return false;
  try {
    doc_->setBits(t, bits);  // dataChanged follows from the document's entryChanged
    return true;
  } catch (const Error& e) {
    emit editFailed(QString::fromUtf8(e.what()));
    return false;
  }
}

Qt::ItemFlags LayerTableModel::flags(const QModelIndex& index) const {
  if (!index.isValid() ||
      !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
    return Qt::NoItemFlags;
  Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemNeverHasChildren;
  const auto c = static_cast<Column>(index.column());
  if (c == Column::WeightBits || c == Column::ActBits) {
    const LayerRow& r = rows_[static_cast<size_t>(index.row())];
    const std::string& t = c == Column::WeightBits ? r.weight : r.activation;
    if (!t.empty() && doc_->entry(t)) f |= Qt::ItemIsEditable;
  }
  return f;
}

QVariant LayerTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || section < 0 || section >= columnCount()) return {};
  const auto c = static_cast<Column>(section);
  if (role == Qt::DisplayRole) {
    switch (c) {
      case Column::Name:
        return tr("Name");
      case Column::Op:
        return tr("Op");
      case Column::WeightShape:
        return tr("Weight shape");
      case Column::Params:
        return tr("Parameters");
      case Column::Macs:
        return tr("MACs");
      case Column::WeightRange:
        return tr("Weight range");
      case Column::ActRange:
        return tr("Activation range");
      case Column::WeightBits:
        return tr("W bits");
      case Column::ActBits:
        return tr("A bits");
      case Column::WeightSqnr:
        return tr("W SQNR (isolated)");
      case Column::ActSqnr:
        return tr("A SQNR (isolated)");
      case Column::CumSqnr:
        return tr("SQNR (cumulative)");
      case Column::Sensitivity:
        return tr("LFH sensitivity");
      case Column::Flags:
        return tr("Flags");
      case Column::Count:
        break;
    }
  } else if (role == Qt::ToolTipRole) {
    switch (c) {
      case Column::WeightBits:
        return tr("Weight bit-width (2–8, or float); double-click to edit");
      case Column::ActBits:
        return tr("Activation bit-width (4–8, 16, or float); double-click to edit");
      case Column::WeightRange:
        return tr("Calibrated weight range (all channels)");
      case Column::ActRange:
        return tr("Calibrated activation range");
      default:
        return {};
    }
  }
  return {};
}

void LayerTableModel::onEntryChanged(const QString& tensor) {
  const std::string t = sstr(tensor);
  live_.erase(t);
  const int r = rowOfTensor(t);
  if (r >= 0) emit dataChanged(index(r, 0), index(r, columnCount() - 1));
}

void LayerTableModel::onPlanReset() {
  live_.clear();
  if (!rows_.empty()) emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
}

}  // namespace qs::ui
