// Two plans side by side, one row per tensor (in network order): bits and range of A and B, and whether
// they differ. A is the plan being edited (live), B a snapshot or a plan loaded from a file.
#pragma once

#include <QAbstractTableModel>
#include <optional>
#include <string>
#include <vector>

#include "core/graph/graph.h"
#include "widgets/models/plan_document.h"

namespace qs::ui {

class PlanCompareModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum class Column { Tensor, Kind, BitsA, BitsB, RangeA, RangeB, Count };
  enum Role { DiffersRole = Qt::UserRole + 1, TensorRole };

  explicit PlanCompareModel(PlanDocument* a, QObject* parent = nullptr);
  // `g` orders the rows along the network (may be null: plan order).
  void setGraph(const Graph* g);
  void setPlanB(std::optional<QuantPlan> b);
  const std::optional<QuantPlan>& planB() const { return b_; }
  // Rows whose quantization differs.
  int differences() const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  void rebuild();
  const PlanEntry* entryB(const std::string& t) const;
  bool differs(const std::string& t) const;

  PlanDocument* a_;
  const Graph* g_ = nullptr;
  std::optional<QuantPlan> b_;
  std::vector<std::string> tensors_;
};

}  // namespace qs::ui
