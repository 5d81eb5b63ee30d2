// Reclaim of one anonymous page to swap (shrink_page_list, try_to_unmap_one: mm-semantics.md
// §3.13) and swapoff (try_to_unuse, unuse_pte: §3.14).
#pragma once

#include "mm_env.h"
#include "mm_struct.h"

namespace mmusim::mm {

// Reclaims the page mapped at `va` in `mm`. 0 on success; -EBUSY (maybe pinned), -ENOMEM (no
// slot), -EFAULT (no VMA, nothing present, the zero page).
long shrink_page(MmEnv& env, MmStruct& mm, VirtAddr va);

// Brings every swapped-out page back and retires the device. 0, -EINVAL (no active device) or
// -ENOMEM (a page could not be allocated; the entries handled so far stay present).
long try_to_unuse(MmEnv& env);

}  // namespace mmusim::mm
