// Private anonymous mmap, munmap, and the VMA split/merge they and mprotect/madvise use
// (mm/mmap.c).
#pragma once

#include <cstdint>

#include "mm_env.h"
#include "mm_struct.h"

namespace mmusim::mm {

// Where the kernel places mappings when it chooses (top-down below this, like mmap_base), and the
// lowest address it ever hands out or accepts for MAP_FIXED (vm.mmap_min_addr).
inline constexpr VirtAddr kMmapBase = 0x7f0000000000;
inline constexpr VirtAddr kMmapMinAddr = 0x10000;

// mmap(addr, len, prot, MAP_PRIVATE|MAP_ANONYMOUS[|MAP_FIXED]). Returns the address, -EINVAL
// (len 0, unknown prot bits, MAP_FIXED address unaligned, below kMmapMinAddr or reaching beyond
// the user VA) or -ENOMEM (len too large, no gap). MAP_FIXED first unmaps what it overlaps.
long do_mmap(MmEnv& env, MmStruct& mm, VirtAddr addr, std::uint64_t len, unsigned prot,
             bool fixed);

// The munmap syscall's checks, then do_munmap: 0 or -EINVAL.
long sys_munmap(MmEnv& env, MmStruct& mm, VirtAddr start, std::uint64_t len);

// Unmaps [start, start + len) (page aligned): removes or trims the VMAs it overlaps, zaps the
// entries, detaches the page tables no VMA covers any more, flushes, then frees pages and tables
// (R6, R11).
void do_munmap(MmEnv& env, MmStruct& mm, VirtAddr start, std::uint64_t len);

// __split_vma: the VMA strictly containing `addr` becomes two areas meeting at `addr`. No-op when
// `addr` is a VMA boundary or unmapped.
void split_vma(MmEnv& env, MmStruct& mm, VirtAddr addr);

// vma_merge for the areas overlapping [start, end] (end inclusive, so the area after the range
// is considered): each area absorbs its successor when they touch and have the same flags.
void vma_merge_range(MmEnv& env, MmStruct& mm, VirtAddr start, VirtAddr end);

}  // namespace mmusim::mm
