#include "widgets/models/plan_document.h"

#include <QCoreApplication>
#include <QUndoCommand>

#include "core/common/error.h"
#include "widgets/common/format.h"
#include "widgets/models/plan_edit.h"

namespace qs::ui {

namespace {

// One entry, before and after. Consecutive edits of the same entry with the same merge id (a clip marker
// dragged in steps) collapse into one undo step.
class EntryCommand : public QUndoCommand {
 public:
  EntryCommand(PlanDocument* doc, PlanEntry before, PlanEntry after, const QString& text, int merge_id = -1,
               QUndoCommand* parent = nullptr)
      : QUndoCommand(text, parent),
        doc_(doc),
        before_(std::move(before)),
        after_(std::move(after)),
        id_(merge_id) {}
  void redo() override { doc_->applyEntry(after_); }
  void undo() override { doc_->applyEntry(before_); }
  int id() const override { return id_; }
  bool mergeWith(const QUndoCommand* other) override {
    const auto* o = dynamic_cast<const EntryCommand*>(other);
    if (!o || o->id_ != id_ || o->after_.tensor != after_.tensor) return false;
    after_ = o->after_;
    return true;
  }

 private:
  PlanDocument* doc_;
  PlanEntry before_, after_;
  int id_;
};

class PlanCommand : public QUndoCommand {
 public:
  PlanCommand(PlanDocument* doc, bool had_before, QuantPlan before, std::shared_ptr<const Graph> wbefore,
              QuantPlan after, std::shared_ptr<const Graph> wafter, const QString& text)
      : QUndoCommand(text),
        doc_(doc),
        had_before_(had_before),
        before_(std::move(before)),
        after_(std::move(after)),
        wbefore_(std::move(wbefore)),
        wafter_(std::move(wafter)) {}
  void redo() override { doc_->applyPlan(true, after_, wafter_); }
  void undo() override { doc_->applyPlan(had_before_, before_, wbefore_); }

 private:
  PlanDocument* doc_;
  bool had_before_;
  QuantPlan before_, after_;
  std::shared_ptr<const Graph> wbefore_, wafter_;  // shared, not copied: graphs can be large
};

constexpr int kRangeMergeId = 1;

QString bitsText(int bits) {
  return bits == kFloatBits ? QCoreApplication::translate("qs::ui::PlanDocument", "float")
                            : QCoreApplication::translate("qs::ui::PlanDocument", "%1 bits").arg(bits);
}

}  // namespace

PlanDocument::PlanDocument(QObject* parent) : QObject(parent) {}

const PlanEntry* PlanDocument::entry(const std::string& tensor) const {
  auto it = index_.find(tensor);
  return it == index_.end() ? nullptr : &plan_.entries[it->second];
}

bool PlanDocument::setBits(const std::string& tensor, int bits) {
  const PlanEntry* e = entry(tensor);
  if (!e || displayBits(*e) == bits) return false;
  PlanEntry after = withBits(*e, bits, act_signed_);
  stack_.push(new EntryCommand(this, *e, std::move(after), tr("%1 → %2").arg(qstr(tensor), bitsText(bits))));
  return true;
}

bool PlanDocument::setBits(const std::vector<std::string>& tensors, int bits, const QString& label) {
  // Validate everything first so that a bad width leaves no half-applied macro behind.
  std::vector<std::pair<PlanEntry, PlanEntry>> changes;
  for (const auto& t : tensors) {
    const PlanEntry* e = entry(t);
    if (!e || displayBits(*e) == bits) continue;
    changes.emplace_back(*e, withBits(*e, bits, act_signed_));
  }
  if (changes.empty()) return false;
  if (changes.size() == 1) {
    stack_.push(new EntryCommand(this, changes[0].first, changes[0].second,
                                 tr("%1 → %2").arg(qstr(changes[0].first.tensor), bitsText(bits))));
    return true;
  }
  auto* parent = new QUndoCommand(
      label.isEmpty() ? tr("%n tensors → %1", nullptr, static_cast<int>(changes.size())).arg(bitsText(bits))
                      : label);
  for (auto& [before, after] : changes) new EntryCommand(this, before, after, QString(), -1, parent);
  stack_.push(parent);
  return true;
}

bool PlanDocument::setRange(const std::string& tensor, const std::vector<float>& lo,
                            const std::vector<float>& hi) {
  const PlanEntry* e = entry(tensor);
  if (!e || (e->lo == lo && e->hi == hi)) return false;
  PlanEntry after = withRange(*e, lo, hi);
  stack_.push(
      new EntryCommand(this, *e, std::move(after), tr("clip range of %1").arg(qstr(tensor)), kRangeMergeId));
  return true;
}

bool PlanDocument::setEntry(const PlanEntry& after, const QString& label) {
  const PlanEntry* e = entry(after.tensor);
  if (!e || sameQuantization(*e, after)) return false;
  stack_.push(new EntryCommand(this, *e, after, label));
  return true;
}

void PlanDocument::replacePlan(const QuantPlan& plan, const QString& label,
                               std::shared_ptr<const Graph> weights) {
  stack_.push(new PlanCommand(this, has_plan_, plan_, weights_, plan, std::move(weights), label));
}

void PlanDocument::reset(const QuantPlan* plan, std::shared_ptr<const Graph> weights) {
  stack_.clear();
  applyPlan(plan != nullptr, plan ? *plan : QuantPlan{}, plan ? std::move(weights) : nullptr);
}

void PlanDocument::applyEntry(const PlanEntry& e) {
  auto it = index_.find(e.tensor);
  if (it == index_.end()) return;
  plan_.entries[it->second] = e;
  emit entryChanged(qstr(e.tensor));
}

void PlanDocument::applyPlan(bool has_plan, const QuantPlan& plan, std::shared_ptr<const Graph> weights) {
  has_plan_ = has_plan;
  plan_ = plan;
  weights_ = std::move(weights);
  reindex();
  emit planReset();
}

void PlanDocument::reindex() {
  index_.clear();
  for (size_t i = 0; i < plan_.entries.size(); ++i) index_[plan_.entries[i].tensor] = i;
}

}  // namespace qs::ui
