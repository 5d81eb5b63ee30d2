#include "tlb.h"

namespace mmusim::mm {

void flush_tlb_mm_range(MmEnv& env, const MmStruct& mm, VirtAddr start, VirtAddr end) {
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
  PhaseScope scope(env.port, CostPhase::kFlush);
  env.port.flush_tlb(env.cpu, mm.cpumask, flush);
}

void flush_tlb_mm(MmEnv& env, const MmStruct& mm) {
  if (mm.cpumask.empty()) return;
  TlbFlush flush;
  flush.pcid = mm.pcid;
  flush.full = true;
  env.stats.tlb_flush_full.inc();
  PhaseScope scope(env.port, CostPhase::kFlush);
  env.port.flush_tlb(env.cpu, mm.cpumask, flush);
}

void tlb_finish_mmu(MmEnv& env, MmuGather& tlb) {
  // R6 step 1: every CPU drops the cleared translations...
  if (tlb.fullmm) {
    // Tables are freed after a fullmm gather: the paging-structure caches must go too, even where
    // no leaf entry was cleared.
    flush_tlb_mm(env, tlb.mm);
  } else if (tlb.end > tlb.start) {
    flush_tlb_mm_range(env, tlb.mm, tlb.start, tlb.end);
  }
  // ...step 2: only then are the mappings' references put (pages may be freed and reused).
  for (Pfn pfn : tlb.pages) put_page(env, pfn);
  tlb.pages.clear();
  tlb.start = std::numeric_limits<VirtAddr>::max();
  tlb.end = 0;
}

}  // namespace mmusim::mm
