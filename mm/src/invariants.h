// CONFIG_DEBUG_VM for this model: the invariants of mm-semantics.md §2 checked over every live
// address space, with uncharged reads (peek_pte) only.
#pragma once

#include <vector>

#include "mm_struct.h"
#include "mmusim/mm/kernel.h"
#include "page.h"

namespace mmusim::mm {

struct MmRef {
  Pid pid;
  const MmStruct* mm;
};

// Checks I1 (present writable => exclusive), I6 (exclusive => at most one entry system-wide),
// I13 (refcount >= mapcount), MAPCOUNT (mapcount == present entries mapping the page), RSS
// (MM_ANONPAGES == anon pages mapped), ZERO (the zero page is never writable and only mapped
// special), PGTABLE (upper levels point to page tables) and LEAK (an anonymous page with
// references but no mapping; pins arrive with issue 4).
std::vector<InvariantViolation> check_mm_invariants(const ArchPort& port,
                                                    const PageAllocator& pages, Pfn zero_pfn,
                                                    const std::vector<MmRef>& mms);

}  // namespace mmusim::mm
