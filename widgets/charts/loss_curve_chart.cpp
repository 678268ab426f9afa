#include "widgets/charts/loss_curve_chart.h"

#include <QLineSeries>
#include <QLogValueAxis>
#include <QScatterSeries>
#include <QValueAxis>
#include <algorithm>
#include <cmath>

#include "widgets/common/palette.h"

namespace qs::ui {

LossCurveChart::LossCurveChart(QWidget* parent) : ThemedChartView(parent) {
  loss_ = new QLineSeries();
  loss_->setName(tr("training loss (soft rounding)"));
  eval_ = new QScatterSeries();
  eval_->setName(tr("evaluation loss (hard rounding)"));
  eval_->setMarkerSize(8);
  base_ = new QLineSeries();
  base_->setName(tr("round-to-nearest"));
  x_ = new QValueAxis(this);
  x_->setTitleText(tr("iteration"));
  x_->setLabelFormat(QStringLiteral("%d"));
  y_ = new QLogValueAxis(this);
  y_->setTitleText(tr("loss (log)"));
  y_->setLabelFormat(QStringLiteral("%.1e"));
  for (QAbstractSeries* s : std::initializer_list<QAbstractSeries*>{base_, loss_, eval_})
    chart()->addSeries(s);
  chart()->addAxis(x_, Qt::AlignBottom);
  chart()->addAxis(y_, Qt::AlignLeft);
  for (auto* s : chart()->series()) {
    s->attachAxis(x_);
    s->attachAxis(y_);
  }
  restyle();
  clear(tr("Run EPTQ to see its loss curve."));
}

void LossCurveChart::restyle() {
  ThemedChartView::restyle();
  if (!loss_) return;
  const QPalette& p = palette();
  loss_->setPen(QPen(seriesColor(SeriesRole::Cumulative, p), 1.2));
  const QColor e = seriesColor(SeriesRole::Isolated, p);
  eval_->setColor(e);
  eval_->setBorderColor(e);
  base_->setPen(QPen(seriesColor(SeriesRole::Clip, p), 1.5, Qt::DashLine));
}

void LossCurveChart::clear(const QString& text) {
  has_data_ = false;
  loss_->clear();
  eval_->clear();
  base_->clear();
  setEmptyText(text);
}

void LossCurveChart::setCurve(const std::vector<Step>& steps, double baseline) {
  QList<QPointF> l, e;
  double lo = 1e300, hi = 0;
  int last = 1;
  for (const Step& s : steps) {
    last = std::max(last, s.iteration);
    if (s.loss > 0) {
      l << QPointF(s.iteration, s.loss);
      lo = std::min(lo, s.loss);
      hi = std::max(hi, s.loss);
    }
    if (s.eval_loss > 0) {
      e << QPointF(s.iteration, s.eval_loss);
      lo = std::min(lo, s.eval_loss);
      hi = std::max(hi, s.eval_loss);
    }
  }
  if (baseline > 0) {
    lo = std::min(lo, baseline);
    hi = std::max(hi, baseline);
  }
  if (hi <= 0) {
    clear(tr("The optimizer reported no losses."));
    return;
  }
  has_data_ = true;
  setEmptyText(QString());
  loss_->replace(l);
  eval_->replace(e);
  if (baseline > 0)
    base_->replace({QPointF(0, baseline), QPointF(last, baseline)});
  else
    base_->clear();
  x_->setRange(0, last);
  y_->setRange(std::pow(10.0, std::floor(std::log10(lo))), std::pow(10.0, std::ceil(std::log10(hi))));
}

}  // namespace qs::ui
