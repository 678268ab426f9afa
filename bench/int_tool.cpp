// Measurements of the integer engine for bench/int_vs_ort.sh (not a user tool: `quantscope-cli` is).
//
//   qs_int_tool npy IMAGES OUT.npy [--labels LABELS OUT_LABELS.npy] [--mean M] [--std S] [--limit N]
//       the preprocessed images as float32 NCHW .npy (the input ONNX Runtime is given), labels as int64
//   qs_int_tool compare MODEL PLAN IMAGES.npy [--out INT_LOGITS.npy] [--batch B]
//       simulation vs integer engine on every sample: share of equal output elements, the largest
//       difference in LSBs of the output's grid, share of equal top-1; one JSON line
//   qs_int_tool time MODEL INPUT.npy [--plan PLAN] [--engine int|float] [--threads N] [--runs R] [--warmup W]
//       the same JSON line as ../shared/peers/ort-run.mjs (ms_median, ...), for ratios measured in one run
//   qs_int_tool pair MODEL INPUT.npy --plan PLAN [--against float|nchw] [--threads N] [--runs R] [--warmup W]
//       the integer engine against our float engine (or against itself with every value NCHW), single
//       runs alternating A, B, A, B, ...: the medians, and the median of the pairs' ratios B/A, which a
//       machine whose speed drifts between runs disturbs least; one JSON line
//   qs_int_tool agree A.npy B.npy [--labels LABELS.npy]
//       top-1 agreement of two logit arrays [N, classes] (and each one's accuracy); one JSON line
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/common/parallel.h"
#include "core/data/dataset.h"
#include "core/data/npy.h"
#include "core/int/engine.h"
#include "core/onnx/import.h"
#include "core/quant/calibrate.h"
#include "core/quant/simulate.h"
#include "core/runtime/executor.h"

namespace {

struct Args {
  std::vector<std::string> pos;
  std::map<std::string, std::vector<std::string>> opt;
  std::string get(const std::string& k, const std::string& d = "") const {
    auto it = opt.find(k);
    return it == opt.end() || it->second.empty() ? d : it->second[0];
  }
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 2; i < argc; ++i) {
    const std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      auto& v = a.opt[s];
      const int n = s == "--labels" ? 2 : 1;
      for (int k = 0; k < n && i + 1 < argc; ++k) v.push_back(argv[++i]);
    } else {
      a.pos.push_back(s);
    }
  }
  return a;
}

int64_t argmax(const float* p, int64_t n) {
  int64_t b = 0;
  for (int64_t i = 1; i < n; ++i)
    if (p[i] > p[b]) b = i;
  return b;
}

qs::Tensor slice_rows(const qs::Tensor& x, int64_t begin, int64_t count) {
  qs::Shape s = x.shape();
  s[0] = count;
  qs::Tensor t(x.dtype(), s);
  const size_t row = x.nbytes() / static_cast<size_t>(x.dim(0));
  std::memcpy(t.raw(), static_cast<const char*>(x.raw()) + static_cast<size_t>(begin) * row, static_cast<size_t>(count) * row);
  return t;
}

int cmd_npy(const Args& a) {
  qs::DataConfig c;
  c.images = a.pos.at(0);
  if (a.opt.count("--labels")) c.labels = a.opt.at("--labels").at(0);
  c.pre.mean = {std::stof(a.get("--mean", "0"))};
  c.pre.stddev = {std::stof(a.get("--std", "1"))};
  c.limit = std::stoll(a.get("--limit", "-1"));
  auto ds = qs::open_dataset(c);
  const qs::Batch b = ds->read(0, ds->size());
  qs::write_npy(a.pos.at(1), b.images);
  if (a.opt.count("--labels"))
    qs::write_npy(a.opt.at("--labels").at(1),
                  qs::Tensor::from_vector<int64_t>({static_cast<int64_t>(b.labels.size())}, b.labels));
  std::printf("{\"images\":%s}\n", qs::shape_str(b.images.shape()).c_str());
  return 0;
}

int cmd_compare(const Args& a) {
  const qs::Model m = qs::load_model(a.pos.at(0));
  const qs::QuantPlan plan = qs::load_plan(a.pos.at(1));
  const qs::Tensor x = qs::read_npy(a.pos.at(2));
  const qs::QuantPoints points = qs::quant_points_for(m.graph, qs::Shape(x.shape().begin() + 1, x.shape().end()));
  const qs::SimulatedModel sim(m.graph, plan, points);
  const qs::IntegerModel eng(m.graph, plan, points);
  const std::string out_name = m.graph.outputs[0].name;
  const qs::QuantParams* p = eng.params(out_name);
  const float lsb = p ? p->scale[0] : 1.f;
  const int64_t batch = std::stoll(a.get("--batch", "100"));
  int64_t equal = 0, total = 0, top1_equal = 0, rows = 0, within1 = 0;
  double max_lsb = 0;
  qs::Tensor all;
  std::vector<float> logits;
  int64_t classes = 0;
  for (int64_t i = 0; i < x.dim(0); i += batch) {
    const qs::Tensor xb = slice_rows(x, i, std::min(batch, x.dim(0) - i));
    const qs::Tensor ys = sim.run({xb})[0], yi = eng.run({xb})[0];
    classes = ys.dim(1);
    const float* s = ys.data<float>();
    const float* t = yi.data<float>();
    for (int64_t k = 0; k < ys.numel(); ++k) {
      equal += s[k] == t[k];
      const double d = std::fabs(static_cast<double>(s[k]) - t[k]) / lsb;
      within1 += d <= 1.0001;
      max_lsb = std::max(max_lsb, d);
    }
    total += ys.numel();
    for (int64_t r = 0; r < ys.dim(0); ++r) top1_equal += argmax(s + r * classes, classes) == argmax(t + r * classes, classes);
    rows += ys.dim(0);
    logits.insert(logits.end(), t, t + yi.numel());
  }
  if (a.opt.count("--out")) qs::write_npy(a.get("--out"), qs::Tensor::from_vector<float>({rows, classes}, logits));
  std::printf(
      "{\"elements\":%lld,\"equal_share\":%.6f,\"within_1lsb_share\":%.6f,\"max_lsb_diff\":%.3f,\"samples\":%lld,"
      "\"top1_equal_share\":%.6f,\"float_islands\":%zu}\n",
      static_cast<long long>(total), static_cast<double>(equal) / static_cast<double>(total),
      static_cast<double>(within1) / static_cast<double>(total), max_lsb, static_cast<long long>(rows),
      static_cast<double>(top1_equal) / static_cast<double>(rows), eng.lowering().float_islands().size());
  return 0;
}

int cmd_time(const Args& a) {
  const int threads = std::stoi(a.get("--threads", "1")), runs = std::stoi(a.get("--runs", "20")),
            warmup = std::stoi(a.get("--warmup", "3"));
  qs::set_num_threads(threads);
  const qs::Model m = qs::load_model(a.pos.at(0));
  const qs::Tensor x = qs::read_npy(a.pos.at(1));
  const std::string engine = a.get("--engine", a.opt.count("--plan") ? "int" : "float");
  std::unique_ptr<qs::IntegerModel> eng;
  std::unique_ptr<qs::Executor> ex;
  if (engine == "int") {
    const qs::QuantPlan plan = qs::load_plan(a.get("--plan"));
    const qs::QuantPoints points = qs::quant_points_for(m.graph, qs::Shape(x.shape().begin() + 1, x.shape().end()));
    eng = std::make_unique<qs::IntegerModel>(m.graph, plan, points);
  } else {
    ex = std::make_unique<qs::Executor>(m.graph);
  }
  auto once = [&] { return eng ? eng->run({x}) : ex->run({x}); };
  std::vector<qs::Tensor> y;
  for (int i = 0; i < warmup; ++i) y = once();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    y = once();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("{\"ms_median\":%.4f,\"ms_min\":%.4f,\"ms_max\":%.4f,\"runs\":%d,\"threads\":%d,\"engine\":\"%s\"}\n",
              ms[ms.size() / 2], ms.front(), ms.back(), runs, threads, engine.c_str());
  return 0;
}

int cmd_pair(const Args& a) {
  const int threads = std::stoi(a.get("--threads", "1")), runs = std::stoi(a.get("--runs", "40")),
            warmup = std::stoi(a.get("--warmup", "3"));
  const std::string against = a.get("--against", "float");
  if (against != "float" && against != "nchw") throw qs::Error("--against takes float or nchw");
  qs::set_num_threads(threads);
  const qs::Model m = qs::load_model(a.pos.at(0));
  const qs::Tensor x = qs::read_npy(a.pos.at(1));
  const qs::QuantPlan plan = qs::load_plan(a.get("--plan"));
  const qs::QuantPoints points =
      qs::quant_points_for(m.graph, qs::Shape(x.shape().begin() + 1, x.shape().end()));
  const qs::IntegerModel eng(m.graph, plan, points);
  std::unique_ptr<qs::IntegerModel> nchw;
  std::unique_ptr<qs::Executor> ex;
  if (against == "nchw") {
    qs::IntOptions o;
    o.channels_last = false;
    nchw = std::make_unique<qs::IntegerModel>(m.graph, plan, points, o);
  } else {
    ex = std::make_unique<qs::Executor>(m.graph);
  }
  auto b = [&] { return nchw ? nchw->run({x}) : ex->run({x}); };
  for (int i = 0; i < warmup; ++i) eng.run({x}), b();
  auto timed = [](auto&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  std::vector<double> ta, tb, ratio;
  for (int i = 0; i < runs; ++i) {
    ta.push_back(timed([&] { eng.run({x}); }));
    tb.push_back(timed(b));
    ratio.push_back(tb.back() / ta.back());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf(
      "{\"int_ms_median\":%.4f,\"%s_ms_median\":%.4f,\"ratio_of_medians\":%.4f,"
      "\"median_pair_ratio\":%.4f,\"runs\":%d,\"threads\":%d}\n",
      median(ta), against.c_str(), median(tb), median(tb) / median(ta), median(ratio), runs, threads);
  return 0;
}

int cmd_agree(const Args& a) {
  const qs::Tensor A = qs::read_npy(a.pos.at(0)), B = qs::read_npy(a.pos.at(1));
  if (A.shape() != B.shape() || A.rank() != 2) throw qs::Error("logit arrays of different shapes");
  std::vector<int64_t> labels;
  if (a.opt.count("--labels")) labels = qs::read_npy(a.opt.at("--labels").at(0)).to_vector<int64_t>();
  const int64_t n = A.dim(0), c = A.dim(1);
  int64_t agree = 0, ca = 0, cb = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t pa = argmax(A.data<float>() + i * c, c), pb = argmax(B.data<float>() + i * c, c);
    agree += pa == pb;
    if (!labels.empty()) {
      ca += pa == labels[static_cast<size_t>(i)];
      cb += pb == labels[static_cast<size_t>(i)];
    }
  }
  std::printf("{\"samples\":%lld,\"top1_agreement\":%.6f,\"top1_a\":%.6f,\"top1_b\":%.6f}\n", static_cast<long long>(n),
              static_cast<double>(agree) / n, static_cast<double>(ca) / n, static_cast<double>(cb) / n);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: qs_int_tool npy|compare|time|pair|agree ... (see bench/int_tool.cpp)\n";
    return 2;
  }
  try {
    const std::string cmd = argv[1];
    const Args a = parse(argc, argv);
    if (cmd == "npy") return cmd_npy(a);
    if (cmd == "compare") return cmd_compare(a);
    if (cmd == "time") return cmd_time(a);
    if (cmd == "agree") return cmd_agree(a);
    if (cmd == "pair") return cmd_pair(a);
    std::cerr << "unknown command " << cmd << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
