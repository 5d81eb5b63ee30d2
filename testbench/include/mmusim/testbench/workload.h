// Built-in workloads (docs/workloads.md): each generates a scenario from its parameters, runs it
// like any scenario file, and turns the per-step timings and statistics into a result table.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mmusim/stats/stats.h"
#include "mmusim/testbench/params.h"
#include "mmusim/testbench/runner.h"

namespace mmusim::testbench {

struct WorkloadParams {
  std::vector<std::uint64_t> sizes;  // bytes, multiples of 4 KiB (only fork takes several)
  unsigned threads = 1;
  unsigned cores = 1;
  unsigned iterations = 1;
};

// A parameter a workload cannot take: exit code 2 at the CLI.
class WorkloadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "64M", "1G", "512K", "4096", "16p" (pages); comma-separated lists ("64M,1G"). Throws
// WorkloadError naming the bad item.
std::vector<std::uint64_t> parse_sizes(const std::string& text);
std::string size_name(std::uint64_t bytes);  // "64M", "4G", "12K"

struct WorkloadColumn {
  std::string name;  // "pages", "latency"
  std::string unit;  // "cycles", "pages", "" (a label)
};

// What the table rows read from a finished run: each step's timing and the change of the
// workload's watched statistics over it.
class RunView {
 public:
  RunView(const RunResult& result, const std::vector<std::string>& watched) : result_(result), watched_(watched) {}
  Cycles cycles(std::size_t step) const;                          // end - start
  double count(std::size_t step, const std::string& stat) const;  // change of value_as_double
  double sum(std::size_t step, const std::string& stat) const;    // change of a distribution's sum
  double mean(std::size_t step, const std::string& stat) const;   // sum / count over the step (0 if none)
  const RunResult& result() const { return result_; }

 private:
  std::size_t index(const std::string& stat) const;
  const RunResult& result_;
  const std::vector<std::string>& watched_;
};

using Cell = nlohmann::ordered_json;  // a number or a label
using RowMaker = std::function<std::vector<Cell>(const RunView&)>;

// A workload's scenario, with the maker of each table row (it knows the steps it reads).
class ScenarioBuilder {
 public:
  // Appends one step line; returns its index in Scenario::steps.
  std::size_t step(const std::string& line);
  void comment(const std::string& text);
  void row(RowMaker maker) { rows.push_back(std::move(maker)); }
  std::string text;
  std::vector<RowMaker> rows;

 private:
  std::size_t steps_ = 0;
};

struct Workload {
  std::string name;
  std::string family;       // faults, flushes, fork
  std::string description;  // one line
  std::string mirrors;      // the Linux benchmark it has the shape of
  WorkloadParams defaults;
  std::vector<WorkloadColumn> columns;
  std::vector<std::string> watch;  // statistics whose change per step the rows read
  // Simulated memory the scenario needs (memory.size_bytes is raised to it).
  std::function<std::uint64_t(const WorkloadParams&)> memory_needed;
  // Throws WorkloadError for parameters the workload cannot take (beyond the common checks).
  std::function<void(const WorkloadParams&)> check;
  std::function<void(const WorkloadParams&, ScenarioBuilder&)> build;
};

// Every built-in workload, in the order `mmusim workload list` prints them.
const std::vector<Workload>& workloads();
const Workload* find_workload(const std::string& name);

// Fills unset parameters from the workload's defaults and checks them all (WorkloadError).
WorkloadParams resolve_params(const Workload& w, WorkloadParams given, bool size_given, bool threads_given,
                              bool cores_given, bool iterations_given);

// A built workload, ready to parse ("<workload:NAME>") and run.
struct WorkloadPlan {
  std::string text;
  std::vector<RowMaker> rows;
};
WorkloadPlan plan_workload(const Workload& w, const WorkloadParams& params);

// Raises memory.size_bytes to what the workload needs; WorkloadError if the machine cannot
// have that much. Big workloads also run without the invariant checks unless the user set
// mm.check_invariants (returns true when it turned them off).
bool fit_config(const Workload& w, const WorkloadParams& params, SimConfig& config, bool invariants_set);

struct WorkloadTable {
  std::vector<WorkloadColumn> columns;
  std::vector<std::vector<Cell>> rows;
};
WorkloadTable make_table(const Workload& w, const WorkloadPlan& plan, const RunResult& result);

// Aligned text: the table, then count/p50/p90/p99/max of every fault and flush kind sampled.
void print_workload_report(std::ostream& out, const Workload& w, const WorkloadParams& params,
                           const WorkloadTable& table, const RunResult& result, const stats::Group& root);
// The table as CSV: a header of column names, then one line per row (for `mmusim plot xy`).
void write_workload_table_csv(std::ostream& out, const WorkloadTable& table);
// The `workload` object of the JSON output.
nlohmann::ordered_json workload_json(const Workload& w, const WorkloadParams& params, const WorkloadTable& table);

// Family registration (one file each under src/workloads/).
void add_fault_workloads(std::vector<Workload>& out);
void add_flush_workloads(std::vector<Workload>& out);
void add_fork_workloads(std::vector<Workload>& out);

}  // namespace mmusim::testbench
