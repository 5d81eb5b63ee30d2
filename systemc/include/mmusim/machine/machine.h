// The machine: 1..64 cores (each with its MMU and store buffer), the interconnect that carries
// shootdowns between them, and physical memory. A SystemC top; the behaviour lives in plain C++
// classes (PhysMem, Tlb, PageWalker, Mmu, StoreBuffer) that the Core module wraps with time.
//
// Threads: the OS runs synchronously inside a core's thread (ExceptionVector::page_fault and
// kernel_entry). Operations on a core (advance, TLB maintenance, CR3, shootdown) are made from
// that core's thread; TLB maintenance and CR3 writes may also be made outside the simulation
// (setup before run(), checks after it). Doing them on another core from a core's thread throws
// std::logic_error: remote invalidation goes through shootdown().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mmusim/arch/types.h"
#include "mmusim/machine/core_interfaces.h"
#include "mmusim/machine/invalidation.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine {

class PhysMem;
class Mmu;
class Core;
class Interconnect;
struct RunningCore;

class Machine {
 public:
  // Elaborates the SystemC modules (one Core per config.cores). Must be constructed before
  // run(); only one Machine per process (SystemC elaborates once). Throws std::invalid_argument
  // if config.validate() fails. Statistics: "mem", "interconnect" and "cpu<N>" under `parent`.
  Machine(const MachineConfig& config, CoreProgram& program, ExceptionVector& vector,
          stats::Group& parent);
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // Runs the simulation until every program has ended, no interrupt is pending and every store
  // buffer has drained. Rethrows an exception that escaped a core's thread; throws
  // std::runtime_error if the run stopped with a program unable to go on (a kWait that nothing
  // wakes, a shootdown waiting for a core whose interrupts stay disabled).
  void run();

  const MachineConfig& config() const { return config_; }
  unsigned cores() const { return config_.cores; }
  PhysMem& memory() { return *memory_; }
  const PhysMem& memory() const { return *memory_; }
  Mmu& mmu(CpuId cpu);

  // The core's local time in cycles (its SystemC time plus its quantum offset).
  Cycles now(CpuId cpu) const;
  // Charges `cycles` of work to `cpu` as it happens (the OS's time in a handler). Only from that
  // core's thread.
  void advance(CpuId cpu, Cycles cycles);

  // Architectural operations on a core. Each returns its cost in cycles, which the caller
  // charges (advance() or the handler's return value). Each is a serializing instruction: made
  // from the core's own thread, it first drains that core's store buffer (the core waits for it).
  //
  // MOV to CR3 with CR4.PCIDE=1 (SDM vol. 3A §4.10.4.1): switches root and PCID; without the
  // no-flush bit also drops the new PCID's non-global entries. core.cr3_write_cycles.
  Cycles write_cr3(CpuId cpu, PhysAddr pgd, Pcid pcid, bool noflush);
  // INVLPG: `va` in `pcid` (global entries for `va` included). core.invlpg_cycles.
  Cycles invlpg(CpuId cpu, Pcid pcid, VirtAddr va);
  // INVPCID of `type` (SDM vol. 2A "INVPCID"): 0 individual address (globals kept;
  // invlpg_cycles), 1 single context (flush_pcid_cycles), 2 all contexts including globals,
  // 3 all contexts except globals (flush_all_cycles). Another type: std::invalid_argument (#GP).
  Cycles invpcid(CpuId cpu, unsigned type, Pcid pcid, VirtAddr va);
  Cycles flush_pcid(CpuId cpu, Pcid pcid);  // INVPCID type 1

  // Remote invalidation on the CPUs of `targets` (bit i = cpu i), from `initiator`'s thread (a
  // handler). The targets exclude the initiator: the OS does the local part itself. The
  // mechanism is config.interconnect.mechanism (interconnect.h gives the costs). The call
  // returns when the shootdown is complete (HW4): the initiator's time has ALREADY advanced by
  // the returned latency, which the caller must not charge again. An empty mask returns 0.
  // std::invalid_argument for a mask naming the initiator or a CPU >= cores(); std::logic_error
  // from another thread, or (kIpi) with the initiator's interrupts disabled (Linux forbids
  // smp_call_function with IRQs off: two such CPUs would wait for each other forever).
  Cycles shootdown(CpuId initiator, std::uint64_t targets, const Invalidation& inv);

  // Ends `cpu`'s current kWait (or its next one, if it is not sleeping) at the caller's time
  // (the calling core's local time, or SystemC time outside the cores' threads).
  void wake(CpuId cpu);
  // From `cpu`'s own thread: spins `cycles` (a contended lock), taking interrupts if enabled.
  void relax(CpuId cpu, Cycles cycles);
  // The OS's plain stores and loads through `cpu`'s store buffer (Core::kernel_store/load), and
  // a drain for its locked operations; from `cpu`'s own thread.
  void kernel_store(CpuId cpu, PhysAddr pa, std::uint64_t value);
  std::uint64_t kernel_load(CpuId cpu, PhysAddr pa);
  bool store_buffer_empty(CpuId cpu) const;
  void drain_for_locked(CpuId cpu);
  // The OS's smp_mb() (MFENCE): drains `cpu`'s store buffer, counted as a fence (HW6).
  void drain_for_fence(CpuId cpu);
  // RFLAGS.IF of `cpu`, from its own thread or while it is idle (ended, or asleep in a kWait).
  // While disabled, IPIs stay pending and are taken once re-enabled (HW5).
  void set_irqs_enabled(CpuId cpu, bool enabled);

  // The core module itself (its CR3, its Mmu, its store buffer); std::out_of_range for a cpu
  // beyond cores().
  Core& core(CpuId cpu);
  const Core& core(CpuId cpu) const;

 private:
  Core& own_or_outside(CpuId cpu, const char* what);
  Core& own_thread(CpuId cpu, const char* what);
  std::string stuck_report() const;

  MachineConfig config_;
  std::unique_ptr<PhysMem> memory_;
  std::unique_ptr<RunningCore> running_;
  std::unique_ptr<Interconnect> interconnect_;
  std::vector<std::unique_ptr<Core>> cores_;
};

}  // namespace mmusim::machine
