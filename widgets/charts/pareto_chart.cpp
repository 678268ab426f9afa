#include "widgets/charts/pareto_chart.h"

#include <QLineSeries>
#include <QLogValueAxis>
#include <QScatterSeries>
#include <QValueAxis>
#include <algorithm>
#include <cmath>

#include "widgets/common/palette.h"

namespace qs::ui {

ParetoChart::ParetoChart(QWidget* parent) : ThemedChartView(parent) {
  curve_ = new QLineSeries();
  curve_->setName(tr("optimal allocations"));
  curve_->setPointsVisible(true);
  chosen_ = new QScatterSeries();
  chosen_->setName(tr("chosen"));
  chosen_->setMarkerSize(13);
  budget_ = new QLineSeries();
  budget_->setName(tr("memory budget"));
  x_ = new QValueAxis(this);
  x_->setTitleText(tr("weight memory (KiB)"));
  y_ = new QLogValueAxis(this);
  y_->setTitleText(tr("predicted loss (log)"));
  y_->setLabelFormat(QStringLiteral("%.0e"));
  for (QAbstractSeries* s : std::initializer_list<QAbstractSeries*>{budget_, curve_, chosen_})
    chart()->addSeries(s);
  chart()->addAxis(x_, Qt::AlignBottom);
  chart()->addAxis(y_, Qt::AlignLeft);
  for (auto* s : chart()->series()) {
    s->attachAxis(x_);
    s->attachAxis(y_);
  }
  auto click = [this](const QPointF& p) {
    // The nearest point in memory (x), the quantity the user trades.
    int best = -1;
    double d = 1e300;
    for (size_t i = 0; i < points_.size(); ++i) {
      const double e = std::abs(points_[i].weight_bytes / 1024.0 - p.x());
      if (e < d) {
        d = e;
        best = static_cast<int>(i);
      }
    }
    if (best >= 0) emit pointClicked(best);
  };
  connect(curve_, &QXYSeries::clicked, this, click);
  connect(chosen_, &QXYSeries::clicked, this, click);
  restyle();
  clear(tr("Run Mixed Precision to see the memory/accuracy trade-off."));
}

void ParetoChart::restyle() {
  ThemedChartView::restyle();
  if (!curve_) return;
  const QPalette& p = palette();
  curve_->setPen(QPen(seriesColor(SeriesRole::PlanA, p), 2));
  const QColor c = seriesColor(SeriesRole::Clip, p);
  chosen_->setColor(c);
  chosen_->setBorderColor(c);
  budget_->setPen(QPen(seriesColor(SeriesRole::Highlight, p), 1.5, Qt::DashLine));
}

void ParetoChart::clear(const QString& text) {
  points_.clear();
  curve_->clear();
  chosen_->clear();
  budget_->clear();
  setEmptyText(text);
}

double ParetoChart::shownLoss(double loss) const { return std::max(loss, floor_); }

void ParetoChart::setPoints(const std::vector<Point>& points) {
  clear(QString());
  if (points.empty()) {
    clear(tr("No allocation fits the budgets."));
    return;
  }
  points_ = points;
  double lo = 1e300, hi = 0, xmin = 1e300, xmax = 0;
  for (const Point& p : points) {
    if (p.loss > 0) lo = std::min(lo, p.loss);
    hi = std::max(hi, p.loss);
    xmin = std::min(xmin, p.weight_bytes / 1024.0);
    xmax = std::max(xmax, p.weight_bytes / 1024.0);
  }
  if (hi <= 0) hi = lo = 1e-6;
  if (lo > hi) lo = hi;
  floor_ = lo / 10;
  ymin_ = std::pow(10.0, std::floor(std::log10(floor_)));
  ymax_ = std::pow(10.0, std::ceil(std::log10(hi)) + 0.01);
  QList<QPointF> c;
  for (const Point& p : points) c << QPointF(p.weight_bytes / 1024.0, shownLoss(p.loss));
  curve_->replace(c);
  const double pad = std::max(1e-3, (xmax - xmin) * 0.05);
  x_->setRange(xmin - pad, xmax + pad);
  y_->setRange(ymin_, ymax_);
}

void ParetoChart::setBudget(double weight_bytes) {
  if (points_.empty()) return;
  const double x = weight_bytes / 1024.0;
  budget_->replace({QPointF(x, ymin_), QPointF(x, ymax_)});
  if (x < x_->min() || x > x_->max()) x_->setRange(std::min(x_->min(), x), std::max(x_->max(), x));
}

void ParetoChart::setChosen(int index) {
  if (index < 0 || static_cast<size_t>(index) >= points_.size()) {
    chosen_->clear();
    return;
  }
  const Point& p = points_[static_cast<size_t>(index)];
  chosen_->replace({QPointF(p.weight_bytes / 1024.0, shownLoss(p.loss))});
}

}  // namespace qs::ui
