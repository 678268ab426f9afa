// The window's built-in jobs: plain functions from a snapshot of the session to a result, run by
// JobRunner on a worker thread (no Qt widgets, no session access). Each is what a CLI subcommand does:
// load ≈ info, calibrate ≈ quantize, analyze, evaluate ≈ eval --engine float/sim.
#pragma once

#include <QString>
#include <QStringList>
#include <memory>
#include <optional>
#include <vector>

#include "core/analysis/model_summary.h"
#include "core/onnx/import.h"
#include "core/quant/analysis.h"
#include "core/quant/calibrate.h"
#include "widgets/models/layer_rows.h"
#include "widgets/models/results_model.h"
#include "widgets/probe/layer_probe.h"

namespace qs::gui {

class JobContext;

struct LoadedModel {
  QString path;  // absolute
  std::shared_ptr<const Model> model;
  ModelSummary summary;
  std::optional<QuantPoints> points;  // known when the input shape is (else after data is chosen)
  std::vector<ui::LayerRow> rows;
};
// Loads and checks the model (never writes it), summarizes it and finds its quantization points.
LoadedModel loadModel(const QString& path, JobContext* ctx);
// The layer rows once the points are known (e.g. from the calibration data's sample shape).
std::vector<ui::LayerRow> rowsFor(const Model& m, const ModelSummary& s, const QuantPoints* points);

struct CalibrationResult {
  QuantPlan plan;
  QuantPoints points;
  std::vector<ui::LayerRow> rows;
};
CalibrationResult calibrateModel(const Model& m, const ModelSummary& summary, const DataConfig& data,
                                 CalibrationOptions options, JobContext& ctx);

// `g`: the graph the plan applies to (Session::workingGraph); `model_path` is recorded in the report.
std::shared_ptr<const AnalysisReport> analyzePlan(const Graph& g, const std::string& model_path,
                                                  const QuantPlan& plan, const DataConfig& data,
                                                  int64_t count, int64_t batch, JobContext& ctx);

// Top-1 of the float model and of each plan over a labeled set, in one pass over the data: simulated
// (fake-quant, "sim") or on the integer-only engine ("int", core/int/engine.h).
struct EvalPlan {
  QString label;
  QuantPlan plan;
  std::shared_ptr<const Graph> graph;  // the weights the plan applies to; null: the model's
  QString engine = QStringLiteral("sim");
};
struct EvalOutcome {
  std::vector<ui::EvalRun> runs;  // float first, then one per plan that could run
  QStringList notes;              // plans that could not run on their engine, and why
};
EvalOutcome evaluateModel(const Model& m, const DataConfig& data, const std::vector<EvalPlan>& plans,
                          int64_t batch, JobContext& ctx);
// Bytes of every layer weight in float32.
double floatWeightBytes(const Graph& g);

// One preprocessed sample for the data panel's preview.
struct SamplePreview {
  Tensor sample;        // [1, C, H, W]
  QString caption;      // sample name and label
  QString description;  // the data set's description line
  int64_t size = 0;     // samples in the data set
  bool has_labels = false;
};
SamplePreview previewSample(const DataConfig& data, int64_t index);

// A layer probe for the histograms (widgets/probe/layer_probe.h). `data` null: weights only.
std::shared_ptr<const ui::LayerProbe> buildProbe(const Graph& g, const QuantPoints& points,
                                                 const PlanEntry& entry, const DataConfig* data,
                                                 int64_t samples, int64_t batch);

}  // namespace qs::gui
