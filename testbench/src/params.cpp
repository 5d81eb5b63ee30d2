#include "mmusim/testbench/params.h"

#include <fmt/format.h>

#include <fstream>

#include "mmusim/testbench/scenario.h"
#include "param_binders.h"
#include "param_tables.h"

namespace mmusim::testbench {
namespace params_detail {

std::uint64_t parse_unsigned(const std::string& text) {
  const auto value = parse_u64(text);
  if (!value) throw std::invalid_argument(fmt::format("'{}' is not a non-negative integer", text));
  return *value;
}

bool parse_bool(const std::string& text) {
  if (text == "1" || text == "true" || text == "on") return true;
  if (text == "0" || text == "false" || text == "off") return false;
  throw std::invalid_argument(fmt::format("'{}' is not a boolean (0/1, true/false, on/off)", text));
}

}  // namespace params_detail

namespace {

std::vector<ParamInfo> build_table() {
  std::vector<ParamInfo> table;
  add_machine_params(table);
  add_os_params(table);
  return table;
}

// Sets `key` to `value`; returns the reason on failure, empty on success.
std::string set_param(SimConfig& config, const std::string& key, const std::string& value) {
  for (const ParamInfo& p : param_table()) {
    if (p.name != key) continue;
    try {
      p.set(config, value);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return {};
  }
  return "unknown parameter (mmusim config lists them)";
}

}  // namespace

const std::vector<ParamInfo>& param_table() {
  static const std::vector<ParamInfo> table = build_table();
  return table;
}

void apply_setting(SimConfig& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(fmt::format("--set '{}': expected key=value", assignment));
  const std::string key = assignment.substr(0, eq);
  if (std::string why = set_param(config, key, assignment.substr(eq + 1)); !why.empty())
    throw ConfigError(fmt::format("--set {}: {}", key, why));
}

std::vector<std::string> load_config_file(SimConfig& config, const std::string& path) {
  std::vector<std::string> keys;
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("{}: cannot open the configuration file", path));
  std::string line;
  for (unsigned number = 1; std::getline(in, line); ++number) {
    const std::string text = trim_blanks(line.substr(0, line.find('#')));
    if (text.empty()) continue;
    const auto eq = text.find('=');
    if (eq == std::string::npos)
      throw ConfigError(fmt::format("{}:{}: error: expected 'key = value', got '{}'", path, number, text));
    const std::string key = trim_blanks(text.substr(0, eq));
    const std::string value = trim_blanks(text.substr(eq + 1));
    if (key.empty() || value.empty())
      throw ConfigError(fmt::format("{}:{}: error: expected 'key = value', got '{}'", path, number, text));
    if (std::string why = set_param(config, key, value); !why.empty())
      throw ConfigError(fmt::format("{}:{}: error: {}: {}", path, number, key, why));
    keys.push_back(key);
  }
  return keys;
}

std::string dump_config(const SimConfig& config) {
  std::string out = "# mmusim configuration: every parameter (mmusim config describes them)\n";
  for (const ParamInfo& p : param_table()) out += fmt::format("{} = {}\n", p.name, p.get(config));
  return out;
}

void validate(const SimConfig& config) {
  if (std::string problem = config.machine.validate(); !problem.empty()) throw ConfigError(problem);
}

}  // namespace mmusim::testbench
