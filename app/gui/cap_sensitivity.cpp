// Capability: sensitivity — the label-free Hessian trace (LFH, core/algo/lfh.h) of every weight and
// activation, as EPTQ defines it. The job fills the layer table's "LFH sensitivity" column and the
// Sensitivity view (traces along the network on a log axis).
#include <QCoreApplication>
#include <QLabel>
#include <QVBoxLayout>
#include <map>

#include "app/gui/capabilities.h"
#include "app/gui/job_runner.h"
#include "app/gui/session.h"
#include "app/gui/workbench.h"
#include "core/algo/lfh.h"
#include "core/common/error.h"
#include "widgets/charts/sensitivity_chart.h"
#include "widgets/common/format.h"

namespace qs::gui {

namespace {

const QString kKey = QStringLiteral("lfh");

// The traces along the network: by the topological index of the tensor's node, weights first.
std::vector<ui::SensitivityChart::Point> alongNetwork(const Graph& g, const LfhResult& r) {
  std::map<std::string, int> index;
  for (size_t i = 0; i < g.nodes.size(); ++i) index[g.nodes[i].name] = static_cast<int>(i);
  std::vector<const LfhTensor*> t;
  for (const auto& x : r.tensors) t.push_back(&x);
  auto key = [&](const LfhTensor* x) {
    auto it = index.find(x->layer);
    return std::pair<int, int>(x->layer.empty() || it == index.end() ? -1 : it->second,
                               x->kind == TensorKind::Weight ? 0 : 1);
  };
  std::stable_sort(t.begin(), t.end(),
                   [&](const LfhTensor* a, const LfhTensor* b) { return key(a) < key(b); });
  std::vector<ui::SensitivityChart::Point> out;
  for (const LfhTensor* x : t) out.push_back({x->tensor, x->kind, x->trace, x->normalized});
  return out;
}

class SensitivityPanel : public QWidget {
 public:
  explicit SensitivityPanel(Session* s, QWidget* parent = nullptr) : QWidget(parent), s_(s) {
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(4, 4, 4, 4);
    chart_ = new ui::SensitivityChart(this);
    chart_->setObjectName(QStringLiteral("sensitivityChart"));
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    l->addWidget(chart_, 1);
    l->addWidget(summary_);
    connect(chart_, &ui::SensitivityChart::tensorClicked, s_, &Session::selectTensor);
    connect(s_, &Session::extraChanged, this, [this](const QString& key) {
      if (key == kKey) update();
    });
    connect(s_, &Session::modelChanged, this, [this] { update(); });
    connect(s_, &Session::selectionChanged, this, [this] {
      const ui::LayerRow* r = s_->selectedLayer();
      chart_->setSelected(r ? (r->activation.empty() ? r->weight : r->activation) : std::string());
    });
  }

 private:
  void update() {
    auto r = std::static_pointer_cast<const LfhResult>(s_->extra(kKey));
    if (!r || !s_->hasModel()) {
      chart_->clear(QCoreApplication::translate(
          "qs::gui::Sensitivity",
          "Run Sensitivity (LFH) to see how much each tensor matters to the output."));
      summary_->clear();
      return;
    }
    chart_->setPoints(alongNetwork(s_->model()->graph, *r));
    summary_->setText(
        QCoreApplication::translate(
            "qs::gui::Sensitivity",
            "Label-free Hessian trace Tr(JᵀJ) of the output with respect to each tensor (Hutchinson "
            "estimate, no labels): %1 s, %2× a forward pass over the same samples.")
            .arg(r->seconds, 0, 'f', 2)
            .arg(r->forward_seconds > 0 ? r->seconds / r->forward_seconds : 0.0, 0, 'f', 1));
  }
  Session* s_;
  ui::SensitivityChart* chart_;
  QLabel* summary_;
};

void sensitivityJob(Workbench& w) {
  Session* s = w.session();
  w.jobs()->enqueue<std::shared_ptr<const LfhResult>>(
      QCoreApplication::translate("qs::gui::Sensitivity", "Sensitivity (LFH)"),
      [s]() -> std::function<std::shared_ptr<const LfhResult>(JobContext&)> {
        if (!s->hasModel()) throw Error("open a model first");
        if (!s->points())
          throw Error("the model's quantization points are not known yet: choose calibration data");
        auto model = s->model();
        const QuantPoints points = *s->points();
        const DataConfig data = s->data().calibConfig(model->graph);
        return [model, points, data](JobContext& ctx) {
          ctx.setStage(0, 2, QCoreApplication::translate("qs::gui::Sensitivity", "opening the data"));
          auto ds = open_dataset(data);
          ctx.setStage(1, 2, QCoreApplication::translate("qs::gui::Sensitivity", "Hutchinson probes"));
          LfhOptions o;
          o.per_channel = false;
          o.progress = ctx.progress();
          return std::shared_ptr<const LfhResult>(
              std::make_shared<LfhResult>(compute_lfh(model->graph, *ds, points, o)));
        };
      },
      [s](std::shared_ptr<const LfhResult>& r) {
        std::map<std::string, double> traces;
        for (const auto& t : r->tensors) traces[t.tensor] = t.trace;
        s->layers()->setSensitivity(std::move(traces));
        s->setExtra(kKey, r);
      });
}

}  // namespace

void installSensitivity(Workbench& w) {
  w.addView(QStringLiteral("sensitivity"), QCoreApplication::translate("qs::gui::Sensitivity", "Sensitivity"),
            new SensitivityPanel(w.session()), Qt::BottomDockWidgetArea);
  w.addRunAction(QStringLiteral("sensitivity"),
                 QCoreApplication::translate("qs::gui::Sensitivity", "&Sensitivity (LFH)"),
                 QKeySequence(Qt::Key_F8), false, [&w] { sensitivityJob(w); });
}

}  // namespace qs::gui
