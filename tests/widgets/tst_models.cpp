// Every item model under QAbstractItemModelTester while it is exercised the way the window uses it, with
// its contents checked against the plan and model they show.
#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>
#include <cmath>
#include <set>

#include "core/common/error.h"
#include "test_util.h"
#include "widgets/models/layer_filter_model.h"
#include "widgets/models/layer_table_model.h"
#include "widgets/models/plan_compare_model.h"
#include "widgets/models/plan_edit.h"
#include "widgets/models/results_model.h"

using namespace qs;
using namespace qs::ui;
using Col = LayerTableModel::Column;

class TestModels : public QObject {
  Q_OBJECT

 private:
  std::unique_ptr<test::DemoFixture> fx_;
  const std::string* firstWeight() {
    for (const auto& e : fx_->plan.entries)
      if (e.kind == TensorKind::Weight) return &e.tensor;
    return nullptr;
  }

 private slots:
  void initTestCase() { fx_ = std::make_unique<test::DemoFixture>(); }

  void layerRowsCoverEveryPlanEntryOnce() {
    const auto rows = layerRows(fx_->loaded.model->graph, fx_->loaded.summary, &fx_->points);
    std::multiset<std::string> seen;
    for (const auto& r : rows) {
      if (!r.weight.empty()) seen.insert(r.weight);
      if (!r.activation.empty()) seen.insert(r.activation);
    }
    for (const auto& e : fx_->plan.entries) QCOMPARE(seen.count(e.tensor), size_t{1});
    QCOMPARE(seen.size(), fx_->plan.entries.size());
    // Layers first appear in the model's order, each with the summary's figures.
    size_t layers = 0;
    for (const auto& r : rows)
      if (!r.weight.empty()) {
        const LayerInfo& L = fx_->loaded.summary.layers.at(layers++);
        QCOMPARE(r.name, L.name);
        QCOMPARE(r.params, L.params);
      }
    QCOMPARE(layers, fx_->loaded.summary.layers.size());
  }

  void layerTableUnderTester() {
    PlanDocument doc;
    LayerTableModel m(&doc);
    QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    m.setRows(layerRows(fx_->loaded.model->graph, fx_->loaded.summary, &fx_->points),
              &fx_->loaded.model->graph);
    QVERIFY(m.rowCount() > 0);
    const int wcol = LayerTableModel::col(Col::WeightBits);
    // Before a plan: nothing editable, no bits.
    for (int r = 0; r < m.rowCount(); ++r) QVERIFY(!(m.flags(m.index(r, wcol)) & Qt::ItemIsEditable));
    doc.reset(&fx_->plan);
    m.setReport(fx_->report, &fx_->plan);

    const std::string w = *firstWeight();
    const int row = m.rowOfTensor(w);
    QVERIFY(row >= 0);
    const QModelIndex bits = m.index(row, wcol);
    QVERIFY(m.flags(bits) & Qt::ItemIsEditable);
    QCOMPARE(m.data(bits, Qt::EditRole).toInt(), 8);
    // The isolated SQNR shown is the report's.
    const TensorReport* tr_ = nullptr;
    for (const auto& t : fx_->report->tensors)
      if (t.tensor == w) tr_ = &t;
    QVERIFY(tr_);
    QCOMPARE(
        m.data(m.index(row, LayerTableModel::col(Col::WeightSqnr)), LayerTableModel::SortRole).toDouble(),
        tr_->isolated.sqnr_db);

    // Editing goes through the document: one undo step, params re-derived (symmetric: max|w| / (2^(b-1)-1)).
    QSignalSpy changed(&m, &QAbstractItemModel::dataChanged);
    QVERIFY(m.setData(bits, 4));
    QVERIFY(changed.count() >= 1);
    QCOMPARE(doc.undoStack()->count(), 1);
    const PlanEntry* e = doc.entry(w);
    QCOMPARE(e->spec.bits, 4);
    for (size_t c = 0; c < e->lo.size(); ++c) {
      const float amax = std::max(std::abs(e->lo[c]), std::abs(e->hi[c]));
      QCOMPARE(e->params.scale[c], amax / 7.0f);
    }
    // The figure from before the edit is now marked stale.
    QVERIFY(m.data(m.index(row, 0), LayerTableModel::StaleRole).toBool());
    doc.undoStack()->undo();
    QCOMPARE(doc.entry(w)->spec.bits, 8);
    QVERIFY(!m.data(m.index(row, 0), LayerTableModel::StaleRole).toBool());
    doc.undoStack()->redo();
    QCOMPARE(doc.entry(w)->spec.bits, 4);

    // A width the kind does not allow is refused with the engine's message.
    QSignalSpy failed(&m, &LayerTableModel::editFailed);
    QVERIFY(!m.setData(bits, 9));
    QCOMPARE(failed.count(), 1);
    QVERIFY(failed.at(0).at(0).toString().contains(QString::fromStdString(w)));
    QCOMPARE(doc.entry(w)->spec.bits, 4);

    // Float, live values, extension columns, and resets.
    QVERIFY(m.setData(bits, kFloatBits));
    QVERIFY(!doc.entry(w)->quantize);
    QVERIFY(
        m.data(m.index(row, LayerTableModel::col(Col::Flags))).toString().contains(QStringLiteral("float")));
    m.setLiveIsolated(w, 12.5);
    QCOMPARE(
        m.data(m.index(row, LayerTableModel::col(Col::WeightSqnr)), LayerTableModel::SortRole).toDouble(),
        12.5);
    std::map<std::string, double> sens;
    for (int r = 0; r < m.rowCount(); ++r)
      if (!m.row(r).activation.empty()) sens[m.row(r).activation] = r + 1.0;
    m.setSensitivity(sens);
    QVERIFY(m.hasSensitivity());
    m.setVerdicts({{m.row(row).name, QStringLiteral("collapses")}});
    QVERIFY(m.data(m.index(row, 0), LayerTableModel::FlaggedRole).toBool());
    doc.replacePlan(fx_->plan, QStringLiteral("again"));
    QCOMPARE(doc.entry(w)->spec.bits, 8);
    m.setReport(nullptr, nullptr);
    m.setRows({}, nullptr);
    QCOMPARE(m.rowCount(), 0);
  }

  void filterAndSortUnderTester() {
    PlanDocument doc;
    doc.reset(&fx_->plan);
    LayerTableModel m(&doc);
    m.setRows(layerRows(fx_->loaded.model->graph, fx_->loaded.summary, &fx_->points),
              &fx_->loaded.model->graph);
    m.setReport(fx_->report, &fx_->plan);
    LayerFilterModel f;
    QAbstractItemModelTester tester(&f, QAbstractItemModelTester::FailureReportingMode::QtTest);
    f.setSourceModel(&m);
    QCOMPARE(f.rowCount(), m.rowCount());
    // The text filter keeps exactly the rows whose name, op or tensors contain the text (brute force).
    f.setText(QStringLiteral("GEMM"));
    int expect = 0;
    for (int r = 0; r < m.rowCount(); ++r) {
      const LayerRow& row = m.row(r);
      const QString all =
          QString::fromStdString(row.name + "|" + row.op_type + "|" + row.weight + "|" + row.activation);
      expect += all.contains(QStringLiteral("gemm"), Qt::CaseInsensitive);
    }
    QVERIFY(expect > 0);
    QCOMPARE(f.rowCount(), expect);
    f.setText(QStringLiteral("*conv*relu*"));  // wildcards
    for (int r = 0; r < f.rowCount(); ++r) {
      const QModelIndex s = f.mapToSource(f.index(r, 0));
      const LayerRow& row = m.row(s.row());
      const QString all =
          QString::fromStdString(row.name + "|" + row.op_type + "|" + row.weight + "|" + row.activation);
      QVERIFY(QRegularExpression(QStringLiteral("conv.*relu"), QRegularExpression::CaseInsensitiveOption)
                  .match(all)
                  .hasMatch());
    }
    f.setText(QString());
    // Flagged only: a kept-float weight is a flag.
    f.setFlaggedOnly(true);
    const int flagged0 = f.rowCount();
    const int wrow = m.rowOfTensor(*firstWeight());
    const bool was_flagged = m.index(wrow, 0).data(LayerTableModel::FlaggedRole).toBool();
    doc.setBits(*firstWeight(), kFloatBits);
    QCOMPARE(f.rowCount(), flagged0 + (was_flagged ? 0 : 1));
    for (int r = 0; r < f.rowCount(); ++r) QVERIFY(f.index(r, 0).data(LayerTableModel::FlaggedRole).toBool());
    f.setFlaggedOnly(false);
    // Sorting by parameters is numeric, not lexical.
    f.sort(LayerTableModel::col(Col::Params), Qt::DescendingOrder);
    for (int r = 1; r < f.rowCount(); ++r)
      QVERIFY(f.index(r - 1, LayerTableModel::col(Col::Params)).data(LayerTableModel::SortRole).toDouble() >=
              f.index(r, LayerTableModel::col(Col::Params)).data(LayerTableModel::SortRole).toDouble());
    f.sort(LayerTableModel::col(Col::ActSqnr), Qt::AscendingOrder);
    doc.undoStack()->undo();
  }

  void planCompareUnderTester() {
    PlanDocument doc;
    PlanCompareModel m(&doc);
    QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    m.setGraph(&fx_->loaded.model->graph);
    QCOMPARE(m.rowCount(), 0);
    doc.reset(&fx_->plan);
    QCOMPARE(m.rowCount(), static_cast<int>(fx_->plan.entries.size()));
    QCOMPARE(m.differences(), m.rowCount());  // no B: every row differs
    m.setPlanB(fx_->plan);
    QCOMPARE(m.differences(), 0);
    const std::string w = *firstWeight();
    doc.setBits(w, 3);
    QCOMPARE(m.differences(), 1);
    for (int r = 0; r < m.rowCount(); ++r) {
      const QModelIndex i = m.index(r, 0);
      QCOMPARE(i.data(PlanCompareModel::DiffersRole).toBool(),
               i.data(PlanCompareModel::TensorRole).toString() == QString::fromStdString(w));
    }
    QCOMPARE(m.index(m.rowCount() - 1, 0).isValid(), true);
    // A plan B with an entry A lacks adds a row.
    QuantPlan b = fx_->plan;
    b.entries.pop_back();
    m.setPlanB(b);
    QCOMPARE(m.rowCount(), static_cast<int>(fx_->plan.entries.size()));
    QCOMPARE(m.differences(), 2);
    doc.reset(nullptr);
    QCOMPARE(m.rowCount(), static_cast<int>(b.entries.size()));
    m.setPlanB(std::nullopt);
    QCOMPARE(m.rowCount(), 0);
  }

  void resultsUnderTester() {
    ResultsModel m;
    QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    EvalRun f{QStringLiteral("float"), QStringLiteral("float"), 0.978, -1, 500, 176000, 176000, 0.4};
    EvalRun a{QStringLiteral("plan A"), QStringLiteral("sim"), 0.976, 0.99, 500, 44000, 176000, 0.5};
    m.addRun(f);
    m.addRun(a);
    QCOMPARE(m.rowCount(), 2);
    a.top1 = 0.97;
    m.addRun(a);  // same label and engine: replaced
    QCOMPARE(m.rowCount(), 2);
    QCOMPARE(m.index(1, static_cast<int>(ResultsModel::Column::Top1)).data(ResultsModel::SortRole).toDouble(),
             0.97);
    QCOMPARE(m.index(1, static_cast<int>(ResultsModel::Column::Compression))
                 .data(ResultsModel::SortRole)
                 .toDouble(),
             4.0);
    QVERIFY(!m.index(0, static_cast<int>(ResultsModel::Column::Agreement)).data().isValid());
    m.setRuns({f});
    QCOMPARE(m.rowCount(), 1);
    m.clear();
    QCOMPARE(m.rowCount(), 0);
  }

  void planEdits() {
    // Bits: activations at 16 bits become symmetric signed and return to asymmetric.
    const PlanEntry* act = nullptr;
    for (const auto& e : fx_->plan.entries)
      if (e.kind == TensorKind::Activation && e.op_type != "input") act = &e;
    QVERIFY(act);
    const PlanEntry a16 = withBits(*act, 16);
    QVERIFY(a16.spec.symmetric && a16.spec.is_signed);
    const PlanEntry a8 = withBits(a16, 8, false);
    QVERIFY(!a8.spec.symmetric && !a8.spec.is_signed);
    QCOMPARE(a8.params.qmin, 0);
    QCOMPARE(a8.params.qmax, 255);
    QVERIFY_THROWS_EXCEPTION(Error, withBits(*act, 3));
    QVERIFY_THROWS_EXCEPTION(Error, withRange(*act, {1.f}, {0.f}));
    QVERIFY_THROWS_EXCEPTION(Error, withRange(*act, {0.f, 0.f}, {1.f, 1.f}));

    // Range edits of one entry merge into one undo step (a dragged marker).
    PlanDocument doc;
    doc.reset(&fx_->plan);
    QSignalSpy changed(&doc, &PlanDocument::entryChanged);
    QVERIFY(doc.setRange(act->tensor, {act->lo[0] * 0.9f}, {act->hi[0] * 0.9f}));
    QVERIFY(doc.setRange(act->tensor, {act->lo[0] * 0.8f}, {act->hi[0] * 0.8f}));
    QCOMPARE(doc.undoStack()->count(), 1);
    QCOMPARE(changed.count(), 2);
    QCOMPARE(doc.entry(act->tensor)->hi[0], act->hi[0] * 0.8f);
    doc.undoStack()->undo();
    QCOMPARE(doc.entry(act->tensor)->hi[0], act->hi[0]);
    // Several tensors: one step; a bad width applies to none.
    std::vector<std::string> ws;
    for (const auto& e : fx_->plan.entries)
      if (e.kind == TensorKind::Weight) ws.push_back(e.tensor);
    QVERIFY(doc.setBits(ws, 4, QStringLiteral("all weights 4")));
    QCOMPARE(doc.undoStack()->count(), 1);
    for (const auto& t : ws) QCOMPARE(doc.entry(t)->spec.bits, 4);
    QVERIFY_THROWS_EXCEPTION(Error, doc.setBits(ws, 1, QString()));
    for (const auto& t : ws) QCOMPARE(doc.entry(t)->spec.bits, 4);
    doc.undoStack()->undo();
    for (const auto& t : ws) QCOMPARE(doc.entry(t)->spec.bits, 8);
  }
};

QTEST_MAIN(TestModels)
#include "tst_models.moc"
