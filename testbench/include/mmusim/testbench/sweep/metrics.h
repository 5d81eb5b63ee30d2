// Sweep metrics: paths into a run's stats JSON (docs/stats.md), e.g. "result.cycles",
// "config.dtlb.array0.entries", "mm.copies", "tb.flush.shootdown.latency.p50".
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace mmusim::testbench::sweep {

using Json = nlohmann::ordered_json;

struct MetricValue {
  bool known = false;  // the path names something the document declares
  Json value;          // null when declared but without a value (a percentile of no samples)
};

// "result.FIELD"; "config.PARAM" (its value); "STAT" (a scalar's value, a distribution's count);
// "STAT.FIELD" with FIELD one of count, sum, min, max, mean, p50, p90, p99 (distributions).
MetricValue metric_value(const Json& stats_doc, const std::string& metric);

// The defaults: result.cycles, then STAT.p50 of every tb.* latency (cycles, samples kept) that
// has samples in at least one document, in the documents' declaration order.
std::vector<std::string> default_metrics(const std::vector<const Json*>& stats_docs);

// A metric value as a table cell: numbers as JSON writes them, booleans true/false, strings
// as they are, null as empty.
std::string cell_text(const Json& value);

}  // namespace mmusim::testbench::sweep
