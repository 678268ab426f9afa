#include "app/gui/panels/analysis_panels.h"

#include <QAction>
#include <QCheckBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

#include "app/gui/session.h"
#include "widgets/charts/bits_chart.h"
#include "widgets/charts/collapse_view.h"
#include "widgets/charts/results_chart.h"
#include "widgets/common/format.h"
#include "widgets/probe/layer_probe.h"

namespace qs::gui {

namespace {
QTableView* makeTable(QWidget* parent) {
  auto* t = new QTableView(parent);
  t->setSelectionBehavior(QAbstractItemView::SelectRows);
  t->setAlternatingRowColors(true);
  t->verticalHeader()->setVisible(false);
  t->horizontalHeader()->setStretchLastSection(true);
  t->setEditTriggers(QAbstractItemView::NoEditTriggers);
  return t;
}
}  // namespace

CollapsePanel::CollapsePanel(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
  auto* l = new QVBoxLayout(this);
  l->setContentsMargins(4, 4, 4, 4);
  view_ = new ui::CollapseView(this);
  view_->setObjectName(QStringLiteral("collapseView"));
  summary_ = new QLabel(this);
  summary_->setWordWrap(true);
  l->addWidget(view_, 1);
  l->addWidget(summary_);
  connect(view_, &ui::CollapseView::tensorClicked, session_, &Session::selectTensor);
  connect(session_, &Session::reportChanged, this, &CollapsePanel::update);
  connect(session_, &Session::selectionChanged, this, [this] {
    const ui::LayerRow* r = session_->selectedLayer();
    view_->setSelected(r ? (r->activation.empty() ? r->weight : r->activation) : std::string());
  });
  update();
}

void CollapsePanel::update() {
  auto r = session_->report();
  if (!r || !session_->hasModel()) {
    view_->clear(tr("Analyze the plan to see the error along the network."));
    summary_->clear();
    return;
  }
  // Order the report's tensors along the network, as the plan it was made with.
  const QuantPlan& p = session_->reportPlan();
  std::vector<size_t> order;
  std::map<std::string, size_t> at;
  for (size_t i = 0; i < r->tensors.size(); ++i) at[r->tensors[i].tensor] = i;
  for (size_t i : ui::network_order(session_->model()->graph, p))
    if (auto it = at.find(p.entries[i].tensor); it != at.end()) order.push_back(it->second);
  view_->setReport(*r, order);
  QString t = tr("Model output: SQNR %1, top-1 agreement with float %2 over %n sample(s).", nullptr,
                 static_cast<int>(r->samples))
                  .arg(ui::formatDb(r->output.sqnr_db), ui::formatPercent(r->top1_agreement));
  if (!view_->largestDrop().empty())
    t += QLatin1Char(' ') + tr("The cumulative SQNR falls most at %1.").arg(ui::qstr(view_->largestDrop()));
  summary_->setText(t);
  const ui::LayerRow* row = session_->selectedLayer();
  if (row) view_->setSelected(row->activation.empty() ? row->weight : row->activation);
}

ResultsPanel::ResultsPanel(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
  auto* l = new QVBoxLayout(this);
  l->setContentsMargins(4, 4, 4, 4);
  auto* split = new QSplitter(Qt::Vertical, this);
  chart_ = new ui::ResultsChart(split);
  chart_->setObjectName(QStringLiteral("resultsChart"));
  table_ = makeTable(split);
  auto* proxy = new QSortFilterProxyModel(this);
  proxy->setSourceModel(session_->results());
  proxy->setSortRole(ui::ResultsModel::SortRole);
  table_->setModel(proxy);
  table_->setSortingEnabled(true);
  table_->sortByColumn(-1, Qt::AscendingOrder);  // runs in the order they were made until the user sorts
  split->addWidget(chart_);
  split->addWidget(table_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  split->setSizes({420, 140});
  l->addWidget(split);
  auto* m = session_->results();
  connect(m, &QAbstractItemModel::modelReset, this, &ResultsPanel::update);
  connect(m, &QAbstractItemModel::rowsInserted, this, &ResultsPanel::update);
  connect(m, &QAbstractItemModel::rowsRemoved, this, &ResultsPanel::update);
  connect(m, &QAbstractItemModel::dataChanged, this, &ResultsPanel::update);
  update();
}

void ResultsPanel::update() {
  chart_->setRuns(session_->results()->runs());
  table_->resizeColumnsToContents();
}

ComparePanel::ComparePanel(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
  auto* l = new QVBoxLayout(this);
  l->setContentsMargins(4, 4, 4, 4);
  auto* top = new QHBoxLayout();
  buttons_ = new QHBoxLayout();
  top->addLayout(buttons_);
  top->addStretch(1);
  diff_only_ = new QCheckBox(tr("Differences only"), this);
  top->addWidget(diff_only_);
  l->addLayout(top);
  auto* split = new QSplitter(Qt::Vertical, this);
  chart_ = new ui::BitsChart(split);
  chart_->setObjectName(QStringLiteral("bitsChart"));
  table_ = makeTable(split);
  proxy_ = new QSortFilterProxyModel(this);
  proxy_->setSourceModel(session_->compare());
  proxy_->setFilterRole(ui::PlanCompareModel::DiffersRole);
  proxy_->setFilterKeyColumn(0);
  table_->setModel(proxy_);
  split->addWidget(chart_);
  split->addWidget(table_);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 1);
  split->setSizes({300, 260});
  l->addWidget(split, 1);
  summary_ = new QLabel(this);
  summary_->setWordWrap(true);
  l->addWidget(summary_);
  connect(diff_only_, &QCheckBox::toggled, this,
          [this](bool on) { proxy_->setFilterFixedString(on ? QStringLiteral("true") : QString()); });
  connect(table_, &QTableView::activated, this, [this](const QModelIndex& i) {
    session_->selectTensor(i.data(ui::PlanCompareModel::TensorRole).toString());
  });
  auto* m = session_->compare();
  connect(m, &QAbstractItemModel::modelReset, this, &ComparePanel::update);
  connect(m, &QAbstractItemModel::dataChanged, this, &ComparePanel::update);
  update();
}

void ComparePanel::addButton(QAction* a) {
  auto* b = new QToolButton(this);
  b->setDefaultAction(a);
  buttons_->addWidget(b);
}

void ComparePanel::update() {
  if (!session_->hasModel()) {
    chart_->clear(tr("Open a model and calibrate to compare plans."));
    summary_->clear();
    return;
  }
  const auto* doc = session_->plan();
  const auto& b = session_->planB();
  chart_->setPlans(session_->model()->graph, doc->hasPlan() ? &doc->plan() : nullptr, b ? &*b : nullptr,
                   tr("A"), session_->planBLabel().isEmpty() ? tr("B") : session_->planBLabel());
  if (!b)
    summary_->setText(tr("Plan B is not set: take a snapshot of the current plan or load a plan file."));
  else
    summary_->setText(tr("A = the plan being edited; B = %1. %n tensor(s) differ.", nullptr,
                         session_->compare()->differences())
                          .arg(session_->planBLabel()));
  table_->resizeColumnsToContents();
}

}  // namespace qs::gui
