// Times QuantScope's float executor on one input, printing the same JSON line as
// ../shared/peers/ort-run.mjs so bench/run_peer_bench.sh can compare the two in one run.
// Usage: qs_infer_timer MODEL.onnx INPUT.npy [--threads N] [--runs R] [--warmup W] [--out OUT.npy]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "core/common/parallel.h"
#include "core/data/npy.h"
#include "core/onnx/import.h"
#include "core/runtime/executor.h"

int main(int argc, char** argv) {
  std::vector<std::string> pos;
  int threads = 1, runs = 20, warmup = 3;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads") threads = std::stoi(next());
    else if (a == "--runs") runs = std::stoi(next());
    else if (a == "--warmup") warmup = std::stoi(next());
    else if (a == "--out") out = next();
    else pos.push_back(a);
  }
  if (pos.size() != 2 || runs < 1) {
    std::cerr << "usage: qs_infer_timer MODEL.onnx INPUT.npy [--threads N] [--runs R] [--warmup W] [--out OUT.npy]\n";
    return 2;
  }
  try {
    qs::set_num_threads(threads);
    qs::Model m = qs::load_model(pos[0]);
    qs::Executor ex(std::move(m.graph));
    const qs::Tensor x = qs::read_npy(pos[1]);
    std::vector<qs::Tensor> y;
    for (int i = 0; i < warmup; ++i) y = ex.run({x});
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      y = ex.run({x});
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    if (!out.empty()) qs::write_npy(out, y[0]);
    std::printf("{\"ms_median\":%.4f,\"ms_min\":%.4f,\"ms_max\":%.4f,\"runs\":%d,\"threads\":%d,\"output_shape\":%s}\n",
                ms[ms.size() / 2], ms.front(), ms.back(), runs, threads, qs::shape_str(y[0].shape()).c_str());
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
