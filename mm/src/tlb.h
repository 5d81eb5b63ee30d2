// TLB maintenance for an mm (mm-semantics.md §4.2, §4.3) and the mmu_gather of the zap paths
// (§3.19). Every flush goes to the mm's cpumask, with the operation's CPU as initiator.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "mm_env.h"
#include "mm_struct.h"

namespace mmusim::mm {

// Linux's tlb_single_page_flush_ceiling: a range of more pages than this is flushed as a whole
// PCID, since 33 INVLPGs cost about as much as refilling the TLB.
inline constexpr std::uint64_t kTlbSinglePageFlushCeiling = 33;

// Invalidates [start, end) of `mm` on every CPU of mm_cpumask (flush_tlb_mm_range); ranges
// above the ceiling become a full flush of the mm's PCID. Either form also drops the PCID's
// paging-structure caches (x86 INVLPG does). No-op when no CPU ever ran the mm.
void flush_tlb_mm_range(MmEnv& env, const MmStruct& mm, VirtAddr start, VirtAddr end,
                        FlushRule rule);
// Invalidates every translation of `mm` (flush_tlb_mm).
void flush_tlb_mm(MmEnv& env, const MmStruct& mm, FlushRule rule);
inline void flush_tlb_page(MmEnv& env, const MmStruct& mm, VirtAddr va, FlushRule rule) {
  flush_tlb_mm_range(env, mm, va, va + kPageSize, rule);
}

// Frees a page-table frame once no lockless walker can still use it (tlb_remove_table): at once,
// or when the last open GUP-fast section ends (§4.4 (c)).
void tlb_remove_table(MmEnv& env, Pfn pfn);
// Ends a GUP-fast section: releases the tables deferred while any section was open.
void tlb_release_deferred_tables(MmEnv& env);

// The span of the entries an operation changed, for its one range flush at the end.
struct FlushRange {
  VirtAddr start = std::numeric_limits<VirtAddr>::max();
  VirtAddr end = 0;
  void add(VirtAddr va) {
    start = std::min(start, va);
    end = std::max(end, va + kPageSize);
  }
  bool empty() const { return end <= start; }
};

// struct mmu_gather: collects the cleared range, the pages whose mapping references are put and
// the page tables that are freed once the TLB flush has completed (R6, R11).
// tlb_gather_mmu raises the mm's tlb_flush_pending; tlb_finish_mmu drops it after its flush.
struct MmuGather {
  MmuGather(MmStruct& gather_mm, bool whole_mm) : mm(gather_mm), fullmm(whole_mm) {
    ++mm.tlb_flush_pending;
  }
  MmuGather(const MmuGather&) = delete;
  MmuGather& operator=(const MmuGather&) = delete;

  MmStruct& mm;
  bool fullmm;          // exit: the whole address space goes; flush the whole PCID
  bool cleared_leaves = false;  // some leaf entry was cleared
  bool freed_tables = false;    // page tables were detached: the flush must drop the PWC (R11)
  FlushRange range;  // the cleared span (or one page of a freed table)
  std::vector<Pfn> pages;
  std::vector<Pfn> tables;

  void remove_tlb_entry(VirtAddr va) {
    cleared_leaves = true;
    range.add(va);
  }
  void remove_page(Pfn pfn) { pages.push_back(pfn); }
  // pte_free_tlb and friends: x86's INVLPG drops every paging-structure-cache entry of the
  // PCID, so the flush only has to exist: one page when no leaf was cleared. Widening the range
  // to the table's span would turn every small munmap into a full flush.
  void remove_table(Pfn pfn, VirtAddr va) {
    if (range.empty()) range.add(va);
    freed_tables = true;
    tables.push_back(pfn);
  }
};

// tlb_finish_mmu: flush the gathered range (or the whole mm for fullmm), THEN put the gathered
// pages (dropping unmapped swap-cache copies) and free the gathered tables (R6: no translation
// survives the freeing of the page it points to, I20(b)). When another gather of the mm is in
// flight (mm_tlb_flush_nested), the flush covers the whole mm: this gather may have skipped
// entries the other one cleared and not yet flushed. Call once per gather.
void tlb_finish_mmu(MmEnv& env, MmuGather& tlb);

}  // namespace mmusim::mm
