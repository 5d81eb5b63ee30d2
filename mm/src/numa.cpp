#include "numa.h"

#include <algorithm>
#include <limits>

#include "locks.h"
#include "memory.h"
#include "pgtable.h"
#include "pte.h"
#include "tlb.h"

namespace mmusim::mm {

long change_prot_numa(MmEnv& env, MmStruct& mm, VirtAddr start, VirtAddr end) {
  long changed = 0;
  FlushRange changed_range;
  ++mm.tlb_flush_pending;  // the change_protection bracket (R5)
  for (auto& [vm_start, vma] : mm.mmap) {
    if (!(vma.vm_flags & kVmAccessFlags)) continue;  // vma_is_accessible
    const VirtAddr s = std::max(start, vma.vm_start), e = std::min(end, vma.vm_end);
    if (s >= e) continue;
    walk_pte_range(env, mm, s, e, [&](PhysAddr ptep, VirtAddr va) {
      ptl_wait_or_throw(env, ptep);
      const PteVal pte = read_pte(env, ptep);
      if (!x86::pte_present(pte) || x86::pte_special(pte)) return true;  // none, swap, protnone, zero page
      env.charge(CostPhase::kPteUpdate, env.costs.mprotect_pte_cycles);
      ptep_modify(env, ptep, pte, (pte & ~(x86::kPresent | x86::kRw)) | kPageProtNone);
      changed_range.add(va);
      ++changed;
      return true;
    });
  }
  if (changed) flush_tlb_mm_range(env, mm, changed_range.start, changed_range.end, FlushRule::kMprotect);
  --mm.tlb_flush_pending;
  return changed;
}

FaultKind do_numa_page(MmEnv& env, VmFault& vmf) {
  if (!pte_same_locked(env, vmf)) return FaultKind::kSpurious;  // B1
  constexpr PteVal kKept = x86::kDirty | x86::kSoftSoftDirty | x86::kSoftUffdWp;
  // mk_pte of a private area is never writable: the restored entry is read-only.
  const PteVal entry = mk_pte(x86::pte_pfn(vmf.orig_pte), vmf.vma.vm_flags) | (vmf.orig_pte & kKept) |
                       x86::kAccessed;
  set_pte(env, vmf.ptep, entry);
  return FaultKind::kNumaHint;
}

}  // namespace mmusim::mm
