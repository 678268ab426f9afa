// ResultsChart: top-1 of every evaluation run and, for quantized runs, agreement with float, as bars.
#pragma once

#include <vector>

#include "widgets/charts/chart_view.h"
#include "widgets/models/results_model.h"

class QBarSeries;
class QBarSet;
class QBarCategoryAxis;
class QValueAxis;

namespace qs::ui {

class ResultsChart : public ThemedChartView {
  Q_OBJECT

 public:
  explicit ResultsChart(QWidget* parent = nullptr);
  void setRuns(const std::vector<EvalRun>& runs);
  bool hasData() const { return has_data_; }

 protected:
  void restyle() override;

 private:
  QBarSeries* bars_ = nullptr;
  QBarSet* top1_ = nullptr;
  QBarSet* agree_ = nullptr;
  QBarCategoryAxis* x_ = nullptr;
  QValueAxis* y_ = nullptr;
  bool has_data_ = false;
};

}  // namespace qs::ui
