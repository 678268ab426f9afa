// Capability: mixed precision (core/algo/mixed/) — each weight's LFH-weighted sensitivity at every width,
// then the bit allocation of least predicted loss for every weight-memory budget (an exact ILP solved by
// COIN-OR CBC), as a Pareto curve. The view: the curve, a budget slider that picks the best allocation
// within it, that allocation's bits along the network against the current plan, and Apply (or a click on
// a point) to make it the plan — one undo step. Widths the user pinned (Edit ▸ Pin) are kept.
#include <QCoreApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QSplitter>
#include <QVBoxLayout>

#include "app/gui/capabilities.h"
#include "app/gui/job_runner.h"
#include "app/gui/session.h"
#include "app/gui/workbench.h"
#include "core/algo/lfh.h"
#include "core/algo/mixed/mixed_plan.h"
#include "core/common/error.h"
#include "widgets/charts/bits_chart.h"
#include "widgets/charts/pareto_chart.h"
#include "widgets/common/format.h"

namespace qs::gui {

namespace {

const QString kKey = QStringLiteral("mixed");

struct MixedResult {
  QuantPlan base;                      // the plan the sweep was made from
  std::shared_ptr<const Graph> graph;  // the weights it applies to
  MixedProblem problem;
  std::vector<ParetoPoint> points;  // distinct allocations, increasing size
  std::vector<QuantPlan> plans;     // apply_choice of each point
  SensitivityTable table;
};

class MixedPanel : public QWidget {
 public:
  MixedPanel(Session* s, QWidget* parent = nullptr) : QWidget(parent), s_(s) {
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(4, 4, 4, 4);
    auto* split = new QSplitter(Qt::Horizontal, this);
    pareto_ = new ui::ParetoChart(split);
    pareto_->setObjectName(QStringLiteral("paretoChart"));
    bits_ = new ui::BitsChart(split);
    bits_->setObjectName(QStringLiteral("mixedBitsChart"));
    split->addWidget(pareto_);
    split->addWidget(bits_);
    l->addWidget(split, 1);
    auto* row = new QHBoxLayout();
    row->addWidget(new QLabel(QCoreApplication::translate("qs::gui::Mixed", "Weight memory budget:"), this));
    slider_ = new QSlider(Qt::Horizontal, this);
    slider_->setRange(0, 1000);
    row->addWidget(slider_, 1);
    budget_ = new QLabel(this);
    budget_->setMinimumWidth(budget_->fontMetrics().horizontalAdvance(QStringLiteral("0000.0 KiB")));
    row->addWidget(budget_);
    apply_ = new QPushButton(QCoreApplication::translate("qs::gui::Mixed", "Apply"), this);
    apply_->setToolTip(
        QCoreApplication::translate("qs::gui::Mixed", "Make the chosen allocation the plan (one undo step)"));
    row->addWidget(apply_);
    l->addLayout(row);
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    l->addWidget(summary_);
    connect(slider_, &QSlider::valueChanged, this, [this] { onBudget(); });
    connect(pareto_, &ui::ParetoChart::pointClicked, this, [this](int i) {
      choose(i);
      apply();
    });
    connect(apply_, &QPushButton::clicked, this, [this] { apply(); });
    connect(s_, &Session::extraChanged, this, [this](const QString& key) {
      if (key == kKey) update();
    });
    connect(s_, &Session::modelChanged, this, [this] { update(); });
    update();
  }

 private:
  const MixedResult* result() const { return static_cast<const MixedResult*>(s_->extra(kKey).get()); }

  void update() {
    const MixedResult* r = result();
    chosen_ = -1;
    if (!r || r->points.empty() || !s_->hasModel()) {
      pareto_->clear(QCoreApplication::translate(
          "qs::gui::Mixed", "Run Mixed Precision to see the memory/accuracy trade-off."));
      bits_->clear(
          QCoreApplication::translate("qs::gui::Mixed", "The chosen allocation's bit-widths appear here."));
      summary_->clear();
      slider_->setEnabled(false);
      apply_->setEnabled(false);
      budget_->clear();
      return;
    }
    std::vector<ui::ParetoChart::Point> pts;
    for (const auto& p : r->points) pts.push_back({p.solution.costs.weight_bytes, p.solution.costs.loss});
    pareto_->setPoints(pts);
    slider_->setEnabled(true);
    slider_->setValue(slider_->maximum() / 2);
    onBudget();
  }

  double budgetBytes() const {
    const MixedResult* r = result();
    const double lo = r->points.front().solution.costs.weight_bytes,
                 hi = r->points.back().solution.costs.weight_bytes;
    return lo + (hi - lo) * slider_->value() / slider_->maximum();
  }

  void onBudget() {
    const MixedResult* r = result();
    if (!r || r->points.empty()) return;
    const double b = budgetBytes();
    budget_->setText(ui::formatBytes(b));
    pareto_->setBudget(b);
    // The allocation of least loss within the budget: points grow in size and shrink in loss.
    int best = 0;
    for (size_t i = 0; i < r->points.size(); ++i)
      if (r->points[i].solution.costs.weight_bytes <= b + 1e-9) best = static_cast<int>(i);
    choose(best);
  }

  void choose(int i) {
    const MixedResult* r = result();
    if (!r || i < 0 || static_cast<size_t>(i) >= r->plans.size()) return;
    chosen_ = i;
    pareto_->setChosen(i);
    const auto* doc = s_->plan();
    bits_->setPlans(*r->graph, &r->plans[static_cast<size_t>(i)], doc->hasPlan() ? &doc->plan() : nullptr,
                    QCoreApplication::translate("qs::gui::Mixed", "chosen"),
                    QCoreApplication::translate("qs::gui::Mixed", "current plan"));
    const MixedCosts& c = r->points[static_cast<size_t>(i)].solution.costs;
    summary_->setText(QCoreApplication::translate(
                          "qs::gui::Mixed",
                          "Chosen: weights %1, predicted loss %2, %3 BOPs. %n pinned tensor(s) kept.",
                          nullptr, static_cast<int>(s_->pins().size()))
                          .arg(ui::formatBytes(c.weight_bytes))
                          .arg(c.loss, 0, 'e', 3)
                          .arg(ui::formatSi(c.bops)));
    apply_->setEnabled(true);
  }

  void apply() {
    const MixedResult* r = result();
    if (!r || chosen_ < 0) return;
    const MixedCosts& c = r->points[static_cast<size_t>(chosen_)].solution.costs;
    s_->plan()->replacePlan(r->plans[static_cast<size_t>(chosen_)],
                            QCoreApplication::translate("qs::gui::Mixed", "mixed precision: %1")
                                .arg(ui::formatBytes(c.weight_bytes)),
                            r->graph == s_->workingGraph() ? s_->plan()->weights() : nullptr);
  }

  Session* s_;
  ui::ParetoChart* pareto_;
  ui::BitsChart* bits_;
  QSlider* slider_;
  QLabel* budget_;
  QPushButton* apply_;
  QLabel* summary_;
  int chosen_ = -1;
};

void mixedJob(Workbench& w) {
  Session* s = w.session();
  w.jobs()->enqueue<std::shared_ptr<const MixedResult>>(
      QCoreApplication::translate("qs::gui::Mixed", "Mixed precision"),
      [s]() -> std::function<std::shared_ptr<const MixedResult>(JobContext&)> {
        if (!s->plan()->hasPlan()) throw Error("no plan: calibrate first");
        if (!s->points()) throw Error("the model's quantization points are not known yet");
        auto graph = s->workingGraph();
        const QuantPlan plan = s->plan()->plan();
        const QuantPoints points = *s->points();
        const DataConfig data = s->data().calibConfig(*graph);
        MixedSetup setup;
        setup.pins = s->pins();
        const int64_t batch = s->calib().options.batch;
        return [graph, plan, points, data, setup, batch](JobContext& ctx) {
          ctx.setStage(0, 4, QCoreApplication::translate("qs::gui::Mixed", "opening the data"));
          auto ds = open_dataset(data);
          // The sensitivity weighs the output and every activation by its label-free Hessian trace, as
          // EPTQ defines it (and as the CLI's `mixed` does by default).
          ctx.setStage(
              1, 4,
              QCoreApplication::translate("qs::gui::Mixed", "label-free Hessian trace of every activation"));
          LfhOptions lo;
          lo.samples = 32;
          lo.batch = batch;
          lo.per_channel = false;
          lo.progress = ctx.progress();
          SensitivityOptions so;
          so.observe = lfh_observe_weights(compute_lfh(*graph, *ds, points, lo));
          ctx.setStage(
              2, 4,
              QCoreApplication::translate("qs::gui::Mixed", "sensitivity of every weight at every width"));
          for (const auto& [tensor, bits] : setup.pins) so.bits_for[tensor] = {bits};
          so.batch = batch;
          so.progress = ctx.progress();
          auto r = std::make_shared<MixedResult>();
          r->base = plan;
          r->graph = graph;
          r->table = compute_sensitivity(*graph, *ds, plan, points, so);
          ctx.setStage(3, 4, QCoreApplication::translate("qs::gui::Mixed", "optimal allocations (ILP)"));
          r->problem = build_problem(*graph, plan, points, r->table, setup, *ds);
          r->problem.budget.weight_bytes.reset();
          r->points = pareto_sweep(r->problem, 21);
          for (const auto& p : r->points) {
            ctx.checkCancelled();
            r->plans.push_back(apply_choice(*graph, plan, r->problem, p.solution.choice));
          }
          return std::shared_ptr<const MixedResult>(r);
        };
      },
      [s](std::shared_ptr<const MixedResult>& r) { s->setExtra(kKey, r); });
}

}  // namespace

void installMixed(Workbench& w) {
  w.addView(QStringLiteral("mixed"), QCoreApplication::translate("qs::gui::Mixed", "Mixed Precision"),
            new MixedPanel(w.session()), Qt::BottomDockWidgetArea);
  w.addRunAction(QStringLiteral("mixed"), QCoreApplication::translate("qs::gui::Mixed", "&Mixed Precision"),
                 QKeySequence(), true, [&w] { mixedJob(w); });
}

}  // namespace qs::gui
