// mm's ArchPort implemented on the SystemC machine: the place where the OS and the hardware meet.
// Every call does the architectural work on the machine and charges its machine cost to the
// current phase of the CPU running the OS operation; the runner reads the per-phase account to
// time each fault and syscall.
//
// OS operations run synchronously inside the SystemC thread of the core that entered the kernel.
// Only a remote shootdown lets simulated time pass inside an operation (the initiator waits for
// the acks), and while it waits another core may enter the kernel: the port therefore keeps the
// running CPU, its phase and its account per CPU, and restores them when the wait returns.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mmusim/machine/machine.h"
#include "mmusim/mm/arch_port.h"
#include "mmusim/stats/stats.h"

namespace mmusim::testbench {

// Cycles spent by one OS operation, per phase.
struct CostAccount {
  std::array<Cycles, mm::kCostPhaseCount> by_phase{};
  Cycles total() const;
};

// The flush kinds of one initiator: tb.flush.KIND.latency overall, tb.cpuN.flush.KIND.latency
// per core.
struct FlushLatencies {
  FlushLatencies(stats::Group& parent, const std::string& cpu);  // cpu: "" overall, or "cpuN"
  stats::Group group;
  stats::Group local_page_group, local_full_group, cr3_group, shootdown_group;
  stats::Distribution local_page;  // INVLPG of one page on the initiator
  stats::Distribution local_full;  // one PCID's entries on the initiator (INVPCID type 1)
  stats::Distribution cr3;         // CR3 writes (context switches), with or without the no-flush bit
  stats::Distribution shootdown;   // remote part: from the first IPI (or INVLPGB) to the last ack
};

// TLB flushes the OS made, by kind, with the initiator's latency (tb.flush.*), the targets,
// pages and cycles stolen on each target of a shootdown, and the same latencies per core.
struct FlushProbe {
  FlushProbe(stats::Group& parent, const std::vector<stats::Group*>& cpu_groups);
  FlushLatencies all;
  stats::Distribution shootdown_targets;
  stats::Distribution shootdown_pages;
  stats::Distribution stolen_per_target;
  std::vector<std::unique_ptr<FlushLatencies>> per_cpu;  // index: initiator CPU
  FlushLatencies* cpu(CpuId c) { return c < per_cpu.size() ? per_cpu[c].get() : nullptr; }
};

class MachinePort final : public mm::ArchPort {
 public:
  // `cpu_groups`: where the per-core flush latencies go (tb.cpuN), for the cores a scenario uses;
  // `machine_stats`: the group holding the machine's cpuN.ipi.stolen_cycles (the cycles a
  // shootdown steals on its targets are read there).
  MachinePort(machine::Machine& machine, stats::Group& parent, const std::vector<stats::Group*>& cpu_groups = {},
              const stats::Group* machine_stats = nullptr);

  // At kernel entry on `cpu`: starts a new account. end() returns the cycles charged that have
  // not yet been added to the core's time (the handler's return value).
  void begin(CpuId cpu);
  Cycles end(CpuId cpu);
  const CostAccount& account(CpuId cpu) const { return cpus_.at(cpu).account; }

  // Called with true before a shootdown waits for a CPU whose interrupts are disabled (a GUP-fast
  // section, HW5), and with false when the shootdown has completed: the runner lets later steps
  // run meanwhile, or the wait could never end.
  // `awaited`: the interrupt-disabled CPUs the shootdown waits for.
  void on_blocked(std::function<void(CpuId initiator, bool blocked, std::uint64_t awaited)> hook) {
    blocked_hook_ = std::move(hook);
  }
  std::uint64_t irqs_disabled_mask() const { return irqs_off_; }

  // A scenario's `fork ... pause` / `resume`: the next OS operation on `cpu` that reaches `point`
  // is held there (reported blocked, so later steps run) until release_pause(cpu). While some
  // operation is held, a CPU spinning on a lock is reported blocked too: the lock's holder may be
  // the held operation, which only a later step (`resume`) lets go on.
  void arm_pause(CpuId cpu, PreemptPoint point);
  bool pause_armed(CpuId cpu) const { return pauses_.at(cpu).armed; }
  void disarm_pause(CpuId cpu) { pauses_.at(cpu).armed = false; }
  bool paused(CpuId cpu) const { return pauses_.at(cpu).held; }
  void release_pause(CpuId cpu) { pauses_.at(cpu).released = true; }
  unsigned held() const { return held_; }
  void release_all_pauses() {
    for (Pause& p : pauses_) p.released = p.held || p.released;
  }
  // The `awaited` value the blocked hook receives for an operation held at a preempt point or
  // spinning on a lock: it waits for a later step, not for interrupt-disabled CPUs.
  static constexpr std::uint64_t kAwaitsStep = ~0ull;

  std::uint64_t nr_frames() const override;
  x86::PteVal read_pte(PhysAddr pa) override;
  void write_pte(PhysAddr pa, x86::PteVal value) override;
  void store_pte(PhysAddr pa, x86::PteVal value) override;
  x86::PteVal xchg_pte(PhysAddr pa, x86::PteVal value) override;
  x86::PteVal peek_pte(PhysAddr pa) const override;
  void zero_frame(Pfn pfn) override;
  void copy_frame(Pfn dst, Pfn src) override;
  void read_phys(PhysAddr pa, void* dst, std::size_t len) override;
  void write_phys(PhysAddr pa, const void* src, std::size_t len) override;
  void flush_tlb(CpuId initiator, mm::CpuMask targets, const mm::TlbFlush& flush) override;
  void write_cr3(CpuId cpu, PhysAddr pgd, Pcid pcid, bool noflush) override;
  void local_irq_disable(CpuId cpu) override;
  void local_irq_enable(CpuId cpu) override;
  bool cpu_relax(CpuId cpu) override;
  void full_fence() override;
  void preempt_point(CpuId cpu, PreemptPoint point) override;
  void charge(Cycles cycles) override;
  void set_phase(mm::CostPhase phase) override { cpus_[cur_].phase = phase; }
  mm::CostPhase phase() const override { return cpus_[cur_].phase; }

 private:
  std::uint64_t stolen_counter(CpuId cpu) const;  // cpuN.ipi.stolen_cycles (0 if unknown)
  void advance_pending();  // brings the running core's clock up to what it was charged
  // The cost of an OS access to the line of `pa` on the running CPU: cached_line_cycles when it
  // is one of the last os_recent_lines lines that CPU's OS path touched, `miss` otherwise.
  Cycles line_cost(PhysAddr pa, Cycles miss);
  struct PerCpu {
    CostAccount account;
    Cycles pending = 0;  // charged, not yet added to the core's local time
    mm::CostPhase phase = mm::CostPhase::kEntry;
  };
  machine::Machine& machine_;
  FlushProbe probe_;
  std::vector<const stats::Scalar*> stolen_;  // cpuN.ipi.stolen_cycles, null if unknown
  std::vector<PerCpu> cpus_;
  std::vector<std::vector<PhysAddr>> recent_lines_;  // per CPU, most recent first (kept across entries)
  struct Pause {
    bool armed = false;
    PreemptPoint point = PreemptPoint::kForkBeforeWrprotect;
    bool held = false;      // an operation waits at the point
    bool released = false;  // `resume` came
    bool relax_blocked = false;  // reported blocked while spinning on a lock
  };
  std::vector<Pause> pauses_;
  unsigned held_ = 0;  // operations held at a preempt point
  CpuId cur_ = 0;  // the CPU whose SystemC thread runs the OS now
  std::uint64_t irqs_off_ = 0;
  static constexpr Cycles kRelaxCycles = 100;  // one round of a contended lock's spin (PAUSE loop)
  std::function<void(CpuId, bool, std::uint64_t)> blocked_hook_;
};

}  // namespace mmusim::testbench
