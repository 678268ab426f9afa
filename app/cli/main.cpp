// quantscope-cli: everything the desktop app does, headless.
#include <iostream>

#include "app/cli/commands.h"
#include "core/common/error.h"

int main(int argc, char** argv) {
  CLI::App app{"QuantScope: see where quantization hurts an ONNX model, layer by layer, and fix it.",
               "quantscope-cli"};
  app.set_version_flag("--version", std::string("quantscope-cli ") + QS_VERSION);
  app.require_subcommand(1);
  qs::cli::add_info(app);
  qs::cli::add_run(app);
  qs::cli::add_eval(app);
  qs::cli::add_quantize(app);
  qs::cli::add_analyze(app);
  qs::cli::add_export(app);
  qs::cli::add_repvgg(app);
  qs::cli::add_mixed(app);
  qs::cli::add_prune(app);
  qs::cli::add_sensitivity(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;  // usage errors exit 2
  } catch (const qs::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
