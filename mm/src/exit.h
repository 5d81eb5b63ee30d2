// Destructive unmapping: zap_pte_range with an mmu_gather, munmap of a range, exit_mmap
// (mm-semantics.md §3.19, R6).
#pragma once

#include "mm_env.h"
#include "mm_struct.h"

namespace mmusim::mm {

// Clears every entry of [start, end), flushes that range, then puts the pages (R6). Page tables
// stay (they are freed at exit). VMAs are not changed.
void zap_page_range(MmEnv& env, MmStruct& mm, VirtAddr start, VirtAddr end);

// exit_mmap: zaps every VMA, flushes the whole mm, puts the pages, frees the page tables below
// the pgd and drops the VMAs. The pgd and the PCID are the caller's (they outlive the switch of
// the CPUs still running this mm).
void exit_mmap(MmEnv& env, MmStruct& mm);

}  // namespace mmusim::mm
