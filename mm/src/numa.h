// NUMA hinting (mm-semantics.md §3.20, M01): task_numa_work's change_prot_numa and the hint
// fault, do_numa_page. The model has one node: a hint fault restores the entry, never migrates.
#pragma once

#include <cstdint>

#include "memory.h"
#include "mm_env.h"
#include "mm_struct.h"

namespace mmusim::mm {

// change_prot_numa over [start, end): present entries of accessible areas become protnone
// (PAGE_NONE, keeping the pfn and PG_anon_exclusive), flushed before return (R5). The zero page
// is skipped. As mm-semantics.md §5.10 M01 assumes, pinned pages are scanned too (Linux also
// skips COW pages with page_count != 1, which a pin implies). Returns the entries changed.
long change_prot_numa(MmEnv& env, MmStruct& mm, VirtAddr start, VirtAddr end);

// do_numa_page: the protnone entry of an accessible area is restored with the area's protection,
// read-only (the write permission is not remembered); a write then takes a WP fault, which
// reuses an exclusive page (§3.20).
FaultKind do_numa_page(MmEnv& env, VmFault& vmf);

}  // namespace mmusim::mm
