// mmusim cow [DIR|FILE...]: every scenario file as its own `mmusim run`, as a pass/fail table.
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands.h"
#include "mmusim/testbench/cow/suite.h"
#include "mmusim/testbench/sweep/grid.h"
#include "mmusim/testbench/tools/input_error.h"
#include "mmusim/testbench/tools/process_pool.h"
#include "mmusim/testbench/tools/scratch_dir.h"
#include "mmusim/testbench/tools/text_file.h"

namespace mmusim::app {
namespace {

namespace cow = testbench::cow;
namespace tools = testbench::tools;

struct CowOptions {
  std::vector<std::string> paths;
  unsigned jobs = tools::available_cpus();
  std::string csv_out;
  std::string json_out;
};

int run_suite(const CowOptions& opt) {
  const auto entries = cow::discover(opt.paths.empty() ? std::vector<std::string>{MMUSIM_SCENARIOS_DIR} : opt.paths);
  const tools::ScratchDir scratch("cow");
  const std::string mmusim = tools::self_executable();
  std::vector<tools::Job> jobs;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string base = scratch.path() + "/" + testbench::sweep::point_name(i, entries.size());
    tools::Job job{{mmusim, "run", entries[i].path}, base + ".log"};
    for (const std::string& kv : entries[i].settings) {
      job.argv.push_back("--set");
      job.argv.push_back(kv);
    }
    job.argv.push_back("--json");
    job.argv.push_back(base + ".json");
    jobs.push_back(std::move(job));
  }
  tools::Progress progress("cow", jobs.size());
  const auto statuses = tools::run_jobs(jobs, opt.jobs, [&progress](std::size_t, int status) { progress.done(status); });
  progress.finish();

  std::vector<cow::Outcome> outcomes;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::optional<cow::Json> stats;
    const std::string json_path = jobs[i].argv.back();
    if (std::filesystem::exists(json_path)) {
      try {
        stats = cow::Json::parse(tools::read_text_file(json_path));
      } catch (const nlohmann::json::exception&) {
        stats.reset();
      }
    }
    outcomes.push_back(cow::outcome(entries[i], statuses[i], stats, tools::read_text_file(jobs[i].log_path)));
  }
  cow::print_table(std::cout, outcomes);
  if (!opt.csv_out.empty()) tools::write_text_file(opt.csv_out, cow::table_csv(outcomes), "--csv");
  if (!opt.json_out.empty()) tools::write_text_file(opt.json_out, cow::table_json(outcomes).dump(2) + "\n", "--json");
  for (const auto& o : outcomes)
    if (!o.passed()) return 1;
  return 0;
}

}  // namespace

Command add_cow_command(CLI::App& app) {
  auto opt = std::make_shared<CowOptions>();
  auto* cmd = app.add_subcommand("cow", "run every scenario file, each as its own `mmusim run`, and print a "
                                        "pass/fail table (default: the source tree's scenarios/)");
  cmd->add_option("paths", opt->paths, "scenario folders (every *.scn below) and files");
  cmd->add_option("--jobs,-j", opt->jobs, "scenarios run in parallel (default: the number of CPUs)")
      ->check(CLI::Range(1u, 4096u));
  cmd->add_option("--csv", opt->csv_out, "also write the table as CSV to this file")->check(writable_file());
  cmd->add_option("--json", opt->json_out, "also write the table as JSON to this file")->check(writable_file());
  return {cmd, [opt] { return run_suite(*opt); }};
}

}  // namespace mmusim::app
