// HistogramView: the float distribution of one tensor with its quantization grid and clipping range.
//
// - Distribution: the histogram's counts as a filled step curve; linear or log count axis.
// - Grid: the quantization levels (ticks along the axis; as full-height lines when there are few, so a
//   2–4 bit grid is read at a glance).
// - Clip range: two vertical markers the user drags with the mouse. A symmetric entry's markers move
//   together (±); an asymmetric one keeps 0 inside the range. While dragging, rangeDragged is emitted
//   (the window re-simulates the layer and updates its SQNR); on release, rangeCommitted (an undo step).
#pragma once

#include <QString>
#include <vector>

#include "widgets/charts/chart_view.h"

class QAreaSeries;
class QLineSeries;
class QScatterSeries;
class QValueAxis;
class QLogValueAxis;

namespace qs::ui {

class HistogramView : public ThemedChartView {
  Q_OBJECT

 public:
  struct Data {
    QString title;
    std::vector<uint64_t> counts;  // equal-width bins over [lo, hi)
    double lo = 0, hi = 0;
    std::vector<float> grid;          // quantization levels, ascending (may be empty: per-channel weights)
    double clip_lo = 0, clip_hi = 0;  // marker positions
    bool symmetric = false;           // markers move as ±
    bool editable = false;            // markers can be dragged
  };

  explicit HistogramView(QWidget* parent = nullptr);

  void setData(const Data& d);
  // Shows `text` instead of a chart (nothing selected, or no data yet).
  void clear(const QString& text);
  void setLogScale(bool on);
  bool logScale() const { return log_; }
  // Live updates after a re-simulation: the grid and marker positions without resetting the view.
  void setGrid(const std::vector<float>& grid);
  void setMarkers(double lo, double hi);
  double markerLo() const { return clip_lo_; }
  double markerHi() const { return clip_hi_; }
  bool hasData() const { return has_data_; }

  // For tests and scripted use: the position (in widget coordinates) of a marker.
  QPoint markerPosition(bool upper) const;

 signals:
  void rangeDragged(double lo, double hi);
  void rangeCommitted(double lo, double hi);

 protected:
  void mousePressEvent(QMouseEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void restyle() override;
  void updateLegend() override;

 private:
  enum class Drag { None, Lo, Hi };
  void rebuildSeries();
  void updateMarkers();
  void updateGridSeries();
  void attachY();
  double baseline() const { return log_ ? 0.5 : 0.0; }
  double top() const;
  double valueAt(const QPoint& widget_pos) const;
  Drag hit(const QPoint& widget_pos) const;
  void applyDrag(double v);

  QLineSeries* upper_ = nullptr;
  QLineSeries* lower_ = nullptr;
  QAreaSeries* area_ = nullptr;
  QScatterSeries* ticks_ = nullptr;
  QLineSeries* comb_ = nullptr;
  QLineSeries* lo_line_ = nullptr;
  QLineSeries* hi_line_ = nullptr;
  QValueAxis* x_ = nullptr;
  QValueAxis* y_lin_ = nullptr;
  QLogValueAxis* y_log_ = nullptr;
  Data d_;
  bool has_data_ = false;
  bool log_ = false;
  double clip_lo_ = 0, clip_hi_ = 0;
  uint64_t max_count_ = 1;
  Drag drag_ = Drag::None;
};

}  // namespace qs::ui
