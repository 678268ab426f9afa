// RepvggBlockModel: the RepVGG diagnostics of core/algo/repvgg/diagnose.h, one row per re-parameterizable
// block: its branches' output std-devs, the fused kernel's max/std, the isolated INT8/INT4 errors of the
// fused weights and of the block's activation, and QARepVGG's verdict.
#pragma once

#include <QAbstractTableModel>
#include <vector>

#include "core/algo/repvgg/diagnose.h"

namespace qs::ui {

class RepvggBlockModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum class Column { Block, Structure, BranchStd, FusedMaxOverStd, W8Sqnr, W4Sqnr, A8Sqnr, Verdict, Count };
  enum Role { SortRole = Qt::UserRole + 1, FlaggedRole, BlockNameRole };

  using QAbstractTableModel::QAbstractTableModel;
  void setBlocks(std::vector<repvgg::BlockReport> blocks);
  const std::vector<repvgg::BlockReport>& blocks() const { return blocks_; }
  // The verdict text of a block ("" when it passes every condition).
  static QString verdictText(const repvgg::Verdict& v);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  std::vector<repvgg::BlockReport> blocks_;
};

}  // namespace qs::ui
