#include "widgets/charts/results_chart.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QValueAxis>
#include <algorithm>
#include <cmath>

#include "widgets/common/palette.h"

namespace qs::ui {

ResultsChart::ResultsChart(QWidget* parent) : ThemedChartView(parent) {
  bars_ = new QBarSeries();
  top1_ = new QBarSet(tr("top-1 (%)"));
  agree_ = new QBarSet(tr("agreement with float (%)"));
  bars_->append(top1_);
  bars_->append(agree_);
  bars_->setLabelsVisible(true);
  bars_->setLabelsPosition(QAbstractBarSeries::LabelsOutsideEnd);
  bars_->setLabelsFormat(QStringLiteral("@value"));
  bars_->setLabelsPrecision(4);
  x_ = new QBarCategoryAxis(this);
  y_ = new QValueAxis(this);
  y_->setTitleText(tr("%"));
  chart()->addSeries(bars_);
  chart()->addAxis(x_, Qt::AlignBottom);
  chart()->addAxis(y_, Qt::AlignLeft);
  bars_->attachAxis(x_);
  bars_->attachAxis(y_);
  restyle();
  setRuns({});
}

void ResultsChart::restyle() {
  ThemedChartView::restyle();
  if (!top1_) return;
  const QPalette& p = palette();
  top1_->setColor(seriesColor(SeriesRole::PlanA, p));
  top1_->setBorderColor(seriesColor(SeriesRole::PlanA, p));
  agree_->setColor(seriesColor(SeriesRole::Isolated, p));
  agree_->setBorderColor(seriesColor(SeriesRole::Isolated, p));
  top1_->setLabelColor(p.color(QPalette::Text));
  agree_->setLabelColor(p.color(QPalette::Text));
}

void ResultsChart::setRuns(const std::vector<EvalRun>& runs) {
  has_data_ = !runs.empty();
  top1_->remove(0, top1_->count());
  agree_->remove(0, agree_->count());
  x_->clear();
  if (!has_data_) {
    setEmptyText(tr("Evaluate to compare float and quantized accuracy."));
    return;
  }
  setEmptyText(QString());
  QStringList cats;
  double lo = 100;
  for (const EvalRun& r : runs) {
    cats << QStringLiteral("%1 (%2)").arg(r.label, r.engine);
    const double t = 100.0 * r.top1;
    const double a = r.agreement < 0 ? 0.0 : 100.0 * r.agreement;
    *top1_ << t;
    *agree_ << a;
    lo = std::min(lo, t);
    if (r.agreement >= 0) lo = std::min(lo, a);
  }
  x_->append(cats);
  // Zoom in on the interesting band: differences of a fraction of a percent matter here.
  y_->setRange(std::max(0.0, std::floor(lo / 5) * 5 - 5), 100);
}

}  // namespace qs::ui
