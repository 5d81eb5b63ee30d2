// The machine: cores with their MMUs (L1 dTLB + page-table walker), and physical memory.
// A SystemC top module; the behaviour lives in plain C++ classes (PhysMem, Tlb, PageWalker, Mmu)
// that the SystemC Core module wraps with time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mmusim/arch/types.h"
#include "mmusim/machine/core_interfaces.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine {

class PhysMem;
class Tlb;
class Core;

class Machine {
 public:
  // Elaborates the SystemC modules (one Core per config.cores). Must be constructed before
  // run(); only one Machine per process (SystemC elaborates once). Throws std::invalid_argument
  // if config.validate() fails.
  Machine(const MachineConfig& config, CoreProgram& program, ExceptionVector& vector,
          stats::Group& parent);
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // Runs the simulation until every core's program has ended.
  void run();

  const MachineConfig& config() const { return config_; }
  unsigned cores() const { return config_.cores; }
  PhysMem& memory() { return *memory_; }
  const PhysMem& memory() const { return *memory_; }
  Tlb& dtlb(CpuId cpu);

  // Architectural operations the OS performs on a core (from inside a handler running on that
  // core's thread, or on any core for cross-CPU maintenance). Each returns its cost in cycles.
  Cycles write_cr3(CpuId cpu, PhysAddr pgd, Pcid pcid, bool noflush);
  // One VA in one PCID, global entries for the VA included (INVLPG semantics; INVPCID type 0
  // would keep globals, which Linux relies on for no user mapping, so this only drops more).
  Cycles invlpg(CpuId cpu, Pcid pcid, VirtAddr va);
  Cycles flush_pcid(CpuId cpu, Pcid pcid);                 // INVPCID type 1 (non-global entries)

  // The core's local time in cycles (its SystemC time plus its quantum offset).
  Cycles now(CpuId cpu) const;

  // The core module itself (its CR3, its Mmu); std::out_of_range for a cpu beyond cores().
  Core& core(CpuId cpu);
  const Core& core(CpuId cpu) const;

 private:
  MachineConfig config_;
  std::unique_ptr<PhysMem> memory_;
  std::vector<std::unique_ptr<Core>> cores_;
};

}  // namespace mmusim::machine
