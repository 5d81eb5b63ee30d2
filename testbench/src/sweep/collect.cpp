// sweep.csv and sweep.json from the points' status files and statistics.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <optional>

#include "mmusim/testbench/sweep/metrics.h"
#include "mmusim/testbench/sweep/sweep_dir.h"
#include "mmusim/testbench/tools/csv_text.h"
#include "mmusim/testbench/tools/input_error.h"
#include "mmusim/testbench/tools/text_file.h"

namespace mmusim::testbench::sweep {
namespace {

std::optional<int> read_status(const std::string& path) {
  std::ifstream in(path);
  int status = 0;
  if (in >> status) return status;
  return std::nullopt;
}

std::optional<Json> read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  try {
    return Json::parse(in);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a point killed while writing: its row has the status only
  }
}

}  // namespace

SweepTable collect(const SweepDir& dir, const SweepSpec& spec, const std::vector<std::string>& metrics) {
  const std::size_t n = spec.point_count();
  const auto points = expand_grid(spec.grid);
  SweepTable table;
  std::vector<std::optional<Json>> docs;
  std::vector<std::string> missing;
  for (std::size_t i = 0; i < n; ++i) {
    const auto status = read_status(dir.point_file(i, n, "status"));
    if (!status) missing.push_back(point_name(i, n));
    table.statuses.push_back(status.value_or(-1));
    docs.push_back(read_json(dir.point_file(i, n, "json")));
  }
  if (!missing.empty()) {
    std::string names;
    for (std::size_t i = 0; i < missing.size(); ++i) names += (i ? ", " : "") + missing[i];
    throw tools::InputError(fmt::format("{}: {} of {} points have no result (points/NNNN.status missing: not run "
                                        "yet, still running or killed): {}",
                                        dir.path(), missing.size(), n, names));
  }

  std::vector<const Json*> present;
  for (const auto& d : docs)
    if (d) present.push_back(&*d);
  table.metrics = !metrics.empty() ? metrics : !spec.metrics.empty() ? spec.metrics : default_metrics(present);
  for (const std::string& m : table.metrics) {
    bool known = present.empty();
    for (const Json* d : present) known |= metric_value(*d, m).known;
    if (!known)
      throw tools::InputError(fmt::format("--metric {}: no point's statistics declare it (docs/sweeps.md: "
                                          "result.FIELD, config.PARAM, STAT or STAT.FIELD)",
                                          m));
  }

  std::vector<std::string> header{"point"};
  for (const GridAxis& axis : spec.grid) header.push_back(axis.key);
  header.push_back("status");
  header.insert(header.end(), table.metrics.begin(), table.metrics.end());
  std::string csv = tools::csv_row(header) + "\n";
  table.rows.push_back(header);

  Json j;
  j["schema"] = "mmusim.sweep";
  j["schema_version"] = 1;
  j["command"] = spec.command;
  auto& grid = j["grid"] = Json::array();
  for (const GridAxis& axis : spec.grid) grid.push_back({{"key", axis.key}, {"values", axis.values}});
  j["metrics"] = table.metrics;
  auto& rows = j["points"] = Json::array();
  for (std::size_t i = 0; i < n; ++i) {
    const int status = table.statuses[i];
    if (status != 0) ++table.failed;
    std::vector<std::string> cells{std::to_string(i)};
    Json row;
    row["point"] = i;
    auto& values = row["values"] = Json::object();
    for (std::size_t a = 0; a < spec.grid.size(); ++a) {
      cells.push_back(points[i][a]);
      values[spec.grid[a].key] = points[i][a];
    }
    cells.push_back(std::to_string(status));
    row["status"] = status;
    row["stats"] = docs[i] ? Json(fmt::format("points/{}.json", point_name(i, n))) : Json();
    auto& m = row["metrics"] = Json::object();
    for (const std::string& metric : table.metrics) {
      const Json value = docs[i] ? metric_value(*docs[i], metric).value : Json();
      cells.push_back(cell_text(value));
      m[metric] = value;
    }
    csv += tools::csv_row(cells) + "\n";
    table.rows.push_back(std::move(cells));
    rows.push_back(std::move(row));
  }
  tools::write_text_file(dir.file("sweep.csv"), csv);
  tools::write_text_file(dir.file("sweep.json"), j.dump(2) + "\n");
  return table;
}

}  // namespace mmusim::testbench::sweep
