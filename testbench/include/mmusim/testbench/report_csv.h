// Statistics as CSV (docs/stats.md "CSV"): one row per statistic field or histogram bucket,
// generated from the declarations like the JSON. Deterministic (declaration order, no host data).
#pragma once

#include <ostream>

#include "mmusim/stats/stats.h"

namespace mmusim::testbench {

// Writes the header row "stat,unit,field,low,value" and one row per scalar or formula value,
// per distribution summary field (count, sum, min, max, mean; p50, p90, p99 for latencies that
// keep their samples) and per non-empty distribution bucket.
void write_stats_csv(std::ostream& out, const stats::Group& root);

}  // namespace mmusim::testbench
