#include "widgets/charts/bits_chart.h"

#include <QCategoryAxis>
#include <QLineSeries>
#include <QValueAxis>
#include <algorithm>
#include <cmath>
#include <map>

#include "widgets/common/palette.h"
#include "widgets/models/plan_edit.h"
#include "widgets/probe/layer_probe.h"

namespace qs::ui {

namespace {
constexpr double kFloatY = 18;
double yOf(const PlanEntry& e) { return displayBits(e) == kFloatBits ? kFloatY : displayBits(e); }
}  // namespace

BitsChart::BitsChart(QWidget* parent) : ThemedChartView(parent) {
  wa_ = new QLineSeries();
  aa_ = new QLineSeries();
  wb_ = new QLineSeries();
  ab_ = new QLineSeries();
  for (QLineSeries* s : {wa_, aa_, wb_, ab_}) {
    s->setPointsVisible(true);
    chart()->addSeries(s);
  }
  x_ = new QValueAxis(this);
  x_->setTitleText(tr("layer along the network"));
  x_->setLabelFormat(QStringLiteral("%d"));
  // Float is drawn just above 16 bits so that 2–8 bits keep most of the height.
  y_ = new QCategoryAxis(this);
  y_->setTitleText(tr("bits"));
  y_->setLabelsPosition(QCategoryAxis::AxisLabelsPositionOnValue);
  for (int b : {2, 4, 6, 8, 16}) y_->append(QString::number(b), b);
  y_->append(tr("float"), kFloatY);
  y_->setRange(0, kFloatY + 1);
  chart()->addAxis(x_, Qt::AlignBottom);
  chart()->addAxis(y_, Qt::AlignLeft);
  for (auto* s : chart()->series()) {
    s->attachAxis(x_);
    s->attachAxis(y_);
  }
  restyle();
  clear(tr("Calibrate to see the plan's bit-widths."));
}

void BitsChart::restyle() {
  ThemedChartView::restyle();
  if (!wa_) return;
  const QPalette& p = palette();
  wa_->setPen(QPen(seriesColor(SeriesRole::PlanA, p), 2));
  aa_->setPen(QPen(seriesColor(SeriesRole::PlanA, p), 1.5, Qt::DashLine));
  wb_->setPen(QPen(seriesColor(SeriesRole::PlanB, p), 2));
  ab_->setPen(QPen(seriesColor(SeriesRole::PlanB, p), 1.5, Qt::DashLine));
}

void BitsChart::clear(const QString& text) {
  has_data_ = false;
  for (QLineSeries* s : {wa_, aa_, wb_, ab_}) s->clear();
  setEmptyText(text);
}

void BitsChart::setPlans(const Graph& g, const QuantPlan* a, const QuantPlan* b, const QString& label_a,
                         const QString& label_b) {
  const QuantPlan* base = a ? a : b;
  if (!base || base->entries.empty()) {
    clear(tr("Calibrate to see the plan's bit-widths."));
    return;
  }
  setEmptyText(QString());
  has_data_ = true;
  // One x position per layer (a weight entry, in network order); activations are drawn at the position of
  // the layer before them.
  std::map<std::string, int> pos;
  int x = -1;
  for (size_t i : network_order(g, *base)) {
    const PlanEntry& e = base->entries[i];
    if (e.kind == TensorKind::Weight) ++x;
    pos[e.tensor] = std::max(x, 0);
  }
  auto fill = [&](const QuantPlan* p, QLineSeries* w, QLineSeries* act) {
    QList<QPointF> pw, pa;
    if (p) {
      std::map<int, double> abits;  // the widest activation after each layer
      for (const PlanEntry& e : p->entries) {
        auto it = pos.find(e.tensor);
        if (it == pos.end()) continue;
        if (e.kind == TensorKind::Weight)
          pw << QPointF(it->second, yOf(e));
        else
          abits[it->second] = std::max(abits[it->second], yOf(e));
      }
      std::sort(pw.begin(), pw.end(), [](const QPointF& l, const QPointF& r) { return l.x() < r.x(); });
      for (const auto& [k, v] : abits) pa << QPointF(k, v);
    }
    w->replace(pw);
    act->replace(pa);
  };
  fill(a, wa_, aa_);
  fill(b, wb_, ab_);
  wa_->setName(tr("weights, %1").arg(label_a));
  aa_->setName(tr("activations, %1").arg(label_a));
  wb_->setName(tr("weights, %1").arg(label_b));
  ab_->setName(tr("activations, %1").arg(label_b));
  wb_->setVisible(b != nullptr);
  ab_->setVisible(b != nullptr);
  x_->setRange(-0.5, std::max(0, x) + 0.5);
  x_->setTickType(QValueAxis::TicksDynamic);
  x_->setTickAnchor(0);
  x_->setTickInterval(std::max(1.0, std::ceil((x + 1) / 12.0)));
}

}  // namespace qs::ui
