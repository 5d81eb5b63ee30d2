// Software cost of the OS steps, in core cycles. Memory traffic (PTE reads and writes, zeroing,
// copying, TLB invalidation) is not in here: the machine charges it through the ArchPort.
//
// Profile "x86-server" at 3 GHz. The constants are first estimates aimed at a demand-zero minor
// fault of about 3,200 cycles (~1 us; anchors.md B.2, Linux 6.6 measurement) once the machine's
// memory costs are added; calibration against B.1-B.4 is issue 5.
#pragma once

#include "mmusim/arch/types.h"

namespace mmusim::mm {

struct CostProfile {
  Cycles exception_entry_cycles = 250;  // #PF delivery, entry stub, pt_regs save
  Cycles exception_exit_cycles = 200;   // return to user (iretq path)
  Cycles syscall_entry_cycles = 100;    // syscall instruction, entry stub
  Cycles syscall_exit_cycles = 100;     // sysret path
  Cycles vma_lookup_cycles = 80;        // mmap_lock read + find_vma + access checks
  Cycles page_alloc_cycles = 600;       // alloc_page from the per-CPU list + memcg charge
  Cycles page_free_cycles = 200;        // free_page to the per-CPU list + memcg uncharge
  Cycles ptl_cycles = 50;               // page-table lock acquire + release (locked RMW)
  Cycles rmap_cycles = 300;             // anon rmap update, LRU add, rss counters
  Cycles pte_copy_cycles = 20;          // copy_present_pte per entry, beyond memory traffic
  Cycles vma_copy_cycles = 1500;        // dup_mmap per VMA: vm_area_dup, anon_vma_fork
  Cycles mm_create_cycles = 20000;      // mm_alloc + pgd_alloc + task duplication at fork/exec
  Cycles mmap_cycles = 1500;            // mmap_region: VMA allocation and insertion
  Cycles context_switch_cycles = 1500;  // scheduler + switch_mm, beyond the CR3 write
};

}  // namespace mmusim::mm
