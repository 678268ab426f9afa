#include <iostream>

#include "core/onnx/import.h"
#include "core/runtime/executor.h"

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  try {
    qs::Model m = qs::load_model(argv[1]);
    qs::Executor ex(m.graph);
    std::cout << m.graph.nodes.size() << " nodes\n";
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
