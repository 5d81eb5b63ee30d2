#include "mmusim/testbench/machine_port.h"

#include <fmt/format.h>

#include <numeric>
#include <stdexcept>

#include "mmusim/machine/phys_mem.h"

namespace mmusim::testbench {

Cycles CostAccount::total() const { return std::accumulate(by_phase.begin(), by_phase.end(), Cycles{0}); }

std::uint64_t MachinePort::nr_frames() const { return machine_.memory().size_bytes() >> kPageShift; }

x86::PteVal MachinePort::read_pte(PhysAddr pa) {
  charge(machine_.memory().read_cost());
  return machine_.memory().read64(pa);
}

void MachinePort::write_pte(PhysAddr pa, x86::PteVal value) {
  charge(machine_.memory().write_cost());
  machine_.memory().write64(pa, value);
}

x86::PteVal MachinePort::xchg_pte(PhysAddr pa, x86::PteVal value) {
  // A locked RMW: one read and one write of the line.
  charge(machine_.memory().read_cost() + machine_.memory().write_cost());
  return machine_.memory().xchg64(pa, value);
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
  for (CpuId cpu = 0; cpu < machine_.cores(); ++cpu) {
    if (!targets.test(cpu)) continue;
    // Remote invalidation needs an interrupt to the target; this machine has no interconnect, so
    // the OS may only target the CPU it runs on (the testbench schedules everything on cpu 0).
    if (cpu != initiator)
      throw std::logic_error(fmt::format(
          "TLB flush from cpu{} targets cpu{}, but the machine has no IPI interconnect", initiator, cpu));
    if (flush.full) {
      charge(machine_.flush_pcid(cpu, flush.pcid));
      continue;
    }
    for (VirtAddr va = flush.start; va < flush.end; va += kPageSize) charge(machine_.invlpg(cpu, flush.pcid, va));
  }
}

void MachinePort::write_cr3(CpuId cpu, PhysAddr pgd, Pcid pcid, bool noflush) {
  charge(machine_.write_cr3(cpu, pgd, pcid, noflush));
}

}  // namespace mmusim::testbench
