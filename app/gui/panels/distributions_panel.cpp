#include "app/gui/panels/distributions_panel.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSettings>
#include <QSplitter>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "app/gui/latest_task.h"
#include "app/gui/session.h"
#include "app/gui/settings_keys.h"
#include "core/common/error.h"
#include "widgets/charts/channel_view.h"
#include "widgets/charts/histogram_view.h"
#include "widgets/common/format.h"
#include "widgets/models/plan_edit.h"
#include "widgets/probe/layer_probe.h"

namespace qs::gui {

namespace {
// Probe plus the evaluation of the entry it was built for, computed together off the GUI thread.
struct ProbeAndResult {
  std::shared_ptr<const ui::LayerProbe> probe;
  std::optional<ui::ProbeResult> result;
};
}  // namespace

DistributionsPanel::DistributionsPanel(Session* session, QWidget* parent)
    : QWidget(parent), session_(session) {
  auto* l = new QVBoxLayout(this);
  l->setContentsMargins(4, 4, 4, 4);
  auto* top = new QHBoxLayout();
  title_ = new QLabel(this);
  title_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  QFont f = title_->font();
  f.setBold(true);
  title_->setFont(f);
  log_ = new QCheckBox(tr("Log scale"), this);
  log_->setToolTip(tr("Logarithmic count axis: shows the sparse tails that clipping cuts off"));
  // Log by default: activations after a ReLU are mostly zeros, which flattens everything else.
  log_->setChecked(QSettings().value(keys::kLogScale, true).toBool());
  top->addWidget(title_, 1);
  top->addWidget(log_);
  l->addLayout(top);
  auto* split = new QSplitter(Qt::Vertical, this);
  for (Side* s : {&w_, &a_}) {
    s->weight = s == &w_;
    auto* box = new QWidget(split);
    auto* bl = new QVBoxLayout(box);
    bl->setContentsMargins(0, 0, 0, 0);
    s->view = new ui::HistogramView(box);
    s->view->setObjectName(s->weight ? QStringLiteral("weightHistogram")
                                     : QStringLiteral("activationHistogram"));
    s->view->setLogScale(log_->isChecked());
    s->stats = new QLabel(box);
    s->stats->setWordWrap(true);
    s->stats->setTextFormat(Qt::RichText);
    s->stats->setTextInteractionFlags(Qt::TextSelectableByMouse);
    bl->addWidget(s->view, 1);
    bl->addWidget(s->stats);
    split->addWidget(box);
    s->task = new LatestTask(this);
    connect(s->task, &LatestTask::settled, this, &DistributionsPanel::checkSettled);
    connect(s->view, &ui::HistogramView::rangeDragged, this,
            [this, s](double lo, double hi) { onDragged(*s, lo, hi); });
    connect(s->view, &ui::HistogramView::rangeCommitted, this,
            [this, s](double lo, double hi) { onCommitted(*s, lo, hi); });
  }
  l->addWidget(split, 1);
  channels_ = new ui::ChannelView();
  channels_->setObjectName(QStringLiteral("channelView"));

  connect(log_, &QCheckBox::toggled, this, [this](bool on) {
    QSettings().setValue(keys::kLogScale, on);
    w_.view->setLogScale(on);
    a_.view->setLogScale(on);
  });
  connect(session_, &Session::selectionChanged, this, &DistributionsPanel::refreshAll);
  connect(session_, &Session::modelChanged, this, &DistributionsPanel::refreshAll);
  connect(session_, &Session::dataChanged, this, &DistributionsPanel::refreshAll);
  connect(session_->plan(), &ui::PlanDocument::planReset, this, &DistributionsPanel::refreshAll);
  connect(session_->plan(), &ui::PlanDocument::entryChanged, this, &DistributionsPanel::onEntryChanged);
  refreshAll();
}

bool DistributionsPanel::busy() const { return w_.task->busy() || a_.task->busy(); }

void DistributionsPanel::checkSettled() {
  if (!busy()) emit settled();
}

std::pair<double, double> DistributionsPanel::markerRange(const PlanEntry& e) {
  double lo = 0, hi = 0;
  for (float v : e.lo) lo = std::min(lo, static_cast<double>(v));
  for (float v : e.hi) hi = std::max(hi, static_cast<double>(v));
  if (e.spec.symmetric) {
    const double a = std::max(std::abs(lo), std::abs(hi));
    return {-a, a};
  }
  return {lo, hi};
}

PlanEntry DistributionsPanel::rangeCandidate(const PlanEntry& base, double lo, double hi) {
  if (base.lo.size() == 1) {
    if (base.spec.symmetric) {
      const auto a = static_cast<float>(std::max(std::abs(lo), std::abs(hi)));
      return ui::withRange(base, {-a}, {a});
    }
    return ui::withRange(base, {static_cast<float>(lo)}, {static_cast<float>(hi)});
  }
  // Per channel: each channel's range scaled by the marker's ratio to the widest channel.
  const auto [blo, bhi] = markerRange(base);
  const double rhi = bhi > 0 ? hi / bhi : 1.0;
  const double rlo = base.spec.symmetric ? rhi : (blo < 0 ? lo / blo : 1.0);
  std::vector<float> nlo(base.lo.size()), nhi(base.hi.size());
  for (size_t c = 0; c < base.lo.size(); ++c) {
    nlo[c] = static_cast<float>(base.lo[c] * rlo);
    nhi[c] = static_cast<float>(base.hi[c] * rhi);
  }
  return ui::withRange(base, nlo, nhi);
}

void DistributionsPanel::refreshAll() {
  const ui::LayerRow* row = session_->selectedLayer();
  title_->setText(row ? ui::qstr(row->name) + QStringLiteral("  (") + ui::qstr(row->op_type) +
                            QLatin1Char(')')
                      : QString());
  w_.tensor = row ? row->weight : std::string();
  a_.tensor = row ? row->activation : std::string();
  refresh(w_);
  refresh(a_);
}

void DistributionsPanel::refresh(Side& s) {
  s.task->invalidate();
  s.probe.reset();
  s.stats->clear();
  if (s.weight) channels_->clear(tr("Per-channel statistics appear for weights quantized per channel."));
  if (!session_->hasModel()) {
    s.view->clear(tr("Open a model to see its distributions."));
    return;
  }
  if (s.tensor.empty()) {
    s.view->clear(session_->selectedLayer()
                      ? (s.weight ? tr("This row has no weight.") : tr("This row has no activation point."))
                      : tr("Select a layer to see its distributions."));
    return;
  }
  const QuantPoints* points = session_->points();
  const DataSettings& data = session_->data();
  if (!points || (!s.weight && !data.hasCalibration())) {
    s.view->clear(tr("Choose calibration data in the Data panel to see activation distributions."));
    return;
  }
  const PlanEntry* planned = session_->plan()->entry(s.tensor);
  PlanEntry entry;
  if (planned) {
    entry = *planned;
  } else {
    entry.tensor = s.tensor;
    entry.kind = s.weight ? TensorKind::Weight : TensorKind::Activation;
  }
  if (auto cached = session_->probe(s.tensor)) {
    s.probe = cached;
    if (planned)
      evaluate(s, entry, false);
    else
      show(s, nullptr, false);
    return;
  }
  std::optional<DataConfig> cfg;
  if (data.hasCalibration()) {
    try {
      cfg = data.calibConfig(session_->model()->graph);
    } catch (const Error& e) {
      s.view->clear(QString::fromUtf8(e.what()));
      return;
    }
  }
  s.view->clear(tr("Reading %1…").arg(ui::qstr(s.tensor)));
  auto graph = session_->workingGraph();
  const QuantPoints pts = *points;
  const int64_t samples = session_->calib().analysis_count, batch = session_->calib().options.batch;
  const bool evaluate_entry = planned != nullptr;
  Side* sp = &s;
  s.task->run<ProbeAndResult>(
      [graph, pts, entry, cfg, samples, batch, evaluate_entry] {
        ProbeAndResult r;
        r.probe = buildProbe(*graph, pts, entry, cfg ? &*cfg : nullptr, samples, batch);
        if (evaluate_entry) r.result = r.probe->evaluate(entry);
        return r;
      },
      [this, sp](ProbeAndResult& r) {
        sp->probe = r.probe;
        session_->storeProbe(sp->tensor, r.probe);
        show(*sp, r.result ? &*r.result : nullptr, false);
      },
      [sp](const QString& msg) { sp->view->clear(msg); });
}

void DistributionsPanel::evaluate(Side& s, const PlanEntry& e, bool live) {
  auto probe = s.probe;
  if (!probe) return;
  Side* sp = &s;
  s.task->run<ui::ProbeResult>([probe, e] { return probe->evaluate(e); },
                               [this, sp, live](ui::ProbeResult& r) { show(*sp, &r, live); },
                               [sp](const QString& msg) { sp->stats->setText(msg.toHtmlEscaped()); });
}

void DistributionsPanel::show(Side& s, const ui::ProbeResult* r, bool live) {
  if (!s.probe) return;
  const PlanEntry* e = session_->plan()->entry(s.tensor);
  const Histogram& h = s.probe->histogram();
  if (!live) {
    ui::HistogramView::Data d;
    d.counts = h.bins();
    d.lo = h.lo();
    d.hi = h.hi();
    if (h.bin_width() == 0) {  // all zeros: one bin around 0
      d.counts = {h.total()};
      d.lo = -0.5;
      d.hi = 0.5;
    }
    if (e && r) {
      d.grid = e->quantize ? r->grid : std::vector<float>{};
      std::tie(d.clip_lo, d.clip_hi) = markerRange(*e);
      d.symmetric = e->spec.symmetric;
      d.editable = e->quantize;
    } else {
      d.clip_lo = h.min();
      d.clip_hi = h.max();
    }
    s.view->setData(d);
    if (!e) s.view->setMarkers(h.min(), h.max());
  } else if (r) {
    s.view->setGrid(r->grid);
  }
  QStringList parts;
  parts << (s.weight ? tr("Weights: %1") : tr("Activations: %1"))
               .arg(QStringLiteral("<b>%1</b>").arg(ui::qstr(s.tensor).toHtmlEscaped()));
  if (e) {
    parts << (e->quantize ? tr("%1 bits").arg(e->spec.bits) : tr("float"));
    parts << (e->spec.axis < 0 ? tr("per tensor") : tr("per channel"));
  } else {
    parts << tr("not in a plan yet (calibrate)");
  }
  parts << tr("range %1").arg(ui::formatRange(s.probe->min(), s.probe->max()));
  if (r && e) {
    if (r->isolated.count > 0)
      parts << (live ? tr("isolated SQNR %1 (dragging)") : tr("isolated SQNR %1"))
                   .arg(ui::formatDb(r->isolated.sqnr_db));
    parts << tr("clipped %1").arg(ui::formatPercent(r->clipped_fraction, 3));
  }
  if (s.probe->hasData()) parts << tr("%n sample(s)", nullptr, static_cast<int>(s.probe->samples()));
  s.stats->setText(parts.join(QStringLiteral(" · ")));
  if (r && e && !live && r->isolated.count > 0)
    session_->layers()->setLiveIsolated(s.tensor, r->isolated.sqnr_db);
  if (s.weight && r && e && !r->channels.empty() && e->spec.axis >= 0 && !live)
    channels_->setChannels(tr("Per-channel weights: %1").arg(ui::qstr(s.tensor)), r->channels, e->params.qmin,
                           e->params.qmax);
  else if (s.weight && !live && e && e->spec.axis < 0)
    channels_->clear(tr("%1 is quantized per tensor: one scale for all channels.").arg(ui::qstr(s.tensor)));
}

void DistributionsPanel::onDragged(Side& s, double lo, double hi) {
  const PlanEntry* e = session_->plan()->entry(s.tensor);
  if (!e || !s.probe) return;
  try {
    evaluate(s, rangeCandidate(*e, lo, hi), true);
  } catch (const Error& err) {
    s.stats->setText(QString::fromUtf8(err.what()).toHtmlEscaped());
  }
}

void DistributionsPanel::onCommitted(Side& s, double lo, double hi) {
  const PlanEntry* e = session_->plan()->entry(s.tensor);
  if (!e) return;
  try {
    const PlanEntry c = rangeCandidate(*e, lo, hi);
    session_->plan()->setRange(s.tensor, c.lo, c.hi);  // entryChanged re-evaluates and redraws
  } catch (const Error& err) {
    emit errorOccurred(tr("Cannot set the clip range"), QString::fromUtf8(err.what()));
  }
}

void DistributionsPanel::onEntryChanged(const QString& tensor) {
  for (Side* s : {&w_, &a_}) {
    if (s->tensor != tensor.toStdString() || !s->probe) continue;
    if (const PlanEntry* e = session_->plan()->entry(s->tensor)) evaluate(*s, *e, false);
  }
}

}  // namespace qs::gui
