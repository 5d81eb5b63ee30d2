// A core: a SystemC initiator thread that runs its CoreProgram's operation stream through its
// Mmu and physical memory, loosely timed with a quantum keeper (TLM-2.0 temporal decoupling:
// each operation advances the core's local time by its cycles, and the thread yields to the
// SystemC kernel only when the quantum is used up). Page faults and kernel entries are handed
// synchronously, in this thread, to the ExceptionVector.
#pragma once

#include <exception>
#include <string>

#include <systemc>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "mmusim/arch/types.h"
#include "mmusim/machine/core_interfaces.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/machine/mmu.h"
#include "mmusim/machine/phys_mem.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine {

class Core : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Core);
  // Registers statistics in a group "cpu<id>" under `parent`, with the MMU's groups below it.
  Core(const sc_core::sc_module_name& name, CpuId id, const MachineConfig& config,
       PhysMem& memory, CoreProgram& program, ExceptionVector& vector, stats::Group& parent);

  CpuId id() const { return id_; }
  Mmu& mmu() { return mmu_; }
  const Mmu& mmu() const { return mmu_; }

  // MOV to CR3 (architectural register state only; the caller does any TLB flush).
  void set_cr3(PhysAddr root, Pcid pcid);
  PhysAddr cr3_root() const { return cr3_root_; }
  Pcid pcid() const { return pcid_; }

  // Local time in cycles: SystemC time plus the quantum keeper's offset; once the program has
  // ended, the local time at its end.
  Cycles now() const;
  // Adds `cycles` to the local time; yields to the kernel when the quantum is used up. Only from
  // this core's thread.
  void advance(Cycles cycles);

  // An exception that escaped the program, the vector or the model during run(); rethrown by
  // Machine::run() after the simulation stops.
  std::exception_ptr error() const { return error_; }

 private:
  void thread();
  void run_program();
  void execute_access(const CoreOp& op);
  std::uint64_t data_access(const CoreOp& op, PhysAddr pa);

  CpuId id_;
  sc_core::sc_time clock_;
  unsigned max_fault_retries_;
  PhysMem& mem_;
  CoreProgram& program_;
  ExceptionVector& vector_;
  tlm_utils::tlm_quantumkeeper qk_;
  PhysAddr cr3_root_ = 0;
  Pcid pcid_ = 0;
  std::exception_ptr error_;
  bool finished_ = false;      // the program has ended (or the run failed)
  Cycles finish_cycles_ = 0;   // local time at that point

  // The group first: the Mmu registers its groups under it, and the core's counters read the Mmu.
  stats::Group group_;
  Mmu mmu_;
  struct CoreStats {
    CoreStats(stats::Group& g, const Mmu& mmu);
    stats::Scalar loads;
    stats::Scalar stores;
    stats::Scalar computes;
    stats::Scalar kernel_entries;
    stats::Formula page_faults;
    stats::Scalar aborted;
    stats::Scalar cycles;
  } stats_;
};

}  // namespace mmusim::machine
