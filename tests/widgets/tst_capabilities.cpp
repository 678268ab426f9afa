// The capabilities plugged into the window (app/gui/cap_*.cpp), each run as a user runs it on the demo,
// its result checked against a property of the engine it wraps or the engine called directly.
#include <QDir>
#include <QFile>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>

#include "app/gui/capabilities.h"
#include "app/gui/job_runner.h"
#include "app/gui/main_window.h"
#include "app/gui/panels/layers_panel.h"
#include "app/gui/session.h"
#include "core/algo/lfh.h"
#include "core/algo/repvgg/diagnose.h"
#include "core/onnx/import.h"
#include "core/quant/bias_correction.h"
#include "test_util.h"
#include "widgets/charts/pareto_chart.h"
#include "widgets/charts/sensitivity_chart.h"
#include "widgets/models/layer_table_model.h"

using namespace qs;
using namespace qs::gui;

class TestCapabilities : public QObject {
  Q_OBJECT

 private:
  std::unique_ptr<MainWindow> w_;
  QSignalSpy* errors_ = nullptr;
  Session* s() { return w_->session(); }
  bool run(const char* action) {
    QAction* a = w_->runAction(QString::fromLatin1(action));
    if (!a || !a->isEnabled()) return false;
    a->trigger();
    return test::waitUntil([&] { return !w_->jobs()->busy(); }, 600000);
  }

 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QSettings().setValue(QStringLiteral("defaults/eptqIterations"), 30);
    w_ = std::make_unique<MainWindow>();
    w_->setQuietErrors(true);
    errors_ = new QSignalSpy(w_.get(), &MainWindow::errorShown);
    QSignalSpy opened(w_.get(), &MainWindow::modelOpened);
    w_->openDemo();
    QVERIFY(opened.wait(60000));
    QVERIFY(run("calibrate"));
    QVERIFY(s()->plan()->hasPlan());
  }
  void cleanupTestCase() { delete errors_; }
  void cleanup() {
    if (!errors_->isEmpty()) qWarning() << "errors:" << *errors_;
    QCOMPARE(errors_->count(), 0);
  }

  // The table's column and the view hold the engine's traces (seeded: the same numbers again).
  void sensitivity() {
    QVERIFY(run("sensitivity"));
    auto* layers = s()->layers();
    QVERIFY(layers->hasSensitivity());
    auto ds = open_dataset(s()->data().calibConfig(s()->model()->graph));
    LfhOptions o;
    o.per_channel = false;
    const LfhResult ref = compute_lfh(s()->model()->graph, *ds, *s()->points(), o);
    int checked = 0;
    for (int r = 0; r < layers->rowCount(); ++r) {
      const std::string& t =
          layers->row(r).activation.empty() ? layers->row(r).weight : layers->row(r).activation;
      const LfhTensor* x = ref.find(t);
      QVERIFY(x);
      const double shown =
          layers->index(r, ui::LayerTableModel::col(ui::LayerTableModel::Column::Sensitivity))
              .data(ui::LayerTableModel::SortRole)
              .toDouble();
      QCOMPARE(shown, x->trace);
      ++checked;
    }
    QVERIFY(checked > 5);
    auto* chart = w_->findChild<ui::SensitivityChart*>(QStringLiteral("sensitivityChart"));
    QVERIFY(chart && chart->hasData());
  }

  // GPTQ tunes the weights on the plan's grid: an undo step carrying the weights; every layer's error is
  // at most round-to-nearest's (the engine keeps RTN per row where it is better).
  void gptqThenUndo() {
    const int steps = s()->plan()->undoStack()->count();
    QVERIFY(!s()->plan()->weights());
    QVERIFY(run("gptq"));
    QCOMPARE(s()->plan()->undoStack()->count(), steps + 1);
    auto g = s()->plan()->weights();
    QVERIFY(g);
    // The tuned weights sit on the plan's grid: fake-quantizing them changes nothing.
    for (const auto& e : s()->plan()->plan().entries) {
      if (e.kind != TensorKind::Weight || !e.quantize) continue;
      const Tensor& wq = *g->initializer(e.tensor);
      const Tensor fq = fake_quantize(wq, e.params);
      const auto a = wq.span<float>(), b = fq.span<float>();
      for (size_t i = 0; i < a.size(); ++i) QCOMPARE(a[i], b[i]);
    }
    // The analysis runs on the tuned weights.
    QVERIFY(run("analyze"));
    QVERIFY(s()->report());
    s()->plan()->undoStack()->undo();
    QVERIFY(!s()->plan()->weights());
    s()->plan()->undoStack()->redo();
    QVERIFY(s()->plan()->weights() == g);
    s()->plan()->undoStack()->undo();
  }

  // Prune (ExactOBS), non-interactive: the remembered choice, 50 % unstructured. Every pruned layer of the
  // weights it applies has the engine's exact sparsity; undo restores the float weights.
  void pruneHalfOfEveryLayer() {
    QVERIFY(!s()->plan()->weights());
    QVERIFY(run("prune"));
    auto g = s()->plan()->weights();
    QVERIFY(g);
    int64_t zeros = 0, total = 0;
    for (const auto& e : s()->plan()->plan().entries) {
      if (e.kind != TensorKind::Weight) continue;
      const Tensor& w = *g->initializer(e.tensor);
      for (float v : w.span<float>()) zeros += v == 0.0f;
      total += w.numel();
    }
    // ExactOBS selects round(0.5 * n) per layer; tiny rounding across the demo's six layers only.
    QVERIFY(total > 0);
    QVERIFY2(std::abs(static_cast<double>(zeros) / static_cast<double>(total) - 0.5) < 0.01,
             qPrintable(QStringLiteral("%1 of %2 zeros").arg(zeros).arg(total)));
    s()->plan()->undoStack()->undo();
    QVERIFY(!s()->plan()->weights());
  }

  // Bias correction from the window equals the engine's correct_biases on the same inputs (seeded data
  // order: identical numbers), as one undo step.
  void biasCorrectionMatchesTheEngine() {
    QVERIFY(!s()->plan()->weights());
    const int steps = s()->plan()->undoStack()->index();
    QVERIFY(run("bias-correction"));
    QCOMPARE(s()->plan()->undoStack()->index(), steps + 1);
    auto g = s()->plan()->weights();
    QVERIFY(g);
    auto ds = open_dataset(s()->data().calibConfig(s()->model()->graph));
    BiasCorrectionOptions o;
    o.calib_count = s()->calib().options.calib_count;
    o.batch = s()->calib().options.batch;
    const BiasCorrectionResult ref =
        correct_biases(s()->model()->graph, s()->model()->graph, *ds, s()->plan()->plan(), o);
    int corrected = 0;
    for (const auto& L : ref.layers) {
      if (L.bias.empty()) continue;
      const Tensor& a = *g->initializer(L.bias);
      const Tensor& b = *ref.graph.initializer(L.bias);
      QCOMPARE(a.numel(), b.numel());
      for (int64_t i = 0; i < a.numel(); ++i) QCOMPARE(a.data<float>()[i], b.data<float>()[i]);
      ++corrected;
    }
    QVERIFY(corrected > 0);
    s()->plan()->undoStack()->undo();
    QVERIFY(!s()->plan()->weights());
  }

  void eptqKeepsTheBestRounding() {
    QVERIFY(run("eptq"));
    QVERIFY(s()->plan()->weights());
    s()->plan()->undoStack()->undo();
  }

  // The Pareto points trade memory for loss; clicking one makes its allocation the plan, with the weight
  // memory the solver reported; a pinned tensor keeps its width in every allocation.
  void mixedPrecisionWithPins() {
    auto* layers = s()->layers();
    std::string pinned;
    for (int r = 0; r < layers->rowCount() && pinned.empty(); ++r) pinned = layers->row(r).weight;
    QVERIFY(!pinned.empty());
    s()->setPins({{pinned, 8}});
    QVERIFY(run("mixed"));
    auto* chart = w_->findChild<ui::ParetoChart*>(QStringLiteral("paretoChart"));
    QVERIFY(chart && chart->hasData());
    // index(), not count(): earlier cases leave undone commands, which a new push discards.
    const int steps = s()->plan()->undoStack()->index();
    emit chart->pointClicked(0);  // the smallest allocation
    QCOMPARE(s()->plan()->undoStack()->index(), steps + 1);
    const QuantPlan& p = s()->plan()->plan();
    QCOMPARE(p.find(pinned)->spec.bits, 8);
    QVERIFY(p.find(pinned)->quantize);
    double smallest_possible = 0;
    for (const auto& e : p.entries)
      if (e.kind == TensorKind::Weight)
        smallest_possible += (e.tensor == pinned ? 8 : 2) *
                             static_cast<double>(s()->model()->graph.initializer(e.tensor)->numel()) / 8;
    QCOMPARE(p.weight_bytes(s()->model()->graph), smallest_possible);
    s()->plan()->undoStack()->undo();
    s()->setPins({});
  }

  void repvggOnAModelWithoutBlocks() {
    QVERIFY(run("repvgg"));
    auto r = std::static_pointer_cast<const repvgg::RepvggReport>(s()->extra(QStringLiteral("repvgg")));
    QVERIFY(r);
    // The demo's residual block adds a conv path to its input: not a sum of branches of one input.
    QCOMPARE(r->blocks.size(), size_t{0});
  }

  // Export writes the model, the plan and the manifest (and the report when asked), in both forms; the
  // model loads again; the input model cannot be the target.
  void exportBothForms() {
    QVERIFY(run("analyze"));
    QTemporaryDir dir;
    for (const char* form : {"qdq", "qop"}) {
      const QString out = dir.filePath(QStringLiteral("demo_%1.onnx").arg(QLatin1String(form)));
      startExport(*w_, {out, QString::fromLatin1(form), true});
      QVERIFY(test::waitUntil([&] { return !w_->jobs()->busy(); }));
      QCOMPARE(errors_->count(), 0);
      for (const char* suffix : {".onnx", ".plan.json", ".manifest.json", ".report.json"})
        QVERIFY2(QFileInfo::exists(dir.filePath(
                     QStringLiteral("demo_%1%2").arg(QLatin1String(form), QLatin1String(suffix)))),
                 suffix);
      const Model m = load_model(out.toStdString());
      QVERIFY(!m.graph.nodes.empty());
      QCOMPARE(
          load_plan(dir.filePath(QStringLiteral("demo_%1.plan.json").arg(QLatin1String(form))).toStdString())
              .entries.size(),
          s()->plan()->plan().entries.size());
    }
    // uint8 weight storage (QDQ): the weight initializers become uint8; the manifest records it.
    const QString u8 = dir.filePath(QStringLiteral("demo_u8.onnx"));
    startExport(*w_, {u8, QStringLiteral("qdq"), false, true});
    QVERIFY(test::waitUntil([&] { return !w_->jobs()->busy(); }));
    QCOMPARE(errors_->count(), 0);
    QFile manifest(dir.filePath(QStringLiteral("demo_u8.manifest.json")));
    QVERIFY(manifest.open(QIODevice::ReadOnly));
    QVERIFY(manifest.readAll().contains("\"weight_storage\": \"uint8\""));
    startExport(*w_, {s()->modelPath(), QStringLiteral("qdq"), false});
    QVERIFY(test::waitUntil([&] { return !w_->jobs()->busy(); }));
    QCOMPARE(errors_->count(), 1);
    QVERIFY(errors_->takeFirst().at(1).toString().contains(QStringLiteral("never writes")));
  }
};

QTEST_MAIN(TestCapabilities)
#include "tst_capabilities.moc"
