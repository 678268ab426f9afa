// The built-in capability: calibrate (a plan from data), analyze (isolated and cumulative error of every
// tensor), evaluate (top-1 of float and of plans A and B in simulation), and all three in a row. It uses
// only the Workbench, as every capability does (capabilities.h).
#include <QCoreApplication>
#include <QKeySequence>

#include "app/gui/capabilities.h"
#include "app/gui/job_runner.h"
#include "app/gui/session.h"
#include "app/gui/workbench.h"
#include "core/common/error.h"

namespace qs::gui {

namespace {

void calibrateJob(Workbench& w) {
  Session* s = w.session();
  w.jobs()->enqueue<CalibrationResult>(
      QCoreApplication::translate("qs::gui::Quantize", "Calibrate"),
      [s]() -> std::function<CalibrationResult(JobContext&)> {
        if (!s->hasModel()) throw Error("open a model first");
        auto model = s->model();
        const ModelSummary summary = s->summary();
        const DataConfig data = s->data().calibConfig(model->graph);
        const CalibrationOptions options = s->calib().options;
        return [model, summary, data, options](JobContext& ctx) {
          return calibrateModel(*model, summary, data, options, ctx);
        };
      },
      [s](CalibrationResult& r) {
        if (!s->points() || s->points()->weights.size() != r.points.weights.size() ||
            s->points()->activations.size() != r.points.activations.size())
          s->setPoints(std::move(r.points), std::move(r.rows));
        // An undo step like any other edit: the previous plan (or none) comes back with Ctrl+Z.
        s->plan()->replacePlan(r.plan, QCoreApplication::translate("qs::gui::Quantize", "calibrate"));
      });
}

void analyzeJob(Workbench& w) {
  Session* s = w.session();
  w.jobs()->enqueue<std::pair<std::shared_ptr<const AnalysisReport>, QuantPlan>>(
      QCoreApplication::translate("qs::gui::Quantize", "Analyze"),
      [s]() -> std::function<std::pair<std::shared_ptr<const AnalysisReport>, QuantPlan>(JobContext&)> {
        if (!s->plan()->hasPlan()) throw Error("no plan to analyze: calibrate first");
        auto graph = s->workingGraph();
        const std::string path = s->model()->path;
        const QuantPlan plan = s->plan()->plan();
        const DataConfig data = s->data().calibConfig(*graph);
        const int64_t count = s->calib().analysis_count, batch = s->calib().options.batch;
        return [graph, path, plan, data, count, batch](JobContext& ctx) {
          return std::make_pair(analyzePlan(*graph, path, plan, data, count, batch, ctx), plan);
        };
      },
      [s](std::pair<std::shared_ptr<const AnalysisReport>, QuantPlan>& r) {
        s->setReport(r.first, r.second);
      });
}

void evaluateJob(Workbench& w) {
  Session* s = w.session();
  w.jobs()->enqueue<EvalOutcome>(
      QCoreApplication::translate("qs::gui::Quantize", "Evaluate"),
      [s]() -> std::function<EvalOutcome(JobContext&)> {
        if (!s->hasModel()) throw Error("open a model first");
        auto model = s->model();
        const DataConfig data = s->data().evalConfig(model->graph);
        // Plan A simulated and on the integer-only engine; plan B simulated.
        std::vector<EvalPlan> plans;
        if (s->plan()->hasPlan()) {
          const QString a = QCoreApplication::translate("qs::gui::Quantize", "plan A");
          plans.push_back({a, s->plan()->plan(), s->plan()->weights(), QStringLiteral("sim")});
          plans.push_back({a, s->plan()->plan(), s->plan()->weights(), QStringLiteral("int")});
        }
        if (s->planB())
          plans.push_back({s->planBLabel().isEmpty()
                               ? QCoreApplication::translate("qs::gui::Quantize", "plan B")
                               : s->planBLabel(),
                           *s->planB(), s->planBWeights(), QStringLiteral("sim")});
        const int64_t batch = s->calib().options.batch;
        return [model, data, plans, batch](JobContext& ctx) {
          return evaluateModel(*model, data, plans, batch, ctx);
        };
      },
      [s, &w](EvalOutcome& r) {
        for (const auto& run : r.runs) s->results()->addRun(run);
        for (const auto& n : r.notes) w.log(n);
      });
}

}  // namespace

void installQuantize(Workbench& w) {
  w.addRunAction(QStringLiteral("calibrate"), QCoreApplication::translate("qs::gui::Quantize", "&Calibrate"),
                 QKeySequence(Qt::Key_F5), false, [&w] { calibrateJob(w); });
  w.addRunAction(QStringLiteral("analyze"), QCoreApplication::translate("qs::gui::Quantize", "&Analyze"),
                 QKeySequence(Qt::Key_F6), true, [&w] { analyzeJob(w); });
  w.addRunAction(QStringLiteral("evaluate"), QCoreApplication::translate("qs::gui::Quantize", "&Evaluate"),
                 QKeySequence(Qt::Key_F7), false, [&w] { evaluateJob(w); });
  w.addRunAction(QStringLiteral("run-all"),
                 QCoreApplication::translate("qs::gui::Quantize", "Calibrate, Analyze and Evaluate"),
                 QKeySequence(Qt::Key_F9), false, [&w] {
                   calibrateJob(w);
                   analyzeJob(w);
                   evaluateJob(w);
                 });
}

}  // namespace qs::gui
