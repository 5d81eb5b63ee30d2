// A sweep's directory (docs/sweeps.md): the plan (sweep.spec.json, commands.txt), each point's
// results (points/NNNN.json, .log, .status) and the tables built from them (sweep.csv,
// sweep.json). The same files whether the points ran here or as a Slurm job array.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "mmusim/testbench/sweep/grid.h"

namespace mmusim::testbench::sweep {

struct SweepSpec {
  std::vector<std::string> command;  // the swept sub-command and its arguments, as given
  std::vector<GridAxis> grid;
  std::vector<std::string> metrics;  // as given; empty: default_metrics()
  std::size_t point_count() const;
};

class SweepDir {
 public:
  explicit SweepDir(const std::string& dir);  // made absolute
  const std::string& path() const { return dir_; }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  std::string point_file(std::size_t index, std::size_t total, const char* extension) const;

 private:
  std::string dir_;
};

// Creates DIR and an empty DIR/points (InputError when that fails), writes sweep.spec.json and
// commands.txt (one shell-quoted command line per point) and returns each point's argv:
// mmusim SUBCOMMAND ARGS... GRID-ARGUMENTS... --json DIR/points/NNNN.json.
std::vector<std::vector<std::string>> write_plan(const SweepDir& dir, const SweepSpec& spec,
                                                 const std::string& mmusim);
// The plan of an existing directory; InputError when it has none.
SweepSpec read_spec(const SweepDir& dir);
// points/NNNN.status: the point's exit status, written when it finished.
void write_status(const SweepDir& dir, std::size_t index, std::size_t total, int status);

struct SweepTable {
  std::vector<std::string> metrics;
  std::vector<int> statuses;
  std::size_t failed = 0;  // points with a non-zero status
  std::vector<std::vector<std::string>> rows;  // the cells of sweep.csv, header first
};

// Reads every point's status and statistics and writes sweep.csv and sweep.json (one row per
// point, in point order). metrics overrides the plan's. InputError naming the points without a
// status and the metrics no point declares.
SweepTable collect(const SweepDir& dir, const SweepSpec& spec, const std::vector<std::string>& metrics);

// DIR/sweep.sbatch: a Slurm job array whose task I runs line I+1 of commands.txt in workdir
// and writes that point's log and status; slurm_options become "#SBATCH --OPTION" lines.
void write_sbatch(const SweepDir& dir, const SweepSpec& spec, const std::string& workdir,
                  const std::vector<std::string>& slurm_options);

}  // namespace mmusim::testbench::sweep
