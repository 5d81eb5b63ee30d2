#include "sw_cpu.h"

#include <stdexcept>

namespace mmusim::mm::testing {

std::optional<std::uint64_t> SwCpu::load(CpuId cpu, Pid pid, VirtAddr va) {
  const std::optional<PhysAddr> pa = translate(cpu, pid, va, false);
  if (!pa) return std::nullopt;
  return port_.load64(*pa);
}

bool SwCpu::store(CpuId cpu, Pid pid, VirtAddr va, std::uint64_t value) {
  const std::optional<PhysAddr> pa = translate(cpu, pid, va, true);
  if (!pa) return false;
  port_.store64(*pa, value);
  return true;
}

std::vector<FaultKind> SwCpu::take_faults() {
  std::vector<FaultKind> out;
  out.swap(faults_);
  return out;
}

std::optional<PhysAddr> SwCpu::translate(CpuId cpu, Pid pid, VirtAddr va, bool write) {
  if (kernel_.current(cpu) != pid) kernel_.switch_to(cpu, pid);
  const VirtAddr offset = va & ~kPageMask;
  for (int attempt = 0; attempt < 4; ++attempt) {
    const std::optional<FakePort::TlbEntry> hit = port_.tlb_lookup(cpu, va);
    if (hit && (!write || (hit->writable && hit->dirty))) return pfn_to_phys(hit->pfn) + offset;
    const Walk w = walk(cpu, va, write);
    if (w.pa) return *w.pa + offset;
    port_.tlb_invalidate_local(cpu, va);  // #PF delivery drops the faulting VA's entry
    const FaultResult result = kernel_.handle_page_fault(cpu, va, w.error_code);
    faults_.push_back(result.kind);
    if (result.signal != Signal::kNone) return std::nullopt;
  }
  throw std::runtime_error("SwCpu: the access still faults after 4 attempts");
}

SwCpu::Walk SwCpu::walk(CpuId cpu, VirtAddr va, bool write) {
  const std::uint32_t access = x86::kPfUser | (write ? x86::kPfWrite : 0);
  if (va >= x86::kUserVaEnd) return {std::nullopt, access};
  PhysAddr table = port_.cr3_pgd(cpu);
  for (unsigned level = x86::kLevels; level >= 1; --level) {
    const PhysAddr slot = x86::entry_addr(table, va, level);
    x86::PteVal e = port_.load64(slot);
    if (!x86::pte_present(e)) return {std::nullopt, access};
    // HW1: permissions are ANDed across levels.
    if (!(e & x86::kUser) || (write && !x86::pte_write(e)))
      return {std::nullopt, access | x86::kPfPresent};
    e |= x86::kAccessed;
    if (level == 1 && write) e |= x86::kDirty;
    port_.store64(slot, e);  // the walker's atomic A/D update
    if (level == 1) {
      port_.tlb_fill(cpu, va, {x86::pte_pfn(e), x86::pte_write(e), x86::pte_dirty(e)});
      return {pfn_to_phys(x86::pte_pfn(e)), 0};
    }
    table = pfn_to_phys(x86::pte_pfn(e));
  }
  return {std::nullopt, access};
}

}  // namespace mmusim::mm::testing
