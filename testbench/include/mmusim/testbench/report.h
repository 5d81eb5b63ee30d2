// Outputs of a run: a text report for the terminal and JSON statistics (schema in docs/stats.md).
#pragma once

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>

#include "mmusim/stats/stats.h"
#include "mmusim/testbench/params.h"
#include "mmusim/testbench/runner.h"

namespace mmusim::testbench {

// 2: per-core and stolen-cycle probes, the workload object, CDFs, seed and profile in the header.
inline constexpr int kStatsSchemaVersion = 2;
// Most points of a latency's "cdf" in the JSON (the exact empirical CDF, docs/stats.md).
inline constexpr std::size_t kCdfMaxPoints = 101;

void print_text_report(std::ostream& out, const Scenario& scenario, const RunResult& result,
                       const stats::Group& root, bool with_trace);

// Deterministic: the same inputs give byte-identical output (no host times, ordered keys).
nlohmann::ordered_json stats_json(const Scenario& scenario, const SimConfig& config, const RunResult& result,
                                  const stats::Group& root);

// Tool and library versions recorded in the JSON header.
nlohmann::ordered_json tool_versions();

}  // namespace mmusim::testbench
