// mmusim calibrate: runs the calibration workloads (each its own `mmusim workload` process), sets
// the model's figures against anchors.md B.1-B.4 and writes docs/calibration.md.
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <iostream>
#include <map>
#include <memory>

#include "commands.h"
#include "mmusim/testbench/calibration.h"
#include "mmusim/testbench/tools/input_error.h"
#include "mmusim/testbench/tools/process_pool.h"
#include "mmusim/testbench/tools/scratch_dir.h"
#include "mmusim/testbench/tools/shell_words.h"
#include "mmusim/testbench/tools/text_file.h"

namespace mmusim::app {
namespace {

namespace tb = mmusim::testbench;
namespace tools = testbench::tools;

struct CalibrateOptions {
  std::string out;
  bool quick = false;
  unsigned jobs = tools::available_cpus();
  std::string config_file;
  std::vector<std::string> settings;
};

// The command line as the document records it: what a reader types to regenerate it.
std::string command_text(const CalibrateOptions& opt) {
  std::string text = "mmusim calibrate";
  if (opt.quick) text += " --quick";
  if (!opt.config_file.empty()) text += " --config " + opt.config_file;
  for (const std::string& s : opt.settings) text += " --set " + s;
  if (!opt.out.empty()) text += " --out " + opt.out;
  return text;
}

int calibrate(const CalibrateOptions& opt) {
  const std::vector<tb::CalibrationRun> runs = tb::calibration_runs(opt.quick);
  const tools::ScratchDir scratch("calibrate");
  const std::string mmusim = tools::self_executable();
  std::vector<tools::Job> jobs;
  for (const tb::CalibrationRun& run : runs) {
    tools::Job job{{mmusim}, scratch.path() + "/" + run.name + ".log"};
    job.argv.insert(job.argv.end(), run.args.begin(), run.args.end());
    if (!opt.config_file.empty()) job.argv.insert(job.argv.end(), {"--config", opt.config_file});
    for (const std::string& s : opt.settings) job.argv.insert(job.argv.end(), {"--set", s});
    job.argv.insert(job.argv.end(), {"--progress", "never", "--json", scratch.path() + "/" + run.name + ".json"});
    jobs.push_back(std::move(job));
  }
  tools::Progress progress("calibrate", jobs.size());
  const std::vector<int> status = tools::run_jobs(jobs, opt.jobs, [&](std::size_t, int s) { progress.done(s); });
  progress.finish();

  std::map<std::string, nlohmann::json> results;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (status[i] != 0) {
      const std::string log = tools::read_text_file(jobs[i].log_path);
      // A bad --set or --config fails every run the same way: that is the user's input.
      if (status[i] == 2) throw tools::InputError(fmt::format("calibration run '{}' refused its input:\n{}",
                                                              runs[i].name, log));
      fmt::print(std::cerr, "mmusim: calibration run '{}' ({}) exited with {}:\n{}", runs[i].name,
                 tools::shell_join(jobs[i].argv), status[i], log);
      return 3;
    }
    results[runs[i].name] = nlohmann::json::parse(tools::read_text_file(scratch.path() + "/" + runs[i].name + ".json"));
  }
  const tb::CalibrationReport report = tb::evaluate_calibration(results);
  const std::string md = tb::calibration_markdown(report, command_text(opt));
  if (opt.out.empty()) {
    fmt::print("{}", md);
  } else {
    tools::write_text_file(opt.out, md, "--out");
    for (const tb::CalibrationRow& r : report.rows)
      fmt::print("{:<74} {:<34} {}\n", r.quantity, r.model, tb::calibration_status_name(r.status));
  }
  return report.all_in_range() ? 0 : 1;
}

}  // namespace

Command add_calibrate_command(CLI::App& app) {
  auto opt = std::make_shared<CalibrateOptions>();
  auto* cmd = app.add_subcommand("calibrate", "run the calibration workloads and compare the model with published "
                                              "figures (anchors.md B.1-B.4); writes docs/calibration.md with --out");
  cmd->add_option("--out", opt->out, "write the Markdown report to this file (default: print it)")
      ->check(writable_file());
  cmd->add_flag("--quick", opt->quick, "smaller runs (fork 16-64 MiB, shootdowns to 1-4 targets), as in ctest");
  cmd->add_option("--jobs,-j", opt->jobs, "runs in parallel (default: the number of CPUs)")->check(CLI::Range(1u, 4096u));
  cmd->add_option("--config", opt->config_file, "configuration file for every run")->check(CLI::ExistingFile);
  cmd->add_option("--set", opt->settings, "override a parameter in every run: key=value");
  return {cmd, [opt] { return calibrate(*opt); }};
}

}  // namespace mmusim::app
