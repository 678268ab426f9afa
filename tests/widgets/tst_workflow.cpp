// The window end to end, as a user drives it: open the demo → calibrate → edit a bit-width in the table →
// undo → save the plan and the project (asserting what is written), reopen the project; errors become
// dialogs (signals here) with the engine's message, and the input model is never written.
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>

#include "app/gui/job_runner.h"
#include "app/gui/main_window.h"
#include "app/gui/panels/layers_panel.h"
#include "app/gui/session.h"
#include "core/algo/lfh.h"
#include "core/data/npy.h"
#include "core/export/onnx_writer.h"
#include "test_util.h"
#include "widgets/models/layer_filter_model.h"
#include "widgets/models/layer_table_model.h"

using namespace qs;
using namespace qs::gui;
using Col = ui::LayerTableModel::Column;

namespace {
QByteArray digest(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
}
bool waitIdle(MainWindow& w) {
  return test::waitUntil([&] { return !w.jobs()->busy(); });
}
}  // namespace

class TestWorkflow : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

  void demoCalibrateEditUndoSave() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    MainWindow w;
    w.setQuietErrors(true);
    QSignalSpy errors(&w, &MainWindow::errorShown);
    w.show();
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));  // shortcuts go to the active window
    QSignalSpy opened(&w, &MainWindow::modelOpened);
    w.openDemo();
    QVERIFY(opened.wait(60000));
    Session* s = w.session();
    QVERIFY(s->hasModel());
    QVERIFY(s->data().hasCalibration() && s->data().hasEvaluation());
    QVERIFY(!s->plan()->hasPlan());
    const QByteArray model_digest = digest(s->modelPath());

    // Calibrate (F5 in the window): a plan with every weight at 8 bits.
    QAction* calibrate = w.runAction(QStringLiteral("calibrate"));
    QVERIFY(calibrate && calibrate->isEnabled());
    calibrate->trigger();
    QVERIFY(w.jobs()->busy());
    QVERIFY(waitIdle(w));
    QCOMPARE(errors.count(), 0);
    QVERIFY(s->plan()->hasPlan());
    QCOMPARE(s->plan()->undoStack()->count(), 1);  // calibration is an undo step

    // Edit a bit-width in place in the table (through the view's proxy, as the delegate commits).
    QTableView* table = w.layersPanel()->table();
    QAbstractItemModel* view_model = table->model();
    int row = -1;
    for (int r = 0; r < view_model->rowCount() && row < 0; ++r)
      if (!view_model->index(r, 0).data(ui::LayerTableModel::WeightTensorRole).toString().isEmpty()) row = r;
    QVERIFY(row >= 0);
    const std::string weight =
        view_model->index(row, 0).data(ui::LayerTableModel::WeightTensorRole).toString().toStdString();
    const QModelIndex bits = view_model->index(row, ui::LayerTableModel::col(Col::WeightBits));
    QVERIFY(view_model->flags(bits) & Qt::ItemIsEditable);
    QVERIFY(view_model->setData(bits, 3));
    QCOMPARE(s->plan()->entry(weight)->spec.bits, 3);
    QCOMPARE(bits.data().toString(), QStringLiteral("3"));
    QCOMPARE(s->plan()->undoStack()->count(), 2);

    // Undo (Ctrl+Z): back to 8 bits; save the plan: the file holds the plan as shown.
    QTest::keyClick(&w, Qt::Key_Z, Qt::ControlModifier);
    QCOMPARE(s->plan()->entry(weight)->spec.bits, 8);
    const QString plan_path = dir.filePath(QStringLiteral("plan.json"));
    QVERIFY(w.savePlan(plan_path));
    const QuantPlan saved = load_plan(plan_path.toStdString());
    QCOMPARE(saved.entries.size(), s->plan()->plan().entries.size());
    QCOMPARE(saved.find(weight)->spec.bits, 8);
    for (size_t i = 0; i < saved.entries.size(); ++i) {
      QCOMPARE(saved.entries[i].tensor, s->plan()->plan().entries[i].tensor);
      QCOMPARE(saved.entries[i].params.scale, s->plan()->plan().entries[i].params.scale);
    }
    // Redo, then save the project in a subfolder: the model path in it is relative to the project.
    QTest::keyClick(&w, Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
    QCOMPARE(s->plan()->entry(weight)->spec.bits, 3);
    QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("projects")));
    const QString project = dir.filePath(QStringLiteral("projects/demo.qsproj"));
    QVERIFY(w.saveProject(project));
    QFile pf(project);
    QVERIFY(pf.open(QIODevice::ReadOnly));
    const QJsonObject o = QJsonDocument::fromJson(pf.readAll()).object();
    const QString rel = o.value(QStringLiteral("model")).toString();
    QVERIFY(QDir::isRelativePath(rel));
    QCOMPARE(
        QFileInfo(QDir(dir.filePath(QStringLiteral("projects"))).absoluteFilePath(rel)).canonicalFilePath(),
        QFileInfo(s->modelPath()).canonicalFilePath());
    QVERIFY(o.contains(QStringLiteral("plan")));
    QVERIFY(QDir::isRelativePath(
        o.value(QStringLiteral("data")).toObject().value(QStringLiteral("calibration_images")).toString()));
    QVERIFY(s->plan()->undoStack()->isClean());

    // The input model cannot be overwritten, and was not written.
    QVERIFY(!w.savePlan(s->modelPath()));
    QVERIFY(!w.saveProject(s->modelPath()));
    QCOMPARE(errors.count(), 2);
    QVERIFY(errors.at(0).at(1).toString().contains(QStringLiteral("never writes")));
    QCOMPARE(digest(s->modelPath()), model_digest);

    // Reopen the project in a new window: same model, data, plan (with the 3-bit edit).
    MainWindow w2;
    w2.setQuietErrors(true);
    QSignalSpy opened2(&w2, &MainWindow::modelOpened);
    w2.openProject(project);
    QVERIFY(opened2.wait(60000));
    Session* s2 = w2.session();
    QCOMPARE(QFileInfo(s2->modelPath()).canonicalFilePath(), QFileInfo(s->modelPath()).canonicalFilePath());
    QVERIFY(s2->data() == s->data());
    QVERIFY(s2->plan()->hasPlan());
    QCOMPARE(s2->plan()->entry(weight)->spec.bits, 3);
    QCOMPARE(s2->plan()->plan().entries.size(), s->plan()->plan().entries.size());
    QCOMPARE(s2->plan()->undoStack()->count(), 0);
  }

  void analyzeEvaluateAndCompare() {
    MainWindow w;
    w.setQuietErrors(true);
    QSignalSpy errors(&w, &MainWindow::errorShown);
    QSignalSpy opened(&w, &MainWindow::modelOpened);
    w.openDemo();
    QVERIFY(opened.wait(60000));
    w.runAll();
    QVERIFY(waitIdle(w));
    QCOMPARE(errors.count(), 0);
    Session* s = w.session();
    QVERIFY(s->report());
    QCOMPARE(s->report()->tensors.size(), s->plan()->plan().entries.size());
    // Float top-1 on the 500 demo test images is the model card's (resources/demo/demo.json: 0.978).
    const auto& runs = s->results()->runs();
    QCOMPARE(runs.size(), size_t{3});  // float, plan A simulated, plan A on the integer engine
    QCOMPARE(runs[0].engine, QStringLiteral("float"));
    QCOMPARE(runs[0].count, int64_t{500});
    QVERIFY(std::abs(runs[0].top1 - 0.978) < 0.0021);  // one image of slack for float summation order
    QVERIFY(runs[1].agreement > 0.9 && runs[1].agreement <= 1.0);
    QCOMPARE(runs[1].float_weight_bytes / runs[1].weight_bytes, 4.0);  // 8-bit weights
    QCOMPARE(runs[2].engine, QStringLiteral("int"));
    // The simulation models the integer engine's arithmetic: their predictions agree (within one image).
    QVERIFY(std::abs(runs[2].top1 - runs[1].top1) <= 0.0021);
    // Plan B: snapshot, change A, evaluate both.
    s->setPlanB(s->plan()->plan(), QStringLiteral("B"));
    std::vector<std::string> ws;
    for (const auto& e : s->plan()->plan().entries)
      if (e.kind == TensorKind::Weight) ws.push_back(e.tensor);
    s->plan()->setBits(ws, 2, QStringLiteral("2-bit"));
    QVERIFY(s->compare()->differences() == static_cast<int>(ws.size()));
    w.runAction(QStringLiteral("evaluate"))->trigger();
    QVERIFY(waitIdle(w));
    QCOMPARE(s->results()->runs().size(), size_t{4});
    const auto& r = s->results()->runs();
    QCOMPARE(r[1].float_weight_bytes / r[1].weight_bytes, 16.0);  // A now at 2 bits
    QCOMPARE(r[3].label, QStringLiteral("B"));
    QVERIFY(r[1].top1 < r[3].top1);  // and worse than B at 8 bits
    // A report saved from the window is the engine's format.
    QTemporaryDir dir;
    QVERIFY(w.saveReport(dir.filePath(QStringLiteral("r.json"))));
    QVERIFY(QFileInfo(dir.filePath(QStringLiteral("r.json"))).size() > 1000);
  }

  void errorsAreDialogsNotCrashes() {
    QTemporaryDir dir;
    MainWindow w;
    w.setQuietErrors(true);
    QSignalSpy errors(&w, &MainWindow::errorShown);
    // A file that is not a model.
    const QString bad = dir.filePath(QStringLiteral("bad.onnx"));
    QFile f(bad);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("this is not an ONNX model");
    f.close();
    w.openModel(bad);
    QVERIFY(waitIdle(w));
    QCOMPARE(errors.count(), 1);
    QVERIFY(errors.at(0).at(1).toString().contains(QStringLiteral("bad.onnx")));
    QVERIFY(!w.session()->hasModel());
    // Calibration data that does not fit the model (the labels file as images).
    QSignalSpy opened(&w, &MainWindow::modelOpened);
    w.openDemo();
    QVERIFY(opened.wait(60000));
    DataSettings d = w.session()->data();
    d.calib_images = test::demoPath("test-labels-idx1-ubyte.gz");
    w.session()->setData(d);
    w.runAction(QStringLiteral("calibrate"))->trigger();
    QVERIFY(waitIdle(w));
    QCOMPARE(errors.count(), 2);
    QVERIFY(errors.at(1).at(1).toString().contains(QStringLiteral("test-labels-idx1-ubyte.gz")));
    QVERIFY(!w.session()->plan()->hasPlan());
    // A missing project.
    w.openProject(dir.filePath(QStringLiteral("nothing.qsproj")));
    QCOMPARE(errors.count(), 3);
    QVERIFY(w.session()->hasModel());  // the open model stays
  }

  // A model with two inputs: the Data panel gets a calibration and an evaluation row for the second, the
  // project keeps its files, and calibrate → analyze → evaluate run with both. The labels are the argmax
  // of the model's formula computed here, so float top-1 must be 1.
  void severalInputsTakeAFilePerInput() {
    QTemporaryDir dir;
    Graph g;
    g.opset = 13;
    g.opset_imports[""] = 13;
    g.inputs.push_back({"x", DType::Float32, std::vector<Dim>{Dim{-1, "n"}, Dim{3, ""}}});
    g.inputs.push_back({"mask", DType::Float32, std::vector<Dim>{Dim{-1, "n"}, Dim{2, ""}}});
    g.outputs.push_back({"scores", DType::Float32, std::nullopt});
    const std::vector<float> wx = {0.5f, -1.f, 0.25f, 1.5f, 0.f, -0.5f}, wm = {1.f, -2.f, 0.75f, 0.5f};
    g.initializers["wx"] = Tensor::from_vector<float>({3, 2}, wx);
    g.initializers["wm"] = Tensor::from_vector<float>({2, 2}, wm);
    auto node = [](const char* name, const char* op, std::vector<std::string> in, const char* out) {
      Node n;
      n.name = name;
      n.op_type = op;
      n.inputs = std::move(in);
      n.outputs = {out};
      return n;
    };
    g.nodes = {node("mx", "MatMul", {"x", "wx"}, "a"), node("mm", "MatMul", {"mask", "wm"}, "b"),
               node("add", "Add", {"a", "b"}, "scores")};
    const QString model = dir.filePath(QStringLiteral("two.onnx"));
    {
      QFile f(model);
      QVERIFY(f.open(QIODevice::WriteOnly));
      const std::string bytes = write_onnx_bytes(g);
      f.write(bytes.data(), static_cast<qint64>(bytes.size()));
    }
    const int64_t n = 64;
    std::vector<float> xv(n * 3), mv(n * 2);
    std::vector<int64_t> labels(n);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t c = 0; c < 3; ++c)
        xv[static_cast<size_t>(i * 3 + c)] = std::sin(0.7f * static_cast<float>(i * 3 + c));
      for (int64_t c = 0; c < 2; ++c)
        mv[static_cast<size_t>(i * 2 + c)] = std::cos(0.3f * static_cast<float>(i * 2 + c));
      float s[2] = {0, 0};
      for (int64_t k = 0; k < 2; ++k) {
        for (int64_t c = 0; c < 3; ++c)
          s[k] += xv[static_cast<size_t>(i * 3 + c)] * wx[static_cast<size_t>(c * 2 + k)];
        for (int64_t c = 0; c < 2; ++c)
          s[k] += mv[static_cast<size_t>(i * 2 + c)] * wm[static_cast<size_t>(c * 2 + k)];
      }
      labels[static_cast<size_t>(i)] = s[1] > s[0] ? 1 : 0;
    }
    const QString xf = dir.filePath(QStringLiteral("x.npy")), mf = dir.filePath(QStringLiteral("mask.npy")),
                  lf = dir.filePath(QStringLiteral("labels.npy"));
    write_npy(xf.toStdString(), Tensor::from_vector<float>({n, 3}, xv));
    write_npy(mf.toStdString(), Tensor::from_vector<float>({n, 2}, mv));
    write_npy(lf.toStdString(), Tensor::from_vector<int64_t>({n}, labels));

    MainWindow w;
    w.setQuietErrors(true);
    QSignalSpy errors(&w, &MainWindow::errorShown);
    QSignalSpy opened(&w, &MainWindow::modelOpened);
    w.openModel(model);
    QVERIFY(opened.wait(60000));
    // The Data panel asks for the second input's files.
    int rows_for_mask = 0;
    for (auto* e : w.findChildren<QLineEdit*>())
      rows_for_mask += e->placeholderText().contains(QStringLiteral("'mask'"));
    QCOMPARE(rows_for_mask, 2);
    DataSettings d;
    d.calib_images = xf;
    d.eval_images = xf;
    d.eval_labels = lf;
    d.calib_more[QStringLiteral("mask")] = mf;
    d.eval_more[QStringLiteral("mask")] = mf;
    QCOMPARE(DataSettings::fromJson(d.toJson(QDir(dir.path())), QDir(dir.path())),
             d);  // the project keeps them
    w.session()->setData(d);
    w.runAll();
    QVERIFY(waitIdle(w));
    QCOMPARE(errors.count(), 0);
    Session* s = w.session();
    QVERIFY(s->plan()->hasPlan());
    QVERIFY(s->report());
    const auto& runs = s->results()->runs();
    QCOMPARE(runs.size(), size_t{3});
    QCOMPARE(runs[0].count, n);
    QCOMPARE(runs[0].top1, 1.0);
    QVERIFY(runs[2].agreement > 0.9);
    // The tuning and analysis jobs feed both inputs too. Sensitivity: the table holds the engine's LFH of
    // the two files read together (seeded: the same numbers).
    w.runAction(QStringLiteral("sensitivity"))->trigger();
    QVERIFY(waitIdle(w));
    QCOMPARE(errors.count(), 0);
    {
      DataConfig c, cm;
      c.images = xf.toStdString();
      cm.images = mf.toStdString();
      configure_for_input(c, g.inputs[0]);
      configure_for_input(cm, g.inputs[1]);
      c.more = {{"mask", cm}};
      auto ds = open_dataset(c);
      LfhOptions o;
      o.per_channel = false;
      const LfhResult ref = compute_lfh(s->model()->graph, *ds, *s->points(), o);
      auto* layers = s->layers();
      int checked = 0;
      for (int r = 0; r < layers->rowCount(); ++r) {
        const std::string& t =
            layers->row(r).activation.empty() ? layers->row(r).weight : layers->row(r).activation;
        QVERIFY(ref.find(t));
        QCOMPARE(layers->index(r, ui::LayerTableModel::col(ui::LayerTableModel::Column::Sensitivity))
                     .data(ui::LayerTableModel::SortRole)
                     .toDouble(),
                 ref.find(t)->trace);
        ++checked;
      }
      QVERIFY(checked >= 4);  // x, mask, wx, wm, scores
    }
    // Weight tuning: each job leaves tuned weights (one undo step); Mixed Precision and RepVGG finish.
    for (const char* job : {"gptq", "obq", "eptq", "prune", "bias-correction"}) {
      w.runAction(QString::fromLatin1(job))->trigger();
      QVERIFY(waitIdle(w));
      QVERIFY2(errors.isEmpty(), job);
      QVERIFY2(s->plan()->weights(), job);
      s->plan()->undoStack()->undo();
    }
    for (const char* job : {"mixed", "repvgg"}) {
      w.runAction(QString::fromLatin1(job))->trigger();
      QVERIFY(waitIdle(w));
      QVERIFY2(errors.isEmpty(), job);
    }
    // Without the second input's file, calibration says which input lacks data.
    d.calib_more.clear();
    s->setData(d);
    w.runAction(QStringLiteral("calibrate"))->trigger();
    QVERIFY(waitIdle(w));
    QCOMPARE(errors.count(), 1);
    QVERIFY(errors.at(0).at(1).toString().contains(QStringLiteral("input 'mask' has no data")));
  }

  void cancelLeavesStateUntouched() {
    MainWindow w;
    w.setQuietErrors(true);
    QSignalSpy opened(&w, &MainWindow::modelOpened);
    w.openDemo();
    QVERIFY(opened.wait(60000));
    QSignalSpy finished(w.jobs(), &JobRunner::finished);
    w.runAll();
    w.jobs()->cancelAll();  // Esc: the running job stops at its next batch, the queued ones are dropped
    QVERIFY(waitIdle(w));
    QCOMPARE(finished.count(), 1);
    QCOMPARE(finished.at(0).at(1).value<JobRunner::Outcome>(), JobRunner::Outcome::Cancelled);
    QVERIFY(!w.session()->plan()->hasPlan());
    QVERIFY(!w.session()->report());
  }
};

QTEST_MAIN(TestWorkflow)
#include "tst_workflow.moc"
