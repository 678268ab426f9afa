// Capability: weight recovery with second-order methods (core/algo/obc/): OBQ and GPTQ quantize each
// layer's weights on the plan's grid minimizing the layer's output error on calibration inputs (Frantar &
// Alistarh). ExactOBS prunes them (unstructured or N:M), alone or followed by OBQ. The job returns tuned
// weights with the plan; applying them is one undo step, and the view lists each layer's error against
// round-to-nearest (or magnitude pruning).
#include <algorithm>
#include <iterator>

#include <QCoreApplication>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

#include "app/gui/capabilities.h"
#include "app/gui/job_runner.h"
#include "app/gui/session.h"
#include "app/gui/workbench.h"
#include "core/algo/obc/compress.h"
#include "core/common/error.h"
#include "core/quant/bias_correction.h"
#include "widgets/models/layer_loss_model.h"

namespace qs::gui {

namespace {

const QString kKey = QStringLiteral("obc");

struct Recovery {
  QString algorithm;
  std::vector<ui::LayerLoss> layers;
  double seconds = 0;
};

class RecoveryPanel : public QWidget {
 public:
  explicit RecoveryPanel(Session* s, QWidget* parent = nullptr) : QWidget(parent), s_(s) {
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(4, 4, 4, 4);
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    model_ = new ui::LayerLossModel(this);
    auto* proxy = new QSortFilterProxyModel(this);
    proxy->setSourceModel(model_);
    proxy->setSortRole(ui::LayerLossModel::SortRole);
    table_ = new QTableView(this);
    table_->setModel(proxy);
    table_->setSortingEnabled(true);
    table_->sortByColumn(-1, Qt::AscendingOrder);
    table_->setAlternatingRowColors(true);
    table_->verticalHeader()->setVisible(false);
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    l->addWidget(summary_);
    l->addWidget(table_, 1);
    connect(table_, &QTableView::activated, this,
            [this](const QModelIndex& i) { s_->select(i.siblingAtColumn(0).data().toString()); });
    connect(s_, &Session::extraChanged, this, [this](const QString& key) {
      if (key == kKey) update();
    });
    connect(s_, &Session::modelChanged, this, [this] { update(); });
    update();
  }

 private:
  void update() {
    auto r = std::static_pointer_cast<const Recovery>(s_->extra(kKey));
    if (!r) {
      model_->setRows({}, QString());
      summary_->setText(QCoreApplication::translate(
          "qs::gui::Recovery",
          "Run OBQ or GPTQ to tune the weights on the plan's grid with second-order information."));
      return;
    }
    model_->setRows(r->layers, r->algorithm);
    double before = 0, after = 0;
    for (const auto& x : r->layers)
      if (x.compressed && x.signal > 0) {
        before += x.loss_before / x.signal;
        after += x.loss_after / x.signal;
      }
    summary_->setText(
        QCoreApplication::translate(
            "qs::gui::Recovery",
            "%1 in %2 s: the layers' relative output error went from %3 (round-to-nearest) to %4. "
            "Analyze and evaluate to see the effect on the whole network.")
            .arg(r->algorithm)
            .arg(r->seconds, 0, 'f', 1)
            .arg(before, 0, 'e', 2)
            .arg(after, 0, 'e', 2));
    table_->resizeColumnsToContents();
  }
  Session* s_;
  QLabel* summary_;
  ui::LayerLossModel* model_;
  QTableView* table_;
};

struct CompressOutcome {
  obc::CompressResult result;
  std::shared_ptr<const Recovery> report;
};

// `proto` holds the algorithm choices (quantization and pruning); data settings come from the session.
void compressJob(Workbench& w, const obc::CompressOptions& proto, const QString& name) {
  Session* s = w.session();
  w.jobs()->enqueue<CompressOutcome>(
      name,
      [s, proto, name]() -> std::function<CompressOutcome(JobContext&)> {
        if (!s->plan()->hasPlan()) throw Error("no plan: calibrate first");
        // From the model's float weights: the algorithm replaces any earlier tuning.
        auto model = s->model();
        const QuantPlan plan = s->plan()->plan();
        const DataConfig data = s->data().calibConfig(model->graph);
        const int64_t count = s->calib().options.calib_count, batch = s->calib().options.batch;
        return [model, plan, data, count, batch, proto, name](JobContext& ctx) {
          ctx.setStage(0, 2, QCoreApplication::translate("qs::gui::Recovery", "opening the data"));
          auto ds = open_dataset(data);
          ctx.setStage(1, 2, name);
          obc::CompressOptions o = proto;
          o.calib_count = count;
          o.batch = batch;
          o.progress = [&ctx](const obc::CompressProgress& p) {
            const double in_layer =
                p.total > 0 ? static_cast<double>(p.done) / static_cast<double>(p.total) : 0;
            const double f =
                p.layers > 0 ? (static_cast<double>(p.layer) + in_layer) / static_cast<double>(p.layers) : 0;
            return ctx.report(f, QStringLiteral("%1 (%2)").arg(QString::fromStdString(p.name),
                                                               QString::fromStdString(p.phase)));
          };
          CompressOutcome out;
          out.result = obc::compress_model(model->graph, *ds, plan, o);
          auto rep = std::make_shared<Recovery>();
          rep->algorithm = name;
          rep->seconds = out.result.seconds;
          for (const auto& L : out.result.layers)
            rep->layers.push_back({QString::fromStdString(L.layer), QString::fromStdString(L.op_type),
                                   L.signal, L.loss_before, L.loss_after, L.sparsity,
                                   L.seconds_inputs + L.seconds_solve, L.compressed,
                                   QString::fromStdString(L.note)});
          out.report = rep;
          return out;
        };
      },
      [s, name](CompressOutcome& r) {
        r.result.plan.model = s->plan()->plan().model;
        s->plan()->replacePlan(r.result.plan, name, std::make_shared<const Graph>(std::move(r.result.graph)));
        s->setExtra(kKey, r.report);
      });
}

void compressJob(Workbench& w, obc::QuantAlgo algo) {
  obc::CompressOptions o;
  o.quant = algo;
  compressJob(w, o, algo == obc::QuantAlgo::Gptq ? QStringLiteral("GPTQ") : QStringLiteral("OBQ"));
}

const QString kPruneKey = QStringLiteral("defaults/pruneChoice");

// ExactOBS pruning: the pattern (and whether OBQ quantizes the pruned weights) is asked for, remembered.
void pruneJob(Workbench& w) {
  struct Choice {
    const char* label;  // translated in context qs::gui::Recovery
    double sparsity;
    int n, m;
    bool quantize;
  };
  static const Choice choices[] = {
      {QT_TRANSLATE_NOOP("qs::gui::Recovery", "50 % unstructured"), 0.5, 0, 0, false},
      {QT_TRANSLATE_NOOP("qs::gui::Recovery", "2:4 (N:M along input channels)"), 0, 2, 4, false},
      {QT_TRANSLATE_NOOP("qs::gui::Recovery", "4:8 (N:M along input channels)"), 0, 4, 8, false},
      {QT_TRANSLATE_NOOP("qs::gui::Recovery", "50 % unstructured, then OBQ on the plan's grid"), 0.5, 0, 0,
       true},
      {QT_TRANSLATE_NOOP("qs::gui::Recovery", "2:4, then OBQ on the plan's grid"), 0, 2, 4, true},
  };
  const int n = static_cast<int>(std::size(choices));
  int pick = std::clamp(QSettings().value(kPruneKey, 0).toInt(), 0, n - 1);
  if (w.interactive()) {
    QStringList items;
    for (const auto& c : choices) items << QCoreApplication::translate("qs::gui::Recovery", c.label);
    bool ok = false;
    const QString got = QInputDialog::getItem(
        w.window(), QCoreApplication::translate("qs::gui::Recovery", "Prune (ExactOBS)"),
        QCoreApplication::translate("qs::gui::Recovery",
                                    "Sparsity pattern (the layers' weights, chosen to minimize each layer's "
                                    "output error):"),
        items, pick, false, &ok);
    if (!ok || items.indexOf(got) < 0) return;
    pick = static_cast<int>(items.indexOf(got));
    QSettings().setValue(kPruneKey, pick);
  }
  const Choice& c = choices[pick];
  obc::CompressOptions o;
  o.prune = obc::PruneMethod::ExactObs;
  o.prune_spec.sparsity = c.sparsity;
  o.prune_spec.nm_n = c.n;
  o.prune_spec.nm_m = c.m;
  o.quant = c.quantize ? obc::QuantAlgo::Obq : obc::QuantAlgo::None;
  compressJob(w, o,
              c.quantize ? QCoreApplication::translate("qs::gui::Recovery", "ExactOBS + OBQ")
                         : QStringLiteral("ExactOBS"));
}

// Empirical bias correction (core/quant/bias_correction.h) on the current weights (the model's own, or
// those of an earlier OBQ/GPTQ/EPTQ/prune run): one undo step carrying the corrected biases.
void biasCorrectionJob(Workbench& w) {
  Session* s = w.session();
  const QString name = QCoreApplication::translate("qs::gui::Recovery", "bias correction");
  w.jobs()->enqueue<std::shared_ptr<const Graph>>(
      QCoreApplication::translate("qs::gui::Recovery", "Bias Correction"),
      [s]() -> std::function<std::shared_ptr<const Graph>(JobContext&)> {
        if (!s->plan()->hasPlan()) throw Error("no plan: calibrate first");
        auto model = s->model();
        auto weights = s->workingGraph();
        const QuantPlan plan = s->plan()->plan();
        const DataConfig data = s->data().calibConfig(model->graph);
        const int64_t count = s->calib().options.calib_count, batch = s->calib().options.batch;
        return [model, weights, plan, data, count, batch](JobContext& ctx) {
          ctx.setStage(0, 2, QCoreApplication::translate("qs::gui::Recovery", "opening the data"));
          auto ds = open_dataset(data);
          ctx.setStage(1, 2,
                       QCoreApplication::translate("qs::gui::Recovery", "measuring the layers' mean error"));
          BiasCorrectionOptions o;
          o.calib_count = count;
          o.batch = batch;
          o.progress = [&ctx](int64_t done, int64_t total) {
            return ctx.report(total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0, {});
          };
          BiasCorrectionResult r = correct_biases(model->graph, *weights, *ds, plan, o);
          return std::make_shared<const Graph>(std::move(r.graph));
        };
      },
      [s, name](std::shared_ptr<const Graph>& g) { s->plan()->replacePlan(s->plan()->plan(), name, g); });
}

}  // namespace

void installRecovery(Workbench& w) {
  w.addView(QStringLiteral("recovery"), QCoreApplication::translate("qs::gui::Recovery", "Recovery"),
            new RecoveryPanel(w.session()), Qt::BottomDockWidgetArea);
  w.addRunAction(QStringLiteral("gptq"), QCoreApplication::translate("qs::gui::Recovery", "&GPTQ"),
                 QKeySequence(), true, [&w] { compressJob(w, obc::QuantAlgo::Gptq); });
  w.addRunAction(QStringLiteral("obq"), QCoreApplication::translate("qs::gui::Recovery", "&OBQ"),
                 QKeySequence(), true, [&w] { compressJob(w, obc::QuantAlgo::Obq); });
  w.addRunAction(QStringLiteral("prune"),
                 QCoreApplication::translate("qs::gui::Recovery", "&Prune (ExactOBS)…"), QKeySequence(), true,
                 [&w] { pruneJob(w); });
  w.addRunAction(QStringLiteral("bias-correction"),
                 QCoreApplication::translate("qs::gui::Recovery", "&Bias Correction"), QKeySequence(), true,
                 [&w] { biasCorrectionJob(w); });
}

}  // namespace qs::gui
