#include "app/gui/panels/layers_panel.h"

#include <QCheckBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QTableView>
#include <QVBoxLayout>

#include "app/gui/session.h"
#include "core/common/error.h"
#include "widgets/common/format.h"
#include "widgets/models/layer_filter_model.h"
#include "widgets/models/plan_edit.h"
#include "widgets/views/bits_delegate.h"

namespace qs::gui {

using ui::LayerTableModel;

LayersPanel::LayersPanel(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
  auto* l = new QVBoxLayout(this);
  l->setContentsMargins(4, 4, 4, 4);
  auto* top = new QHBoxLayout();
  filter_ = new QLineEdit(this);
  filter_->setPlaceholderText(tr("Filter layers by name, op or tensor (wildcards * ?)"));
  filter_->setClearButtonEnabled(true);
  flagged_ = new QCheckBox(tr("Flagged only"), this);
  flagged_->setToolTip(tr("Show only rows with a flag (clipping, float tensors, verdicts)"));
  top->addWidget(filter_, 1);
  top->addWidget(flagged_);
  l->addLayout(top);

  proxy_ = new ui::LayerFilterModel(this);
  proxy_->setSourceModel(session_->layers());
  table_ = new QTableView(this);
  table_->setModel(proxy_);
  table_->setSortingEnabled(true);
  table_->sortByColumn(-1, Qt::AscendingOrder);  // network order until the user sorts
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  table_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed |
                          QAbstractItemView::SelectedClicked);
  table_->setAlternatingRowColors(true);
  table_->setWordWrap(false);
  table_->verticalHeader()->setVisible(false);
  table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 8);
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->horizontalHeader()->setSectionsMovable(true);
  table_->setContextMenuPolicy(Qt::CustomContextMenu);
  table_->setItemDelegateForColumn(LayerTableModel::col(LayerTableModel::Column::WeightBits),
                                   new ui::BitsDelegate(TensorKind::Weight, table_));
  table_->setItemDelegateForColumn(LayerTableModel::col(LayerTableModel::Column::ActBits),
                                   new ui::BitsDelegate(TensorKind::Activation, table_));
  l->addWidget(table_, 1);
  summary_ = new QLabel(this);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  l->addWidget(summary_);

  connect(filter_, &QLineEdit::textChanged, proxy_, &ui::LayerFilterModel::setText);
  connect(flagged_, &QCheckBox::toggled, proxy_, &ui::LayerFilterModel::setFlaggedOnly);
  connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          &LayersPanel::onCurrentChanged);
  connect(session_, &Session::selectionChanged, this, &LayersPanel::selectInTable);
  connect(session_, &Session::modelChanged, this, &LayersPanel::updateSummary);
  connect(session_, &Session::modelChanged, this, &LayersPanel::updateColumns);
  connect(session_->layers(), &QAbstractItemModel::modelReset, this, &LayersPanel::updateColumns);
  connect(session_->layers(), &QAbstractItemModel::dataChanged, this, &LayersPanel::updateColumns);
  connect(session_->layers(), &LayerTableModel::editFailed, this,
          [this](const QString& m) { emit errorOccurred(tr("Cannot change the bit-width"), m); });
  connect(table_, &QTableView::customContextMenuRequested, this, [this](const QPoint& pos) {
    if (!session_->plan()->hasPlan()) return;
    QMenu menu(this);
    fillBitsMenu(menu.addMenu(tr("Weight bits")), true);
    fillBitsMenu(menu.addMenu(tr("Activation bits")), false);
    menu.addSeparator();
    connect(menu.addAction(tr("Pin Widths")), &QAction::triggered, this, [this] { pinSelected(true); });
    connect(menu.addAction(tr("Unpin")), &QAction::triggered, this, [this] { pinSelected(false); });
    menu.exec(table_->viewport()->mapToGlobal(pos));
  });
  updateSummary();
  updateColumns();
}

void LayersPanel::updateColumns() {
  // The sensitivity column appears once a sensitivity result exists.
  table_->setColumnHidden(LayerTableModel::col(LayerTableModel::Column::Sensitivity),
                          !session_->layers()->hasSensitivity());
}

void LayersPanel::fillBitsMenu(QMenu* menu, bool weights) {
  menu->clear();
  for (int b : ui::offeredBits(weights ? TensorKind::Weight : TensorKind::Activation)) {
    QAction* a = menu->addAction(b == ui::kFloatBits ? tr("Keep in float") : tr("%1 bits").arg(b));
    connect(a, &QAction::triggered, this, [this, weights, b] { setSelectedBits(weights, b); });
  }
  menu->setEnabled(session_->plan()->hasPlan() && !selectedTensors(weights, !weights).empty());
}

void LayersPanel::pinSelected(bool pin) {
  std::map<std::string, int> pins = session_->pins();
  for (const auto& t : selectedTensors(true, true)) {
    const PlanEntry* e = session_->plan()->entry(t);
    if (!e) continue;
    if (pin)
      pins[t] = ui::displayBits(*e);
    else
      pins.erase(t);
  }
  session_->setPins(std::move(pins));
}

std::vector<std::string> LayersPanel::selectedTensors(bool weights, bool activations) const {
  std::vector<std::string> out;
  for (const QModelIndex& i : table_->selectionModel()->selectedRows()) {
    const QModelIndex s = proxy_->mapToSource(i);
    const ui::LayerRow& r = session_->layers()->row(s.row());
    if (weights && !r.weight.empty()) out.push_back(r.weight);
    if (activations && !r.activation.empty()) out.push_back(r.activation);
  }
  return out;
}

void LayersPanel::setSelectedBits(bool weights, int bits) {
  const auto tensors = selectedTensors(weights, !weights);
  try {
    const QString what = bits == ui::kFloatBits ? tr("float") : tr("%1 bits").arg(bits);
    session_->plan()->setBits(
        tensors, bits,
        weights ? tr("weights of %n layer(s) → %1", nullptr, static_cast<int>(tensors.size())).arg(what)
                : tr("activations of %n layer(s) → %1", nullptr, static_cast<int>(tensors.size())).arg(what));
  } catch (const Error& e) {
    emit errorOccurred(tr("Cannot change the bit-width"), QString::fromUtf8(e.what()));
  }
}

void LayersPanel::onCurrentChanged() {
  const QModelIndex cur = table_->selectionModel()->currentIndex();
  if (!cur.isValid()) return;
  const QModelIndex s = proxy_->mapToSource(cur);
  session_->select(ui::qstr(session_->layers()->row(s.row()).name));
}

void LayersPanel::selectInTable(const QString& row_name) {
  const int r = session_->layers()->rowOfName(row_name.toStdString());
  if (r < 0) return;
  const QModelIndex p = proxy_->mapFromSource(session_->layers()->index(r, 0));
  if (!p.isValid()) return;  // filtered out: the selection stays in the session
  if (table_->selectionModel()->currentIndex().row() == p.row()) return;
  table_->selectionModel()->setCurrentIndex(p,
                                            QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  table_->scrollTo(p);
}

void LayersPanel::updateSummary() {
  if (!session_->hasModel()) {
    summary_->setText(tr("Open a model (File ▸ Open, drag and drop, or File ▸ Open demo)."));
    return;
  }
  const ModelSummary& s = session_->summary();
  QString t = tr("%1 · %2 layers · %3 parameters")
                  .arg(QFileInfo(session_->modelPath()).fileName())
                  .arg(s.layers.size())
                  .arg(ui::formatCount(s.params));
  if (s.total_macs) t += tr(" · %1 MACs per sample").arg(ui::formatSi(static_cast<double>(*s.total_macs)));
  for (const auto& n : s.notes) t += QStringLiteral(" · ") + ui::qstr(n);
  summary_->setText(t);
  table_->resizeColumnsToContents();
}

}  // namespace qs::gui
