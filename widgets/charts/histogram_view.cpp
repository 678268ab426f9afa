#include "widgets/charts/histogram_view.h"

#include <QAreaSeries>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QMouseEvent>
#include <QScatterSeries>
#include <QValueAxis>
#include <algorithm>
#include <cmath>

#include "widgets/common/palette.h"

namespace qs::ui {

namespace {
constexpr int kGrabPixels = 6;         // how close to a marker a press starts a drag
constexpr size_t kCombMaxLevels = 16;  // up to 4 bits the grid is drawn as full-height lines
}  // namespace

HistogramView::HistogramView(QWidget* parent) : ThemedChartView(parent) {
  upper_ = new QLineSeries(this);
  lower_ = new QLineSeries(this);
  area_ = new QAreaSeries(upper_, lower_);
  area_->setName(tr("float values"));
  ticks_ = new QScatterSeries();
  ticks_->setName(tr("quantization levels"));
  ticks_->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
  ticks_->setMarkerSize(3.5);
  comb_ = new QLineSeries();
  comb_->setName(tr("quantization levels"));
  lo_line_ = new QLineSeries();
  lo_line_->setName(tr("clip range"));
  hi_line_ = new QLineSeries();
  hi_line_->setName(tr("clip range"));

  x_ = new QValueAxis(this);
  x_->setTitleText(tr("value"));
  x_->setLabelFormat(QStringLiteral("%.3g"));
  y_lin_ = new QValueAxis(this);
  y_lin_->setTitleText(tr("count"));
  y_lin_->setLabelFormat(QStringLiteral("%g"));
  y_log_ = new QLogValueAxis(this);
  y_log_->setTitleText(tr("count (log)"));
  y_log_->setLabelFormat(QStringLiteral("%g"));
  y_log_->setBase(10);

  QChart* c = chart();
  for (QAbstractSeries* s : std::initializer_list<QAbstractSeries*>{area_, comb_, ticks_, lo_line_, hi_line_})
    c->addSeries(s);
  c->addAxis(x_, Qt::AlignBottom);
  for (auto* s : c->series()) s->attachAxis(x_);
  attachY();
  setMouseTracking(true);
  restyle();
  clear(tr("Select a layer to see its distributions."));
}

void HistogramView::attachY() {
  QChart* c = chart();
  QAbstractAxis* want = log_ ? static_cast<QAbstractAxis*>(y_log_) : y_lin_;
  QAbstractAxis* other = log_ ? static_cast<QAbstractAxis*>(y_lin_) : y_log_;
  if (c->axes(Qt::Vertical).contains(other)) {
    for (auto* s : c->series()) s->detachAxis(other);
    c->removeAxis(other);
    other->setParent(this);  // removeAxis releases ownership; keep it for the next toggle
  }
  if (!c->axes(Qt::Vertical).contains(want)) {
    c->addAxis(want, Qt::AlignLeft);
    for (auto* s : c->series()) s->attachAxis(want);
  }
  styleAxis(want);
}

void HistogramView::restyle() {
  ThemedChartView::restyle();
  if (!area_) return;
  const QPalette& p = palette();
  QColor fill = seriesColor(SeriesRole::Distribution, p);
  area_->setPen(QPen(fill, 1.2));
  fill.setAlpha(110);
  area_->setBrush(fill);
  const QColor grid = seriesColor(SeriesRole::Grid, p);
  ticks_->setColor(grid);
  ticks_->setBorderColor(grid);
  QColor comb = grid;
  comb.setAlpha(140);
  comb_->setPen(QPen(comb, 1));
  QPen clip(seriesColor(SeriesRole::Clip, p), 2.5);
  lo_line_->setPen(clip);
  hi_line_->setPen(clip);
}

void HistogramView::clear(const QString& text) {
  has_data_ = false;
  d_ = Data{};
  upper_->clear();
  lower_->clear();
  ticks_->clear();
  comb_->clear();
  lo_line_->clear();
  hi_line_->clear();
  chart()->setTitle(QString());
  setEmptyText(text);
}

void HistogramView::setData(const Data& d) {
  d_ = d;
  has_data_ = !d.counts.empty() && d.hi > d.lo;
  clip_lo_ = d.clip_lo;
  clip_hi_ = d.clip_hi;
  chart()->setTitle(d.title);
  if (!has_data_) {
    clear(tr("No values to show for this tensor."));
    return;
  }
  setEmptyText(QString());
  rebuildSeries();
}

void HistogramView::setLogScale(bool on) {
  if (on == log_) return;
  log_ = on;
  attachY();
  if (has_data_) rebuildSeries();
}

double HistogramView::top() const { return log_ ? y_log_->max() : y_lin_->max(); }

void HistogramView::rebuildSeries() {
  const size_t n = d_.counts.size();
  const double w = (d_.hi - d_.lo) / static_cast<double>(n);
  const double base = baseline();
  max_count_ = std::max<uint64_t>(1, *std::max_element(d_.counts.begin(), d_.counts.end()));
  // A growing histogram's range is wider than its data (core/quant/histogram.h): draw the occupied bins.
  size_t first = 0, last = n;
  while (first + 1 < n && d_.counts[first] == 0) ++first;
  while (last > first + 1 && d_.counts[last - 1] == 0) --last;
  const double lo = d_.lo + w * static_cast<double>(first), hi = d_.lo + w * static_cast<double>(last);
  QList<QPointF> up, low;
  up.reserve(static_cast<qsizetype>(2 * (last - first)));
  for (size_t i = first; i < last; ++i) {
    const double y = std::max(base, static_cast<double>(d_.counts[i]));
    up.append({d_.lo + w * static_cast<double>(i), y});
    up.append({d_.lo + w * static_cast<double>(i + 1), y});
  }
  low = {QPointF(lo, base), QPointF(hi, base)};
  upper_->replace(up);
  lower_->replace(low);

  // The axis spans the data, the grid's extent and the markers, with a small margin.
  double xmin = std::min({lo, clip_lo_, d_.grid.empty() ? lo : static_cast<double>(d_.grid.front())});
  double xmax = std::max({hi, clip_hi_, d_.grid.empty() ? hi : static_cast<double>(d_.grid.back())});
  const double pad = (xmax - xmin) * 0.04 + 1e-12;
  x_->setRange(xmin - pad, xmax + pad);
  // Headroom above the highest bin (a decade and a bit on the log axis).
  if (log_) {
    y_log_->setRange(base, std::pow(10.0, std::ceil(std::log10(static_cast<double>(max_count_)) + 0.3)));
  } else {
    y_lin_->setRange(0, static_cast<double>(max_count_) * 1.05);
    y_lin_->applyNiceNumbers();
  }
  updateGridSeries();
  updateMarkers();
}

void HistogramView::setGrid(const std::vector<float>& grid) {
  d_.grid = grid;
  if (has_data_) updateGridSeries();
}

void HistogramView::updateGridSeries() {
  const double base = baseline();
  QList<QPointF> pts;
  if (!d_.grid.empty() && d_.grid.size() <= kCombMaxLevels) {
    // A comb: up and down at each level, joined along the baseline.
    const double h = top();
    for (float g : d_.grid) pts << QPointF(g, base) << QPointF(g, h) << QPointF(g, base);
    comb_->replace(pts);
    ticks_->clear();
    comb_->setVisible(true);
    ticks_->setVisible(false);
  } else {
    for (float g : d_.grid) pts << QPointF(g, base);
    ticks_->replace(pts);
    comb_->clear();
    comb_->setVisible(false);
    ticks_->setVisible(!pts.isEmpty());
  }
  updateLegend();
}

void HistogramView::updateLegend() {
  // One entry per meaning: the upper marker repeats the lower one; comb and ticks are both "levels".
  auto show = [this](QAbstractSeries* s, bool on) {
    for (QLegendMarker* m : chart()->legend()->markers(s)) m->setVisible(on);
  };
  show(hi_line_, false);
  show(comb_, comb_->isVisible() && !d_.grid.empty());
  show(ticks_, !comb_->isVisible() && !d_.grid.empty());
  show(lo_line_, d_.editable);
}

void HistogramView::setMarkers(double lo, double hi) {
  clip_lo_ = lo;
  clip_hi_ = hi;
  if (has_data_) updateMarkers();
}

void HistogramView::updateMarkers() {
  const double base = baseline(), h = top();
  lo_line_->replace({QPointF(clip_lo_, base), QPointF(clip_lo_, h)});
  hi_line_->replace({QPointF(clip_hi_, base), QPointF(clip_hi_, h)});
  // Keep both markers inside the view while dragging beyond the data.
  if (clip_lo_ < x_->min() || clip_hi_ > x_->max()) {
    const double pad = (x_->max() - x_->min()) * 0.04;
    x_->setRange(std::min(x_->min(), clip_lo_ - pad), std::max(x_->max(), clip_hi_ + pad));
  }
}

QPoint HistogramView::markerPosition(bool upper) const {
  const double x = upper ? clip_hi_ : clip_lo_;
  const double y = log_ ? std::sqrt(baseline() * top()) : top() / 2;
  const QPointF in_chart = chart()->mapToPosition(QPointF(x, y), upper ? hi_line_ : lo_line_);
  return mapFromScene(chart()->mapToScene(in_chart));
}

double HistogramView::valueAt(const QPoint& widget_pos) const {
  const QPointF in_chart = chart()->mapFromScene(mapToScene(widget_pos));
  return chart()->mapToValue(in_chart, lo_line_).x();
}

HistogramView::Drag HistogramView::hit(const QPoint& pos) const {
  if (!has_data_ || !d_.editable) return Drag::None;
  const int dlo = std::abs(markerPosition(false).x() - pos.x());
  const int dhi = std::abs(markerPosition(true).x() - pos.x());
  if (std::min(dlo, dhi) > kGrabPixels) return Drag::None;
  return dlo <= dhi ? Drag::Lo : Drag::Hi;
}

void HistogramView::applyDrag(double v) {
  const double span = std::max(d_.hi - d_.lo, 1e-12);
  const double eps = span * 1e-3;
  if (d_.symmetric) {
    const double a = std::max(std::abs(v), eps);
    clip_lo_ = -a;
    clip_hi_ = a;
  } else if (drag_ == Drag::Lo) {
    clip_lo_ = std::min({v, 0.0, clip_hi_ - eps});
  } else {
    clip_hi_ = std::max({v, 0.0, clip_lo_ + eps});
  }
  updateMarkers();
}

void HistogramView::mousePressEvent(QMouseEvent* e) {
  if (e->button() == Qt::LeftButton) {
    drag_ = hit(e->position().toPoint());
    if (drag_ != Drag::None) {
      e->accept();
      return;
    }
  }
  ThemedChartView::mousePressEvent(e);
}

void HistogramView::mouseMoveEvent(QMouseEvent* e) {
  const QPoint pos = e->position().toPoint();
  if (drag_ != Drag::None) {
    applyDrag(valueAt(pos));
    emit rangeDragged(clip_lo_, clip_hi_);
    e->accept();
    return;
  }
  setCursor(hit(pos) != Drag::None ? Qt::SizeHorCursor : Qt::ArrowCursor);
  ThemedChartView::mouseMoveEvent(e);
}

void HistogramView::mouseReleaseEvent(QMouseEvent* e) {
  if (drag_ != Drag::None && e->button() == Qt::LeftButton) {
    applyDrag(valueAt(e->position().toPoint()));
    drag_ = Drag::None;
    emit rangeCommitted(clip_lo_, clip_hi_);
    e->accept();
    return;
  }
  ThemedChartView::mouseReleaseEvent(e);
}

}  // namespace qs::ui
