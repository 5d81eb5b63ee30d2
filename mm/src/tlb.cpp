#include "tlb.h"

#include "swap.h"

namespace mmusim::mm {

void flush_tlb_mm_range(MmEnv& env, const MmStruct& mm, VirtAddr start, VirtAddr end,
                        FlushRule rule) {
  if (mm.cpumask.empty() || end <= start) return;  // no CPU can cache a translation
  const std::uint64_t nr_pages = (end - start) >> kPageShift;
  TlbFlush flush;
  flush.pcid = mm.pcid;
  if (nr_pages > kTlbSinglePageFlushCeiling) {
    flush.full = true;
    env.stats.tlb_flush_full.inc();
  } else {
    flush.start = start;
    flush.end = end;
    env.stats.tlb_flush_pages.inc(nr_pages);
  }
  env.stats.count_flush(rule);
  PhaseScope scope(env.port, CostPhase::kFlush);
  env.port.flush_tlb(env.cpu, mm.cpumask, flush);
}

void flush_tlb_mm(MmEnv& env, const MmStruct& mm, FlushRule rule) {
  if (mm.cpumask.empty()) return;
  TlbFlush flush;
  flush.pcid = mm.pcid;
  flush.full = true;
  env.stats.tlb_flush_full.inc();
  env.stats.count_flush(rule);
  PhaseScope scope(env.port, CostPhase::kFlush);
  env.port.flush_tlb(env.cpu, mm.cpumask, flush);
}

void tlb_remove_table(MmEnv& env, Pfn pfn) {
  if (!env.g.pins.cursors.empty()) {
    env.g.deferred_tables.push_back(pfn);
    return;
  }
  put_page(env, pfn);
}

void tlb_release_deferred_tables(MmEnv& env) {
  if (!env.g.pins.cursors.empty()) return;
  std::vector<Pfn> tables;
  tables.swap(env.g.deferred_tables);
  for (Pfn pfn : tables) put_page(env, pfn);
}

namespace {

// The gathered pages' mapping references go; an unmapped swap-cache copy goes with them
// (free_pages_and_swap_cache).
void tlb_release_pages(MmEnv& env, MmuGather& tlb) {
  for (Pfn pfn : tlb.pages) {
    free_swap_cache(env, pfn);
    put_page(env, pfn);
  }
  tlb.pages.clear();
}

void tlb_flush(MmEnv& env, MmuGather& tlb) {
  if (tlb.fullmm) {
    // Tables are freed after a fullmm gather: the paging-structure caches must go too, even where
    // no leaf entry was cleared.
    flush_tlb_mm(env, tlb.mm, FlushRule::kZap);
  } else if (!tlb.range.empty()) {
    flush_tlb_mm_range(env, tlb.mm, tlb.range.start, tlb.range.end, FlushRule::kZap);
  }
}

}  // namespace

void tlb_finish_mmu(MmEnv& env, MmuGather& tlb) {
  // mm_tlb_flush_nested: a parallel zapper (MADV_DONTNEED under mmap_lock read) cleared entries
  // this one found empty and skipped; its flush may not have reached every CPU yet. Returning
  // now would let the caller believe the range is gone while a CPU still translates it (R6).
  const bool nested = tlb.mm.tlb_flush_pending > 1 && !env.inject.skip_nested_flush;
  if (nested) flush_tlb_mm(env, tlb.mm, FlushRule::kZapNested);
  if (env.inject.free_before_flush) tlb_release_pages(env, tlb);  // R6 broken (T10)
  // skip_pgtable_flush: the tables go before any flush, and a gather that cleared no leaf entry
  // (only tables to free) issues none at all (R11 broken).
  const bool flush_for_leaves = tlb.cleared_leaves || tlb.fullmm;
  if (env.inject.skip_pgtable_flush) {
    for (Pfn pfn : tlb.tables) tlb_remove_table(env, pfn);
    tlb.tables.clear();
  }
  // R6 step 1: every CPU drops the cleared translations (and, R11, the paging-structure caches
  // that may point to the tables about to be freed)...
  if (!nested && (!env.inject.skip_pgtable_flush || flush_for_leaves)) tlb_flush(env, tlb);
  // ...step 2: only then are the mappings' references put (pages may be freed and reused) and
  // the detached tables freed.
  tlb_release_pages(env, tlb);
  for (Pfn pfn : tlb.tables) tlb_remove_table(env, pfn);
  tlb.tables.clear();
  tlb.freed_tables = false;
  tlb.cleared_leaves = false;
  tlb.range = FlushRange{};
  --tlb.mm.tlb_flush_pending;  // dec_tlb_flush_pending: this gather's flush is complete
}

}  // namespace mmusim::mm
