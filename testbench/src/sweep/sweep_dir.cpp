#include "mmusim/testbench/sweep/sweep_dir.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "mmusim/testbench/tools/input_error.h"
#include "mmusim/testbench/tools/text_file.h"
#include "mmusim/testbench/tools/shell_words.h"

namespace fs = std::filesystem;

namespace mmusim::testbench::sweep {
namespace {

using Json = nlohmann::ordered_json;
constexpr const char* kSpecSchema = "mmusim.sweep_spec";

Json spec_json(const SweepSpec& spec) {
  Json j;
  j["schema"] = kSpecSchema;
  j["schema_version"] = 1;
  j["command"] = spec.command;
  auto& grid = j["grid"] = Json::array();
  for (const GridAxis& axis : spec.grid) grid.push_back({{"key", axis.key}, {"values", axis.values}});
  j["metrics"] = spec.metrics;
  j["points"] = spec.point_count();
  return j;
}

}  // namespace

std::size_t SweepSpec::point_count() const {
  if (grid.empty()) return 0;
  std::size_t n = 1;
  for (const GridAxis& axis : grid) n *= axis.values.size();
  return n;
}

SweepDir::SweepDir(const std::string& dir) : dir_(fs::absolute(dir).lexically_normal().string()) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
}

std::string SweepDir::point_file(std::size_t index, std::size_t total, const char* extension) const {
  return fmt::format("{}/points/{}.{}", dir_, point_name(index, total), extension);
}

std::vector<std::vector<std::string>> write_plan(const SweepDir& dir, const SweepSpec& spec,
                                                 const std::string& mmusim) {
  std::error_code ec;
  fs::create_directories(dir.path(), ec);
  if (ec || !fs::is_directory(dir.path()))
    throw tools::InputError(fmt::format("--out {}: cannot create the directory ({})", dir.path(),
                                        ec ? ec.message() : "not a directory"));
  fs::remove_all(dir.file("points"), ec);
  fs::create_directories(dir.file("points"), ec);
  if (ec) throw tools::InputError(fmt::format("--out {}: cannot create points/ ({})", dir.path(), ec.message()));

  tools::write_text_file(dir.file("sweep.spec.json"), spec_json(spec).dump(2) + "\n");
  const auto points = expand_grid(spec.grid);
  std::vector<std::vector<std::string>> commands;
  std::string lines;
  for (std::size_t i = 0; i < points.size(); ++i) {
    std::vector<std::string> argv{mmusim};
    argv.insert(argv.end(), spec.command.begin(), spec.command.end());
    for (std::string& a : point_arguments(spec.grid, points[i])) argv.push_back(std::move(a));
    argv.push_back("--json");
    argv.push_back(dir.point_file(i, points.size(), "json"));
    lines += tools::shell_join(argv) + "\n";
    commands.push_back(std::move(argv));
  }
  tools::write_text_file(dir.file("commands.txt"), lines);
  return commands;
}

SweepSpec read_spec(const SweepDir& dir) {
  const std::string path = dir.file("sweep.spec.json");
  std::ifstream in(path);
  if (!in) throw tools::InputError(fmt::format("{}: no sweep plan here (sweep.spec.json is missing)", dir.path()));
  Json j;
  try {
    j = Json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw tools::InputError(fmt::format("{}: not a sweep plan: {}", path, e.what()));
  }
  if (j.value("schema", "") != kSpecSchema) throw tools::InputError(fmt::format("{}: not a sweep plan", path));
  SweepSpec spec;
  spec.command = j["command"].get<std::vector<std::string>>();
  for (const auto& axis : j["grid"])
    spec.grid.push_back({axis["key"].get<std::string>(), axis["values"].get<std::vector<std::string>>()});
  spec.metrics = j["metrics"].get<std::vector<std::string>>();
  return spec;
}

void write_status(const SweepDir& dir, std::size_t index, std::size_t total, int status) {
  const std::string path = dir.point_file(index, total, "status");
  tools::write_text_file(path + ".tmp", fmt::format("{}\n", status));
  fs::rename(path + ".tmp", path);
}

void write_sbatch(const SweepDir& dir, const SweepSpec& spec, const std::string& workdir,
                  const std::vector<std::string>& slurm_options) {
  const std::size_t n = spec.point_count();
  std::error_code ec;
  fs::create_directories(dir.file("slurm"), ec);
  if (ec) throw tools::InputError(fmt::format("--out {}: cannot create slurm/ ({})", dir.path(), ec.message()));
  std::string s = "#!/bin/bash\n";
  s += "# mmusim sweep as a Slurm job array (docs/sweeps.md): task I runs line I+1 of commands.txt.\n";
  s += "# Submit with: sbatch " + tools::shell_quote(dir.file("sweep.sbatch")) + "\n";
  s += "# Then:        mmusim sweep --collect " + tools::shell_quote(dir.path()) + "\n";
  s += "#SBATCH --job-name=mmusim-sweep\n";
  s += fmt::format("#SBATCH --array=0-{}\n", n - 1);
  s += "#SBATCH --ntasks=1\n";
  s += "#SBATCH --output=" + dir.file("slurm") + "/%A_%a.out\n";
  for (const std::string& opt : slurm_options) s += "#SBATCH " + (opt.rfind("-", 0) == 0 ? opt : "--" + opt) + "\n";
  s += "set -u\n";
  s += "dir=" + tools::shell_quote(dir.path()) + "\n";
  s += "task=${SLURM_ARRAY_TASK_ID:?not set: submit with sbatch, or set it to run one point}\n";
  s += fmt::format("if [ \"$task\" -lt 0 ] || [ \"$task\" -ge {} ]; then echo \"no point $task (0-{})\" >&2; exit 2; fi\n",
                   n, n - 1);
  s += fmt::format("point=$(printf '%0{}d' \"$task\")\n", point_name(0, n).size());
  s += "line=$(sed -n \"$((task + 1))p\" \"$dir/commands.txt\")\n";
  s += "cd " + tools::shell_quote(workdir) + " || exit 2\n";
  s += "status=0\n";
  s += "eval \"$line\" > \"$dir/points/$point.log\" 2>&1 || status=$?\n";
  s += "echo \"$status\" > \"$dir/points/$point.status.tmp\" && mv \"$dir/points/$point.status.tmp\" \"$dir/points/$point.status\"\n";
  s += "exit \"$status\"\n";
  tools::write_text_file(dir.file("sweep.sbatch"), s);
  fs::permissions(dir.file("sweep.sbatch"), fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add, ec);
}

}  // namespace mmusim::testbench::sweep
