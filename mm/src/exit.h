// Destructive unmapping: zap_pte_range with an mmu_gather, and exit_mmap (mm-semantics.md §3.19,
// R6, R11).
#pragma once

#include "mm_env.h"
#include "mm_struct.h"
#include "tlb.h"

namespace mmusim::mm {

// zap_pte_range over [start, end) into `tlb`: clears present entries (queuing their pages for
// release after the flush) and swap entries (dropping their slot references). VMAs are not
// changed. Pins on the cleared addresses become detached (the user unmapped them, §3.19).
void unmap_page_range(MmEnv& env, MmuGather& tlb, VirtAddr start, VirtAddr end);

// zap_page_range (MADV_DONTNEED): unmap_page_range + tlb_finish_mmu; page tables stay.
void zap_page_range(MmEnv& env, MmStruct& mm, VirtAddr start, VirtAddr end);

// exit_mmap: zaps every VMA, flushes the whole mm, puts the pages, frees the page tables below
// the pgd and drops the VMAs. The pgd and the PCID are the caller's (they outlive the switch of
// the CPUs still running this mm).
void exit_mmap(MmEnv& env, MmStruct& mm);

}  // namespace mmusim::mm
