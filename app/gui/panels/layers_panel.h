// Layers panel (the window's center): the layer table with a filter, sortable columns, bit-widths edited
// in place (one undo step each, or one for a multi-row selection from the context menu). Selecting a row
// selects it in the session, which drives every chart.
#pragma once

#include <QWidget>

class QCheckBox;
class QLabel;
class QLineEdit;
class QMenu;
class QTableView;

namespace qs::ui {
class LayerFilterModel;
}

namespace qs::gui {

class Session;

class LayersPanel : public QWidget {
  Q_OBJECT

 public:
  LayersPanel(Session* session, QWidget* parent = nullptr);
  QTableView* table() const { return table_; }
  QLineEdit* filter() const { return filter_; }
  ui::LayerFilterModel* proxy() const { return proxy_; }
  // Tensors of the selected rows (weights and/or activations).
  std::vector<std::string> selectedTensors(bool weights, bool activations) const;
  // Applies `bits` to the selected rows' weights or activations as one undo step.
  void setSelectedBits(bool weights, int bits);
  // Fills `menu` with the bit-width actions for the selection (also used by the Edit menu).
  void fillBitsMenu(QMenu* menu, bool weights);
  // Pins (or unpins) the current widths of the selected rows' tensors: mixed precision keeps them.
  void pinSelected(bool pin);

 signals:
  void errorOccurred(const QString& title, const QString& message);

 private:
  void onCurrentChanged();
  void selectInTable(const QString& row_name);
  void updateSummary();
  void updateColumns();

  Session* session_;
  QLineEdit* filter_;
  QCheckBox* flagged_;
  QLabel* summary_;
  QTableView* table_;
  ui::LayerFilterModel* proxy_;
};

}  // namespace qs::gui
