// The parameter grid of `mmusim sweep` (docs/sweeps.md): axes "KEY=V1,V2,...", where KEY is a
// `--set` parameter or an option of the swept sub-command written with its dashes ("--cores").
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace mmusim::testbench::sweep {

struct GridAxis {
  std::string key;
  std::vector<std::string> values;
  bool is_option() const { return key.rfind("--", 0) == 0; }
};

// Parses "KEY=V1,V2,..."; throws tools::InputError for a missing '=', an empty key, an empty
// value list or an empty value.
GridAxis parse_grid_axis(const std::string& spec);

// Every combination, in point order: the first axis varies slowest (nested loops in --grid order).
// Each entry holds one value per axis.
std::vector<std::vector<std::string>> expand_grid(const std::vector<GridAxis>& axes);

// What a point adds to the sub-command: "--set KEY=VALUE" for a parameter, "--KEY=VALUE" for
// an option.
std::vector<std::string> point_arguments(const std::vector<GridAxis>& axes, const std::vector<std::string>& values);

// "0007": the point's index, zero-padded to 4 digits (more when there are more points).
std::string point_name(std::size_t index, std::size_t total);

}  // namespace mmusim::testbench::sweep
