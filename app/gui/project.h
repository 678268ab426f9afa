// Project files (.qsproj, JSON): everything needed to reopen a session — the model (path relative to the
// project file, so a project folder can be moved), data and calibration settings, the plan, plan B, the
// last analysis with the plan it was made with, and evaluation results. The model itself is never copied
// or written.
#pragma once

#include <QString>
#include <memory>
#include <optional>
#include <vector>

#include "app/gui/data_settings.h"
#include "core/quant/analysis.h"
#include "core/quant/plan.h"
#include "widgets/models/results_model.h"

namespace qs::gui {

struct Project {
  static constexpr int kVersion = 1;
  QString model;  // absolute path once loaded; written relative to the project file
  DataSettings data;
  CalibSettings calib;
  std::optional<QuantPlan> plan;
  std::optional<QuantPlan> plan_b;
  QString plan_b_label;
  // Tuned weights of the plans (OBQ, GPTQ, EPTQ), written next to the project as ONNX models that the
  // plans' "weights_model" fields name; on loading, the plans keep those fields and the window applies
  // them to the model (weightsFor).
  std::shared_ptr<const Graph> weights, weights_b;
  std::shared_ptr<const AnalysisReport> report;
  std::optional<QuantPlan> report_plan;
  std::vector<ui::EvalRun> results;
  QString selection;  // layer row name
};

// Writes atomically (the tuned weights first, then the project). Throws qs::Error naming the file.
void saveProject(const Project& p, const QString& path);
// Throws qs::Error naming the file and the field at fault.
Project loadProject(const QString& path);

inline const char* kProjectSuffix = "qsproj";

// The tuned weights a plan names ("weights_model", relative to `plan_path`'s folder) applied to a copy of
// `model`; null when the plan names none. Throws qs::Error naming the file or tensor at fault.
std::shared_ptr<const Graph> weightsFor(const Graph& model, const QuantPlan& plan, const QString& plan_path);
// Writes `weights` next to `plan_path` (PLAN.weights.onnx, from the model at `model_path`) and returns the
// plan naming it. `weights` null: the plan without a weights model.
QuantPlan withWeightsModel(const QuantPlan& plan, const std::shared_ptr<const Graph>& weights,
                           const QString& model_path, const QString& plan_path, const QString& suffix);

}  // namespace qs::gui
