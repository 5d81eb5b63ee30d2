// mmusim: the command-line front end.
//   mmusim run [FILE] [--config CFG] [--json OUT] [--csv OUT] [--set key=value]... [--trace]
//   mmusim config [--dump]   list every parameter with unit, default and source (or as a
//                            configuration file)
//   mmusim stats [FILE]      list every statistic of a run with unit and description
//   mmusim workload, sweep, cow, plot   built-in workloads, a grid of runs, the scenario suite,
//                            plots (commands.h)
// Exit codes: 0 passed, 1 the scenario failed, 2 bad input (arguments, scenario, configuration),
// 3 an internal error of mmusim (a bug: please report it with the scenario).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <systemc>

#include "commands.h"
#include "mmusim/testbench/default_scenario.h"
#include "mmusim/testbench/params.h"
#include "mmusim/testbench/report.h"
#include "mmusim/testbench/report_csv.h"
#include "mmusim/testbench/runner.h"
#include "mmusim/testbench/scenario.h"
#include "mmusim/testbench/progress.h"
#include "mmusim/testbench/tools/input_error.h"
#include "mmusim/testbench/tools/text_file.h"

#include <unistd.h>

namespace tb = mmusim::testbench;
namespace tools = mmusim::testbench::tools;

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitInternal = 3;

struct RunOptions {
  std::string file;
  std::string config_file;
  std::string json_out;
  std::string csv_out;
  std::vector<std::string> settings;
  bool trace = false;
  std::string progress = "auto";
};

// The configuration file first, then each --set in order: the last word wins.
tb::SimConfig build_config(const std::string& config_file, const std::vector<std::string>& settings) {
  tb::SimConfig config;
  if (!config_file.empty()) tb::load_config_file(config, config_file);
  for (const std::string& s : settings) tb::apply_setting(config, s);
  tb::validate(config);
  return config;
}

tb::Scenario load(const std::string& file) {
  return file.empty() ? tb::parse_scenario(tb::kDefaultScenario, "<default>") : tb::load_scenario(file);
}

int run_command(const RunOptions& opt) {
  const tb::SimConfig config = build_config(opt.config_file, opt.settings);
  const tb::Scenario scenario = load(opt.file);
  mmusim::stats::Group root("");
  tb::ScenarioRunner runner(scenario, config, root);
  tb::ProgressLine progress(*tb::progress_mode(opt.progress), std::cerr, isatty(STDERR_FILENO) != 0);
  runner.on_progress([&progress](std::size_t step, std::size_t steps, mmusim::Cycles now) { progress.update(step, steps, now); });
  const tb::RunResult result = runner.run();
  progress.finish();
  tb::print_text_report(std::cout, scenario, result, root, opt.trace);
  if (!opt.json_out.empty())
    tools::write_text_file(opt.json_out, tb::stats_json(scenario, runner.config(), result, root).dump(2) + "\n",
                           "--json");
  if (!opt.csv_out.empty()) {
    std::ostringstream csv;
    tb::write_stats_csv(csv, root);
    tools::write_text_file(opt.csv_out, csv.str(), "--csv");
  }
  return result.passed() ? 0 : kExitFailed;
}

int config_command(bool dump) {
  const tb::SimConfig defaults;
  if (dump) {
    fmt::print("{}", tb::dump_config(defaults));
    return 0;
  }
  fmt::print("{:<40}{:>10}  {:<12} {}\n", "parameter", "default", "unit", "description [source]");
  for (const tb::ParamInfo& p : tb::param_table())
    fmt::print("{:<40}{:>10}  {:<12} {} [{}]\n", p.name, p.get(defaults), p.unit, p.description, p.source);
  return 0;
}

int stats_command(const std::string& file) {
  const tb::Scenario scenario = load(file);
  mmusim::stats::Group root("");
  tb::ScenarioRunner runner(scenario, tb::SimConfig{}, root);
  struct Lister : mmusim::stats::Visitor {
    void line(const std::string& path, const mmusim::stats::Stat& s) {
      fmt::print("{:<44} {:<7} {}\n", path, mmusim::stats::unit_name(s.unit()), s.description());
    }
    void scalar(const std::string& p, const mmusim::stats::Scalar& s) override { line(p, s); }
    void distribution(const std::string& p, const mmusim::stats::Distribution& s) override { line(p, s); }
    void formula(const std::string& p, const mmusim::stats::Formula& s) override { line(p, s); }
  } lister;
  root.accept(lister);
  return 0;
}

}  // namespace

// SystemC prints its banner when its simulation context is created, before sc_main runs; a
// static initializer runs earlier still. The banner is not part of mmusim's output.
const bool kBannerOff = setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0) == 0;

int sc_main(int argc, char* argv[]) {
  CLI::App app{"mmusim: co-simulation of a Linux anonymous-memory manager on a timed x86 MMU"};
  app.require_subcommand(1);
  app.set_version_flag("--version", MMUSIM_VERSION);

  RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "run a scenario file (the built-in default scenario without FILE)");
  run_cmd->add_option("file", run.file, "scenario file (docs/scenarios.md)")->check(CLI::ExistingFile);
  run_cmd->add_option("--config", run.config_file, "configuration file: 'key = value' lines (mmusim config --dump)")
      ->check(CLI::ExistingFile);
  run_cmd->add_option("--json", run.json_out, "write statistics as JSON (docs/stats.md) to this file")
      ->check(mmusim::app::writable_file());
  run_cmd->add_option("--csv", run.csv_out, "write statistics as CSV (docs/stats.md) to this file")
      ->check(mmusim::app::writable_file());
  run_cmd->add_option("--set", run.settings, "override a parameter: key=value (see mmusim config)");
  run_cmd->add_flag("--trace", run.trace, "print every executed step with its simulated cycle");
  run_cmd->add_option("--progress", run.progress, "progress line on stderr: auto (on a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));

  bool dump = false;
  auto* config_cmd = app.add_subcommand("config", "list every parameter with unit, default and source");
  config_cmd->add_flag("--dump", dump, "print the defaults as a configuration file for run --config");

  std::string stats_file;
  auto* stats_cmd = app.add_subcommand("stats", "list every statistic of a run with unit and description");
  stats_cmd->add_option("file", stats_file, "scenario file (its processes add per-process statistics)")
      ->check(CLI::ExistingFile);

  const std::vector<mmusim::app::Command> commands{
      mmusim::app::add_workload_command(app),
      mmusim::app::add_sweep_command(app),
      mmusim::app::add_cow_command(app),
      mmusim::app::add_plot_command(app),
      mmusim::app::add_calibrate_command(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitBadInput;
  }

  try {
    if (*run_cmd) return run_command(run);
    if (*config_cmd) return config_command(dump);
    if (*stats_cmd) return stats_command(stats_file);
    for (const auto& command : commands)
      if (*command.cli) return command.run();
  } catch (const mmusim::testbench::tools::InputError& e) {
    fmt::print(std::cerr, "mmusim: error: {}\n", e.what());
    return kExitBadInput;
  } catch (const tb::ScenarioError& e) {
    fmt::print(std::cerr, "{}\n", e.what());
    return kExitBadInput;
  } catch (const tb::ConfigError& e) {
    fmt::print(std::cerr, "mmusim: error: {}\n", e.what());
    return kExitBadInput;
  } catch (const std::exception& e) {
    fmt::print(std::cerr, "mmusim: internal error: {}\n", e.what());
    return kExitInternal;
  }
  return kExitBadInput;
}
