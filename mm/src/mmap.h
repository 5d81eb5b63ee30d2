// Private anonymous mmap and the unmapping MAP_FIXED implies (mm/mmap.c).
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

// Unmaps [start, start + len) (page aligned): zaps the entries (flush before free, R6) and trims
// or splits the VMAs it overlaps.
void do_munmap(MmEnv& env, MmStruct& mm, VirtAddr start, std::uint64_t len);

}  // namespace mmusim::mm
