// mprotect and madvise (mm-semantics.md §3.12, §3.11 VM_DONTCOPY/VM_WIPEONFORK, §3.19).
#pragma once

#include <cstdint>

#include "mm_env.h"
#include "mm_struct.h"

namespace mmusim::mm {

// mprotect(start, len, prot): 0, -EINVAL or -ENOMEM, as Kernel::mprotect documents.
long do_mprotect(MmEnv& env, MmStruct& mm, VirtAddr start, std::uint64_t len, unsigned prot);

// madvise(start, len, advice): 0, -EINVAL or -ENOMEM, as Kernel::madvise documents.
long do_madvise(MmEnv& env, MmStruct& mm, VirtAddr start, std::uint64_t len, Advice advice);

}  // namespace mmusim::mm
