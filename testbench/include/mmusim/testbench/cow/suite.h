// `mmusim cow`: the scenario suite as a pass/fail table. Each scenario file runs as its own
// `mmusim run` process; its outcome comes from the exit status and the run's stats JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace mmusim::testbench::cow {

using Json = nlohmann::ordered_json;

struct SuiteEntry {
  std::string name;                   // "spec/A03": the path below the folder given, without .scn
  std::string path;                   // the file to run
  std::vector<std::string> settings;  // "key=value" from its "# Run with --set ..." lines
};

// Every *.scn below each folder (sorted by path) and each file given, in argument order.
// InputError for a path that does not exist, a file that is not a .scn, or no scenario at all.
std::vector<SuiteEntry> discover(const std::vector<std::string>& paths);

// The settings of "# Run with --set key=value ..." lines (the rule of MmusimScenarioTests.cmake).
std::vector<std::string> run_with_settings(const std::string& scenario_text);

struct Outcome {
  std::string name;
  std::string known_bad;  // the label of its known-bad line ("L2"), or empty
  int status = 0;         // exit status of `mmusim run`
  std::string result;     // "pass", or "FAIL (first failure kind)"
  std::string detail;     // for a failure: the first failure or the first line of the log
  std::optional<std::uint64_t> cycles;
  std::optional<std::uint64_t> faults;  // mm.faults_total
  bool passed() const { return status == 0; }
};

Outcome outcome(const SuiteEntry& entry, int status, const std::optional<Json>& stats, const std::string& log);

// The aligned table, the failures' details and the summary line.
void print_table(std::ostream& out, const std::vector<Outcome>& outcomes);
std::string table_csv(const std::vector<Outcome>& outcomes);
Json table_json(const std::vector<Outcome>& outcomes);

}  // namespace mmusim::testbench::cow
