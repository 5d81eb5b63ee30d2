// Software cost of the OS steps, in core cycles. Memory traffic (PTE reads and writes, zeroing,
// copying, TLB invalidation) is not in here: the machine charges it through the ArchPort.
//
// Profile "x86-server" at 3 GHz. Estimates per step, calibrated as a whole (`mmusim calibrate`,
// docs/calibration.md) so that, with the machine's memory costs, a demand-zero minor fault takes
// about 3,000 cycles (~1 us; anchors.md B.2, Linux 6.6 measurement) and fork about 4 ms per GiB
// (B.4, Tatashin's measurements).
#pragma once

#include "mmusim/arch/types.h"

namespace mmusim::mm {

// The name of the defaults below, recorded in the JSON header of every run.
inline constexpr const char* kCostProfileName = "x86-server";

struct CostProfile {
  Cycles exception_entry_cycles = 500;  // #PF delivery, entry stub (PTI CR3 switch, mitigations), pt_regs
  Cycles exception_exit_cycles = 400;   // return to user (iretq, PTI CR3 switch, mitigations)
  Cycles syscall_entry_cycles = 100;    // syscall instruction, entry stub
  Cycles syscall_exit_cycles = 100;     // sysret path
  Cycles vma_lookup_cycles = 80;        // mmap_lock read + find_vma + access checks
  Cycles page_alloc_cycles = 900;       // alloc_page from the per-CPU list + memcg charge
  Cycles page_free_cycles = 200;        // free_page to the per-CPU list + memcg uncharge
  Cycles ptl_cycles = 50;               // page-table lock acquire + release (locked RMW)
  Cycles rmap_cycles = 300;             // anon rmap update, LRU add, rss counters
  // page_try_dup_anon_rmap at fork: two atomic increments (mapcount, refcount), no LRU work.
  // Calibrated with pte_copy_cycles to fork's ~4 ms/GiB (anchors.md B.4).
  Cycles rmap_dup_cycles = 10;
  Cycles pte_copy_cycles = 8;           // copy_present_pte per entry beyond memory traffic (calibrated, B.4)
  Cycles vma_copy_cycles = 1500;        // dup_mmap per VMA: vm_area_dup, anon_vma_fork
  Cycles mm_create_cycles = 20000;      // mm_alloc + pgd_alloc + task duplication at fork/exec
  Cycles mmap_cycles = 1500;            // mmap_region: VMA allocation and insertion
  Cycles context_switch_cycles = 1500;  // scheduler + switch_mm, beyond the CR3 write

  // Issue 4. Estimates of the same kind as above unless a source is named. anchors.md B.2 names
  // the kernel's gup_test harness as the way to measure GUP costs; no published per-page figure
  // was found, so the GUP constants await that calibration (issue 5).
  Cycles gup_page_cycles = 250;       // __get_user_pages per page: follow_page_pte, try_grab_page
  Cycles gup_fast_page_cycles = 60;   // GUP-fast per page: lockless walk step, grab, recheck
  Cycles unpin_page_cycles = 40;      // unpin_user_page: sanity check and refcount drop
  Cycles vma_split_cycles = 800;      // __split_vma: vm_area_dup + anon_vma_clone + insert
  Cycles vma_merge_cycles = 400;      // vma_merge: adjacent compatible areas become one
  Cycles mprotect_pte_cycles = 10;    // change_pte_range per entry, beyond memory traffic
  Cycles zap_pte_cycles = 15;         // zap_pte_range per entry, beyond memory traffic
  Cycles rmap_walk_cycles = 200;      // rmap_walk per mm visited (anon_vma interval-tree step)
  Cycles swap_slot_cycles = 400;      // get_swap_page / swap_duplicate / swap cache insertion
  // Swap I/O per 4 KiB page (swap_writepage at reclaim, swap_readpage at a major fault): 80 us
  // at 3 GHz, the NVMe end of anchors.md B.2's major-fault range (80-200 us NVMe, 5-10 ms HDD).
  Cycles swap_io_page_cycles = 240000;
};

}  // namespace mmusim::mm
