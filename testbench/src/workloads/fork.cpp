// fork latency against the populated size: for each size a process writes 0 to every page of one
// mapping (as will-it-scale does), forks, and both exit. Classic fork copies every PTE and takes
// a reference on every page, so its cost grows linearly with the size; PTE-table COW (which
// would share the tables instead) is not modelled yet.
#include <fmt/format.h>

#include "common.h"

namespace mmusim::testbench {
namespace {

using wl::pages_of;

void build_fork(const WorkloadParams& p, ScenarioBuilder& b) {
  const unsigned child_cpu = p.cores - 1;
  for (std::size_t i = 0; i < p.sizes.size(); ++i) {
    const std::uint64_t n = pages_of(p.sizes[i]);
    std::vector<std::size_t> forks, exits;
    for (unsigned it = 1; it <= p.iterations; ++it) {
      const std::string P = fmt::format("P{}_{}", i, it), C = fmt::format("C{}_{}", i, it);
      const std::string A = fmt::format("A{}_{}", i, it);
      b.step(fmt::format("process {} cpu=0", P));
      b.step(fmt::format("mmap {} {} {}", P, A, n));
      b.step(fmt::format("write {} {} 0 pages={}", P, A, n));
      forks.push_back(b.step(fmt::format("fork {} {} cpu={}", P, C, child_cpu)));
      exits.push_back(b.step(fmt::format("exit {}", C)));
      b.step(fmt::format("exit {}", P));
    }
    const std::uint64_t bytes = p.sizes[i];
    b.row([=](const RunView& v) {
      double fork = 0, exit = 0;
      for (std::size_t s : forks) fork += static_cast<double>(v.cycles(s));
      for (std::size_t s : exits) exit += static_cast<double>(v.cycles(s));
      fork /= static_cast<double>(forks.size());
      exit /= static_cast<double>(exits.size());
      const double gib = static_cast<double>(bytes) / static_cast<double>(1ull << 30);
      return std::vector<Cell>{size_name(bytes), n, fork, fork / static_cast<double>(n), fork / gib, exit};
    });
  }
}

}  // namespace

void add_fork_workloads(std::vector<Workload>& out) {
  Workload w;
  w.name = "fork";
  w.family = "fork";
  w.description = "fork latency against populated size (classic fork: every PTE copied; no PTE-table COW)";
  w.mirrors = "fork-latency measurements per GiB (anchors.md B.4: ~4 ms/GiB on Linux)";
  for (std::uint64_t mib = 64; mib <= 4096; mib *= 2) w.defaults.sizes.push_back(mib << 20);
  w.columns = {{"size", ""},          {"pages", "pages"},      {"fork", "cycles"},
               {"per_page", "cycles"}, {"per_GiB", "cycles"}, {"child_exit", "cycles"}};
  w.memory_needed = [](const WorkloadParams& p) {
    std::uint64_t largest = 0;
    for (std::uint64_t s : p.sizes) largest = std::max(largest, s);
    return wl::memory_for(pages_of(largest), 2);
  };
  w.check = [](const WorkloadParams& p) {
    if (p.cores > 2) throw WorkloadError(fmt::format("--cores {}: fork uses 1 or 2 cores", p.cores));
    if (p.threads != p.cores) throw WorkloadError("fork forks a single-threaded process: --threads does not apply");
  };
  w.build = build_fork;
  out.push_back(std::move(w));
}

}  // namespace mmusim::testbench
