// BitsChart: weight and activation bit-widths along the network for one or two plans (plan comparison;
// the mixed-precision view shows its solution with it).
#pragma once

#include <optional>
#include <string>

#include "core/graph/graph.h"
#include "core/quant/plan.h"
#include "widgets/charts/chart_view.h"

class QLineSeries;
class QValueAxis;
class QCategoryAxis;

namespace qs::ui {

class BitsChart : public ThemedChartView {
  Q_OBJECT

 public:
  explicit BitsChart(QWidget* parent = nullptr);
  // `b` may be absent. Rows follow network_order of `a` (or of `b` when there is no `a`).
  void setPlans(const Graph& g, const QuantPlan* a, const QuantPlan* b, const QString& label_a,
                const QString& label_b);
  void clear(const QString& text);
  bool hasData() const { return has_data_; }

 protected:
  void restyle() override;

 private:
  QLineSeries* wa_ = nullptr;
  QLineSeries* aa_ = nullptr;
  QLineSeries* wb_ = nullptr;
  QLineSeries* ab_ = nullptr;
  QValueAxis* x_ = nullptr;
  QCategoryAxis* y_ = nullptr;
  bool has_data_ = false;
};

}  // namespace qs::ui
