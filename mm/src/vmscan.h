// Reclaim of one anonymous page to swap (shrink_page_list, try_to_unmap_one: mm-semantics.md
// §3.13) and swapoff (try_to_unuse, unuse_pte: §3.14).
#pragma once

#include "mm_env.h"
#include "mm_struct.h"
#include "mmusim/mm/kernel.h"

namespace mmusim::mm {

// Reclaims the page mapped at `va` in `mm`. 0 on success; -EBUSY (maybe pinned, or
// arch_unmap_one failed), -ENOMEM (no slot), -EFAULT (no VMA, nothing present, the zero page),
// -EAGAIN (the page is locked or under writeback: reclaim keeps it for later).
long shrink_page(MmEnv& env, MmStruct& mm, VirtAddr va, const SwapOutOptions& options);

// end_page_writeback for every page under swap writeback. Returns how many completed.
long end_swap_writeback(MmEnv& env);

// Brings every swapped-out page back and retires the device. 0, -EINVAL (no active device) or
// -ENOMEM (a page could not be allocated; the entries handled so far stay present).
long try_to_unuse(MmEnv& env);

}  // namespace mmusim::mm
