#include "mmusim/testbench/sweep/grid.h"

#include <fmt/format.h>

#include "mmusim/testbench/tools/input_error.h"

namespace mmusim::testbench::sweep {

GridAxis parse_grid_axis(const std::string& spec) {
  // An option key keeps its own '=' out of the split: "--cores=1,2" is key "--cores".
  const std::size_t eq = spec.find('=', spec.rfind("--", 0) == 0 ? 2 : 0);
  if (eq == std::string::npos)
    throw tools::InputError(fmt::format("--grid {}: expected KEY=V1,V2,... (KEY a --set parameter or --OPTION)", spec));
  GridAxis axis;
  axis.key = spec.substr(0, eq);
  if (axis.key.empty() || axis.key == "--") throw tools::InputError(fmt::format("--grid {}: the key is empty", spec));
  const std::string list = spec.substr(eq + 1);
  if (list.empty()) throw tools::InputError(fmt::format("--grid {}: empty grid: no values for {}", spec, axis.key));
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = list.find(',', start);
    const std::string value = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (value.empty()) throw tools::InputError(fmt::format("--grid {}: an empty value in the list", spec));
    axis.values.push_back(value);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return axis;
}

std::vector<std::vector<std::string>> expand_grid(const std::vector<GridAxis>& axes) {
  std::vector<std::vector<std::string>> points{{}};
  for (const GridAxis& axis : axes) {
    std::vector<std::vector<std::string>> next;
    for (const auto& prefix : points)
      for (const std::string& value : axis.values) {
        next.push_back(prefix);
        next.back().push_back(value);
      }
    points = std::move(next);
  }
  return axes.empty() ? std::vector<std::vector<std::string>>{} : points;
}

std::vector<std::string> point_arguments(const std::vector<GridAxis>& axes, const std::vector<std::string>& values) {
  std::vector<std::string> args;
  for (std::size_t i = 0; i < axes.size(); ++i) {
    if (axes[i].is_option()) {
      args.push_back(fmt::format("{}={}", axes[i].key, values[i]));
    } else {
      args.push_back("--set");
      args.push_back(fmt::format("{}={}", axes[i].key, values[i]));
    }
  }
  return args;
}

std::string point_name(std::size_t index, std::size_t total) {
  const std::size_t width = std::max<std::size_t>(4, fmt::format("{}", total > 0 ? total - 1 : 0).size());
  return fmt::format("{:0{}}", index, width);
}

}  // namespace mmusim::testbench::sweep
