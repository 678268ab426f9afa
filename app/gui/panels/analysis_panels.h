// The panels over analysis and evaluation results: the collapse view (isolated vs cumulative SQNR along the
// network), the results (float vs quantized top-1, agreement, size), and the plan comparison (A vs B).
#pragma once

#include <QWidget>

class QCheckBox;
class QHBoxLayout;
class QLabel;
class QTableView;
class QSortFilterProxyModel;

namespace qs::ui {
class BitsChart;
class CollapseView;
class ResultsChart;
}  // namespace qs::ui

namespace qs::gui {

class Session;

class CollapsePanel : public QWidget {
  Q_OBJECT

 public:
  CollapsePanel(Session* session, QWidget* parent = nullptr);
  ui::CollapseView* view() const { return view_; }

 private:
  void update();
  Session* session_;
  ui::CollapseView* view_;
  QLabel* summary_;
};

class ResultsPanel : public QWidget {
  Q_OBJECT

 public:
  ResultsPanel(Session* session, QWidget* parent = nullptr);
  ui::ResultsChart* chart() const { return chart_; }
  QTableView* table() const { return table_; }

 private:
  void update();
  Session* session_;
  ui::ResultsChart* chart_;
  QTableView* table_;
};

class ComparePanel : public QWidget {
  Q_OBJECT

 public:
  ComparePanel(Session* session, QWidget* parent = nullptr);
  ui::BitsChart* chart() const { return chart_; }
  QTableView* table() const { return table_; }
  // Buttons' actions are the window's (Compare menu); the panel shows them.
  void addButton(QAction* a);

 private:
  void update();
  Session* session_;
  ui::BitsChart* chart_;
  QTableView* table_;
  QSortFilterProxyModel* proxy_;
  QCheckBox* diff_only_;
  QLabel* summary_;
  QHBoxLayout* buttons_;
};

}  // namespace qs::gui
