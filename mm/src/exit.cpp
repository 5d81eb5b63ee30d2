#include "exit.h"

#include <utility>
#include <vector>

#include "locks.h"
#include "pgtable.h"
#include "pte.h"
#include "swap.h"

namespace mmusim::mm {

void unmap_page_range(MmEnv& env, MmuGather& tlb, VirtAddr start, VirtAddr end) {
  MmStruct& mm = tlb.mm;
  env.charge(CostPhase::kPteUpdate, env.costs.ptl_cycles);
  walk_pte_range(env, mm, start, end, [&](PhysAddr ptep, VirtAddr va) {
    ptl_wait_or_throw(env, ptep);  // nothing lets time pass from here to the clear
    PteVal pte;
    {
      PhaseScope scope(env.port, CostPhase::kPteUpdate);
      pte = env.port.read_pte(ptep);
    }
    if (x86::pte_none(pte)) return true;
    env.charge(CostPhase::kPteUpdate, env.costs.zap_pte_cycles);
    const PteVal old = ptep_get_and_clear(env, ptep, pte);  // ..._full
    if (!env.g.pins.pins.empty()) env.g.pins.detach(mm.id, va);
    if (is_swap_pte(old)) {
      // A swap entry: its slot reference goes (and the swap-cache copy if nothing maps it).
      --mm.rss_swap;
      free_swap_and_cache(env, pte_swp_offset(old));
      return true;
    }
    tlb.remove_tlb_entry(va);
    env.stats.zapped_pages.inc();
    if (x86::pte_special(old)) return true;  // the zero page: no struct-page accounting
    const Pfn pfn = x86::pte_pfn(old);
    if (x86::pte_dirty(old)) env.pages.page(pfn).set(PG_dirty);
    --mm.rss_anon;
    // Mapcount first, the reference after the flush (I13, R6). PG_anon_exclusive stays: a pinned
    // page keeps it until freed, so its unpin sanity check passes (I3, I8).
    page_remove_rmap(env, pfn);
    tlb.remove_page(pfn);
    return true;
  });
}

void zap_page_range(MmEnv& env, MmStruct& mm, VirtAddr start, VirtAddr end) {
  MmuGather tlb{mm, /*fullmm=*/false};
  unmap_page_range(env, tlb, start, end);
  tlb_finish_mmu(env, tlb);
}

void exit_mmap(MmEnv& env, MmStruct& mm) {
  MmuGather tlb{mm, /*fullmm=*/true};
  std::vector<std::pair<VirtAddr, VirtAddr>> spans;
  for (const auto& [start, vma] : mm.mmap) {
    unmap_page_range(env, tlb, vma.vm_start, vma.vm_end);
    spans.emplace_back(vma.vm_start, vma.vm_end);
  }
  mm.mmap.clear();
  // free_pgtables over the areas (tables exist only under them): every table leaves the tree
  // (the root may live on in a lazy CR3), and is freed only after the flush drops every
  // paging-structure-cache entry (R6, R11).
  for (const auto& [start, end] : spans) free_pgd_range(env, tlb, start, end);
  tlb_finish_mmu(env, tlb);
}

}  // namespace mmusim::mm
