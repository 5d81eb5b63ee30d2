#include "mmusim/machine/machine.h"

#include <stdexcept>

#include <systemc>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "mmusim/machine/core.h"
#include "mmusim/machine/phys_mem.h"
#include "mmusim/machine/tlb.h"

namespace mmusim::machine {
namespace {

const MachineConfig& validated(const MachineConfig& config) {
  if (std::string problem = config.validate(); !problem.empty())
    throw std::invalid_argument("machine configuration: " + problem);
  // SystemC elaborates once per process (toolchain.md): a second Machine would fail deep inside
  // the kernel with E529; say what is wrong instead.
  if (sc_core::sc_get_status() != sc_core::SC_ELABORATION)
    throw std::logic_error(
        "a Machine can only be built before the first simulation starts (one SystemC "
        "elaboration per process): run each simulation in its own process");
  return config;
}

}  // namespace

Machine::Machine(const MachineConfig& config, CoreProgram& program, ExceptionVector& vector,
                 stats::Group& parent)
    : config_(validated(config)),
      memory_(std::make_unique<PhysMem>(config_.memory, parent, "mem")) {
  // TLM-2.0 temporal decoupling: every core may run this far ahead of SystemC time.
  tlm_utils::tlm_quantumkeeper::set_global_quantum(sc_core::sc_time::from_value(
      sc_core::sc_time(static_cast<double>(config_.core.clock_ps), sc_core::SC_PS).value() *
      config_.core.quantum_cycles));
  cores_.reserve(config_.cores);
  for (CpuId cpu = 0; cpu < config_.cores; ++cpu) {
    const std::string name = "cpu" + std::to_string(cpu);
    cores_.push_back(
        std::make_unique<Core>(name.c_str(), cpu, config_, *memory_, program, vector, parent));
  }
}

Machine::~Machine() = default;

void Machine::run() {
  sc_core::sc_start();
  for (const auto& core : cores_)
    if (core->error()) std::rethrow_exception(core->error());
}

Core& Machine::core(CpuId cpu) {
  if (cpu >= cores_.size())
    throw std::out_of_range("cpu " + std::to_string(cpu) + " does not exist (the machine has " +
                            std::to_string(cores_.size()) + " cores)");
  return *cores_[cpu];
}

const Core& Machine::core(CpuId cpu) const { return const_cast<Machine*>(this)->core(cpu); }

Tlb& Machine::dtlb(CpuId cpu) { return core(cpu).mmu().dtlb(); }

// MOV to CR3 with CR4.PCIDE=1 (SDM 4.10.4.1): switches the root and PCID; without the no-flush
// bit (CR3[63]) it also invalidates the new PCID's non-global entries.
Cycles Machine::write_cr3(CpuId cpu, PhysAddr pgd, Pcid pcid, bool noflush) {
  Core& c = core(cpu);
  c.set_cr3(pgd, pcid);
  if (!noflush) c.mmu().dtlb().flush_pcid(pcid);
  return config_.core.cr3_write_cycles;
}

// INVLPG (current PCID) / INVPCID type 0: one VA in one PCID, plus a global entry for the VA.
Cycles Machine::invlpg(CpuId cpu, Pcid pcid, VirtAddr va) {
  core(cpu).mmu().dtlb().invlpg(pcid, va);
  return config_.core.invlpg_cycles;
}

// INVPCID type 1: every non-global entry of one PCID.
Cycles Machine::flush_pcid(CpuId cpu, Pcid pcid) {
  core(cpu).mmu().dtlb().flush_pcid(pcid);
  return config_.core.flush_pcid_cycles;
}

Cycles Machine::now(CpuId cpu) const { return core(cpu).now(); }

}  // namespace mmusim::machine
