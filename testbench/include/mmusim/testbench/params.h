// Every tunable of a run, by name: the machine's parameters, the OS cost profile and the fault
// injection switches. Used by `--config FILE`, `--set key=value`, `mmusim config` and the
// configuration header of the JSON output.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mmusim/machine/machine_config.h"
#include "mmusim/mm/kernel.h"

namespace mmusim::testbench {

struct SimConfig {
  machine::MachineConfig machine;
  mm::KernelConfig kernel;
};

struct ParamInfo {
  std::string name;         // "dtlb.entries"
  std::string unit;         // "entries", "cycles", "bytes", "bool", ...
  std::string description;  // what it controls
  std::string source;       // where the default comes from
  std::function<std::string(const SimConfig&)> get;
  std::function<void(SimConfig&, const std::string&)> set;  // throws std::invalid_argument
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

const std::vector<ParamInfo>& param_table();
// Applies "key=value"; throws ConfigError naming the key and the reason.
void apply_setting(SimConfig& config, const std::string& assignment);
// Applies a configuration file: one "key = value" per line, '#' starts a comment. Throws
// ConfigError "FILE:LINE: error: reason". Returns the keys the file set, in file order.
std::vector<std::string> load_config_file(SimConfig& config, const std::string& path);
// Every parameter as "key = value" lines, loadable by load_config_file.
std::string dump_config(const SimConfig& config);
// Checks the whole configuration; throws ConfigError with the first problem.
void validate(const SimConfig& config);

}  // namespace mmusim::testbench
