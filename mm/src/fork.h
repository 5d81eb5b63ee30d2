// fork's address-space copy (mm-semantics.md §3.11).
#pragma once

#include "mm_env.h"
#include "mm_struct.h"

namespace mmusim::mm {

// dup_mmap: copies the VMAs of `oldmm` into the empty `mm` (VM_DONTCOPY areas are skipped,
// VM_WIPEONFORK areas come empty) and, for VMAs with an anon_vma, their page tables
// (copy_page_range inside the write_protect_seq bracket): present entries are shared R/O
// (copy_present_pte, page_try_dup_anon_rmap) or, for maybe-pinned exclusive pages, copied for
// the child at once; swap entries gain a slot reference. Then the whole parent mm is flushed
// before returning (R3), on success and on failure. Returns 0 or -ENOMEM; on failure `mm` holds
// what was built so far and the caller tears it down like an exit.
int dup_mmap(MmEnv& env, MmStruct& oldmm, MmStruct& mm);

}  // namespace mmusim::mm
