// quantscope-cli subcommands. Each `add_*` registers its subcommand and options on the app and sets the
// callback that runs it. Errors are thrown as qs::Error; main() prints them and exits 1 (usage errors 2).
#pragma once

#include <CLI/CLI.hpp>

namespace qs::cli {

void add_info(CLI::App& app);
void add_run(CLI::App& app);
void add_eval(CLI::App& app);
void add_quantize(CLI::App& app);
void add_analyze(CLI::App& app);
void add_export(CLI::App& app);
void add_repvgg(CLI::App& app);
void add_mixed(CLI::App& app);
void add_prune(CLI::App& app);
void add_sensitivity(CLI::App& app);

}  // namespace qs::cli
