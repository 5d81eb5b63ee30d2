#include "commands.h"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "mmusim/testbench/progress.h"
#include "mmusim/testbench/report.h"
#include "mmusim/testbench/report_csv.h"
#include "mmusim/testbench/tools/input_error.h"
#include "mmusim/testbench/tools/text_file.h"
#include "mmusim/testbench/runner.h"
#include "mmusim/testbench/scenario.h"
#include "mmusim/testbench/workload.h"

namespace mmusim::app {
namespace {

namespace tb = mmusim::testbench;
namespace tools = mmusim::testbench::tools;

struct WorkloadOptions {
  std::string name;
  std::string size;
  unsigned threads = 0, cores = 0, iterations = 0;
  std::string config_file;
  std::vector<std::string> settings;
  std::string json_out;
  std::string csv_out;
  std::string table_csv_out;
  bool print_scenario = false;
  std::string progress = "auto";
  CLI::Option *size_opt = nullptr, *threads_opt = nullptr, *cores_opt = nullptr, *iterations_opt = nullptr;
};

int list_workloads() {
  std::size_t width = 0;
  for (const tb::Workload& w : tb::workloads()) width = std::max(width, w.name.size());
  for (const tb::Workload& w : tb::workloads()) fmt::print("{:<{}}  {:<8} {}\n", w.name, width, w.family, w.description);
  return 0;
}

// mm.check_invariants named by --set or by the configuration file: the user's choice stands.
bool invariants_set(const WorkloadOptions& o, const std::vector<std::string>& file_keys) {
  constexpr const char* kKey = "mm.check_invariants";
  for (const std::string& s : o.settings)
    if (s.substr(0, s.find('=')) == kKey) return true;
  return std::find(file_keys.begin(), file_keys.end(), kKey) != file_keys.end();
}

int run_workload(const WorkloadOptions& o) {
  if (o.name == "list") return list_workloads();
  const tb::Workload* w = tb::find_workload(o.name);
  if (!w) {
    std::string names;
    for (const tb::Workload& k : tb::workloads()) names += " " + k.name;
    throw tb::WorkloadError(fmt::format("unknown workload '{}' (mmusim workload list):{}", o.name, names));
  }
  tb::WorkloadParams given;
  if (o.size_opt->count() > 0) given.sizes = tb::parse_sizes(o.size);
  given.threads = o.threads;
  given.cores = o.cores;
  given.iterations = o.iterations;
  const tb::WorkloadParams params = tb::resolve_params(*w, given, o.size_opt->count() > 0, o.threads_opt->count() > 0,
                                                       o.cores_opt->count() > 0, o.iterations_opt->count() > 0);
  tb::SimConfig config;
  std::vector<std::string> file_keys;
  if (!o.config_file.empty()) file_keys = tb::load_config_file(config, o.config_file);
  for (const std::string& s : o.settings) tb::apply_setting(config, s);
  if (tb::fit_config(*w, params, config, invariants_set(o, file_keys)))
    fmt::print(std::cerr, "mmusim: note: mm.check_invariants=0 for this size (--set mm.check_invariants=1 to keep "
                          "them)\n");
  tb::validate(config);
  const tb::WorkloadPlan plan = tb::plan_workload(*w, params);
  if (o.print_scenario) {
    fmt::print("{}", plan.text);
    return 0;
  }
  const tb::Scenario scenario = tb::parse_scenario(plan.text, "<workload:" + w->name + ">");
  mmusim::stats::Group root("");
  tb::ScenarioRunner runner(scenario, config, root);
  runner.watch(w->watch);
  tb::ProgressLine progress(*tb::progress_mode(o.progress), std::cerr, isatty(STDERR_FILENO) != 0);
  runner.on_progress([&progress](std::size_t step, std::size_t steps, Cycles now) { progress.update(step, steps, now); });
  const tb::RunResult result = runner.run();
  progress.finish();
  const tb::WorkloadTable table = tb::make_table(*w, plan, result);
  tb::print_workload_report(std::cout, *w, params, table, result, root);
  if (!o.json_out.empty()) {
    auto j = tb::stats_json(scenario, runner.config(), result, root);
    j["workload"] = tb::workload_json(*w, params, table);
    tools::write_text_file(o.json_out, j.dump(2) + "\n", "--json");
  }
  if (!o.csv_out.empty()) {
    std::ostringstream csv;
    tb::write_stats_csv(csv, root);
    tools::write_text_file(o.csv_out, csv.str(), "--csv");
  }
  if (!o.table_csv_out.empty()) {
    std::ostringstream csv;
    tb::write_workload_table_csv(csv, table);
    tools::write_text_file(o.table_csv_out, csv.str(), "--table-csv");
  }
  return result.passed() ? 0 : 1;
}

int run_guarded(const WorkloadOptions& o) {
  try {
    return run_workload(o);
  } catch (const tb::ScenarioError& e) {  // a generated scenario the parser refuses: a bug
    fmt::print(std::cerr, "mmusim: internal error: generated scenario: {}\n", e.what());
    return 3;
  } catch (const tb::WorkloadError& e) {
    fmt::print(std::cerr, "mmusim: error: {}\n", e.what());
  } catch (const tb::ConfigError& e) {
    fmt::print(std::cerr, "mmusim: error: {}\n", e.what());
  } catch (const tools::InputError& e) {
    fmt::print(std::cerr, "mmusim: error: {}\n", e.what());
  } catch (const std::exception& e) {
    fmt::print(std::cerr, "mmusim: internal error: {}\n", e.what());
    return 3;
  }
  return 2;
}

}  // namespace

Command add_workload_command(CLI::App& app) {
  auto o = std::make_shared<WorkloadOptions>();
  auto* cmd = app.add_subcommand("workload", "run a built-in workload and print its result table (list: name them)");
  cmd->add_option("name", o->name, "workload name, or 'list'")->required();
  o->size_opt = cmd->add_option("--size", o->size, "bytes per thread (K, M, G suffixes; p for pages); fork: a list");
  o->threads_opt = cmd->add_option("--threads", o->threads, "threads (default: one per core)");
  o->cores_opt = cmd->add_option("--cores", o->cores, "cores the threads are spread over");
  o->iterations_opt = cmd->add_option("--iterations", o->iterations, "repetitions of the measured operations");
  cmd->add_option("--config", o->config_file, "configuration file: 'key = value' lines")->check(CLI::ExistingFile);
  cmd->add_option("--set", o->settings, "override a parameter: key=value (see mmusim config)");
  cmd->add_option("--json", o->json_out, "write statistics and the table as JSON (docs/stats.md)")
      ->check(writable_file());
  cmd->add_option("--csv", o->csv_out, "write statistics as CSV (docs/stats.md)")->check(writable_file());
  cmd->add_option("--table-csv", o->table_csv_out, "write the result table as CSV (for mmusim plot xy)")
      ->check(writable_file());
  cmd->add_flag("--print-scenario", o->print_scenario, "print the generated scenario and exit");
  cmd->add_option("--progress", o->progress, "progress line on stderr: auto (on a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  return {cmd, [o] { return run_guarded(*o); }};
}

}  // namespace mmusim::app
