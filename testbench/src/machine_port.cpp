#include "mmusim/testbench/machine_port.h"

#include <algorithm>

#include <fmt/format.h>

#include <numeric>
#include <stdexcept>

#include "mmusim/machine/phys_mem.h"

namespace mmusim::testbench {

Cycles CostAccount::total() const { return std::accumulate(by_phase.begin(), by_phase.end(), Cycles{0}); }

// `cpu` empty: the overall distributions (the OS's own CPU, whichever it is); else "cpuN".
FlushLatencies::FlushLatencies(stats::Group& parent, const std::string& cpu)
    : group("flush", &parent),
      local_page_group("local_page", &group),
      local_full_group("local_full", &group),
      cr3_group("cr3", &group),
      shootdown_group("shootdown", &group),
      local_page(local_page_group, "latency", stats::Unit::kCycles,
                 cpu.empty() ? "per page the OS invalidated on its own CPU (INVLPG): cycles"
                             : fmt::format("per page the OS invalidated while running on {} (INVLPG): cycles", cpu)),
      local_full(local_full_group, "latency", stats::Unit::kCycles,
                 cpu.empty() ? "per full flush of one PCID on the OS's own CPU (INVPCID type 1): cycles"
                             : fmt::format("per full flush of one PCID on {} by the OS running there (INVPCID type "
                                           "1): cycles",
                                           cpu)),
      cr3(cr3_group, "latency", stats::Unit::kCycles,
          cpu.empty() ? "per CR3 write (PCID switch at a context switch): cycles"
                      : fmt::format("per CR3 write on {} (PCID switch at a context switch): cycles", cpu)),
      shootdown(shootdown_group, "latency", stats::Unit::kCycles,
                cpu.empty() ? "per remote shootdown: initiator cycles from sending to the last acknowledgement"
                            : fmt::format("per remote shootdown initiated on {}: its cycles from sending to the last "
                                          "acknowledgement",
                                          cpu)) {
  for (stats::Distribution* d : {&local_page, &local_full, &cr3, &shootdown}) d->keep_values();
}

FlushProbe::FlushProbe(stats::Group& parent, const std::vector<stats::Group*>& cpu_groups)
    : all(parent, ""),
      shootdown_targets(all.shootdown_group, "targets", stats::Unit::kCount, "per remote shootdown: target CPUs"),
      shootdown_pages(all.shootdown_group, "pages", stats::Unit::kCount,
                      "per remote shootdown of a page range: pages (a PCID-wide flush is not sampled)"),
      stolen_per_target(all.shootdown_group, "stolen_per_target", stats::Unit::kCycles,
                        "per target CPU of each remote shootdown: cycles that CPU spent in IPI handlers "
                        "(entry, store-buffer drain, invalidation, exit) between the shootdown's start and its "
                        "last acknowledgement; 0 with INVLPGB") {
  for (stats::Distribution* d : {&shootdown_targets, &shootdown_pages, &stolen_per_target}) d->keep_values();
  for (std::size_t c = 0; c < cpu_groups.size(); ++c)
    per_cpu.push_back(std::make_unique<FlushLatencies>(*cpu_groups[c], fmt::format("cpu{}", c)));
}

MachinePort::MachinePort(machine::Machine& machine, stats::Group& parent, const std::vector<stats::Group*>& cpu_groups,
                         const stats::Group* machine_stats)
    : machine_(machine), probe_(parent, cpu_groups), cpus_(machine.cores()), recent_lines_(machine.cores()),
      pauses_(machine.cores()) {
  for (CpuId c = 0; c < machine.cores(); ++c)
    stolen_.push_back(machine_stats ? dynamic_cast<const stats::Scalar*>(
                                          machine_stats->find(fmt::format("cpu{}.ipi.stolen_cycles", c)))
                                    : nullptr);
}

std::uint64_t MachinePort::stolen_counter(CpuId cpu) const {
  const stats::Scalar* s = cpu < stolen_.size() ? stolen_[cpu] : nullptr;
  return s ? s->value() : 0;
}

void MachinePort::begin(CpuId cpu) {
  cur_ = cpu;
  cpus_.at(cpu) = PerCpu{};
}

Cycles MachinePort::end(CpuId cpu) {
  if (pauses_.at(cpu).relax_blocked) {  // the lock came free and the operation is done
    pauses_[cpu].relax_blocked = false;
    if (blocked_hook_) blocked_hook_(cpu, false, kAwaitsStep);
  }
  const Cycles pending = cpus_.at(cpu).pending;
  cpus_[cpu].pending = 0;
  return pending;
}

void MachinePort::charge(Cycles cycles) {
  PerCpu& c = cpus_[cur_];
  c.account.by_phase[static_cast<std::size_t>(c.phase)] += cycles;
  c.pending += cycles;
}

std::uint64_t MachinePort::nr_frames() const { return machine_.memory().size_bytes() >> kPageShift; }

// Kernel entry drained the core's store buffer, so the OS's entry accesses go straight to
// memory, unless the OS made a plain store (store_pte, the plain_pte_clear injection): then they
// go through the buffer too, as TSO requires (own loads forwarded, stores in FIFO order).
x86::PteVal MachinePort::read_pte(PhysAddr pa) {
  if (!machine_.store_buffer_empty(cur_)) {
    advance_pending();
    return machine_.kernel_load(cur_, pa);
  }
  charge(line_cost(pa, machine_.memory().read_cost()));
  return machine_.memory().read64(pa);
}

Cycles MachinePort::line_cost(PhysAddr pa, Cycles miss) {
  const machine::MemoryParams& params = machine_.memory().params();
  if (params.os_recent_lines == 0) return miss;
  std::vector<PhysAddr>& lines = recent_lines_[cur_];
  const PhysAddr line = pa >> 6;
  auto it = std::find(lines.begin(), lines.end(), line);
  const bool hit = it != lines.end();
  if (hit) lines.erase(it);
  else if (lines.size() == params.os_recent_lines) lines.pop_back();
  lines.insert(lines.begin(), line);
  return hit ? params.cached_line_cycles : miss;
}

void MachinePort::write_pte(PhysAddr pa, x86::PteVal value) {
  if (!machine_.store_buffer_empty(cur_)) return store_pte(pa, value);
  charge(line_cost(pa, machine_.memory().write_cost()));
  machine_.memory().write64(pa, value);
}

void MachinePort::store_pte(PhysAddr pa, x86::PteVal value) {
  advance_pending();
  machine_.kernel_store(cur_, pa, value);
}

x86::PteVal MachinePort::xchg_pte(PhysAddr pa, x86::PteVal value) {
  // A locked RMW drains the store buffer first (HW6), then one read and one write of the line.
  if (!machine_.store_buffer_empty(cur_)) {
    advance_pending();
    machine_.drain_for_locked(cur_);
  }
  const Cycles miss = machine_.memory().read_cost() + machine_.memory().write_cost();
  charge(line_cost(pa, miss) == miss ? miss : 2 * machine_.memory().params().cached_line_cycles);
  return machine_.memory().xchg64(pa, value);
}

// smp_mb() as MFENCE (HW6): every earlier store of this CPU is in memory before any later load,
// and the fence costs core.fence_cycles like a program's MFENCE.
void MachinePort::full_fence() {
  if (!machine_.store_buffer_empty(cur_)) {
    advance_pending();
    machine_.drain_for_fence(cur_);
  }
  charge(machine_.config().core.fence_cycles);
}

void MachinePort::advance_pending() {
  PerCpu& self = cpus_[cur_];
  machine_.advance(cur_, self.pending);
  self.pending = 0;
}

x86::PteVal MachinePort::peek_pte(PhysAddr pa) const { return machine_.memory().peek64(pa); }

void MachinePort::zero_frame(Pfn pfn) {
  charge(machine_.memory().zero_frame_cost());
  machine_.memory().zero_frame(pfn);
}

void MachinePort::copy_frame(Pfn dst, Pfn src) {
  charge(machine_.memory().copy_frame_cost());
  machine_.memory().copy_frame(dst, src);
}

void MachinePort::read_phys(PhysAddr pa, void* dst, std::size_t len) {
  charge(machine_.memory().read_cost() * ((len + 7) / 8));
  machine_.memory().read(pa, dst, len);
}

void MachinePort::write_phys(PhysAddr pa, const void* src, std::size_t len) {
  charge(machine_.memory().write_cost() * ((len + 7) / 8));
  machine_.memory().write(pa, src, len);
}

void MachinePort::flush_tlb(CpuId initiator, mm::CpuMask targets, const mm::TlbFlush& flush) {
  if (initiator != cur_)
    throw std::logic_error(fmt::format("flush_tlb from cpu{} while the OS runs on cpu{}", initiator, cur_));
  // The local part first, as flush_tlb_mm_range does (INVLPG per page, or the whole PCID).
  if (targets.test(initiator)) {
    if (flush.full) {
      const Cycles c = machine_.flush_pcid(initiator, flush.pcid);
      probe_.all.local_full.sample(c);
      if (auto* mine = probe_.cpu(initiator)) mine->local_full.sample(c);
      charge(c);
    } else {
      for (VirtAddr va = flush.start; va < flush.end; va += kPageSize) {
        const Cycles c = machine_.invlpg(initiator, flush.pcid, va);
        probe_.all.local_page.sample(c);
        if (auto* mine = probe_.cpu(initiator)) mine->local_page.sample(c);
        charge(c);
      }
    }
  }
  std::uint64_t remote = targets.bits & ~(1ull << initiator);
  if (machine_.cores() < 64) remote &= (1ull << machine_.cores()) - 1;
  if (remote == 0) return;
  const machine::Invalidation inv = flush.full ? machine::Invalidation::whole_pcid(flush.pcid)
                                               : machine::Invalidation::range(flush.pcid, flush.start, flush.end);
  // Time passes in the shootdown: bring the core's clock up to date first, so the IPIs leave at
  // the right cycle; other cores may run the OS meanwhile, so keep this CPU's state.
  advance_pending();
  const mm::CostPhase phase = cpus_[initiator].phase;
  const std::uint64_t awaited = remote & irqs_off_;
  const bool blocked = awaited != 0;
  if (blocked && blocked_hook_) blocked_hook_(initiator, true, awaited);
  // Each target's IPI-handler cycles before and after: the shootdown has completed when the
  // call returns, so every target's handler has run (and counted) by then.
  std::vector<std::uint64_t> stolen_before;
  for (std::uint64_t m = remote; m != 0; m &= m - 1)
    stolen_before.push_back(stolen_counter(static_cast<CpuId>(__builtin_ctzll(m))));
  const Cycles latency = machine_.shootdown(initiator, remote, inv);
  probe_.all.shootdown.sample(latency);
  if (auto* mine = probe_.cpu(initiator)) mine->shootdown.sample(latency);
  std::size_t k = 0;
  for (std::uint64_t m = remote; m != 0; m &= m - 1)
    probe_.stolen_per_target.sample(stolen_counter(static_cast<CpuId>(__builtin_ctzll(m))) - stolen_before[k++]);
  probe_.shootdown_targets.sample(static_cast<std::uint64_t>(__builtin_popcountll(remote)));
  if (!flush.full) probe_.shootdown_pages.sample((flush.end - flush.start) >> kPageShift);
  if (blocked && blocked_hook_) blocked_hook_(initiator, false, awaited);
  cur_ = initiator;
  cpus_[initiator].phase = phase;
  cpus_[initiator].account.by_phase[static_cast<std::size_t>(phase)] += latency;  // already elapsed
}

void MachinePort::write_cr3(CpuId cpu, PhysAddr pgd, Pcid pcid, bool noflush) {
  const Cycles c = machine_.write_cr3(cpu, pgd, pcid, noflush);
  probe_.all.cr3.sample(c);
  if (auto* mine = probe_.cpu(cpu)) mine->cr3.sample(c);
  charge(c);
}

bool MachinePort::cpu_relax(CpuId cpu) {
  // The lock's holder may be an operation held at a preempt point: let later steps (its
  // `resume`) run while this CPU spins.
  if (held_ > 0 && !pauses_[cpu].relax_blocked && !pauses_[cpu].held) {
    pauses_[cpu].relax_blocked = true;
    if (blocked_hook_) blocked_hook_(cpu, true, kAwaitsStep);
  }
  // Time passes and other CPUs run (the lock holder among them): keep this CPU's state.
  cur_ = cpu;
  advance_pending();
  const mm::CostPhase phase = cpus_[cpu].phase;
  const Cycles start = machine_.now(cpu);
  machine_.relax(cpu, kRelaxCycles);
  cur_ = cpu;
  cpus_[cpu].phase = phase;
  cpus_[cpu].account.by_phase[static_cast<std::size_t>(phase)] += machine_.now(cpu) - start;
  return true;
}

void MachinePort::local_irq_disable(CpuId cpu) {
  irqs_off_ |= 1ull << cpu;
  machine_.set_irqs_enabled(cpu, false);
}

void MachinePort::local_irq_enable(CpuId cpu) {
  irqs_off_ &= ~(1ull << cpu);
  machine_.set_irqs_enabled(cpu, true);
}

void MachinePort::arm_pause(CpuId cpu, PreemptPoint point) {
  Pause& p = pauses_.at(cpu);
  p.armed = true;
  p.point = point;
  p.released = false;
}

void MachinePort::preempt_point(CpuId cpu, PreemptPoint point) {
  Pause& p = pauses_.at(cpu);
  if (!p.armed || p.point != point) return;
  p.armed = false;
  p.held = true;
  ++held_;
  if (blocked_hook_) blocked_hook_(cpu, true, kAwaitsStep);
  while (!p.released) cpu_relax(cpu);  // other CPUs run; a later `resume` step releases it
  p.held = false;
  p.released = false;
  --held_;
  if (blocked_hook_) blocked_hook_(cpu, false, kAwaitsStep);
}

}  // namespace mmusim::testbench

