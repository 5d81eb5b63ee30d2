#include "vmscan.h"

#include <algorithm>
#include <cerrno>
#include <functional>
#include <stdexcept>
#include <vector>

#include "debug_vm.h"
#include "locks.h"
#include "memory.h"
#include "pgtable.h"
#include "swap.h"
#include "tlb.h"

namespace mmusim::mm {
namespace {

// The mms whose TLB flushes reclaim deferred (struct tlbflush_unmap_batch). Each holds a user
// reference (mm_users) until its flush, so a kill meanwhile cannot free it.
struct TtuBatch {
  std::vector<MmStruct*> mms;       // non-exclusive entries: flushed before writeback (R9)
  std::vector<MmStruct*> deferred;  // skip_swapout_flush: exclusive ones, after writeback

  static void add(std::vector<MmStruct*>& list, MmStruct& mm) {
    if (std::find(list.begin(), list.end(), &mm) != list.end()) return;
    ++mm.users;
    list.push_back(&mm);
  }
};

// try_to_unmap_flush: x86 flushes the batched mms as a whole (arch_tlbbatch_flush). `flush`
// false drops the batch without flushing (skip_reclaim_batch_flush).
void flush_batch(MmEnv& env, std::vector<MmStruct*>& mms, bool flush = true) {
  for (MmStruct* mm : mms) {
    if (flush) flush_tlb_mm(env, *mm, FlushRule::kReclaimBatch);
    --mm->users;
  }
  mms.clear();
}

enum class Unmap { kDone, kPinned, kArchFailed, kBusy };

// mmget/mmput around a step that may wait in a shootdown: the mm outlives a kill meanwhile.
struct MmUser {
  explicit MmUser(MmStruct& m) : mm(m) { ++mm.users; }
  ~MmUser() { --mm.users; }
  MmStruct& mm;
};

// lock_page / unlock_page for reclaim's whole pass over the page.
struct PageLock {
  explicit PageLock(Page& p) : page(p) { page.set(PG_locked); }
  ~PageLock() { page.clear(PG_locked); }
  Page& page;
};

using RmapVisitor = std::function<bool(MmStruct& mm, PhysAddr ptep)>;

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
    if (!fn(*mm, ptep)) return false;
  }
  return true;
}

// try_to_unmap_one for one entry (§3.13 steps 1-6, B2). kPinned when the page turned out
// pinned: the entry is back as it was and the walk stops. kBusy when the PTL is held by an
// operation suspended in a shootdown and the port cannot wait: nothing was changed here.
Unmap try_to_unmap_one(MmEnv& env, Pfn pfn, MmStruct& mm, PhysAddr ptep, TtuBatch& batch,
                       const SwapOutOptions& options) {
  Page& page = env.pages.page(pfn);
  const VirtAddr va = page.index;
  if (!ptl_wait(env, ptep)) return Unmap::kBusy;
  const PteVal pte = read_pte(env, ptep);
  if (!pte_present(pte) || x86::pte_pfn(pte) != pfn) return Unmap::kDone;  // gone meanwhile
  // Held across the R4 shootdown, during which other CPUs run: their faults on the entry wait.
  PtlHold ptl(env, ptep);
  MmUser user(mm);
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
  if (options.arch_unmap_fails) {
    // Step 4: the reference just taken goes again (S0/p1: it leaked before), the entry comes
    // back. Nothing was shared yet, so the page keeps PG_anon_exclusive (D09).
    swap_free(env, page.swap_slot);
    set_pte(env, ptep, old);
    return Unmap::kArchFailed;
  }
  if (exclusive && !page_try_share_anon_rmap(env, pfn)) {
    // Pinned after reclaim's pre-check: the reference goes (S0/p1) and the entry comes back.
    // It is the same page, so nothing needs flushing (B2 step 3).
    swap_free(env, page.swap_slot);
    set_pte(env, ptep, old);
    return Unmap::kPinned;
  }
  env.port.preempt_point(env.cpu, ArchPort::PreemptPoint::kSwapOutAfterPinCheck);
  PteVal entry = swp_entry_to_pte(page.swap_slot);
  if (pte_soft_dirty(old)) entry |= kSwpSoftDirty;
  if (pte_uffd_wp(old)) entry |= kSwpUffdWp;
  if (exclusive && env.config.swap_exclusive_marker) entry |= kSwpExclusive;
  set_pte(env, ptep, entry);
  --mm.rss_anon;
  ++mm.rss_swap;
  page_remove_rmap(env, pfn);
  put_page(env, pfn);  // the mapping's reference; the swap cache and reclaim still hold theirs
  return Unmap::kDone;
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

// shrink_page_list's work on one isolated page. The page lock keeps swap-in, COW reuse and
// swap-cache freeing off it until the end, across every shootdown.
long reclaim_locked_page(MmEnv& env, Pfn pfn, const SwapOutOptions& options) {
  Page& page = env.pages.page(pfn);
  PageLock lock(page);
  TtuBatch batch;
  Unmap result = Unmap::kDone;
  rmap_walk(env, pfn, [&](MmStruct& owner, PhysAddr ptep) {
    result = try_to_unmap_one(env, pfn, owner, ptep, batch, options);
    return result == Unmap::kDone;
  });
  // R9: deferred flushes complete before the page is written back or freed.
  flush_batch(env, batch.mms, !env.inject.skip_reclaim_batch_flush);
  if (result != Unmap::kDone) {
    flush_batch(env, batch.deferred);
    if (result == Unmap::kBusy) return -EAGAIN;  // reclaim keeps a locked page for later
    if (result == Unmap::kArchFailed) return -EBUSY;
    env.stats.swap_out_refused.inc();
    return -EBUSY;
  }
  // pageout after the flushes (R10): every store made through an old translation is in the
  // page (the shootdown drained the store buffers, HW4) before its content goes to the slot.
  const bool writing = page.test(PG_dirty);
  if (writing) swap_writepage(env, pfn, /*sync=*/!options.async_writeback);
  flush_batch(env, batch.deferred);  // skip_swapout_flush: too late for R4/R10
  if (writing && options.async_writeback) {
    // The write is in flight: the page stays in the swap cache until end_writeback (D05).
    page.set(PG_writeback);
  } else if (page.refcount == 2 && page.mapcount == 0) {
    // __remove_mapping: nothing but the swap cache and reclaim hold the page -> it goes.
    delete_from_swap_cache(env, pfn);
  }
  env.stats.swap_outs.inc();
  return 0;
}

}  // namespace

long shrink_page(MmEnv& env, MmStruct& mm, VirtAddr va, const SwapOutOptions& options) {
  Pfn pfn = 0;
  if (long err = find_reclaim_target(env, mm, page_align_down(va), &pfn)) return err;
  Page& page = env.pages.page(pfn);
  // The racy pre-check (§3.13 Pre, D03): no correctness role since S0, try_to_unmap_one's pin
  // check after the flush is the authoritative one.
  if (env.config.reclaim_pin_precheck && page.maybe_pinned()) {
    env.stats.swap_out_refused.inc();
    return -EBUSY;
  }
  // trylock_page: a page locked by someone else (a reclaim suspended in a shootdown) is skipped.
  if (page.test(PG_locked)) return -EAGAIN;
  if (page.test(PG_writeback)) return -EAGAIN;  // PageWriteback: keep it, the I/O is not done
  if (!page.test(PG_swapcache) && !add_to_swap(env, pfn)) return -ENOMEM;
  get_page(env, pfn);  // reclaim's isolation reference
  long result = reclaim_locked_page(env, pfn, options);
  put_page(env, pfn);
  return result;
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
  if (std::optional<Pfn> cached = lookup_swap_cache(env, offset)) {
    // lock_page: a reclaim suspended in a shootdown holds it.
    if (!wait_until(env, [&] { return !env.pages.page(*cached).test(PG_locked); }))
      throw std::logic_error("swapoff: a page lock is held by an operation suspended in a "
                             "shootdown and the port cannot wait (ArchPort::cpu_relax)");
    return cached;
  }
  std::optional<Pfn> page = alloc_page(env);
  if (!page) return std::nullopt;
  add_to_swap_cache(env, *page, offset);
  put_page(env, *page);  // the swap cache's reference is the only one
  swap_readpage(env, offset, *page);
  return page;
}

}  // namespace

long end_swap_writeback(MmEnv& env) {
  long done = 0;
  for (Pfn pfn = 1; pfn < env.pages.watermark(); ++pfn) {
    if (!env.pages.in_use(pfn)) continue;
    Page& page = env.pages.page(pfn);
    if (!page.test(PG_writeback)) continue;
    page.clear(PG_writeback);
    ++done;
    // folio_rotate_reclaimable puts the page first in line for reclaim, which takes a clean
    // swap-cache page that nothing maps: the model frees it here.
    if (page.mapcount == 0 && page.refcount == 1) try_to_free_swap(env, pfn);
  }
  return done;
}

long try_to_unuse(MmEnv& env) {
  if (!env.g.swap.active()) return -EINVAL;
  bool oom = false;
  for (const auto& [id, mm] : env.g.mms) {
    if (mm->rss_swap == 0) continue;  // not on the swap mmlist
    for (const auto& [start, vma] : mm->mmap) {
      walk_pte_range(env, *mm, vma.vm_start, vma.vm_end, [&](PhysAddr ptep, VirtAddr va) {
        ptl_wait_or_throw(env, ptep);
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
  // Every entry is gone: swapoff waits for writeback in flight, then the swap cache empties and
  // the device retires.
  end_swap_writeback(env);
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
