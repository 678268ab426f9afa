// The capabilities the window offers, each a job plus a view over one engine feature. A capability's
// installer adds its run action(s) and view(s) through the Workbench; nothing else in the window needs to
// know about it.
//
// Installed (one cap_*.cpp each; the order below is the Run menu's):
//   quantize     calibrate, analyze, evaluate (float, simulated plan A/B, plan A on the integer engine)
//   sensitivity  LFH traces → the layer table's column and the Sensitivity view (core/algo/lfh.h)
//   recovery     OBQ / GPTQ → tuned weights + plan as one undo step, per-layer losses (core/algo/obc/)
//   eptq         EPTQ → tuned weights + plan, loss curve (core/algo/eptq.h)
//   mixed        sensitivity table + ILP Pareto sweep → budget slider, apply a point (core/algo/mixed/)
//   repvgg       RepVGG branch diagnostics → per-block view, verdicts in Flags (core/algo/repvgg/)
//   export       File ▸ Export…: QDQ / QOperator ONNX + plan + manifest (+ report) (core/export/)
//
// Adding a capability: write cap_NAME.cpp with `void installNAME(Workbench&)` that adds its view
// (Workbench::addView) and its run action (Workbench::addRunAction) whose job is
// JobRunner::enqueue(prepare → snapshot from the Session, work → the engine call with ctx.progress(),
// apply → Session / PlanDocument::replacePlan / Session::setExtra); declare it here and list it in
// capabilities.cpp. Results a view reads go in Session::setExtra(NAME, ...).
#pragma once

#include <QString>
#include <vector>

namespace qs::gui {

class Workbench;

struct Capability {
  const char* name;
  void (*install)(Workbench& w);
};

// In the order their actions appear.
const std::vector<Capability>& capabilities();

void installQuantize(Workbench& w);
void installSensitivity(Workbench& w);
void installRecovery(Workbench& w);
void installEptq(Workbench& w);
void installMixed(Workbench& w);
void installRepvgg(Workbench& w);
void installExport(Workbench& w);

class Session;

// Export without the dialog (tests, scripts): what the dialog asks.
struct ExportRequest {
  QString path;                            // OUT.onnx
  QString format = QStringLiteral("qdq");  // "qdq" | "qop"
  bool report = false;                     // also OUT.report.json
  bool uint8Weights = false;               // QDQ: int8 weights stored as uint8 (WeightStorage::UInt8)
};
ExportRequest exportRequestDefaults(const Session& s);
void startExport(Workbench& w, const ExportRequest& r);

}  // namespace qs::gui
