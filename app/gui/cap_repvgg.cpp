// Capability: RepVGG diagnostics (core/algo/repvgg/diagnose.h) — finds the re-parameterizable blocks of
// the model as trained (BatchNormalization kept), fuses them, checks the fusion, and measures per block
// what makes a re-parameterized network collapse under INT8 post-training quantization (QARepVGG): the
// branches' output std-devs, the fused kernel's max/std, the isolated weight and activation errors, and a
// verdict. Flagged blocks are marked in the layer table's Flags.
#include <QCoreApplication>
#include <QHeaderView>
#include <QLabel>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

#include "app/gui/capabilities.h"
#include "app/gui/job_runner.h"
#include "app/gui/session.h"
#include "app/gui/workbench.h"
#include "core/algo/repvgg/diagnose.h"
#include "core/common/error.h"
#include "core/onnx/import.h"
#include "widgets/models/repvgg_model.h"

namespace qs::gui {

namespace {

const QString kKey = QStringLiteral("repvgg");

class RepvggPanel : public QWidget {
 public:
  explicit RepvggPanel(Session* s, QWidget* parent = nullptr) : QWidget(parent), s_(s) {
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(4, 4, 4, 4);
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    model_ = new ui::RepvggBlockModel(this);
    auto* proxy = new QSortFilterProxyModel(this);
    proxy->setSourceModel(model_);
    proxy->setSortRole(ui::RepvggBlockModel::SortRole);
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
    connect(table_, &QTableView::activated, this, [this](const QModelIndex& i) {
      s_->select(i.data(ui::RepvggBlockModel::BlockNameRole).toString());
    });
    connect(s_, &Session::extraChanged, this, [this](const QString& key) {
      if (key == kKey) update();
    });
    connect(s_, &Session::modelChanged, this, [this] { update(); });
    update();
  }

 private:
  void update() {
    auto r = std::static_pointer_cast<const repvgg::RepvggReport>(s_->extra(kKey));
    if (!r) {
      model_->setBlocks({});
      summary_->setText(QCoreApplication::translate(
          "qs::gui::Repvgg", "Run RepVGG Diagnostics to check re-parameterized blocks for INT8 collapse."));
      return;
    }
    model_->setBlocks(r->blocks);
    int flagged = 0;
    for (const auto& b : r->blocks) flagged += b.verdict.flagged();
    QString t =
        r->blocks.empty()
            ? QCoreApplication::translate("qs::gui::Repvgg",
                                          "No re-parameterizable (RepVGG-style) blocks in this model.")
            : QCoreApplication::translate(
                  "qs::gui::Repvgg",
                  "%1 blocks over %2 samples, %3 flagged; fused model matches the original within %4.")
                  .arg(r->blocks.size())
                  .arg(r->samples)
                  .arg(flagged)
                  .arg(r->fusion.max_rel_error(), 0, 'e', 1);
    if (!r->skipped.empty()) {
      t += QLatin1Char('\n') + QCoreApplication::translate("qs::gui::Repvgg", "Not blocks:") +
           QLatin1Char(' ');
      QStringList s;
      for (const auto& k : r->skipped) s << QString::fromStdString(k.node + ": " + k.reason);
      t += s.mid(0, 4).join(QStringLiteral("; "));
    }
    summary_->setText(t);
    table_->resizeColumnsToContents();
  }
  Session* s_;
  QLabel* summary_;
  ui::RepvggBlockModel* model_;
  QTableView* table_;
};

void repvggJob(Workbench& w) {
  Session* s = w.session();
  w.jobs()->enqueue<std::shared_ptr<const repvgg::RepvggReport>>(
      QCoreApplication::translate("qs::gui::Repvgg", "RepVGG diagnostics"),
      [s]() -> std::function<std::shared_ptr<const repvgg::RepvggReport>(JobContext&)> {
        if (!s->hasModel()) throw Error("open a model first");
        const std::string path = s->model()->path;
        const DataConfig data = s->data().calibConfig(s->model()->graph);
        const int64_t count = s->calib().analysis_count, batch = s->calib().options.batch;
        return [path, data, count, batch](JobContext& ctx) {
          // The branches as trained: BatchNormalization is not folded for this analysis.
          ctx.setStage(0, 2,
                       QCoreApplication::translate("qs::gui::Repvgg",
                                                   "reading the model with its BatchNormalization"));
          LoadOptions lo;
          lo.fold_batchnorm = false;
          const Model m = load_model(path, lo);
          auto ds = open_dataset(data);
          ctx.setStage(1, 2, QCoreApplication::translate("qs::gui::Repvgg", "branch statistics"));
          repvgg::RepvggOptions o;
          o.count = count;
          o.batch = batch;
          o.progress = ctx.progress();
          auto r = std::make_shared<repvgg::RepvggReport>(repvgg::diagnose(m.graph, *ds, o));
          r->model = path;
          return std::shared_ptr<const repvgg::RepvggReport>(r);
        };
      },
      [s](std::shared_ptr<const repvgg::RepvggReport>& r) {
        std::map<std::string, QString> verdicts;
        for (const auto& b : r->blocks)
          if (b.verdict.flagged()) verdicts[b.block.name] = ui::RepvggBlockModel::verdictText(b.verdict);
        s->layers()->setVerdicts(std::move(verdicts));
        s->setExtra(kKey, r);
      });
}

}  // namespace

void installRepvgg(Workbench& w) {
  w.addView(QStringLiteral("repvgg"), QCoreApplication::translate("qs::gui::Repvgg", "RepVGG"),
            new RepvggPanel(w.session()), Qt::BottomDockWidgetArea);
  w.addRunAction(QStringLiteral("repvgg"),
                 QCoreApplication::translate("qs::gui::Repvgg", "&RepVGG Diagnostics"), QKeySequence(), false,
                 [&w] { repvggJob(w); });
}

}  // namespace qs::gui
