#include "app/gui/session.h"

#include <QFileInfo>
#include <set>

namespace qs::gui {

Session::Session(QObject* parent)
    : QObject(parent), plan_(this), layers_(&plan_, this), results_(this), compare_(&plan_, this) {
  // Weight probes read the weights: new tuned weights (or none any more) make the cached ones stale.
  // Connected first, so the views that refresh on planReset already see the cache cleared.
  connect(&plan_, &ui::PlanDocument::planReset, this, [this] {
    if (plan_.weights() != probe_weights_) {
      probes_.clear();
      probe_weights_ = plan_.weights();
    }
  });
}

std::shared_ptr<const Graph> Session::workingGraph() const {
  if (auto w = plan_.weights()) return w;
  if (!model_) return nullptr;
  return std::shared_ptr<const Graph>(model_, &model_->graph);  // aliasing: keeps the model alive
}

void Session::setPins(std::map<std::string, int> pins) {
  pins_ = std::move(pins);
  std::set<std::string> pinned;
  for (const auto& [t, b] : pins_) pinned.insert(t);
  layers_.setPins(std::move(pinned));
  emit pinsChanged();
}

void Session::setModel(LoadedModel m) {
  model_ = std::move(m.model);
  model_path_ = m.path;
  summary_ = std::move(m.summary);
  points_ = std::move(m.points);
  probes_.clear();
  extras_.clear();
  report_.reset();
  report_plan_ = QuantPlan{};
  selected_.clear();
  pins_.clear();
  layers_.setPins({});
  plan_.reset(nullptr);
  layers_.setRows(std::move(m.rows), model_ ? &model_->graph : nullptr);
  layers_.setReport(nullptr, nullptr);
  layers_.setSensitivity({});
  layers_.setVerdicts({});
  compare_.setGraph(model_ ? &model_->graph : nullptr);
  setPlanB(std::nullopt, QString());
  results_.clear();
  emit modelChanged();
  emit reportChanged();
  emit selectionChanged(selected_);
}

void Session::closeModel() { setModel(LoadedModel{}); }

void Session::setPoints(QuantPoints points, std::vector<ui::LayerRow> rows) {
  points_ = std::move(points);
  const QString keep = selected_;
  layers_.setRows(std::move(rows), model_ ? &model_->graph : nullptr);
  if (report_) layers_.setReport(report_, &report_plan_);
  select(keep);
}

bool Session::isInputModel(const QString& path) const {
  if (model_path_.isEmpty() || path.isEmpty()) return false;
  const QFileInfo a(path), b(model_path_);
  return a.absoluteFilePath() == b.absoluteFilePath() ||
         (a.exists() && b.exists() && a.canonicalFilePath() == b.canonicalFilePath());
}

void Session::setData(const DataSettings& d) {
  if (d == data_) return;
  data_ = d;
  probes_.clear();  // activation probes read the data
  emit dataChanged();
}

void Session::setCalib(const CalibSettings& c) {
  calib_ = c;
  plan_.setActivationSigned(c.options.act_signed);
  emit calibChanged();
}

void Session::setReport(std::shared_ptr<const AnalysisReport> r, const QuantPlan& plan_used) {
  report_ = std::move(r);
  report_plan_ = plan_used;
  layers_.setReport(report_, report_ ? &report_plan_ : nullptr);
  emit reportChanged();
}

void Session::setPlanB(std::optional<QuantPlan> b, const QString& label,
                       std::shared_ptr<const Graph> weights) {
  plan_b_label_ = b ? label : QString();
  plan_b_weights_ = b ? std::move(weights) : nullptr;
  compare_.setPlanB(std::move(b));
  emit planBChanged();
}

const ui::LayerRow* Session::selectedLayer() const {
  const int r = layers_.rowOfName(selected_.toStdString());
  return r < 0 ? nullptr : &layers_.row(r);
}

void Session::select(const QString& row_name) {
  const QString name = layers_.rowOfName(row_name.toStdString()) >= 0 ? row_name : QString();
  if (name == selected_) return;
  selected_ = name;
  emit selectionChanged(selected_);
}

void Session::selectTensor(const QString& tensor) {
  const int r = layers_.rowOfTensor(tensor.toStdString());
  if (r >= 0) select(QString::fromStdString(layers_.row(r).name));
}

std::shared_ptr<const ui::LayerProbe> Session::probe(const std::string& tensor) const {
  auto it = probes_.find(tensor);
  return it == probes_.end() ? nullptr : it->second;
}

void Session::storeProbe(const std::string& tensor, std::shared_ptr<const ui::LayerProbe> p) {
  probes_[tensor] = std::move(p);
}

void Session::setExtra(const QString& key, std::shared_ptr<const void> value) {
  extras_[key] = std::move(value);
  emit extraChanged(key);
}

std::shared_ptr<const void> Session::extra(const QString& key) const {
  auto it = extras_.find(key);
  return it == extras_.end() ? nullptr : it->second;
}

}  // namespace qs::gui
