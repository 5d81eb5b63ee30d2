// Basic address and time types shared by every layer.
#pragma once

#include <cstdint>

namespace mmusim {

using PhysAddr = std::uint64_t;  // byte address in simulated physical memory
using VirtAddr = std::uint64_t;  // 48-bit canonical user virtual address
using Pfn = std::uint64_t;       // physical frame number (PhysAddr >> kPageShift)
using Cycles = std::uint64_t;    // simulated core clock cycles
using CpuId = unsigned;          // 0 .. cores-1
using Pcid = std::uint16_t;      // 12-bit process-context identifier (CR3[11:0])

inline constexpr unsigned kPageShift = 12;
inline constexpr std::uint64_t kPageSize = 1ull << kPageShift;  // 4 KiB base page
inline constexpr std::uint64_t kPageMask = ~(kPageSize - 1);
inline constexpr Pcid kPcidMask = 0xfff;

constexpr Pfn phys_to_pfn(PhysAddr pa) { return pa >> kPageShift; }
constexpr PhysAddr pfn_to_phys(Pfn pfn) { return pfn << kPageShift; }
constexpr VirtAddr page_align_down(VirtAddr va) { return va & kPageMask; }

}  // namespace mmusim
