// Capability: EPTQ (core/algo/eptq.h) — learns the rounding of every weight jointly for the whole model,
// distilling the float model's activations weighted by their label-free Hessian (LFH). The job returns
// the tuned weights with the plan (one undo step) and the loss curve the view draws; cancelling keeps the
// best rounding found so far, as the engine does.
#include <QCoreApplication>
#include <QInputDialog>
#include <QLabel>
#include <QSettings>
#include <QVBoxLayout>

#include "app/gui/capabilities.h"
#include "app/gui/job_runner.h"
#include "app/gui/session.h"
#include "app/gui/workbench.h"
#include "core/algo/eptq.h"
#include "core/common/error.h"
#include "widgets/charts/loss_curve_chart.h"

namespace qs::gui {

namespace {

const QString kKey = QStringLiteral("eptq");
const QString kIterationsKey = QStringLiteral("defaults/eptqIterations");

struct EptqCurve {
  std::vector<ui::LossCurveChart::Step> steps;
  double rtn_eval_loss = 0, best_eval_loss = 0;
  int best_iteration = 0, iterations_run = 0;
  int64_t changed = 0, weights = 0;
  double seconds = 0;
  bool cancelled = false;
};

class EptqPanel : public QWidget {
 public:
  explicit EptqPanel(Session* s, QWidget* parent = nullptr) : QWidget(parent), s_(s) {
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(4, 4, 4, 4);
    chart_ = new ui::LossCurveChart(this);
    chart_->setObjectName(QStringLiteral("eptqChart"));
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    l->addWidget(chart_, 1);
    l->addWidget(summary_);
    connect(s_, &Session::extraChanged, this, [this](const QString& key) {
      if (key == kKey) update();
    });
    connect(s_, &Session::modelChanged, this, [this] { update(); });
  }

 private:
  void update() {
    auto c = std::static_pointer_cast<const EptqCurve>(s_->extra(kKey));
    if (!c) {
      chart_->clear(QCoreApplication::translate("qs::gui::Eptq", "Run EPTQ to see its loss curve."));
      summary_->clear();
      return;
    }
    chart_->setCurve(c->steps, c->rtn_eval_loss);
    summary_->setText(
        QCoreApplication::translate(
            "qs::gui::Eptq",
            "%1 iterations in %2 s%3: distillation loss of the hard rounding %4 (round-to-nearest "
            "%5), best at iteration %6; %7 of %8 weights rounded differently from nearest.")
            .arg(c->iterations_run)
            .arg(c->seconds, 0, 'f', 1)
            .arg(c->cancelled ? QCoreApplication::translate("qs::gui::Eptq", " (cancelled)") : QString())
            .arg(c->best_eval_loss, 0, 'e', 3)
            .arg(c->rtn_eval_loss, 0, 'e', 3)
            .arg(c->best_iteration)
            .arg(c->changed)
            .arg(c->weights));
  }
  Session* s_;
  ui::LossCurveChart* chart_;
  QLabel* summary_;
};

struct EptqOutcome {
  EptqResult result;
  std::shared_ptr<const EptqCurve> curve;
};

void eptqJob(Workbench& w) {
  Session* s = w.session();
  int iterations = QSettings().value(kIterationsKey, 300).toInt();
  if (!s->plan()->hasPlan()) {
    w.showError(QCoreApplication::translate("qs::gui::Eptq", "EPTQ"),
                QCoreApplication::translate("qs::gui::Eptq", "No plan: calibrate first."));
    return;
  }
  if (w.interactive()) {
    bool ok = false;
    iterations = QInputDialog::getInt(
        w.window(), QCoreApplication::translate("qs::gui::Eptq", "EPTQ"),
        QCoreApplication::translate("qs::gui::Eptq",
                                    "Iterations (the paper uses 80,000; a few hundred already help "
                                    "on a CPU):"),
        iterations, 10, 100000, 100, &ok);
    if (!ok) return;
    QSettings().setValue(kIterationsKey, iterations);
  }
  w.jobs()->enqueue<EptqOutcome>(
      QCoreApplication::translate("qs::gui::Eptq", "EPTQ"),
      [s, iterations]() -> std::function<EptqOutcome(JobContext&)> {
        if (!s->plan()->hasPlan()) throw Error("no plan: calibrate first");
        auto model = s->model();
        const QuantPlan plan = s->plan()->plan();
        const DataConfig data = s->data().calibConfig(model->graph);
        const int64_t count = s->calib().options.calib_count;
        return [model, plan, data, count, iterations](JobContext& ctx) {
          ctx.setStage(0, 2, QCoreApplication::translate("qs::gui::Eptq", "opening the data"));
          auto ds = open_dataset(data);
          ctx.setStage(1, 2, QCoreApplication::translate("qs::gui::Eptq", "optimizing the rounding"));
          EptqOptions o;
          o.iterations = iterations;
          o.calib_count = count;
          o.lfh.progress = [&ctx](int64_t, int64_t) { return !ctx.cancelled(); };
          o.progress = [&ctx](const EptqStep& st) {
            return ctx.report(static_cast<double>(st.iteration) / std::max(1, st.iterations),
                              QCoreApplication::translate("qs::gui::Eptq", "iteration %1, loss %2")
                                  .arg(st.iteration)
                                  .arg(st.loss, 0, 'e', 2));
          };
          EptqOutcome out;
          out.result = eptq(model->graph, *ds, plan, o);
          auto c = std::make_shared<EptqCurve>();
          for (const auto& st : out.result.curve) c->steps.push_back({st.iteration, st.loss, st.eval_loss});
          c->rtn_eval_loss = out.result.rtn_eval_loss;
          c->best_eval_loss = out.result.best_eval_loss;
          c->best_iteration = out.result.best_iteration;
          c->iterations_run = out.result.iterations_run;
          c->cancelled = out.result.cancelled;
          c->seconds = out.result.seconds;
          for (const auto& L : out.result.layers) {
            c->changed += L.changed;
            c->weights += L.elements;
          }
          out.curve = c;
          return out;
        };
      },
      [s](EptqOutcome& r) {
        s->plan()->replacePlan(r.result.plan, QCoreApplication::translate("qs::gui::Eptq", "EPTQ"),
                               std::make_shared<const Graph>(std::move(r.result.graph)));
        s->setExtra(kKey, r.curve);
      });
}

}  // namespace

void installEptq(Workbench& w) {
  w.addView(QStringLiteral("eptq"), QCoreApplication::translate("qs::gui::Eptq", "EPTQ"),
            new EptqPanel(w.session()), Qt::BottomDockWidgetArea);
  w.addRunAction(QStringLiteral("eptq"), QCoreApplication::translate("qs::gui::Eptq", "E&PTQ…"),
                 QKeySequence(), true, [&w] { eptqJob(w); });
}

}  // namespace qs::gui
