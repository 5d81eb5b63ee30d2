// TLB maintenance for an mm (mm-semantics.md §4.2) and the mmu_gather of the zap paths (§3.19).
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
// above the ceiling become a full flush of the mm's PCID. No-op when no CPU ever ran the mm.
void flush_tlb_mm_range(MmEnv& env, const MmStruct& mm, VirtAddr start, VirtAddr end);
// Invalidates every translation of `mm` (flush_tlb_mm).
void flush_tlb_mm(MmEnv& env, const MmStruct& mm);
inline void flush_tlb_page(MmEnv& env, const MmStruct& mm, VirtAddr va) {
  flush_tlb_mm_range(env, mm, va, va + kPageSize);
}

// struct mmu_gather: collects the cleared range and the pages whose mapping references must be
// put once the TLB flush has completed (R6).
struct MmuGather {
  MmuGather(MmStruct& gather_mm, bool whole_mm) : mm(gather_mm), fullmm(whole_mm) {}

  MmStruct& mm;
  bool fullmm;  // exit: the whole address space goes; flush the whole PCID
  VirtAddr start = std::numeric_limits<VirtAddr>::max();
  VirtAddr end = 0;
  std::vector<Pfn> pages;

  void remove_tlb_entry(VirtAddr va) {
    start = std::min(start, va);
    end = std::max(end, va + kPageSize);
  }
  void remove_page(Pfn pfn) { pages.push_back(pfn); }
};

// tlb_finish_mmu: flush the gathered range (or the whole mm for fullmm), THEN put the gathered
// pages (R6: no translation survives the freeing of the page it points to, I20(b)).
void tlb_finish_mmu(MmEnv& env, MmuGather& tlb);

}  // namespace mmusim::mm
