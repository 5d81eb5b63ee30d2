#include "mmusim/testbench/tools/python_plot.h"

#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

namespace mmusim::testbench::tools {

std::vector<std::string> plot_command_prefix() {
  const char* from_env = std::getenv("MMUSIM_PYTHON");
  const std::string python = from_env && *from_env ? from_env : MMUSIM_PLOT_PYTHON;
  if (python.empty())
    throw PlotUnavailable(
        "no python3 with matplotlib was found when mmusim was configured: install python3-matplotlib "
        "(scripts/setup.sh) and reconfigure, or set MMUSIM_PYTHON to a python3 that imports matplotlib");
  if (access(python.c_str(), X_OK) != 0)
    throw PlotUnavailable(fmt::format("{} (the python for plots{}) is not an executable file", python,
                                      from_env && *from_env ? ", from MMUSIM_PYTHON" : ""));
  const std::string script = MMUSIM_PLOT_SCRIPT;
  if (!std::filesystem::is_regular_file(script))
    throw PlotUnavailable(fmt::format("the plot script {} is missing (it is scripts/mmusim_plot.py of the source tree)",
                                      script));
  return {python, script};
}

}  // namespace mmusim::testbench::tools
