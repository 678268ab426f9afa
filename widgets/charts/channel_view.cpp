#include "widgets/charts/channel_view.h"

#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QScatterSeries>
#include <QValueAxis>
#include <algorithm>
#include <cmath>

#include "widgets/common/palette.h"

namespace qs::ui {

ChannelView::ChannelView(QWidget* parent) : ThemedChartView(parent) {
  min_ = new QLineSeries();
  min_->setName(tr("min / max"));
  max_ = new QLineSeries();
  max_->setName(tr("min / max"));
  clip_lo_ = new QLineSeries();
  clip_lo_->setName(tr("representable range"));
  clip_hi_ = new QLineSeries();
  clip_hi_->setName(tr("representable range"));
  sqnr_ = new QScatterSeries();
  sqnr_->setName(tr("channel SQNR"));
  sqnr_->setMarkerSize(6);
  x_ = new QValueAxis(this);
  x_->setTitleText(tr("output channel"));
  x_->setLabelFormat(QStringLiteral("%d"));
  y_ = new QValueAxis(this);
  y_->setTitleText(tr("weight value"));
  y_db_ = new QValueAxis(this);
  y_db_->setTitleText(tr("SQNR (dB)"));
  QChart* c = chart();
  for (QAbstractSeries* s : std::initializer_list<QAbstractSeries*>{clip_lo_, clip_hi_, min_, max_, sqnr_})
    c->addSeries(s);
  c->addAxis(x_, Qt::AlignBottom);
  c->addAxis(y_, Qt::AlignLeft);
  c->addAxis(y_db_, Qt::AlignRight);
  for (auto* s : c->series()) s->attachAxis(x_);
  for (QAbstractSeries* s : std::initializer_list<QAbstractSeries*>{clip_lo_, clip_hi_, min_, max_})
    s->attachAxis(y_);
  sqnr_->attachAxis(y_db_);
  restyle();
  clear(tr("Per-channel statistics appear for weights quantized per channel."));
}

void ChannelView::restyle() {
  ThemedChartView::restyle();
  if (!min_) return;
  const QPalette& p = palette();
  const QPen data(seriesColor(SeriesRole::Weights, p), 1.5);
  min_->setPen(data);
  max_->setPen(data);
  QPen clip(seriesColor(SeriesRole::Clip, p), 1.5, Qt::DashLine);
  clip_lo_->setPen(clip);
  clip_hi_->setPen(clip);
  const QColor s = seriesColor(SeriesRole::Isolated, p);
  sqnr_->setColor(s);
  sqnr_->setBorderColor(s);
}

void ChannelView::updateLegend() {
  for (QAbstractSeries* s : std::initializer_list<QAbstractSeries*>{max_, clip_hi_})
    for (QLegendMarker* m : chart()->legend()->markers(s)) m->setVisible(false);
}

void ChannelView::clear(const QString& text) {
  has_data_ = false;
  for (QXYSeries* s : std::initializer_list<QXYSeries*>{min_, max_, clip_lo_, clip_hi_, sqnr_}) s->clear();
  chart()->setTitle(QString());
  setEmptyText(text);
}

void ChannelView::setChannels(const QString& title, const std::vector<ChannelStats>& channels, int qmin,
                              int qmax) {
  if (channels.empty()) {
    clear(tr("This tensor has no per-channel statistics."));
    return;
  }
  has_data_ = true;
  setEmptyText(QString());
  chart()->setTitle(title);
  QList<QPointF> mn, mx, clo, chi, db;
  double lo = 0, hi = 0, dbmin = 1e300, dbmax = -1e300;
  for (size_t i = 0; i < channels.size(); ++i) {
    const ChannelStats& c = channels[i];
    const double x = static_cast<double>(i);
    const double rlo = static_cast<double>(qmin - c.zero_point) * c.scale;
    const double rhi = static_cast<double>(qmax - c.zero_point) * c.scale;
    mn << QPointF(x, c.min);
    mx << QPointF(x, c.max);
    clo << QPointF(x, rlo);
    chi << QPointF(x, rhi);
    lo = std::min({lo, static_cast<double>(c.min), rlo});
    hi = std::max({hi, static_cast<double>(c.max), rhi});
    if (std::isfinite(c.sqnr_db)) {
      db << QPointF(x, c.sqnr_db);
      dbmin = std::min(dbmin, c.sqnr_db);
      dbmax = std::max(dbmax, c.sqnr_db);
    }
  }
  min_->replace(mn);
  max_->replace(mx);
  clip_lo_->replace(clo);
  clip_hi_->replace(chi);
  sqnr_->replace(db);
  const double n = static_cast<double>(channels.size());
  x_->setRange(-0.5, n - 0.5);
  x_->setTickType(QValueAxis::TicksDynamic);
  x_->setTickAnchor(0);
  x_->setTickInterval(std::max(1.0, std::ceil(n / 10.0)));
  const double pad = (hi - lo) * 0.05 + 1e-12;
  y_->setRange(lo - pad, hi + pad);
  y_->applyNiceNumbers();
  if (db.isEmpty())
    y_db_->setRange(0, 1);
  else
    y_db_->setRange(std::floor(dbmin / 5) * 5 - 5, std::ceil(dbmax / 5) * 5 + 5);
}

}  // namespace qs::ui
