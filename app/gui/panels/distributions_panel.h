// Distributions panel: histograms of the selected row's weights and activations (float distribution,
// quantization grid, draggable clip markers) and, in its own dock, the per-channel view of the weights.
//
// Each side keeps a LayerProbe of its tensor (built off the GUI thread, cached in the session). Dragging
// a marker re-simulates that tensor alone on the cached data and updates its SQNR while the mouse moves;
// releasing commits the range to the plan as one undo step.
#pragma once

#include <QWidget>
#include <memory>
#include <string>

#include "core/quant/plan.h"

class QCheckBox;
class QLabel;

namespace qs::ui {
class ChannelView;
class HistogramView;
class LayerProbe;
struct ProbeResult;
}  // namespace qs::ui

namespace qs::gui {

class LatestTask;
class Session;

class DistributionsPanel : public QWidget {
  Q_OBJECT

 public:
  DistributionsPanel(Session* session, QWidget* parent = nullptr);
  ui::HistogramView* weightView() const { return w_.view; }
  ui::HistogramView* activationView() const { return a_.view; }
  ui::ChannelView* channelView() const { return channels_; }
  QCheckBox* logScale() const { return log_; }
  // True while a probe is being built or a re-simulation runs.
  bool busy() const;
  // The candidate entry a marker position stands for (per-channel entries scale every channel's range by
  // the marker's ratio to the widest channel). Exposed for tests.
  static PlanEntry rangeCandidate(const PlanEntry& base, double lo, double hi);
  // Where the markers of `e` are drawn (its widest range, ± for symmetric specs).
  static std::pair<double, double> markerRange(const PlanEntry& e);

 signals:
  void settled();
  void errorOccurred(const QString& title, const QString& message);

 private:
  struct Side {
    bool weight = false;
    ui::HistogramView* view = nullptr;
    QLabel* stats = nullptr;
    LatestTask* task = nullptr;
    std::string tensor;
    std::shared_ptr<const ui::LayerProbe> probe;
  };
  void refreshAll();
  void refresh(Side& s);
  void show(Side& s, const ui::ProbeResult* r, bool live);
  void evaluate(Side& s, const PlanEntry& e, bool live);
  void onDragged(Side& s, double lo, double hi);
  void onCommitted(Side& s, double lo, double hi);
  void onEntryChanged(const QString& tensor);
  void checkSettled();

  Session* session_;
  Side w_, a_;
  ui::ChannelView* channels_;
  QCheckBox* log_;
  QLabel* title_;
};

}  // namespace qs::gui
