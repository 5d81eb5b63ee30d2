// mmusim sweep: a sub-command over a grid of parameters, each point its own process (locally in
// parallel, or as a Slurm job array), then one table and a plot (docs/sweeps.md).
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>

#include "commands.h"
#include "mmusim/testbench/params.h"
#include "mmusim/testbench/sweep/sweep_dir.h"
#include "mmusim/testbench/tools/input_error.h"
#include "mmusim/testbench/tools/process_pool.h"
#include "mmusim/testbench/tools/python_plot.h"

namespace mmusim::app {
namespace {

namespace sweep = testbench::sweep;
namespace tools = testbench::tools;

struct SweepOptions {
  std::vector<std::string> grid;
  std::vector<std::string> metrics;
  unsigned jobs = tools::available_cpus();
  std::string out;
  std::string collect_dir;
  bool slurm = false;
  std::vector<std::string> slurm_options;
  bool no_plot = false;
  std::vector<std::string> command;
};

// The swept sub-command must be one that writes its statistics with --json, and every option key
// of the grid must be one of its options.
void check_command(const CLI::App& app, const std::vector<std::string>& command, const std::vector<sweep::GridAxis>& grid) {
  if (command.empty())
    throw tools::InputError("no command to sweep: give it after --, e.g. mmusim sweep --grid K=1,2 --out DIR -- run FILE");
  const CLI::App* sub = nullptr;
  try {
    sub = app.get_subcommand(command[0]);
  } catch (const CLI::OptionNotFound&) {
  }
  if (!sub || command[0] == "sweep" || !sub->get_option_no_throw("--json"))
    throw tools::InputError(fmt::format("cannot sweep `{}`: not an mmusim command that writes --json statistics",
                                        command[0]));
  for (const std::string& word : command)
    if (word == "--json" || word.rfind("--json=", 0) == 0)
      throw tools::InputError("the swept command must not have --json: each point writes DIR/points/NNNN.json");
  std::set<std::string> keys;
  for (const sweep::GridAxis& axis : grid) {
    if (!keys.insert(axis.key).second) throw tools::InputError(fmt::format("--grid {}: the key is given twice", axis.key));
    if (axis.is_option()) {
      if (!sub->get_option_no_throw(axis.key) || axis.key == "--json")
        throw tools::InputError(fmt::format("--grid {}: unknown grid key: not an option of `mmusim {}`", axis.key,
                                            command[0]));
      continue;
    }
    for (const std::string& value : axis.values) {
      testbench::SimConfig config;
      try {
        testbench::apply_setting(config, axis.key + "=" + value);
      } catch (const testbench::ConfigError& e) {
        throw tools::InputError(fmt::format("--grid {}: unknown grid key or bad value: {}", axis.key, e.what()));
      }
    }
  }
}

void print_table(const sweep::SweepTable& table) {
  std::vector<std::size_t> width(table.rows.front().size(), 0);
  for (const auto& row : table.rows)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  for (const auto& row : table.rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) line += fmt::format("{}{:>{}}", c ? "  " : "", row[c], width[c]);
    fmt::print("{}\n", line.substr(0, line.find_last_not_of(' ') + 1));
  }
}

void plot(const sweep::SweepDir& dir, const sweep::SweepSpec& spec, const sweep::SweepTable& table) {
  try {
    std::vector<std::string> argv = tools::plot_command_prefix();
    // --x=COL: grid keys may start with dashes.
    argv.insert(argv.end(), {"xy", dir.file("sweep.csv"), "--x=" + spec.grid.front().key, "--y=" + table.metrics.front()});
    for (std::size_t a = 1; a < spec.grid.size(); ++a) argv.push_back("--series=" + spec.grid[a].key);
    std::string title = "mmusim";
    for (const std::string& word : spec.command) title += " " + word;
    argv.insert(argv.end(), {"--title=" + title, "-o", dir.file("sweep")});
    const int status = tools::run_command(argv);
    if (status != 0) fmt::print(std::cerr, "sweep: warning: the plot failed (exit {}); the tables are written\n", status);
  } catch (const tools::PlotUnavailable& e) {
    fmt::print(std::cerr, "sweep: warning: no plot: {}\n", e.what());
  }
}

int finish(const sweep::SweepDir& dir, const sweep::SweepSpec& spec, const SweepOptions& opt) {
  const sweep::SweepTable table = sweep::collect(dir, spec, opt.metrics);
  print_table(table);
  if (!opt.no_plot) plot(dir, spec, table);
  fmt::print("\nsweep: {} points, {} failed: {}\n", table.statuses.size(), table.failed, dir.file("sweep.csv"));
  return table.failed ? 1 : 0;
}

int run_sweep(const CLI::App& app, const SweepOptions& opt) {
  if (!opt.collect_dir.empty()) {
    if (!opt.grid.empty() || !opt.command.empty() || opt.slurm)
      throw tools::InputError("--collect DIR takes the plan from DIR/sweep.spec.json: no --grid, --slurm or command");
    const sweep::SweepDir dir(opt.collect_dir);
    return finish(dir, sweep::read_spec(dir), opt);
  }
  if (opt.out.empty()) throw tools::InputError("--out DIR is required (or --collect DIR)");
  sweep::SweepSpec spec;
  spec.command = opt.command;
  spec.metrics = opt.metrics;
  for (const std::string& g : opt.grid) spec.grid.push_back(sweep::parse_grid_axis(g));
  if (spec.grid.empty()) throw tools::InputError("empty grid: give at least one --grid KEY=V1,V2,...");
  check_command(app, spec.command, spec.grid);

  const sweep::SweepDir dir(opt.out);
  const auto commands = sweep::write_plan(dir, spec, tools::self_executable());
  const std::size_t n = commands.size();
  if (opt.slurm) {
    sweep::write_sbatch(dir, spec, std::filesystem::current_path().string(), opt.slurm_options);
    fmt::print("sweep: {} points in {}\nsubmit: sbatch {}\nthen:   mmusim sweep --collect {}\n", n,
               dir.file("commands.txt"), dir.file("sweep.sbatch"), dir.path());
    return 0;
  }
  std::vector<tools::Job> jobs;
  for (std::size_t i = 0; i < n; ++i) jobs.push_back({commands[i], dir.point_file(i, n, "log")});
  tools::Progress progress("sweep", n);
  tools::run_jobs(jobs, opt.jobs, [&](std::size_t index, int status) {
    sweep::write_status(dir, index, n, status);
    progress.done(status);
  });
  progress.finish();
  return finish(dir, spec, opt);
}

}  // namespace

Command add_sweep_command(CLI::App& app) {
  auto opt = std::make_shared<SweepOptions>();
  auto* cmd = app.add_subcommand(
      "sweep",
      "run a command over a grid of parameters, each point its own process, and write DIR/sweep.csv, "
      "sweep.json and a plot (docs/sweeps.md); e.g. mmusim sweep --grid dtlb.array0.entries=32,64 --out DIR -- "
      "run FILE");
  cmd->add_option("--grid", opt->grid,
                  "KEY=V1,V2,...: KEY a --set parameter, or an option of the command as --grid=--OPTION=V1,V2 "
                  "(repeatable; the first key is the plot's x axis)");
  cmd->add_option("--metric", opt->metrics,
                  "a column of the table: result.FIELD, config.PARAM, STAT or STAT.FIELD (p50, count, ...); "
                  "repeatable; default result.cycles and the p50 of every tb.* latency with samples");
  cmd->add_option("--jobs,-j", opt->jobs, "points run in parallel (default: the number of CPUs)")
      ->check(CLI::Range(1u, 4096u));
  cmd->add_option("--out,-o", opt->out, "the sweep's directory (created)");
  cmd->add_flag("--slurm", opt->slurm, "write DIR/commands.txt and DIR/sweep.sbatch (a job array) without running");
  cmd->add_option("--slurm-opt", opt->slurm_options,
                  "an sbatch option for the job array, e.g. --slurm-opt partition=short (repeatable)");
  cmd->add_option("--collect", opt->collect_dir, "build the table and plot of DIR from its points' results");
  cmd->add_flag("--no-plot", opt->no_plot, "write the tables only");
  cmd->add_option("command", opt->command, "after --: the mmusim command to run at each point, e.g. run FILE");
  return {cmd, [&app, opt] { return run_sweep(app, *opt); }};
}

}  // namespace mmusim::app
