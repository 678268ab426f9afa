// SensitivityChart: the label-free Hessian trace (LFH, core/algo/lfh.h) of every weight and activation
// along the network, on a log axis (traces span orders of magnitude). Clicking a point selects that
// tensor.
#pragma once

#include <string>
#include <vector>

#include "core/quant/plan.h"
#include "widgets/charts/chart_view.h"

class QLineSeries;
class QLogValueAxis;
class QScatterSeries;
class QValueAxis;

namespace qs::ui {

class SensitivityChart : public ThemedChartView {
  Q_OBJECT

 public:
  struct Point {
    std::string tensor;
    TensorKind kind = TensorKind::Activation;
    double trace = 0;
    double normalized = 0;
  };

  explicit SensitivityChart(QWidget* parent = nullptr);
  // Points in network order.
  void setPoints(const std::vector<Point>& points);
  void clear(const QString& text);
  void setSelected(const std::string& tensor);
  bool hasData() const { return !points_.empty(); }

 signals:
  void tensorClicked(const QString& tensor);

 protected:
  void restyle() override;

 private:
  void onClicked(const QPointF& p);
  void onHovered(const QPointF& p, bool state);

  QLineSeries* w_ = nullptr;
  QLineSeries* a_ = nullptr;
  QLineSeries* sel_ = nullptr;
  QValueAxis* x_ = nullptr;
  QLogValueAxis* y_ = nullptr;
  std::vector<Point> points_;
  double ymin_ = 1, ymax_ = 10;
};

}  // namespace qs::ui
