// PlanDocument: the quantization plan being edited, with every edit an undo step on a QUndoStack. Views
// never change a plan directly: the layer table's bit-width cells, the histogram's clip markers, a
// capability applying a whole plan (calibration, mixed precision, GPTQ) all go through here, so undo/redo
// works for all of them alike.
#pragma once

#include <QObject>
#include <QString>
#include <QUndoStack>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/graph/graph.h"
#include "core/quant/plan.h"

namespace qs::ui {

class PlanDocument : public QObject {
  Q_OBJECT

 public:
  explicit PlanDocument(QObject* parent = nullptr);

  QUndoStack* undoStack() { return &stack_; }
  bool hasPlan() const { return has_plan_; }
  const QuantPlan& plan() const { return plan_; }
  // The weights the plan applies to when an algorithm changed them (OBQ, GPTQ, EPTQ): the whole graph
  // with the tuned initializers. Null: the model's own weights.
  std::shared_ptr<const Graph> weights() const { return weights_; }
  // The entry of `tensor`, or nullptr.
  const PlanEntry* entry(const std::string& tensor) const;
  // Signedness of 8-bit activations when an entry leaves 16 bits (from the calibration settings).
  void setActivationSigned(bool s) { act_signed_ = s; }

  // Undoable edits. Each returns false (and changes nothing) when there is no such entry or the edit is a
  // no-op; invalid values throw qs::Error naming the tensor.
  bool setBits(const std::string& tensor, int bits);
  // One undo step for several tensors (e.g. every selected row). Tensors without an entry are skipped.
  bool setBits(const std::vector<std::string>& tensors, int bits, const QString& label);
  bool setRange(const std::string& tensor, const std::vector<float>& lo, const std::vector<float>& hi);
  bool setEntry(const PlanEntry& after, const QString& label);
  // Replaces the whole plan as one undo step (calibration, a plan loaded from a file, a solver's plan);
  // `weights`: the tuned weights it comes with, null for the model's own.
  void replacePlan(const QuantPlan& plan, const QString& label,
                   std::shared_ptr<const Graph> weights = nullptr);
  // Starts over with `plan` (or none): not undoable, clears the history (a new model or project).
  void reset(const QuantPlan* plan, std::shared_ptr<const Graph> weights = nullptr);

  // Used by the undo commands only.
  void applyEntry(const PlanEntry& e);
  void applyPlan(bool has_plan, const QuantPlan& plan, std::shared_ptr<const Graph> weights);

 signals:
  // One entry changed (its tensor name).
  void entryChanged(const QString& tensor);
  // The whole plan was replaced, cleared or (re)set.
  void planReset();

 private:
  void reindex();
  QUndoStack stack_;
  bool has_plan_ = false;
  bool act_signed_ = true;
  QuantPlan plan_;
  std::shared_ptr<const Graph> weights_;
  std::map<std::string, size_t> index_;
};

}  // namespace qs::ui
