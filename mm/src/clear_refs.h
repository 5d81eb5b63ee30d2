// /proc/PID/clear_refs "4": soft-dirty clearing (mm-semantics.md §3.20, M02).
#pragma once

#include "mm_env.h"
#include "mm_struct.h"

namespace mmusim::mm {

// clear_soft_dirty over every VMA: present entries of COW mappings lose write and soft-dirty, so
// the next write faults (WP-reuse of the exclusive page) and sets soft-dirty again; entries whose
// page looks pinned are skipped (MMF_HAS_PINNED && maybe_pinned, the reference behaviour of
// §3.20). The range flush completes before return, inside the tlb_flush_pending bracket (R5).
// Returns the number of entries write-protected.
long clear_refs_soft_dirty(MmEnv& env, MmStruct& mm);

}  // namespace mmusim::mm
