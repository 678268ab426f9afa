// ChannelView: a per-channel weight tensor channel by channel — each output channel's float min and max,
// its representable (clip) range, and the channel's weight SQNR on a second axis. Outlier channels (one
// wide channel forcing a coarse step on others, the per-tensor failure mode) stand out.
#pragma once

#include <vector>

#include "core/quant/analysis.h"
#include "widgets/charts/chart_view.h"

class QLineSeries;
class QScatterSeries;
class QValueAxis;

namespace qs::ui {

class ChannelView : public ThemedChartView {
  Q_OBJECT

 public:
  explicit ChannelView(QWidget* parent = nullptr);
  // `qmin`/`qmax` and the channels' scale/zero point give the representable range.
  void setChannels(const QString& title, const std::vector<ChannelStats>& channels, int qmin, int qmax);
  void clear(const QString& text);
  bool hasData() const { return has_data_; }

 protected:
  void restyle() override;
  void updateLegend() override;

 private:
  QLineSeries* min_ = nullptr;
  QLineSeries* max_ = nullptr;
  QLineSeries* clip_lo_ = nullptr;
  QLineSeries* clip_hi_ = nullptr;
  QScatterSeries* sqnr_ = nullptr;
  QValueAxis* x_ = nullptr;
  QValueAxis* y_ = nullptr;
  QValueAxis* y_db_ = nullptr;
  bool has_data_ = false;
};

}  // namespace qs::ui
