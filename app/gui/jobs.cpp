#include "app/gui/jobs.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <chrono>

#include "app/gui/job_runner.h"
#include "core/common/error.h"
#include "core/int/engine.h"
#include "core/quant/simulate.h"
#include "core/runtime/executor.h"

namespace qs::gui {

namespace {

int64_t argmax(const float* p, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (p[i] > p[best]) best = i;
  return best;
}

// The sample shape [C, H, W] of the model's first input when it is fully known.
// One sample's shape per input, from the shapes the summary found (batch 1): images [C, H, W] or tensors.
std::optional<std::map<std::string, Shape>> sampleShapes(const ModelSummary& s, const Graph& g) {
  if (g.inputs.empty()) return std::nullopt;
  std::map<std::string, Shape> r;
  for (const auto& in : g.inputs) {
    auto it = s.input_shapes.find(in.name);
    if (it == s.input_shapes.end() || it->second.empty()) return std::nullopt;
    r[in.name] = Shape(it->second.begin() + 1, it->second.end());
  }
  return r;
}

}  // namespace

std::vector<ui::LayerRow> rowsFor(const Model& m, const ModelSummary& s, const QuantPoints* points) {
  return ui::layerRows(m.graph, s, points);
}

LoadedModel loadModel(const QString& path, JobContext* ctx) {
  LoadedModel r;
  r.path = QFileInfo(path).absoluteFilePath();
  if (ctx) ctx->setStage(0, 3, QCoreApplication::translate("qs::gui::Jobs", "reading the model"));
  auto model = std::make_shared<Model>(load_model(r.path.toStdString()));
  if (ctx) {
    ctx->checkCancelled();
    ctx->setStage(1, 3, QCoreApplication::translate("qs::gui::Jobs", "summarizing"));
  }
  r.summary = summarize(model->graph);
  if (ctx) {
    ctx->checkCancelled();
    ctx->setStage(2, 3, QCoreApplication::translate("qs::gui::Jobs", "finding quantization points"));
  }
  if (auto shapes = sampleShapes(r.summary, model->graph)) {
    try {
      r.points = quant_points_for(model->graph, *shapes);
    } catch (const UnsupportedError&) {
      // Inputs whose shapes do not fit: the table still shows the layers, calibration says why.
    }
  }
  r.rows = rowsFor(*model, r.summary, r.points ? &*r.points : nullptr);
  r.model = std::move(model);
  return r;
}

CalibrationResult calibrateModel(const Model& m, const ModelSummary& summary, const DataConfig& data,
                                 CalibrationOptions options, JobContext& ctx) {
  ctx.setStage(0, 2, QCoreApplication::translate("qs::gui::Jobs", "opening the data"));
  auto ds = open_dataset(data);
  ctx.checkCancelled();
  ctx.setStage(1, 2, QCoreApplication::translate("qs::gui::Jobs", "observing activations"));
  options.progress = ctx.progress();
  CalibrationResult r;
  r.plan = calibrate(m.graph, *ds, options);
  r.plan.model = QFileInfo(QString::fromStdString(m.path)).fileName().toStdString();
  r.points = quant_points_for(m.graph, *ds);
  r.rows = rowsFor(m, summary, &r.points);
  return r;
}

std::shared_ptr<const AnalysisReport> analyzePlan(const Graph& g, const std::string& model_path,
                                                  const QuantPlan& plan, const DataConfig& data,
                                                  int64_t count, int64_t batch, JobContext& ctx) {
  ctx.setStage(0, 2, QCoreApplication::translate("qs::gui::Jobs", "opening the data"));
  auto ds = open_dataset(data);
  ctx.checkCancelled();
  ctx.setStage(1, 2, QCoreApplication::translate("qs::gui::Jobs", "float and quantized runs"));
  AnalysisOptions o;
  o.count = count;
  o.batch = batch;
  o.progress = ctx.progress();
  auto r = std::make_shared<AnalysisReport>(analyze(g, plan, *ds, o));
  r->model = model_path;
  return r;
}

double floatWeightBytes(const Graph& g) {
  double b = 0;
  for (const auto& n : g.nodes) {
    int w = -1;
    if (is_quantizable_layer(g, n, &w))
      b += 4.0 * static_cast<double>(g.initializer(n.inputs[static_cast<size_t>(w)])->numel());
  }
  return b;
}

EvalOutcome evaluateModel(const Model& m, const DataConfig& data, const std::vector<EvalPlan>& plans,
                          int64_t batch, JobContext& ctx) {
  ctx.setStage(0, 2, QCoreApplication::translate("qs::gui::Jobs", "opening the data"));
  auto ds = open_dataset(data);
  if (!ds->has_labels())
    throw Error(data.images + ": no labels (choose a labels file, or a folder with one subfolder per class)");
  Executor ex(m.graph);
  const QuantPoints points = quant_points_for(m.graph, *ds);
  // One runner per plan that can run on its engine; a plan the integer engine cannot take is a note, not a
  // failure of the whole evaluation.
  struct Runner {
    const EvalPlan* plan;
    std::unique_ptr<SimulatedModel> sim;
    std::unique_ptr<IntegerModel> integer;
    int64_t correct = 0, agree = 0;
  };
  std::vector<Runner> runners;
  EvalOutcome out;
  for (const auto& p : plans) {
    const Graph& g = p.graph ? *p.graph : m.graph;
    validate_plan(p.plan, g, points);
    Runner r{&p, nullptr, nullptr};
    if (p.engine == QLatin1String("int")) {
      try {
        r.integer = std::make_unique<IntegerModel>(g, p.plan, points);
      } catch (const Error& e) {
        out.notes << QCoreApplication::translate("qs::gui::Jobs", "%1 on the integer engine: %2")
                         .arg(p.label, QString::fromUtf8(e.what()));
        continue;
      }
    } else {
      r.sim = std::make_unique<SimulatedModel>(g, p.plan, points);
    }
    runners.push_back(std::move(r));
  }
  ctx.checkCancelled();
  ctx.setStage(1, 2, QCoreApplication::translate("qs::gui::Jobs", "evaluating"));
  const auto t0 = std::chrono::steady_clock::now();
  BatchReader reader(*ds, batch, ctx.progress());
  Batch b;
  int64_t count = 0, float_correct = 0;
  while (reader.next(b)) {
    const std::vector<Tensor> x = inputs_of(m.graph, b);
    const Tensor yf = ex.run(x)[0];
    if (yf.dtype() != DType::Float32 || yf.rank() != 2 || yf.dim(0) != b.images.dim(0))
      throw Error(m.path + ": output '" + ex.graph().outputs[0].name + "' is " + yf.str() +
                  "; evaluation needs float32 [batch, classes] scores");
    const int64_t classes = yf.dim(1);
    std::vector<Tensor> yq;
    for (const auto& r : runners) yq.push_back(r.sim ? r.sim->run(x)[0] : r.integer->run(x)[0]);
    for (int64_t i = 0; i < yf.dim(0); ++i) {
      const int64_t label = b.labels[static_cast<size_t>(i)];
      const int64_t pf = argmax(yf.data<float>() + i * classes, classes);
      float_correct += pf == label;
      for (size_t k = 0; k < yq.size(); ++k) {
        const int64_t pq = argmax(yq[k].data<float>() + i * classes, classes);
        runners[k].correct += pq == label;
        runners[k].agree += pq == pf;
      }
      ++count;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto frac = [&](int64_t k) { return count ? static_cast<double>(k) / static_cast<double>(count) : 0.0; };
  const double fbytes = floatWeightBytes(m.graph);
  ui::EvalRun f;
  f.label = QCoreApplication::translate("qs::gui::Jobs", "float");
  f.engine = QStringLiteral("float");
  f.top1 = frac(float_correct);
  f.count = count;
  f.weight_bytes = fbytes;
  f.float_weight_bytes = fbytes;
  f.seconds = secs;
  out.runs.push_back(f);
  for (const auto& r : runners) {
    ui::EvalRun e;
    e.label = r.plan->label;
    e.engine = r.plan->engine;
    e.top1 = frac(r.correct);
    e.agreement = frac(r.agree);
    e.count = count;
    e.weight_bytes = r.plan->plan.weight_bytes(m.graph);
    e.float_weight_bytes = fbytes;
    e.seconds = secs;
    out.runs.push_back(e);
  }
  return out;
}

SamplePreview previewSample(const DataConfig& data, int64_t index) {
  auto ds = open_dataset(data);
  SamplePreview p;
  p.size = ds->size();
  p.description = QString::fromStdString(ds->description());
  p.has_labels = ds->has_labels();
  if (ds->size() == 0) throw Error(data.images + ": no samples");
  const int64_t i = std::clamp<int64_t>(index, 0, ds->size() - 1);
  Batch b = ds->read(i, 1);
  p.sample = b.images;
  if (ds->nhwc()) {  // the picture wants [1, C, H, W]
    const Shape& s = b.images.shape();
    Tensor chw(DType::Float32, {1, s[3], s[1], s[2]});
    const float* src = b.images.data<float>();
    float* dst = chw.data<float>();
    for (int64_t c = 0; c < s[3]; ++c)
      for (int64_t j = 0; j < s[1] * s[2]; ++j) dst[c * s[1] * s[2] + j] = src[j * s[3] + c];
    p.sample = std::move(chw);
  }
  p.caption = QString::fromStdString(ds->sample_name(i));
  if (!b.labels.empty()) {
    const int64_t label = b.labels[0];
    const auto& names = ds->class_names();
    p.caption += QStringLiteral(" · ") + QCoreApplication::translate("qs::gui::Jobs", "label %1").arg(label);
    if (label >= 0 && static_cast<size_t>(label) < names.size())
      p.caption +=
          QStringLiteral(" (") + QString::fromStdString(names[static_cast<size_t>(label)]) + QLatin1Char(')');
  }
  return p;
}

std::shared_ptr<const ui::LayerProbe> buildProbe(const Graph& g, const QuantPoints& points,
                                                 const PlanEntry& entry, const DataConfig* data,
                                                 int64_t samples, int64_t batch) {
  std::unique_ptr<Dataset> ds;
  if (data) ds = open_dataset(*data);
  ui::ProbeOptions o;
  o.samples = samples;
  o.batch = batch;
  return std::shared_ptr<const ui::LayerProbe>(ui::LayerProbe::build(g, points, entry, ds.get(), o));
}

}  // namespace qs::gui
