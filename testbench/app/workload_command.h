// `mmusim workload`: the built-in workloads from the command line (docs/workloads.md).
#pragma once

#include <CLI/CLI.hpp>

namespace mmusim::app {

// Registers the subcommand. It runs inside app.parse(); a nonzero exit code (1 failed check,
// 2 bad input, 3 internal error) comes back as CLI::RuntimeError carrying that code.
void add_workload_command(CLI::App& app);

}  // namespace mmusim::app
