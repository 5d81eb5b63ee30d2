// fork's address-space copy (mm-semantics.md §3.11).
#pragma once

#include "mm_env.h"
#include "mm_struct.h"

namespace mmusim::mm {

// dup_mmap: copies the VMAs of `oldmm` into the empty `mm` and, for VMAs with an anon_vma, their
// page tables (copy_page_range), write-protecting the parent's COW entries; then flushes the
// whole parent mm before returning (R3), on success and on failure. Returns 0 or -ENOMEM; on
// failure `mm` holds what was built so far and the caller tears it down like an exit.
int dup_mmap(MmEnv& env, MmStruct& oldmm, MmStruct& mm);

}  // namespace mmusim::mm
