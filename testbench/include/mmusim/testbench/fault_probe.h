// Latency probes for faults and syscalls. A fault's latency is the simulated time from the #PF
// exception to the completion of the retried access (or to the abort of the access), split into
// the handler's phases.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "mmusim/mm/kernel.h"
#include "mmusim/stats/stats.h"
#include "mmusim/testbench/machine_port.h"

namespace mmusim::testbench {

// The OS operations timed under tb.syscalls, in report order.
inline constexpr const char* kSyscallNames[] = {"process_create", "mmap",    "fork",    "exit",
                                                "context_switch", "munmap",  "mprotect", "madvise",
                                                "swapout",        "swapoff", "pin",      "unpin",
                                                "clear_refs",     "numa_scan"};

class FaultProbe {
 public:
  // `cores`: the cores the scenario uses; each gets its own group "tb.cpuN" (per-core latency).
  FaultProbe(stats::Group& parent, unsigned cores);

  // At the exception: remembers the fault until its access completes.
  void fault_raised(CpuId cpu, mm::FaultKind kind, Cycles now, const CostAccount& handler);
  // At the completion or abort of the access: samples every open fault of `cpu`.
  void access_done(CpuId cpu, Cycles now);
  // A syscall's cost (fork, mmap, exit, process creation, context switch).
  void syscall(const std::string& name, const CostAccount& cost);
  stats::Group& group() { return group_; }  // "tb"
  // "tb.cpuN" for the cores the scenario uses (MachinePort adds its per-core flush latencies).
  std::vector<stats::Group*> cpu_groups();

 private:
  struct KindStats {
    KindStats(stats::Group& parent, const char* name);
    stats::Group group;
    stats::Distribution latency;
    std::vector<std::unique_ptr<stats::Scalar>> phase_cycles;
  };
  struct OpenFault {
    CpuId cpu;
    mm::FaultKind kind;
    Cycles start;
  };
  stats::Group group_;
  stats::Group faults_group_;
  stats::Distribution all_latency_;
  std::vector<std::unique_ptr<KindStats>> kinds_;
  // Faults taken on one core, every kind ("tb.cpuN.faults.latency").
  struct CpuStats {
    CpuStats(stats::Group& parent, CpuId cpu);
    stats::Group group;
    stats::Group faults;
    stats::Distribution latency;
  };
  std::vector<std::unique_ptr<CpuStats>> cpus_;
  stats::Group syscalls_group_;
  std::vector<std::pair<std::string, std::unique_ptr<stats::Distribution>>> syscalls_;
  std::vector<OpenFault> open_;
};

}  // namespace mmusim::testbench
