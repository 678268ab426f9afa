// ParetoChart: the mixed-precision trade-off — predicted loss against weight memory for the distinct
// optimal allocations of a budget sweep (core/algo/mixed/ilp.h), the memory budget as a vertical line and
// the chosen point highlighted. Clicking a point emits its index (the window applies that plan).
#pragma once

#include <vector>

#include "widgets/charts/chart_view.h"

class QLineSeries;
class QScatterSeries;
class QValueAxis;
class QLogValueAxis;

namespace qs::ui {

class ParetoChart : public ThemedChartView {
  Q_OBJECT

 public:
  struct Point {
    double weight_bytes = 0;
    double loss = 0;  // predicted (sum of sensitivities), >= 0
  };
  explicit ParetoChart(QWidget* parent = nullptr);
  void setPoints(const std::vector<Point>& points);
  void setBudget(double weight_bytes);
  void setChosen(int index);  // -1: none
  void clear(const QString& text);
  bool hasData() const { return !points_.empty(); }

 signals:
  void pointClicked(int index);

 protected:
  void restyle() override;

 private:
  double shownLoss(double loss) const;
  QLineSeries* curve_ = nullptr;
  QScatterSeries* chosen_ = nullptr;
  QLineSeries* budget_ = nullptr;
  QValueAxis* x_ = nullptr;
  QLogValueAxis* y_ = nullptr;
  std::vector<Point> points_;
  double floor_ = 1e-12;  // losses of 0 (all at 8 bits can be exact) are drawn at the axis floor
  double ymin_ = 1e-6, ymax_ = 1;
};

}  // namespace qs::ui
