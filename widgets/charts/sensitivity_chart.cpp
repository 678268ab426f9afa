#include "widgets/charts/sensitivity_chart.h"

#include <QLineSeries>
#include <QLogValueAxis>
#include <QToolTip>
#include <QValueAxis>
#include <algorithm>
#include <cmath>

#include "widgets/common/format.h"
#include "widgets/common/palette.h"

namespace qs::ui {

SensitivityChart::SensitivityChart(QWidget* parent) : ThemedChartView(parent) {
  w_ = new QLineSeries();
  w_->setName(tr("weights"));
  a_ = new QLineSeries();
  a_->setName(tr("activations"));
  sel_ = new QLineSeries();
  sel_->setName(tr("selected"));
  for (QLineSeries* s : {w_, a_}) s->setPointsVisible(true);
  x_ = new QValueAxis(this);
  x_->setTitleText(tr("position along the network"));
  x_->setLabelFormat(QStringLiteral("%d"));
  y_ = new QLogValueAxis(this);
  y_->setTitleText(tr("LFH trace (log)"));
  y_->setLabelFormat(QStringLiteral("%.0e"));
  for (QLineSeries* s : {sel_, w_, a_}) chart()->addSeries(s);
  chart()->addAxis(x_, Qt::AlignBottom);
  chart()->addAxis(y_, Qt::AlignLeft);
  for (auto* s : chart()->series()) {
    s->attachAxis(x_);
    s->attachAxis(y_);
  }
  for (QLineSeries* s : {w_, a_}) {
    connect(s, &QXYSeries::clicked, this, &SensitivityChart::onClicked);
    connect(s, &QXYSeries::hovered, this, &SensitivityChart::onHovered);
  }
  restyle();
  clear(tr("Run Sensitivity (LFH) to see how much each tensor matters to the output."));
}

void SensitivityChart::restyle() {
  ThemedChartView::restyle();
  if (!w_) return;
  const QPalette& p = palette();
  w_->setPen(QPen(seriesColor(SeriesRole::Weights, p), 1.8));
  a_->setPen(QPen(seriesColor(SeriesRole::Activations, p), 1.8));
  sel_->setPen(QPen(seriesColor(SeriesRole::Highlight, p), 1.5, Qt::DashLine));
}

void SensitivityChart::clear(const QString& text) {
  points_.clear();
  for (QLineSeries* s : {w_, a_, sel_}) s->clear();
  setEmptyText(text);
}

void SensitivityChart::setPoints(const std::vector<Point>& points) {
  clear(QString());
  // A zero trace (a tensor the output does not depend on) has no place on a log axis: it is listed in the
  // tooltip of its neighbours' positions only.
  double lo = 1e300, hi = 0;
  for (const Point& p : points)
    if (p.trace > 0) {
      lo = std::min(lo, p.trace);
      hi = std::max(hi, p.trace);
    }
  if (hi <= 0) {
    clear(tr("Every trace is zero: the output does not depend on these tensors."));
    return;
  }
  points_ = points;
  QList<QPointF> w, a;
  for (size_t i = 0; i < points.size(); ++i) {
    if (points[i].trace <= 0) continue;
    (points[i].kind == TensorKind::Weight ? w : a) << QPointF(static_cast<double>(i), points[i].trace);
  }
  w_->replace(w);
  a_->replace(a);
  ymin_ = std::pow(10.0, std::floor(std::log10(lo)));
  ymax_ = std::pow(10.0, std::ceil(std::log10(hi)) + 0.01);
  y_->setRange(ymin_, ymax_);
  const double n = static_cast<double>(points.size());
  x_->setRange(-0.5, n - 0.5);
  x_->setTickType(QValueAxis::TicksDynamic);
  x_->setTickAnchor(0);
  x_->setTickInterval(std::max(1.0, std::ceil(n / 12.0)));
}

void SensitivityChart::setSelected(const std::string& tensor) {
  for (size_t i = 0; i < points_.size(); ++i)
    if (points_[i].tensor == tensor) {
      sel_->replace({QPointF(static_cast<double>(i), ymin_), QPointF(static_cast<double>(i), ymax_)});
      return;
    }
  sel_->clear();
}

void SensitivityChart::onClicked(const QPointF& p) {
  const long i = std::lround(p.x());
  if (i >= 0 && static_cast<size_t>(i) < points_.size())
    emit tensorClicked(qstr(points_[static_cast<size_t>(i)].tensor));
}

void SensitivityChart::onHovered(const QPointF& p, bool state) {
  const long i = std::lround(p.x());
  if (!state || i < 0 || static_cast<size_t>(i) >= points_.size()) {
    QToolTip::hideText();
    return;
  }
  const Point& q = points_[static_cast<size_t>(i)];
  QToolTip::showText(
      QCursor::pos(),
      tr("%1\ntrace %2, log-normalized %3")
          .arg(qstr(q.tensor), QString::number(q.trace, 'g', 4), QString::number(q.normalized, 'f', 2)),
      this);
}

}  // namespace qs::ui
