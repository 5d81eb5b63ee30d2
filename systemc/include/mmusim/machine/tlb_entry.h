// What a TLB entry holds, shared by the TLB structures, the page walker that produces entries and
// the MMU that consumes them.
#pragma once

#include <cstdint>

#include "mmusim/arch/types.h"
#include "mmusim/machine/machine_config.h"

namespace mmusim::machine {

// The three x86-64 page sizes (SDM vol. 3A §4.5): a PTE maps 4 KiB, a PDE with PS=1 2 MiB, a
// PDPTE with PS=1 1 GiB. The value is the index used by per-size statistics.
enum class PageSize : std::uint8_t { k4K = 0, k2M = 1, k1G = 2 };
inline constexpr unsigned kPageSizeCount = 3;

constexpr unsigned page_size_index(PageSize s) { return static_cast<unsigned>(s); }
// log2 of the page size: 12, 21, 30.
constexpr unsigned page_shift(PageSize s) { return kPageShift + 9 * page_size_index(s); }
constexpr std::uint64_t page_bytes(PageSize s) { return 1ull << page_shift(s); }
// The PageSizeBit of TlbArrayParams::page_sizes that names `s`.
constexpr unsigned page_size_bit(PageSize s) { return 1u << page_size_index(s); }
const char* page_size_name(PageSize s);  // "4k", "2m", "1g"

// What a TLB entry caches of a walk: the page's first 4 KiB frame and its size, the effective
// permissions (RW/US ANDed, NX ORed over the levels used, HW1), the leaf's dirty state as cached
// at fill time, and the leaf's G bit.
struct TlbEntry {
  Pfn pfn = 0;  // first 4 KiB frame of the page (2 MiB / 1 GiB aligned for huge pages)
  PageSize size = PageSize::k4K;
  bool writable = false;
  bool user = false;
  bool nx = false;
  bool dirty = false;
  bool global = false;

  // Physical address of `va` through this entry.
  PhysAddr translate(VirtAddr va) const {
    return pfn_to_phys(pfn) | (va & (page_bytes(size) - 1));
  }
};

}  // namespace mmusim::machine
