// Where `mmusim plot` finds its Python and scripts/mmusim_plot.py: found when mmusim was
// configured (a python3 that imports matplotlib), the interpreter overridable by MMUSIM_PYTHON.
#pragma once

#include <string>
#include <vector>

#include "mmusim/testbench/tools/input_error.h"

namespace mmusim::testbench::tools {

class PlotUnavailable : public InputError {
 public:
  using InputError::InputError;
};

// [python, script]; throws PlotUnavailable naming what is missing and how to get it.
std::vector<std::string> plot_command_prefix();

}  // namespace mmusim::testbench::tools
