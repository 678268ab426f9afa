// ThemedChartView: a QChartView that follows the application palette (light or dark, re-applied when the
// system scheme changes), renders antialiased, and shows a short message when it has nothing to draw (what
// to do to get the chart, never fake data).
#pragma once

#include <QChartView>
#include <QString>

namespace qs::ui {

class ThemedChartView : public QChartView {
  Q_OBJECT

 public:
  explicit ThemedChartView(QWidget* parent = nullptr);
  // Shown centered when non-empty (the chart's series are then hidden).
  void setEmptyText(const QString& text);
  QString emptyText() const { return empty_text_; }

 protected:
  void changeEvent(QEvent* e) override;
  void drawForeground(QPainter* painter, const QRectF& rect) override;
  // Applies the palette to the chart (background, title, legend, axes); subclasses override to recolor
  // their series and must call the base.
  virtual void restyle();
  // Hides the legend entries that repeat another's meaning; called whenever series visibility changes
  // (showing a series shows its legend marker again).
  virtual void updateLegend() {}
  void styleAxis(QAbstractAxis* axis) const;

 private:
  QString empty_text_;
};

}  // namespace qs::ui
