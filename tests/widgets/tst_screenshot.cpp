// Each main view rendered on the demo after calibrate → analyze → evaluate is not blank: its charts have
// data in their series, and the rendered image has several distinct colors rather than one background.
#include <QAbstractSeries>
#include <QAreaSeries>
#include <QBarSeries>
#include <QBarSet>
#include <QChartView>
#include <QDockWidget>
#include <QLineSeries>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTest>
#include <QXYSeries>

#include "app/gui/job_runner.h"
#include "app/gui/main_window.h"
#include "app/gui/panels/data_panel.h"
#include "app/gui/panels/distributions_panel.h"
#include "app/gui/session.h"
#include "test_util.h"
#include "widgets/charts/chart_view.h"
#include "widgets/charts/collapse_view.h"
#include "widgets/charts/histogram_view.h"
#include "widgets/views/sample_preview.h"

using namespace qs;
using namespace qs::gui;

namespace {
// Points in a series that is shown (area series count their upper line).
int points(QAbstractSeries* s) {
  if (!s->isVisible()) return 0;
  if (auto* xy = qobject_cast<QXYSeries*>(s)) return static_cast<int>(xy->count());
  if (auto* a = qobject_cast<QAreaSeries*>(s))
    return a->upperSeries() ? static_cast<int>(a->upperSeries()->count()) : 0;
  if (auto* b = qobject_cast<QBarSeries*>(s)) {
    int n = 0;
    for (QBarSet* set : b->barSets()) n += static_cast<int>(set->count());
    return n;
  }
  return 0;
}
}  // namespace

class TestScreenshot : public QObject {
  Q_OBJECT

 private:
  std::unique_ptr<MainWindow> w_;

 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    w_ = std::make_unique<MainWindow>();
    w_->setQuietErrors(true);
    w_->resize(1440, 900);
    w_->show();
    QSignalSpy opened(w_.get(), &MainWindow::modelOpened);
    w_->openDemo();
    QVERIFY(opened.wait(60000));
    w_->runAll();
    QVERIFY(test::waitUntil([&] { return !w_->jobs()->busy(); }));
    Session* s = w_->session();
    QVERIFY(s->report());
    QCOMPARE(s->results()->rowCount(), 3);  // float, the plan simulated, the plan on the integer engine
    // Select the row where the cumulative SQNR falls most (as the screenshots do) and let the views settle.
    auto* collapse = w_->findChild<ui::CollapseView*>(QStringLiteral("collapseView"));
    QVERIFY(collapse && !collapse->largestDrop().empty());
    s->selectTensor(QString::fromStdString(collapse->largestDrop()));
    QVERIFY(!s->selectedRow().isEmpty());
    QVERIFY(test::waitUntil(
        [&] { return !w_->distributionsPanel()->busy() && !w_->dataPanel()->previewBusy(); }));
    QTest::qWait(100);
  }

  void eachViewRendersData_data() {
    QTest::addColumn<QString>("view");
    QTest::addColumn<int>("charts");  // chart views expected in the view
    QTest::newRow("window") << QStringLiteral("window") << -1;
    QTest::newRow("layers") << QStringLiteral("layers") << 0;
    QTest::newRow("data") << QStringLiteral("data") << 0;
    QTest::newRow("distributions") << QStringLiteral("distributions") << 2;
    QTest::newRow("channels") << QStringLiteral("channels") << 1;
    QTest::newRow("collapse") << QStringLiteral("collapse") << 1;
    QTest::newRow("results") << QStringLiteral("results") << 1;
    QTest::newRow("compare") << QStringLiteral("compare") << 1;
  }

  void eachViewRendersData() {
    QFETCH(QString, view);
    QFETCH(int, charts);
    QWidget* v = w_->view(view);
    QVERIFY(v);
    if (charts >= 0) {
      QList<QChartView*> cv = v->findChildren<QChartView*>();
      if (auto* self = qobject_cast<QChartView*>(v)) cv.prepend(self);
      QCOMPARE(static_cast<int>(cv.size()), charts);
      for (QChartView* c : cv) {
        auto* themed = qobject_cast<ui::ThemedChartView*>(c);
        QVERIFY2(themed && themed->emptyText().isEmpty(),
                 qPrintable(view + QStringLiteral(": ") + (themed ? themed->emptyText() : QString())));
        int with_data = 0;
        for (QAbstractSeries* s : c->chart()->series()) with_data += points(s) > 0;
        QVERIFY2(with_data >= 1, qPrintable(view));
      }
    }
    if (view == QLatin1String("layers")) {
      auto* t = v->findChild<QTableView*>();
      QVERIFY(t && t->model()->rowCount() > 5);
    }
    if (view == QLatin1String("data")) {
      auto* p = v->findChild<ui::SamplePreview*>();
      QVERIFY(p && !p->image().isNull());
      QCOMPARE(p->image().size(), QSize(28, 28));
      QVERIFY(test::distinctColors(p->image()) >= 8);  // a digit, not a flat square
    }
    const QImage img = w_->renderView(view);
    QVERIFY(!img.isNull());
    QVERIFY(img.width() > 200 && img.height() > 150);
    const int colors = test::distinctColors(img);
    const double dominant = test::dominantShare(img);
    qInfo("%s: %dx%d, %d colors, background %.0f %%", qPrintable(view), img.width(), img.height(), colors,
          100 * dominant);
    QVERIFY2(colors >= 12, qPrintable(QStringLiteral("%1 has %2 colors").arg(view).arg(colors)));
    QVERIFY2(dominant < 0.97,
             qPrintable(QStringLiteral("%1 is %2 % one color").arg(view).arg(100 * dominant)));
  }

  // A model whose input is not an image previews tensor samples: statistics without a picture, whatever
  // their rank or type (this threw from the preview's slot, taking the application down); an image sample
  // still gets its picture.
  void samplePreviewOfTensorData() {
    ui::SamplePreview p;
    p.setSample(Tensor::from_vector<int64_t>({1, 7}, {3, 1, 4, 1, 5, 9, 2}), QStringLiteral("ids.npy[0]"));
    QVERIFY(p.image().isNull());
    p.setSample(Tensor::zeros(DType::Float32, {1, 2, 3, 16, 16}), QStringLiteral("x.npy[0]"));
    QVERIFY(p.image().isNull());
    p.setSample(Tensor::zeros(DType::Float32, {1, 3, 8, 9}), QStringLiteral("img.npy[0]"));
    QCOMPARE(p.image().size(), QSize(9, 8));
  }

  // The clip markers respond to the mouse: dragging the activation's upper marker inward re-simulates the
  // tensor and, on release, commits a narrower range to the plan as one undo step.
  void dragClipMarker() {
    Session* s = w_->session();
    ui::HistogramView* h = w_->distributionsPanel()->activationView();
    const ui::LayerRow* row = s->selectedLayer();
    QVERIFY(row && !row->activation.empty());
    const PlanEntry before = *s->plan()->entry(row->activation);
    QDockWidget* d = w_->dock(QStringLiteral("distributions"));
    d->setFloating(true);
    d->resize(900, 700);
    d->show();
    QTest::qWait(50);
    QVERIFY(h->hasData());
    const int undo = s->plan()->undoStack()->count();
    const QPoint from = h->markerPosition(true);
    const QPoint to = from - QPoint(std::max(10, (from.x() - h->markerPosition(false).x()) / 3), 0);
    QTest::mousePress(h->viewport(), Qt::LeftButton, {}, from);
    QMouseEvent move(QEvent::MouseMove, to, h->viewport()->mapToGlobal(to), Qt::NoButton, Qt::LeftButton,
                     Qt::NoModifier);
    QApplication::sendEvent(h->viewport(), &move);
    QTest::mouseRelease(h->viewport(), Qt::LeftButton, {}, to);
    QCOMPARE(s->plan()->undoStack()->count(), undo + 1);
    const PlanEntry* after = s->plan()->entry(row->activation);
    QVERIFY(after->hi[0] < before.hi[0]);
    QVERIFY(after->params.scale[0] < before.params.scale[0]);
    s->plan()->undoStack()->undo();
    QCOMPARE(s->plan()->entry(row->activation)->hi[0], before.hi[0]);
  }
};

QTEST_MAIN(TestScreenshot)
#include "tst_screenshot.moc"
