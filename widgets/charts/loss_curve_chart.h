// LossCurveChart: an optimizer's loss along its iterations (EPTQ): the training loss of every iteration
// and, as points, the evaluation loss of the hard rounding, with round-to-nearest's as a reference line.
#pragma once

#include <vector>

#include "widgets/charts/chart_view.h"

class QLineSeries;
class QScatterSeries;
class QValueAxis;
class QLogValueAxis;

namespace qs::ui {

class LossCurveChart : public ThemedChartView {
  Q_OBJECT

 public:
  struct Step {
    int iteration = 0;
    double loss = 0;        // training loss (soft), > 0 to be drawn (log axis)
    double eval_loss = -1;  // evaluation loss of the hard rounding, < 0 when not evaluated
  };
  explicit LossCurveChart(QWidget* parent = nullptr);
  void setCurve(const std::vector<Step>& steps, double baseline_eval_loss);
  void clear(const QString& text);
  bool hasData() const { return has_data_; }

 protected:
  void restyle() override;

 private:
  QLineSeries* loss_ = nullptr;
  QScatterSeries* eval_ = nullptr;
  QLineSeries* base_ = nullptr;
  QValueAxis* x_ = nullptr;
  QLogValueAxis* y_ = nullptr;
  bool has_data_ = false;
};

}  // namespace qs::ui
