#include "clear_refs.h"

#include <algorithm>
#include <limits>

#include "locks.h"
#include "memory.h"
#include "pgtable.h"
#include "pte.h"
#include "tlb.h"

namespace mmusim::mm {

long clear_refs_soft_dirty(MmEnv& env, MmStruct& mm) {
  long cleared = 0;
  FlushRange changed_range;
  ++mm.tlb_flush_pending;  // inc_tlb_flush_pending: the flush may wait until the end (R5)
  for (const auto& [vm_start, vma] : mm.mmap) {
    if (!is_cow_mapping(vma.vm_flags)) continue;
    walk_pte_range(env, mm, vma.vm_start, vma.vm_end, [&](PhysAddr ptep, VirtAddr va) {
      ptl_wait_or_throw(env, ptep);
      const PteVal pte = read_pte(env, ptep);
      if (!pte_present(pte) || x86::pte_special(pte)) return true;
      // clear_refs_pte's racy skip (v5.17-v5.19): a page that may be pinned keeps write and
      // soft-dirty; correctness no longer depends on it (a missed pin is reused on the next write).
      if (mm.has_pinned && env.pages.page(x86::pte_pfn(pte)).maybe_pinned()) return true;
      if (!x86::pte_write(pte) && !pte_soft_dirty(pte)) return true;
      env.charge(CostPhase::kPteUpdate, env.costs.mprotect_pte_cycles);
      ptep_modify(env, ptep, pte, pte & ~(x86::kRw | x86::kSoftSoftDirty));  // clear_soft_dirty
      changed_range.add(va);
      ++cleared;
      return true;
    });
  }
  if (cleared) flush_tlb_mm_range(env, mm, changed_range.start, changed_range.end, FlushRule::kClearRefs);
  --mm.tlb_flush_pending;
  return cleared;
}

}  // namespace mmusim::mm
