// Writing the fused (re-parameterized) model as ONNX, with proof that it is what it claims to be.
#pragma once

#include <string>

#include "core/algo/repvgg/fuse.h"
#include "core/data/dataset.h"

namespace qs::repvgg {

struct ExportOptions {
  int64_t count = 256;  // samples compared (the first N; all when <= 0)
  int64_t batch = 32;
  double tolerance = 1e-4;  // max relative error allowed (FusionCheck's definition)
};

// Writes `fused` (fuse_graph of `original`, which was loaded from `source_path`) to `out_path` through
// core/onnx/save.h, first to a temporary file in the same folder. That file is loaded again and must pass
// ONNX's checker (run by the importer) and match `original` on `data` within the tolerance, at every
// block output and graph output; only then is it renamed to `out_path`. Refuses to write over the source
// model. Throws Error naming the file and the failed check; nothing is left behind on failure. Returns the
// check of the written file.
FusionCheck export_fused(const Graph& original, const FusedModel& fused, const std::string& source_path,
                         const std::string& out_path, Dataset& data, const ExportOptions& o = {});

}  // namespace qs::repvgg
