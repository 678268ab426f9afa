#include "widgets/charts/chart_view.h"

#include <QAbstractAxis>
#include <QEvent>
#include <QLegend>
#include <QPainter>

namespace qs::ui {

ThemedChartView::ThemedChartView(QWidget* parent) : QChartView(new QChart(), parent) {
  setRenderHint(QPainter::Antialiasing);
  chart()->setAnimationOptions(QChart::NoAnimation);  // live updates must not lag behind the data
  chart()->legend()->setAlignment(Qt::AlignBottom);
  chart()->setMargins(QMargins(2, 2, 2, 2));
  QFont small = chart()->legend()->font();
  small.setPointSizeF(small.pointSizeF() * 0.9);
  chart()->legend()->setFont(small);
  setMinimumSize(240, 160);
  restyle();
}

void ThemedChartView::setEmptyText(const QString& text) {
  empty_text_ = text;
  const auto series = chart()->series();
  for (auto* s : series) s->setVisible(text.isEmpty());
  for (auto* a : chart()->axes()) a->setVisible(text.isEmpty());
  chart()->legend()->setVisible(text.isEmpty());
  if (text.isEmpty()) updateLegend();
  viewport()->update();
}

void ThemedChartView::changeEvent(QEvent* e) {
  QChartView::changeEvent(e);
  if (e->type() == QEvent::PaletteChange || e->type() == QEvent::StyleChange) restyle();
}

void ThemedChartView::drawForeground(QPainter* painter, const QRectF& rect) {
  QChartView::drawForeground(painter, rect);
  if (empty_text_.isEmpty()) return;
  painter->save();
  painter->setPen(palette().color(QPalette::Disabled, QPalette::Text));
  const QRectF r = mapToScene(viewport()->rect()).boundingRect().adjusted(16, 16, -16, -16);
  painter->drawText(r, Qt::AlignCenter | Qt::TextWordWrap, empty_text_);
  painter->restore();
}

void ThemedChartView::restyle() {
  const QPalette& p = palette();
  QChart* c = chart();
  c->setBackgroundBrush(p.brush(QPalette::Base));
  c->setBackgroundPen(Qt::NoPen);
  c->setPlotAreaBackgroundVisible(false);
  c->setTitleBrush(p.brush(QPalette::Text));
  c->legend()->setLabelColor(p.color(QPalette::Text));
  for (auto* a : c->axes()) styleAxis(a);
  setBackgroundBrush(p.brush(QPalette::Base));
}

void ThemedChartView::styleAxis(QAbstractAxis* axis) const {
  const QPalette& p = palette();
  // Axis text a little smaller than the UI font: charts live in docks and every pixel of plot counts.
  QFont f = font();
  f.setPointSizeF(f.pointSizeF() * 0.85);
  axis->setLabelsFont(f);
  f.setBold(true);
  axis->setTitleFont(f);
  axis->setLabelsColor(p.color(QPalette::Text));
  axis->setTitleBrush(p.brush(QPalette::Text));
  QPen line(p.color(QPalette::Mid));
  axis->setLinePen(line);
  QColor grid = p.color(QPalette::Mid);
  grid.setAlpha(90);
  axis->setGridLineColor(grid);
  QColor minor = grid;
  minor.setAlpha(40);
  axis->setMinorGridLineColor(minor);
}

}  // namespace qs::ui
