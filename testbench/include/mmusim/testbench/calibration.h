// Calibration of the cost profile against published figures (anchors.md B.1-B.4): which
// workloads to run, how to read their JSON, and the table of docs/calibration.md. Pure C++: the
// `mmusim calibrate` command runs the workloads as child processes and hands their JSON here.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace mmusim::testbench {

// One `mmusim workload ...` run; `name` keys its JSON in the results.
struct CalibrationRun {
  std::string name;
  std::vector<std::string> args;  // after "mmusim": "workload", NAME, options
};

// The runs, smaller with `quick` (fork sizes 16-64 MiB, shootdowns to 1-4 targets) for ctest.
std::vector<CalibrationRun> calibration_runs(bool quick);

enum class CalibrationStatus { kInRange, kOutOfRange, kReported };  // kReported: no range to check
const char* calibration_status_name(CalibrationStatus s);  // "in range", "OUT OF RANGE", "reported"

struct CalibrationRow {
  std::string quantity;
  std::string model;      // "2909 cycles = 0.97 us"
  std::string published;  // the figure as published
  std::string source;     // where (anchors.md section and original source)
  std::string accepted;   // the range checked, or "-"
  CalibrationStatus status = CalibrationStatus::kReported;
};

struct CalibrationReport {
  unsigned clock_mhz = 0;
  std::string profile;
  std::vector<CalibrationRow> rows;
  // Curves behind the rows: shootdown latency against targets, fork latency against size.
  std::vector<std::pair<unsigned, double>> shootdown_by_targets;  // targets, p50 cycles
  std::vector<std::pair<std::uint64_t, double>> fork_by_bytes;    // populated bytes, cycles
  bool all_in_range() const;
};

// Evaluates the runs' JSON outputs (keyed by CalibrationRun::name). Throws std::runtime_error
// naming the run and the missing statistic when an output lacks what a row needs.
CalibrationReport evaluate_calibration(const std::map<std::string, nlohmann::json>& results);

// docs/calibration.md: the table, the curves and how to regenerate it. `command` is the command
// line that produced it.
std::string calibration_markdown(const CalibrationReport& report, const std::string& command);

// Least-squares line through the points: slope, intercept and r^2 (1 for fewer than 3 points
// on a line). Needs at least two distinct x values (std::invalid_argument otherwise).
struct LineFit {
  double slope = 0, intercept = 0, r2 = 0;
};
LineFit fit_line(const std::vector<std::pair<double, double>>& points);

}  // namespace mmusim::testbench
