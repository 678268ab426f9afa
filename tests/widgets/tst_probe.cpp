// The live layer probe against the engine's own analysis, the report reader against the writer, the
// network order, and the clip-marker geometry of the distributions panel.
#include <QTest>
#include <cmath>
#include <limits>
#include <map>

#include "app/gui/panels/distributions_panel.h"
#include "core/common/error.h"
#include "test_util.h"
#include "widgets/io/report_json.h"
#include "widgets/probe/layer_probe.h"

using namespace qs;
using namespace qs::ui;
using qs::gui::DistributionsPanel;

namespace {
bool close(double a, double b, double rel = 1e-9) {
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::abs(a - b) <= rel * std::max({1.0, std::abs(a), std::abs(b)});
}
}  // namespace

class TestProbe : public QObject {
  Q_OBJECT

 private:
  std::unique_ptr<test::DemoFixture> fx_;
  static constexpr int64_t kSamples = 64;

 private slots:
  void initTestCase() { fx_ = std::make_unique<test::DemoFixture>(kSamples); }

  // The probe's isolated figures are analyze()'s, entry by entry, on the same samples.
  void probeMatchesAnalyze() {
    auto ds = open_dataset(fx_->data);
    std::map<std::string, const TensorReport*> rep;
    for (const auto& t : fx_->report->tensors) rep[t.tensor] = &t;
    for (const PlanEntry& e : fx_->plan.entries) {
      ProbeOptions o;
      o.samples = kSamples;
      auto p = LayerProbe::build(fx_->loaded.model->graph, fx_->points, e, ds.get(), o);
      QCOMPARE(p->samples(), kSamples);
      const ProbeResult r = p->evaluate(e);
      const TensorReport& t = *rep.at(e.tensor);
      QVERIFY2(close(r.isolated.sqnr_db, t.isolated.sqnr_db), e.tensor.c_str());
      QVERIFY2(close(r.isolated.mse, t.isolated.mse), e.tensor.c_str());
      QCOMPARE(r.isolated.count, t.isolated.count);
      QVERIFY2(close(r.clipped_fraction, t.clipped_fraction), e.tensor.c_str());
      QCOMPARE(r.clip_lo, t.clip_lo);
      QCOMPARE(r.clip_hi, t.clip_hi);
      QCOMPARE(r.grid.size(), t.grid.size());
      if (e.kind == TensorKind::Weight) {
        QCOMPARE(r.channels.size(), t.channels.size());
        for (size_t c = 0; c < r.channels.size(); ++c)
          QVERIFY(close(r.channels[c].sqnr_db, t.channels[c].sqnr_db));
        QCOMPARE(static_cast<int64_t>(p->histogram().total()),
                 fx_->loaded.model->graph.initializer(e.tensor)->numel());
      } else {
        // Every cached value is in the histogram, and the extremes are the values' own.
        QCOMPARE(static_cast<int64_t>(p->histogram().total()), t.isolated.count);
        QCOMPARE(p->min(), t.float_min);
        QCOMPARE(p->max(), t.float_max);
      }
    }
  }

  // Clipping behaves as its definition: nothing beyond a range wider than the data, and a narrower range
  // clips exactly the values outside it (counted by brute force on the tensor).
  void clippingFollowsTheRange() {
    auto ds = open_dataset(fx_->data);
    const PlanEntry* w = nullptr;
    for (const auto& e : fx_->plan.entries)
      if (e.kind == TensorKind::Weight) w = &e;
    QVERIFY(w);
    auto p = LayerProbe::build(fx_->loaded.model->graph, fx_->points, *w, ds.get(), {});
    const PlanEntry wide = DistributionsPanel::rangeCandidate(*w, -1e3, 1e3);
    QCOMPARE(p->evaluate(wide).clipped_fraction, 0.0);
    const PlanEntry narrow = DistributionsPanel::rangeCandidate(*w, -0.5 * p->max(), 0.5 * p->max());
    const ProbeResult r = p->evaluate(narrow);
    const Tensor& t = *fx_->loaded.model->graph.initializer(w->tensor);
    const ChannelLayout L = channel_layout(t.shape(), narrow.spec.axis);
    int64_t clipped = 0;
    for (int64_t o = 0; o < L.outer; ++o)
      for (int64_t c = 0; c < L.channels; ++c)
        for (int64_t i = 0; i < L.inner; ++i) {
          const float v = t.data<float>()[(o * L.channels + c) * L.inner + i];
          const auto cc = static_cast<size_t>(c);
          const float s = narrow.params.scale[cc];
          const float lo = (static_cast<float>(narrow.params.qmin - narrow.params.zero_point[cc]) - 0.5f) * s;
          const float hi = (static_cast<float>(narrow.params.qmax - narrow.params.zero_point[cc]) + 0.5f) * s;
          clipped += v < lo || v > hi;
        }
    QVERIFY(clipped > 0);
    QCOMPARE(r.clipped_fraction, static_cast<double>(clipped) / static_cast<double>(t.numel()));
    // Fewer bits, more error: the isolated SQNR falls as the width shrinks.
    double last = std::numeric_limits<double>::infinity();
    for (int bits : {8, 6, 4, 2}) {
      PlanEntry e = *w;
      QuantSpec s = e.spec;
      s.bits = bits;
      e.set_spec(s);
      const double db = p->evaluate(e).isolated.sqnr_db;
      QVERIFY(db < last);
      last = db;
    }
    // Kept in float: no error.
    PlanEntry f = *w;
    f.quantize = false;
    QVERIFY(std::isinf(p->evaluate(f).isolated.sqnr_db));
    // Another tensor's entry is refused.
    PlanEntry other = *w;
    other.tensor = "nope";
    QVERIFY_THROWS_EXCEPTION(Error, p->evaluate(other));
  }

  void memoryCapLimitsSamples() {
    auto ds = open_dataset(fx_->data);
    const PlanEntry* a = nullptr;
    for (const auto& e : fx_->plan.entries)
      if (e.kind == TensorKind::Activation && e.op_type == "input") a = &e;
    QVERIFY(a);
    ProbeOptions o;
    o.samples = 100;
    o.max_elements = 28 * 28 * 10;  // ten input samples
    auto p = LayerProbe::build(fx_->loaded.model->graph, fx_->points, *a, ds.get(), o);
    QCOMPARE(p->samples(), int64_t{10});
    QCOMPARE(static_cast<int64_t>(p->histogram().total()), int64_t{28 * 28 * 10});
    // Activations need data; weights do not.
    QVERIFY_THROWS_EXCEPTION(Error, LayerProbe::build(fx_->loaded.model->graph, fx_->points, *a, nullptr, o));
  }

  void markerGeometry() {
    const PlanEntry* w = nullptr;
    for (const auto& e : fx_->plan.entries)
      if (e.kind == TensorKind::Weight && e.lo.size() > 1) w = &e;
    QVERIFY(w);
    const auto [lo, hi] = DistributionsPanel::markerRange(*w);
    QCOMPARE(lo, -hi);
    double widest = 0;
    for (size_t c = 0; c < w->lo.size(); ++c)
      widest = std::max({widest, std::abs(double(w->lo[c])), std::abs(double(w->hi[c]))});
    QCOMPARE(hi, widest);
    // Per channel: the marker's ratio to the widest channel scales every channel.
    const PlanEntry half = DistributionsPanel::rangeCandidate(*w, -hi / 2, hi / 2);
    for (size_t c = 0; c < w->lo.size(); ++c) {
      QCOMPARE(half.hi[c], static_cast<float>(w->hi[c] * 0.5));
      QCOMPARE(half.lo[c], static_cast<float>(w->lo[c] * 0.5));
    }
    // Symmetric per tensor: one marker sets both.
    PlanEntry pt = *w;
    pt.lo = {static_cast<float>(lo)};
    pt.hi = {static_cast<float>(hi)};
    pt.spec.axis = -1;
    pt.params = params_from_range(pt.spec, pt.lo, pt.hi);
    const PlanEntry c = DistributionsPanel::rangeCandidate(pt, -0.1, 0.3);
    QCOMPARE(c.lo[0], -0.3f);
    QCOMPARE(c.hi[0], 0.3f);
  }

  void reportJsonRoundTrip() {
    AnalysisReport r = *fx_->report;
    r.model = "m.onnx";
    r.tensors.front().isolated.sqnr_db = std::numeric_limits<double>::infinity();  // written as null
    const AnalysisReport b = report_from_json(report_to_json(r), "test");
    QCOMPARE(b.samples, r.samples);
    QCOMPARE(b.model, r.model);
    QCOMPARE(b.top1_agreement, r.top1_agreement);
    QCOMPARE(b.tensors.size(), r.tensors.size());
    for (size_t i = 0; i < r.tensors.size(); ++i) {
      const auto &x = r.tensors[i], &y = b.tensors[i];
      QCOMPARE(y.tensor, x.tensor);
      QCOMPARE(y.kind, x.kind);
      QCOMPARE(y.hist, x.hist);
      QCOMPARE(y.grid, x.grid);
      QCOMPARE(y.channels.size(), x.channels.size());
      QVERIFY(close(y.isolated.sqnr_db, x.isolated.sqnr_db, 1e-12));
      QVERIFY(close(y.cumulative.sqnr_db, x.cumulative.sqnr_db, 1e-12));
      QCOMPARE(y.clip_lo, x.clip_lo);
    }
    QVERIFY(std::isinf(b.tensors.front().isolated.sqnr_db));
    QVERIFY_THROWS_EXCEPTION(Error, report_from_json("{}", "x"));
    QVERIFY_THROWS_EXCEPTION(Error, report_from_json("not json", "x"));
    QVERIFY_THROWS_EXCEPTION(
        Error, report_from_json(R"({"format":"quantscope-report","version":1,"tensors":[{}]})", "x"));
  }

  void networkOrderIsTopological() {
    const Graph& g = fx_->loaded.model->graph;
    std::map<std::string, int> idx;
    for (size_t i = 0; i < g.nodes.size(); ++i) idx[g.nodes[i].name] = static_cast<int>(i);
    const auto order = network_order(g, fx_->plan);
    QCOMPARE(order.size(), fx_->plan.entries.size());
    int last = -2;
    for (size_t i : order) {
      const PlanEntry& e = fx_->plan.entries[i];
      const int at = e.layer.empty() ? -1 : idx.at(e.layer);
      QVERIFY(at >= last);
      last = at;
    }
  }
};

QTEST_MAIN(TestProbe)
#include "tst_probe.moc"
