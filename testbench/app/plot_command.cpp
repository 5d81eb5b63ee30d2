// mmusim plot ARGS...: forwards to scripts/mmusim_plot.py (docs/plots.md).
#include <fmt/format.h>

#include <string>
#include <vector>

#include "commands.h"
#include "mmusim/testbench/tools/process_pool.h"
#include "mmusim/testbench/tools/python_plot.h"

namespace mmusim::app {

Command add_plot_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("plot",
                                 "draw plots (PNG and SVG) with matplotlib: cdf STATS.json... -o OUT, "
                                 "xy TABLE.csv --x COL --y COL [--series COL] -o OUT (mmusim plot --help)");
  cmd->prefix_command();  // everything after `plot` goes to the script, --help included
  cmd->set_help_flag();
  return {cmd, [cmd] {
            std::vector<std::string> argv = testbench::tools::plot_command_prefix();
            for (const std::string& a : cmd->remaining()) argv.push_back(a);
            return testbench::tools::run_command(argv);
          }};
}

}  // namespace mmusim::app
