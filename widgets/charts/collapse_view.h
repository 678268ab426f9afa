// CollapseView: isolated and cumulative SQNR of every quantized tensor along the network (analysis.h).
// Isolated stays high where each tensor alone is harmless; the cumulative curve shows where the network's
// quality falls off. The largest drop of the cumulative curve is marked, the selected tensor is drawn as a
// vertical line, and clicking a point selects that tensor.
#pragma once

#include <QString>
#include <string>
#include <vector>

#include "core/quant/analysis.h"
#include "widgets/charts/chart_view.h"

class QLineSeries;
class QScatterSeries;
class QValueAxis;

namespace qs::ui {

class CollapseView : public ThemedChartView {
  Q_OBJECT

 public:
  explicit CollapseView(QWidget* parent = nullptr);
  // `order`: indices into report.tensors along the network (network_order of the plan).
  void setReport(const AnalysisReport& report, const std::vector<size_t>& order);
  void clear(const QString& text);
  void setSelected(const std::string& tensor);
  bool hasData() const { return !tensors_.empty(); }
  // The tensor after which the cumulative SQNR drops the most ("" when fewer than two points).
  const std::string& largestDrop() const { return drop_; }

 signals:
  void tensorClicked(const QString& tensor);

 protected:
  void restyle() override;

 private:
  void onClicked(const QPointF& p);
  void onHovered(const QPointF& p, bool state);

  QScatterSeries* iso_w_ = nullptr;
  QScatterSeries* iso_a_ = nullptr;
  QLineSeries* cum_ = nullptr;
  QScatterSeries* drop_pt_ = nullptr;
  QLineSeries* sel_ = nullptr;
  QValueAxis* x_ = nullptr;
  QValueAxis* y_ = nullptr;
  std::vector<std::string> tensors_;  // by x position
  std::vector<double> iso_, cum_db_;
  std::string drop_;
  double ymin_ = 0, ymax_ = 1;
};

}  // namespace qs::ui
