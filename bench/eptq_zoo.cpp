// EPTQ vs round-to-nearest on one model, for bench/lfh_zoo.sh: calibrates a plan (per-channel minmax weights,
// minmax activations), tunes the weights with EPTQ using LFH layer weights and with uniform ones, and
// prints one JSON object with the simulated (fake-quant) top-1 of RTN and both EPTQ variants on a test set.
//
//   qs_eptq_zoo MODEL CALIB_IMAGES TEST_IMAGES TEST_LABELS WBITS ABITS ITERS [CALIB_COUNT] [TEST_LIMIT]
// (mean = std = 0.5, as every zoo model). QS_THREADS=N sets the thread count; EPTQ_LR, EPTQ_LAMBDA,
// EPTQ_BATCH, EPTQ_WARMUP override EPTQ's options and EPTQ_CURVE=1 prints the loss curve to stderr.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "core/algo/eptq.h"
#include "core/common/parallel.h"
#include "core/onnx/import.h"
#include "core/quant/calibrate.h"
#include "core/quant/simulate.h"

namespace {

std::unique_ptr<qs::Dataset> open(const std::string& images, const std::string& labels, int64_t limit) {
  qs::DataConfig c;
  c.images = images;
  c.labels = labels;
  c.limit = limit;
  c.pre.mean = {0.5f};
  c.pre.stddev = {0.5f};
  return qs::open_dataset(c);
}

double top1(const qs::Graph& g, const qs::QuantPlan& plan, qs::Dataset& test) {
  const qs::QuantPoints points = qs::quant_points_for(g, test.sample_shape());
  const qs::SimulatedModel sim(g, plan, points);
  qs::BatchReader reader(test, 256);
  qs::Batch b;
  int64_t correct = 0, count = 0;
  while (reader.next(b)) {
    const qs::Tensor y = sim.run({b.images})[0];
    const int64_t k = y.dim(1);
    for (int64_t i = 0; i < y.dim(0); ++i) {
      const float* r = y.data<float>() + i * k;
      int64_t best = 0;
      for (int64_t j = 1; j < k; ++j)
        if (r[j] > r[best]) best = j;
      correct += best == b.labels[static_cast<size_t>(i)];
      ++count;
    }
  }
  return static_cast<double>(correct) / static_cast<double>(count);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 8) {
    std::cerr
        << "usage: qs_eptq_zoo MODEL CALIB_IMAGES TEST_IMAGES TEST_LABELS WBITS ABITS ITERS [CALIB_COUNT] "
           "[TEST_LIMIT]\n";
    return 2;
  }
  try {
    if (const char* t = std::getenv("QS_THREADS")) qs::set_num_threads(std::atoi(t));
    const qs::Model m = qs::load_model(argv[1]);
    const int wbits = std::stoi(argv[5]), abits = std::stoi(argv[6]), iters = std::stoi(argv[7]);
    const int64_t calib_count = argc > 8 ? std::stoll(argv[8]) : 256;
    const int64_t test_limit = argc > 9 ? std::stoll(argv[9]) : -1;
    auto calib = open(argv[2], "", calib_count);
    auto test = open(argv[3], argv[4], test_limit);
    qs::CalibrationOptions co;
    co.weight_bits = wbits;
    co.act_bits = abits;
    co.calib_count = calib_count;
    const qs::QuantPlan plan = qs::calibrate(m.graph, *calib, co);
    const double rtn = top1(m.graph, plan, *test);
    std::printf(
        "{\"model\":\"%s\",\"weight_bits\":%d,\"act_bits\":%d,\"iterations\":%d,\"calib_count\":%lld,"
        "\"rtn_top1\":%.4f",
        argv[1], wbits, abits, iters, static_cast<long long>(calib_count), rtn);
    for (const bool lfh : {true, false}) {
      qs::EptqOptions o;
      o.iterations = iters;
      o.calib_count = calib_count;
      o.lfh_weights = lfh;
      // Optional overrides for experiments (defaults: DESIGN.md §5 / core/algo/eptq.h).
      if (const char* v = std::getenv("EPTQ_LR")) o.lr = std::atof(v);
      if (const char* v = std::getenv("EPTQ_LAMBDA")) o.reg_lambda = std::atof(v);
      if (const char* v = std::getenv("EPTQ_BATCH")) o.batch = std::atoll(v);
      if (const char* v = std::getenv("EPTQ_WARMUP")) o.warmup = std::atof(v);
      if (std::getenv("EPTQ_CURVE"))
        o.progress = [](const qs::EptqStep& st) {
          if (st.iteration % 50 == 0 || st.iteration == 1)
            std::fprintf(stderr, "it %d distill %.5g reg %.4g beta %.2f eval %.5g best %.5g\n", st.iteration,
                         st.distill, st.reg, st.beta, st.eval_loss, st.best_eval_loss);
          return true;
        };
      const qs::EptqResult r = qs::eptq(m.graph, *calib, plan, o);
      const double acc = top1(r.graph, r.plan, *test);
      int64_t changed = 0, total = 0;
      for (const auto& l : r.layers) changed += l.changed, total += l.elements;
      const char* tag = lfh ? "lfh" : "uniform";
      std::printf(
          ",\"eptq_%s_top1\":%.4f,\"eptq_%s_eval_loss\":%.6g,\"rtn_%s_eval_loss\":%.6g,\"eptq_%s_changed\":%.4f,"
          "\"eptq_%s_seconds\":%.1f",
          tag, acc, tag, r.best_eval_loss, tag, r.rtn_eval_loss, tag,
          static_cast<double>(changed) / static_cast<double>(total), tag, r.seconds);
      std::fflush(stdout);
    }
    std::printf("}\n");
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
