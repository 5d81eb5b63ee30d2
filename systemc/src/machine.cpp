#include "mmusim/machine/machine.h"

#include <stdexcept>

#include <systemc>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "mmusim/machine/core.h"
#include "mmusim/machine/interconnect.h"
#include "mmusim/machine/mmu.h"
#include "mmusim/machine/phys_mem.h"

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

std::string cpu_name(CpuId cpu) { return "cpu" + std::to_string(cpu); }

}  // namespace

Machine::Machine(const MachineConfig& config, CoreProgram& program, ExceptionVector& vector,
                 stats::Group& parent)
    : config_(validated(config)),
      memory_(std::make_unique<PhysMem>(config_.memory, parent, "mem")),
      running_(std::make_unique<RunningCore>()),
      interconnect_(std::make_unique<Interconnect>(config_, parent)) {
  // TLM-2.0 temporal decoupling: every core may run this far ahead of SystemC time.
  tlm_utils::tlm_quantumkeeper::set_global_quantum(sc_core::sc_time::from_value(
      sc_core::sc_time(static_cast<double>(config_.core.clock_ps), sc_core::SC_PS).value() *
      config_.core.quantum_cycles));
  cores_.reserve(config_.cores);
  std::vector<Core*> attached;
  for (CpuId cpu = 0; cpu < config_.cores; ++cpu) {
    cores_.push_back(std::make_unique<Core>(cpu_name(cpu).c_str(), cpu, config_, *memory_,
                                            program, vector, parent, *running_));
    attached.push_back(cores_.back().get());
  }
  interconnect_->attach(std::move(attached));
}

Machine::~Machine() = default;

void Machine::run() {
  sc_core::sc_start();
  for (const auto& core : cores_)
    if (core->error()) std::rethrow_exception(core->error());
  if (std::string stuck = stuck_report(); !stuck.empty())
    throw std::runtime_error("the simulation stopped with nothing left to happen, but " + stuck);
}

// Why programs that have not ended cannot go on, one clause per core.
std::string Machine::stuck_report() const {
  std::string disabled;
  for (const auto& core : cores_)
    if (!core->irqs_enabled()) disabled += (disabled.empty() ? "" : ", ") + cpu_name(core->id());
  std::string report;
  for (const auto& core : cores_) {
    if (core->program_ended()) continue;
    std::string clause = cpu_name(core->id());
    if (const ShootdownRequest* r = core->shootdown_in_flight())
      clause += " waits for " + std::to_string(r->remaining) +
                " shootdown ack(s) (cpus with interrupts disabled: " +
                (disabled.empty() ? std::string("none") : disabled) + ")";
    else if (core->sleeping())
      clause += " sleeps in a kWait that nothing wakes (Machine::wake)";
    else
      clause += " stopped in its program";
    report += (report.empty() ? "" : "; ") + clause;
  }
  return report;
}

Core& Machine::core(CpuId cpu) {
  if (cpu >= cores_.size())
    throw std::out_of_range("cpu " + std::to_string(cpu) + " does not exist (the machine has " +
                            std::to_string(cores_.size()) + " cores)");
  return *cores_[cpu];
}

const Core& Machine::core(CpuId cpu) const { return const_cast<Machine*>(this)->core(cpu); }

Mmu& Machine::mmu(CpuId cpu) { return core(cpu).mmu(); }

Cycles Machine::now(CpuId cpu) const { return core(cpu).now(); }

Core& Machine::own_thread(CpuId cpu, const char* what) {
  Core& c = core(cpu);
  if (running_->core != &c)
    throw std::logic_error(std::string(what) + " on " + cpu_name(cpu) + " must be made from " +
                           cpu_name(cpu) + "'s thread" +
                           (running_->core ? " (called from " + cpu_name(running_->core->id()) +
                                                 "'s)"
                                           : std::string(" (called outside the simulation)")));
  return c;
}

// The core's own thread (a serializing instruction: drain the store buffer first), or outside
// the simulation (setup and checks: nothing is buffered then).
Core& Machine::own_or_outside(CpuId cpu, const char* what) {
  Core& c = core(cpu);
  if (running_->core == &c) {
    c.drain_store_buffer(DrainCause::kSerializing);
    return c;
  }
  if (running_->core != nullptr)
    throw std::logic_error(std::string(what) + " on " + cpu_name(cpu) + " from " +
                           cpu_name(running_->core->id()) +
                           "'s thread: invalidate other cores with Machine::shootdown");
  return c;
}

void Machine::advance(CpuId cpu, Cycles cycles) { own_thread(cpu, "advance").advance(cycles); }

Cycles Machine::write_cr3(CpuId cpu, PhysAddr pgd, Pcid pcid, bool noflush) {
  Core& c = own_or_outside(cpu, "write_cr3");
  c.set_cr3(pgd, pcid);
  c.mmu().write_cr3(c.pcid(), noflush);
  return config_.core.cr3_write_cycles;
}

Cycles Machine::invlpg(CpuId cpu, Pcid pcid, VirtAddr va) {
  own_or_outside(cpu, "invlpg").mmu().invlpg(pcid, va);
  return config_.core.invlpg_cycles;
}

Cycles Machine::invpcid(CpuId cpu, unsigned type, Pcid pcid, VirtAddr va) {
  if (type > 3)
    throw std::invalid_argument("INVPCID type " + std::to_string(type) +
                                " does not exist (0..3; the CPU raises #GP)");
  Mmu& mmu = own_or_outside(cpu, "invpcid").mmu();
  switch (type) {
    case 0:
      mmu.invpcid_address(pcid, va);
      return config_.core.invlpg_cycles;
    case 1:
      mmu.invpcid_single(pcid);
      return config_.core.flush_pcid_cycles;
    default:
      mmu.invpcid_all(type == 2);
      return config_.core.flush_all_cycles;
  }
}

Cycles Machine::flush_pcid(CpuId cpu, Pcid pcid) { return invpcid(cpu, 1, pcid, 0); }

Cycles Machine::shootdown(CpuId initiator, std::uint64_t targets, const Invalidation& inv) {
  Core& c = own_thread(initiator, "shootdown");
  if (targets & (1ull << initiator))
    throw std::invalid_argument("shootdown from " + cpu_name(initiator) +
                                " names itself as a target (the OS flushes locally itself)");
  if (config_.cores < 64 && (targets >> config_.cores) != 0)
    throw std::invalid_argument("shootdown targets a cpu beyond the machine's " +
                                std::to_string(config_.cores) + " cores");
  if (targets == 0) return 0;
  if (config_.interconnect.mechanism == ShootdownMechanism::kIpi && !c.irqs_enabled())
    throw std::logic_error("IPI shootdown from " + cpu_name(initiator) +
                           " with its interrupts disabled (it could never ack a crossing "
                           "shootdown; Linux forbids smp_call_function with IRQs off)");
  return interconnect_->shootdown(c, targets, inv);
}

void Machine::relax(CpuId cpu, Cycles cycles) { own_thread(cpu, "relax").relax(cycles); }

void Machine::kernel_store(CpuId cpu, PhysAddr pa, std::uint64_t value) {
  own_thread(cpu, "kernel_store").kernel_store(pa, value);
}

std::uint64_t Machine::kernel_load(CpuId cpu, PhysAddr pa) { return own_thread(cpu, "kernel_load").kernel_load(pa); }

bool Machine::store_buffer_empty(CpuId cpu) const { return core(cpu).store_buffer_empty(); }

void Machine::drain_for_locked(CpuId cpu) { own_thread(cpu, "drain").drain_store_buffer(DrainCause::kLocked); }

void Machine::drain_for_fence(CpuId cpu) { own_thread(cpu, "fence").drain_store_buffer(DrainCause::kFence); }

void Machine::wake(CpuId cpu) {
  Core& c = core(cpu);
  const Cycles at = running_->core != nullptr
                        ? running_->core->now()
                        : sc_core::sc_time_stamp().value() /
                              sc_core::sc_time(static_cast<double>(config_.core.clock_ps),
                                               sc_core::SC_PS)
                                  .value();
  c.wake(at);
}

void Machine::set_irqs_enabled(CpuId cpu, bool enabled) {
  Core& c = core(cpu);
  if (running_->core != nullptr && running_->core != &c && !c.idle())
    throw std::logic_error("set_irqs_enabled on " + cpu_name(cpu) + " from " +
                           cpu_name(running_->core->id()) +
                           "'s thread while it runs (only from its own thread, or while idle)");
  c.set_irqs_enabled(enabled);
}

}  // namespace mmusim::machine
