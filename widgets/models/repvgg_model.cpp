#include "widgets/models/repvgg_model.h"

#include <QBrush>
#include <QGuiApplication>
#include <QLocale>
#include <QPalette>
#include <QStringList>
#include <limits>

#include "widgets/common/format.h"
#include "widgets/common/palette.h"

namespace qs::ui {

void RepvggBlockModel::setBlocks(std::vector<repvgg::BlockReport> blocks) {
  beginResetModel();
  blocks_ = std::move(blocks);
  endResetModel();
}

QString RepvggBlockModel::verdictText(const repvgg::Verdict& v) {
  QStringList f;
  if (!v.weights_ok) f << tr("INT8 weights collapse");
  if (!v.activations_ok) f << tr("INT8 activations collapse");
  if (!v.low_bit_ok) f << tr("INT4 weights collapse");
  return f.join(QStringLiteral(", "));
}

int RepvggBlockModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(blocks_.size());
}
int RepvggBlockModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(Column::Count);
}

QVariant RepvggBlockModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() ||
      !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
    return {};
  const repvgg::BlockReport& b = blocks_[static_cast<size_t>(index.row())];
  const auto c = static_cast<Column>(index.column());
  auto sqnr = [&](const char* name) {
    const repvgg::WeightQuantError* e = b.weight_error(name);
    return e ? e->output.sqnr_db : std::numeric_limits<double>::quiet_NaN();
  };
  if (role == Qt::DisplayRole) {
    switch (c) {
      case Column::Block:
        return qstr(b.block.name);
      case Column::Structure:
        return qstr(b.block.variant() + ": " + b.block.structure());
      case Column::BranchStd: {
        QStringList parts;
        for (const auto& br : b.branches)
          parts << QStringLiteral("%1 %2").arg(qstr(br.label), QLocale().toString(br.out.std, 'g', 3));
        return parts.join(QStringLiteral(" · "));
      }
      case Column::FusedMaxOverStd:
        return QLocale().toString(b.kernel_max_over_std, 'f', 1);
      case Column::W8Sqnr:
        return formatDb(sqnr("w8_per_tensor"));
      case Column::W4Sqnr:
        return formatDb(sqnr("w4_per_channel"));
      case Column::A8Sqnr:
        return formatDb(b.act_per_tensor.sqnr_db);
      case Column::Verdict: {
        const QString v = verdictText(b.verdict);
        return v.isEmpty() ? tr("quantization-friendly") : v;
      }
      case Column::Count:
        break;
    }
    return {};
  }
  if (role == SortRole) {
    switch (c) {
      case Column::FusedMaxOverStd:
        return b.kernel_max_over_std;
      case Column::W8Sqnr:
        return sqnr("w8_per_tensor");
      case Column::W4Sqnr:
        return sqnr("w4_per_channel");
      case Column::A8Sqnr:
        return b.act_per_tensor.sqnr_db;
      default:
        return data(index, Qt::DisplayRole);
    }
  }
  if (role == Qt::ToolTipRole) {
    if (c == Column::Verdict) {
      QStringList lines;
      for (const std::string* s : {&b.verdict.weights, &b.verdict.activations, &b.verdict.low_bit})
        if (!s->empty()) lines << qstr(*s);
      return lines.join(QLatin1Char('\n'));
    }
    if (c == Column::BranchStd)
      return tr("Standard deviation of each branch's output over the calibration data");
    if (c == Column::FusedMaxOverStd)
      return tr("max|w| / std of the fused kernel: large values waste the INT8 grid");
    return {};
  }
  if (role == FlaggedRole) return b.verdict.flagged();
  if (role == BlockNameRole) return qstr(b.block.name);
  if (role == Qt::ForegroundRole && c == Column::Verdict && b.verdict.flagged())
    return QBrush(seriesColor(SeriesRole::Clip, QGuiApplication::palette()));
  if (role == Qt::TextAlignmentRole && c != Column::Block && c != Column::Structure &&
      c != Column::BranchStd && c != Column::Verdict)
    return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
  return {};
}

QVariant RepvggBlockModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 || section >= columnCount())
    return {};
  switch (static_cast<Column>(section)) {
    case Column::Block:
      return tr("Block");
    case Column::Structure:
      return tr("Structure");
    case Column::BranchStd:
      return tr("Branch output std");
    case Column::FusedMaxOverStd:
      return tr("Fused max/std");
    case Column::W8Sqnr:
      return tr("W8 SQNR (per tensor)");
    case Column::W4Sqnr:
      return tr("W4 SQNR (per channel)");
    case Column::A8Sqnr:
      return tr("A8 SQNR");
    case Column::Verdict:
      return tr("Verdict");
    case Column::Count:
      break;
  }
  return {};
}

}  // namespace qs::ui
