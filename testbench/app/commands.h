// Sub-commands that live in their own files. Each adds itself to the CLI11 app and returns what
// runs when it was given; main.cpp registers each with one line.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace mmusim::app {

struct Command {
  CLI::App* cli;              // the sub-command's parser node
  std::function<int()> run;   // returns the exit code; throws tools::InputError for bad input
};

// For output-file options (--json, --csv, --out ...): the file can be written, checked when the
// command line is parsed, before any run (tools::unwritable_reason).
CLI::Validator writable_file();  // writable_file.cpp

Command add_workload_command(CLI::App& app);  // workload_command.cpp
Command add_sweep_command(CLI::App& app);  // sweep_command.cpp
Command add_cow_command(CLI::App& app);    // cow_command.cpp
Command add_plot_command(CLI::App& app);   // plot_command.cpp
Command add_calibrate_command(CLI::App& app);  // calibrate_command.cpp

}  // namespace mmusim::app
