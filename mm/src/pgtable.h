// Page-table walks and allocation in simulated physical memory (mm-semantics.md §1.2).
//
// Tables are real x86-64 4-level tables. Upper-level entries carry x86::kTableFlags (they grant
// everything; leaves restrict, HW1). Charged walks use port.read_pte; peek_* walks never charge.
#pragma once

#include <functional>
#include <optional>

#include "mm_env.h"
#include "mm_struct.h"

namespace mmusim::mm {

struct MmuGather;

// The PTE slot of `va` inside the level-1 table `pte_table` (pte_offset_map).
inline PhysAddr pte_offset(PhysAddr pte_table, VirtAddr va) {
  return x86::entry_addr(pte_table, va, 1);
}

// Walks `mm` to the PTE table covering `va`; nullopt when an upper level is none.
std::optional<PhysAddr> pte_table_lookup(MmEnv& env, const MmStruct& mm, VirtAddr va);

// Same, allocating missing levels (__pte_alloc and friends): zeroed frames marked PG_pgtable.
// nullopt when a frame cannot be allocated (the levels allocated so far stay, owned by `mm`).
std::optional<PhysAddr> pte_table_alloc(MmEnv& env, MmStruct& mm, VirtAddr va);

// Calls fn(ptep, va) for every PTE slot of [start, end) whose tables exist, in address order,
// skipping absent subtrees. fn returns false to stop the walk; the result says whether the walk
// ran to the end.
using PteVisitor = std::function<bool(PhysAddr ptep, VirtAddr va)>;
bool walk_pte_range(MmEnv& env, const MmStruct& mm, VirtAddr start, VirtAddr end,
                    const PteVisitor& fn);

// free_pgtables of munmap and exit: detaches every table under [start, end) whose whole span no
// VMA overlaps any more (the kernel's floor/ceiling rule) and queues it in `tlb`, which frees it
// after its flush (R11). Precondition: the range was zapped, so those tables hold only none
// entries.
void free_pgd_range(MmEnv& env, MmuGather& tlb, VirtAddr start, VirtAddr end);

// ptep_get_and_clear: the entry becomes none with a locked exchange, which returns A/D bits the
// walker set concurrently (HW3). `seen` is the value the caller read under the PTL; under the
// plain_pte_clear injection the clear is a plain ArchPort::store_pte and `seen` is returned.
x86::PteVal ptep_get_and_clear(MmEnv& env, PhysAddr ptep, x86::PteVal seen);

// ptep_modify_prot_start/commit, ptep_set_wrprotect: replaces `seen` by `value` atomically,
// keeping A/D bits the walker set meanwhile. Returns the value installed.
x86::PteVal ptep_modify(MmEnv& env, PhysAddr ptep, x86::PteVal seen, x86::PteVal value);

// Uncharged walk for introspection and invariant checks: the PTE slot of `va`, if its tables
// exist.
std::optional<PhysAddr> peek_pte_slot(const ArchPort& port, Pfn pgd, VirtAddr va);

}  // namespace mmusim::mm
