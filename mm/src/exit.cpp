#include "exit.h"

#include <stdexcept>

#include "pgtable.h"
#include "tlb.h"

namespace mmusim::mm {
namespace {

using x86::PteVal;

// zap_pte_range over [start, end): clear each present entry (xchg, capturing A/D the walker may
// set concurrently), record its address for the flush and queue its page in the gather. The
// pages are only put by tlb_finish_mmu, after the flush (R6).
void unmap_page_range(MmEnv& env, MmuGather& tlb, VirtAddr start, VirtAddr end) {
  env.charge(CostPhase::kPteUpdate, env.costs.ptl_cycles);
  walk_pte_range(env, tlb.mm, start, end, [&](PhysAddr ptep, VirtAddr va) {
    PhaseScope scope(env.port, CostPhase::kPteUpdate);
    if (x86::pte_none(env.port.read_pte(ptep))) return true;
    const PteVal old = env.port.xchg_pte(ptep, 0);  // ptep_get_and_clear_full
    if (!x86::pte_present(old))
      throw std::logic_error("zap_pte_range: non-present entry (swap and migration entries arrive with issue 4)");
    tlb.remove_tlb_entry(va);
    if (x86::pte_special(old)) return true;  // the zero page: no struct-page accounting
    const Pfn pfn = x86::pte_pfn(old);
    --tlb.mm.rss_anon;
    page_remove_rmap(env, pfn);  // mapcount first, the reference after the flush (I13, R6)
    tlb.remove_page(pfn);
    return true;
  });
}

}  // namespace

void zap_page_range(MmEnv& env, MmStruct& mm, VirtAddr start, VirtAddr end) {
  MmuGather tlb{mm, /*fullmm=*/false};
  unmap_page_range(env, tlb, start, end);
  tlb_finish_mmu(env, tlb);
}

void exit_mmap(MmEnv& env, MmStruct& mm) {
  MmuGather tlb{mm, /*fullmm=*/true};
  for (const auto& [start, vma] : mm.mmap) unmap_page_range(env, tlb, vma.vm_start, vma.vm_end);
  tlb_finish_mmu(env, tlb);
  // R6: tables go only after the flush above dropped every paging-structure-cache entry.
  free_pgtables(env, mm);
  mm.mmap.clear();
}

}  // namespace mmusim::mm
