// Reading back an analysis report written by qs::report_to_json (core/quant/analysis.h), so a project or a
// report made by `quantscope-cli analyze` on a server opens in the GUI with its figures.
#pragma once

#include <string>

#include "core/quant/analysis.h"

namespace qs::ui {

// Parses the JSON text of a report. `source` names the file in errors. Throws qs::Error naming the field
// at fault. A null SQNR (JSON has no infinity) reads back as +inf, as it was written.
AnalysisReport report_from_json(const std::string& text, const std::string& source);
AnalysisReport load_report(const std::string& path);

}  // namespace qs::ui
