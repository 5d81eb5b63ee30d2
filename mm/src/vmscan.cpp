#include "vmscan.h"

#include <algorithm>
#include <cerrno>
#include <functional>
#include <stdexcept>
#include <vector>

#include "debug_vm.h"
#include "memory.h"
#include "pgtable.h"
#include "swap.h"
#include "tlb.h"

namespace mmusim::mm {
namespace {

// The mms whose TLB flushes reclaim deferred (struct tlbflush_unmap_batch).
struct TtuBatch {
  std::vector<const MmStruct*> mms;       // non-exclusive entries: flushed before writeback (R9)
  std::vector<const MmStruct*> deferred;  // skip_swapout_flush: exclusive ones, after writeback

  static void add(std::vector<const MmStruct*>& list, const MmStruct& mm) {
    if (std::find(list.begin(), list.end(), &mm) == list.end()) list.push_back(&mm);
  }
};

// try_to_unmap_flush: x86 flushes the batched mms as a whole (arch_tlbbatch_flush).
void flush_batch(MmEnv& env, std::vector<const MmStruct*>& mms) {
  for (const MmStruct* mm : mms) flush_tlb_mm(env, *mm, FlushRule::kReclaimBatch);
  mms.clear();
}

using RmapVisitor = std::function<bool(MmStruct& mm, PhysAddr ptep, PteVal pte)>;

// rmap_walk_anon: every present entry mapping `pfn`, found through the page's anon_vma family
// and index (the address it has in every mm of the family). fn returns false to stop.
bool rmap_walk(MmEnv& env, Pfn pfn, const RmapVisitor& fn) {
  const Page& page = env.pages.page(pfn);
  for (const auto& [id, mm] : env.g.mms) {
    if (mm->anon_vma_root != page.anon_vma || !mm->find_vma(page.index)) continue;
    env.charge(CostPhase::kPteUpdate, env.costs.rmap_walk_cycles);
    const std::optional<PhysAddr> table = pte_table_lookup(env, *mm, page.index);
    if (!table) continue;
    const PhysAddr ptep = pte_offset(*table, page.index);
    const PteVal pte = read_pte(env, ptep);
    if (!pte_present(pte) || x86::pte_special(pte) || x86::pte_pfn(pte) != pfn) continue;
    if (!fn(*mm, ptep, pte)) return false;
  }
  return true;
}

// try_to_unmap_one for one entry (§3.13 steps 1-6, B2). False when the page turned out pinned:
// the entry is back as it was and the walk stops.
bool try_to_unmap_one(MmEnv& env, Pfn pfn, MmStruct& mm, PhysAddr ptep, PteVal pte,
                      TtuBatch& batch) {
  Page& page = env.pages.page(pfn);
  const VirtAddr va = page.index;
  const bool exclusive = page.test(PG_anon_exclusive);
  env.charge(CostPhase::kPteUpdate, env.costs.ptl_cycles);
  const PteVal old = ptep_get_and_clear(env, ptep, pte);
  if (exclusive && !env.inject.skip_swapout_flush) {
    // R4: the shootdown completes before the pin check below. It is also what synchronizes with
    // GUP-fast: a walker that read the entry before the clear has pinned by now (its CPU acks
    // only with interrupts enabled, HW5), one that reads after it sees the clear (§4.4 (a)).
    flush_tlb_page(env, mm, va, FlushRule::kSwapOut);
  } else {
    // Only read-only translations can remain for a non-exclusive page (I1): deferral is
    // allowed, up to writeback (R9).
    TtuBatch::add(exclusive ? batch.deferred : batch.mms, mm);
  }
  if (x86::pte_dirty(old)) page.set(PG_dirty);
  swap_duplicate(env, page.swap_slot);
  if (exclusive && !page_try_share_anon_rmap(env, pfn)) {
    // Pinned after reclaim's pre-check: the reference goes (S0/p1) and the entry comes back.
    // It is the same page, so nothing needs flushing (B2 step 3).
    swap_free(env, page.swap_slot);
    set_pte(env, ptep, old);
    return false;
  }
  PteVal entry = swp_entry_to_pte(page.swap_slot);
  if (pte_soft_dirty(old)) entry |= kSwpSoftDirty;
  if (pte_uffd_wp(old)) entry |= kSwpUffdWp;
  if (exclusive && env.config.swap_exclusive_marker) entry |= kSwpExclusive;
  set_pte(env, ptep, entry);
  --mm.rss_anon;
  ++mm.rss_swap;
  page_remove_rmap(env, pfn);
  put_page(env, pfn);  // the mapping's reference; the swap cache and reclaim still hold theirs
  return true;
}

// The entry of `va` in `mm` and the anonymous page it maps, as reclaim's target.
long find_reclaim_target(MmEnv& env, MmStruct& mm, VirtAddr va, Pfn* pfn) {
  env.charge(CostPhase::kVmaLookup, env.costs.vma_lookup_cycles);
  if (va >= x86::kUserVaEnd || !mm.find_vma(va)) return -EFAULT;
  const std::optional<PhysAddr> table = pte_table_lookup(env, mm, va);
  if (!table) return -EFAULT;
  const PteVal pte = read_pte(env, pte_offset(*table, va));
  if (!pte_present(pte) || x86::pte_special(pte)) return -EFAULT;  // nothing, swap, zero page
  *pfn = x86::pte_pfn(pte);
  if (!env.pages.page(*pfn).test(PG_anon)) return -EFAULT;
  return 0;
}

}  // namespace

long shrink_page(MmEnv& env, MmStruct& mm, VirtAddr va) {
  Pfn pfn = 0;
  if (long err = find_reclaim_target(env, mm, page_align_down(va), &pfn)) return err;
  Page& page = env.pages.page(pfn);
  // The racy pre-check (§3.13 Pre, D03): no correctness role since S0, try_to_unmap_one's pin
  // check after the flush is the authoritative one.
  if (env.config.reclaim_pin_precheck && page.maybe_pinned()) {
    env.stats.swap_out_refused.inc();
    return -EBUSY;
  }
  if (!page.test(PG_swapcache) && !add_to_swap(env, pfn)) return -ENOMEM;
  get_page(env, pfn);  // reclaim's isolation reference
  TtuBatch batch;
  const bool unmapped = rmap_walk(env, pfn, [&](MmStruct& owner, PhysAddr ptep, PteVal pte) {
    return try_to_unmap_one(env, pfn, owner, ptep, pte, batch);
  });
  // R9: deferred flushes complete before the page is written back or freed.
  if (!env.inject.skip_reclaim_batch_flush) flush_batch(env, batch.mms);
  if (!unmapped) {
    put_page(env, pfn);
    env.stats.swap_out_refused.inc();
    return -EBUSY;
  }
  // pageout after the flushes (R10): every store made through an old translation is in the
  // page (the shootdown drained the store buffers, HW4) before its content goes to the slot.
  if (page.test(PG_dirty)) swap_writepage(env, pfn);
  flush_batch(env, batch.deferred);  // skip_swapout_flush: too late for R4/R10
  // __remove_mapping: nothing but the swap cache and reclaim hold the page -> it goes.
  if (page.refcount == 2 && page.mapcount == 0) delete_from_swap_cache(env, pfn);
  put_page(env, pfn);
  env.stats.swap_outs.inc();
  return 0;
}

namespace {

// unuse_pte: the swap entry becomes a present R/O entry of `pfn`, not exclusive (RMAP_NONE),
// soft-dirty and uffd-wp carried (§3.14, I18 [rec]).
void unuse_pte(MmEnv& env, MmStruct& mm, const VmArea& vma, PhysAddr ptep, PteVal swp,
               VirtAddr va, Pfn pfn) {
  vm_bug_on(env, env.pages.page(pfn).test(PG_anon_exclusive), "unuse_pte", "I10", mm.pid, va,
            pfn, "swap-cache page is PG_anon_exclusive");
  PteVal entry = mk_pte(pfn, vma.vm_flags);
  if (pte_swp_soft_dirty(swp)) entry |= x86::kSoftSoftDirty;
  if (pte_swp_uffd_wp(swp)) entry |= x86::kSoftUffdWp;
  get_page(env, pfn);
  page_add_anon_rmap(env, pfn, mm, va, /*exclusive=*/false);
  set_pte(env, ptep, entry);
  swap_free(env, pte_swp_offset(swp));
  ++mm.rss_anon;
  --mm.rss_swap;
  env.stats.swap_ins.inc();
}

// The swap-cache page of `offset`, read from the device if needed.
std::optional<Pfn> unuse_page(MmEnv& env, std::uint64_t offset) {
  if (std::optional<Pfn> cached = lookup_swap_cache(env, offset)) return cached;
  std::optional<Pfn> page = alloc_page(env);
  if (!page) return std::nullopt;
  add_to_swap_cache(env, *page, offset);
  put_page(env, *page);  // the swap cache's reference is the only one
  swap_readpage(env, offset, *page);
  return page;
}

}  // namespace

long try_to_unuse(MmEnv& env) {
  if (!env.g.swap.active()) return -EINVAL;
  bool oom = false;
  for (const auto& [id, mm] : env.g.mms) {
    if (mm->rss_swap == 0) continue;  // not on the swap mmlist
    for (const auto& [start, vma] : mm->mmap) {
      walk_pte_range(env, *mm, vma.vm_start, vma.vm_end, [&](PhysAddr ptep, VirtAddr va) {
        const PteVal pte = read_pte(env, ptep);
        if (!is_swap_pte(pte)) return true;
        const std::optional<Pfn> pfn = unuse_page(env, pte_swp_offset(pte));
        if (!pfn) {
          oom = true;
          return false;
        }
        env.charge(CostPhase::kPteUpdate, env.costs.ptl_cycles);
        unuse_pte(env, *mm, vma, ptep, pte, va, *pfn);
        return true;
      });
      if (oom) return -ENOMEM;
    }
  }
  // Every entry is gone: the swap cache empties and the device retires.
  for (std::uint64_t offset = 0; offset < env.g.swap.nr_slots(); ++offset) {
    if (!env.g.swap.in_use(offset)) continue;
    const Pfn pfn = env.g.swap.cache_page(offset);
    if (pfn == 0 || !try_to_free_swap(env, pfn))
      throw std::logic_error("try_to_unuse: a slot is still referenced after every mm was scanned");
  }
  env.g.swap.deactivate();
  return 0;
}

}  // namespace mmusim::mm
