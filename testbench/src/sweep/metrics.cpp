#include "mmusim/testbench/sweep/metrics.h"

#include <algorithm>
#include <array>
#include <set>

namespace mmusim::testbench::sweep {
namespace {

constexpr std::array<const char*, 8> kDistributionFields = {"count", "sum", "min", "max", "mean", "p50", "p90", "p99"};

bool is_distribution(const Json& entry) { return entry.is_object() && entry.contains("count"); }

MetricValue stat_field(const Json& entry, const std::string& field) {
  MetricValue v;
  if (is_distribution(entry)) {
    const std::string f = field.empty() ? "count" : field;
    if (std::find(kDistributionFields.begin(), kDistributionFields.end(), f) == kDistributionFields.end()) return v;
    v.known = true;
    if (entry.contains(f)) v.value = entry[f];
    return v;
  }
  if (!field.empty() && field != "value") return v;
  v.known = entry.contains("value");
  if (v.known) v.value = entry["value"];
  return v;
}

}  // namespace

MetricValue metric_value(const Json& doc, const std::string& metric) {
  MetricValue v;
  if (!doc.is_object()) return v;
  if (metric.rfind("result.", 0) == 0) {
    const std::string field = metric.substr(7);
    if (doc.contains("result") && doc["result"].contains(field) && doc["result"][field].is_primitive()) {
      v.known = true;
      v.value = doc["result"][field];
    }
    return v;
  }
  if (metric.rfind("config.", 0) == 0) {
    const std::string param = metric.substr(7);
    if (doc.contains("config") && doc["config"].contains(param)) {
      v.known = true;
      v.value = doc["config"][param].value("value", Json());
    }
    return v;
  }
  if (!doc.contains("stats")) return v;
  const Json& stats = doc["stats"];
  // The whole path as a statistic, else its last component as a field of the statistic before.
  if (stats.contains(metric)) return stat_field(stats[metric], "");
  const std::size_t dot = metric.rfind('.');
  if (dot == std::string::npos || !stats.contains(metric.substr(0, dot))) return v;
  return stat_field(stats[metric.substr(0, dot)], metric.substr(dot + 1));
}

std::vector<std::string> default_metrics(const std::vector<const Json*>& docs) {
  // Which latencies have samples somewhere, in the order they are first met; then in the
  // declaration order of the first document (the tb.* statistics are the same in every run).
  std::vector<std::string> found;
  std::set<std::string> with_samples;
  const Json* first = nullptr;
  for (const Json* doc : docs) {
    if (!doc || !doc->contains("stats")) continue;
    if (!first) first = doc;
    for (const auto& [name, entry] : (*doc)["stats"].items()) {
      if (name.rfind("tb.", 0) != 0 || !is_distribution(entry) || !entry.contains("p50")) continue;
      if (entry.value("unit", "") != "cycles" || entry.value("count", 0) == 0) continue;
      if (with_samples.insert(name).second) found.push_back(name);
    }
  }
  std::vector<std::string> metrics{"result.cycles"};
  std::set<std::string> listed;
  if (first)
    for (const auto& item : (*first)["stats"].items())
      if (with_samples.count(item.key()) && listed.insert(item.key()).second) metrics.push_back(item.key() + ".p50");
  for (const std::string& name : found)
    if (listed.insert(name).second) metrics.push_back(name + ".p50");
  return metrics;
}

std::string cell_text(const Json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

}  // namespace mmusim::testbench::sweep
