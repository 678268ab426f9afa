#include "widgets/charts/collapse_view.h"

#include <QLegend>
#include <QLineSeries>
#include <QScatterSeries>
#include <QToolTip>
#include <QValueAxis>
#include <algorithm>
#include <cmath>

#include "widgets/common/format.h"
#include "widgets/common/palette.h"

namespace qs::ui {

CollapseView::CollapseView(QWidget* parent) : ThemedChartView(parent) {
  iso_w_ = new QScatterSeries();
  iso_w_->setName(tr("isolated (weights)"));
  iso_w_->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
  iso_w_->setMarkerSize(7);
  iso_a_ = new QScatterSeries();
  iso_a_->setName(tr("isolated (activations)"));
  iso_a_->setMarkerSize(7);
  cum_ = new QLineSeries();
  cum_->setName(tr("cumulative"));
  cum_->setPointsVisible(true);
  drop_pt_ = new QScatterSeries();
  drop_pt_->setName(tr("largest drop"));
  drop_pt_->setMarkerSize(14);
  drop_pt_->setMarkerShape(QScatterSeries::MarkerShapeStar);
  sel_ = new QLineSeries();
  sel_->setName(tr("selected"));
  x_ = new QValueAxis(this);
  x_->setTitleText(tr("position along the network"));
  x_->setLabelFormat(QStringLiteral("%d"));
  y_ = new QValueAxis(this);
  y_->setTitleText(tr("SQNR (dB)"));
  QChart* c = chart();
  for (QAbstractSeries* s : std::initializer_list<QAbstractSeries*>{sel_, cum_, iso_w_, iso_a_, drop_pt_})
    c->addSeries(s);
  c->addAxis(x_, Qt::AlignBottom);
  c->addAxis(y_, Qt::AlignLeft);
  for (auto* s : c->series()) {
    s->attachAxis(x_);
    s->attachAxis(y_);
  }
  for (QXYSeries* s : std::initializer_list<QXYSeries*>{iso_w_, iso_a_, cum_, drop_pt_}) {
    connect(s, &QXYSeries::clicked, this, &CollapseView::onClicked);
    connect(s, &QXYSeries::hovered, this, &CollapseView::onHovered);
  }
  restyle();
  clear(tr("Analyze the plan to see the error along the network."));
}

void CollapseView::restyle() {
  ThemedChartView::restyle();
  if (!cum_) return;
  const QPalette& p = palette();
  const QColor w = seriesColor(SeriesRole::Weights, p), a = seriesColor(SeriesRole::Activations, p);
  iso_w_->setColor(w);
  iso_w_->setBorderColor(w);
  iso_a_->setColor(a);
  iso_a_->setBorderColor(a);
  cum_->setPen(QPen(seriesColor(SeriesRole::Cumulative, p), 2.2));
  const QColor d = seriesColor(SeriesRole::Clip, p);
  drop_pt_->setColor(d);
  drop_pt_->setBorderColor(d);
  QPen sel(seriesColor(SeriesRole::Highlight, p), 1.5, Qt::DashLine);
  sel_->setPen(sel);
}

void CollapseView::clear(const QString& text) {
  tensors_.clear();
  iso_.clear();
  cum_db_.clear();
  drop_.clear();
  for (QXYSeries* s : std::initializer_list<QXYSeries*>{iso_w_, iso_a_, cum_, drop_pt_, sel_}) s->clear();
  setEmptyText(text);
}

void CollapseView::setReport(const AnalysisReport& report, const std::vector<size_t>& order) {
  clear(QString());
  // +inf (no error at all) is drawn at the top of the axis: a finite stand-in above every finite value.
  double fmax = -1e300, fmin = 1e300;
  for (size_t i : order) {
    const TensorReport& t = report.tensors.at(i);
    if (!t.quantized) continue;
    for (double v : {t.isolated.sqnr_db, t.cumulative.sqnr_db})
      if (std::isfinite(v)) {
        fmax = std::max(fmax, v);
        fmin = std::min(fmin, v);
      }
  }
  if (fmax < fmin) {
    clear(tr("No quantized tensors in this analysis."));
    return;
  }
  const double inf_at = fmax + 5;
  auto shown = [&](double v) { return std::isfinite(v) ? v : (v > 0 ? inf_at : fmin); };
  // Isolated error for every tensor; the cumulative curve follows the activations, the values that flow
  // from layer to layer (a weight's "cumulative" figure is its layer's output, which the integer
  // simulation may already have clamped by a fused activation).
  QList<QPointF> w, a, c;
  std::vector<size_t> cum_at;  // x positions of the cumulative points
  for (size_t i : order) {
    const TensorReport& t = report.tensors.at(i);
    if (!t.quantized) continue;
    const double x = static_cast<double>(tensors_.size());
    tensors_.push_back(t.tensor);
    iso_.push_back(t.isolated.sqnr_db);
    cum_db_.push_back(t.cumulative.sqnr_db);
    (t.kind == TensorKind::Weight ? w : a) << QPointF(x, shown(t.isolated.sqnr_db));
    if (t.kind == TensorKind::Activation) {
      c << QPointF(x, shown(t.cumulative.sqnr_db));
      cum_at.push_back(tensors_.size() - 1);
    }
  }
  iso_w_->replace(w);
  iso_a_->replace(a);
  cum_->replace(c);
  // The largest fall of the cumulative curve between consecutive activations.
  double best = 0;
  qsizetype at = -1;
  for (qsizetype i = 1; i < c.size(); ++i) {
    const double fall = c[i - 1].y() - c[i].y();
    if (fall > best) {
      best = fall;
      at = i;
    }
  }
  if (at >= 0) {
    drop_ = tensors_[cum_at[static_cast<size_t>(at)]];
    drop_pt_->replace({c[at]});
    drop_pt_->setName(tr("largest drop: %1 (−%2 dB)").arg(qstr(drop_)).arg(best, 0, 'f', 1));
  } else {
    drop_pt_->setName(tr("largest drop"));
  }
  ymin_ = std::floor(fmin / 5) * 5 - 5;
  ymax_ = std::ceil(inf_at / 5) * 5 + 5;
  x_->setRange(-0.5, static_cast<double>(tensors_.size()) - 0.5);
  x_->setTickType(QValueAxis::TicksDynamic);
  x_->setTickAnchor(0);
  x_->setTickInterval(std::max(1.0, std::ceil(static_cast<double>(tensors_.size()) / 12.0)));
  y_->setRange(ymin_, ymax_);
}

void CollapseView::setSelected(const std::string& tensor) {
  const auto it = std::find(tensors_.begin(), tensors_.end(), tensor);
  if (it == tensors_.end()) {
    sel_->clear();
    return;
  }
  const double x = static_cast<double>(it - tensors_.begin());
  sel_->replace({QPointF(x, ymin_), QPointF(x, ymax_)});
}

void CollapseView::onClicked(const QPointF& p) {
  const long i = std::lround(p.x());
  if (i >= 0 && static_cast<size_t>(i) < tensors_.size())
    emit tensorClicked(qstr(tensors_[static_cast<size_t>(i)]));
}

void CollapseView::onHovered(const QPointF& p, bool state) {
  const long i = std::lround(p.x());
  if (!state || i < 0 || static_cast<size_t>(i) >= tensors_.size()) {
    QToolTip::hideText();
    return;
  }
  const auto k = static_cast<size_t>(i);
  QToolTip::showText(
      QCursor::pos(),
      tr("%1\nisolated %2, cumulative %3").arg(qstr(tensors_[k]), formatDb(iso_[k]), formatDb(cum_db_[k])),
      this);
}

}  // namespace qs::ui
