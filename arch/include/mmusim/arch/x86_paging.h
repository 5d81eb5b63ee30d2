// x86-64 4-level paging: entry bits, index helpers and the #PF error code.
//
// Shared by the OS model (mm/, which writes entries) and the machine (systemc/, whose walker reads
// them), exactly as arch/x86/include/asm/pgtable_types.h is shared by Linux and documented by the
// Intel SDM vol. 3A §4.5. Software bits follow Linux's x86 assignment.
#pragma once

#include <cstdint>

#include "mmusim/arch/types.h"

namespace mmusim::x86 {

using PteVal = std::uint64_t;

// Hardware-defined bits (SDM 4.5, tables 4-15..4-20).
inline constexpr PteVal kPresent = 1ull << 0;   // _PAGE_PRESENT
inline constexpr PteVal kRw = 1ull << 1;        // _PAGE_RW: writes allowed
inline constexpr PteVal kUser = 1ull << 2;      // _PAGE_USER: user-mode access allowed
inline constexpr PteVal kPwt = 1ull << 3;
inline constexpr PteVal kPcd = 1ull << 4;
inline constexpr PteVal kAccessed = 1ull << 5;  // _PAGE_ACCESSED (set by the walker)
inline constexpr PteVal kDirty = 1ull << 6;     // _PAGE_DIRTY (leaf only; set on first store)
inline constexpr PteVal kPse = 1ull << 7;  // _PAGE_PSE: PS in PDPTE/PDE (PAT bit in a PTE)
inline constexpr PteVal kGlobal = 1ull << 8;    // _PAGE_GLOBAL (leaf only)
inline constexpr PteVal kNx = 1ull << 63;       // _PAGE_NX: no instruction fetch

// Software bits ignored by the walker, as Linux uses them on x86.
inline constexpr PteVal kSoftSpecial = 1ull << 9;     // _PAGE_SPECIAL (_PAGE_BIT_SOFTW1): no struct page
inline constexpr PteVal kSoftUffdWp = 1ull << 10;     // _PAGE_UFFD_WP (_PAGE_BIT_SOFTW2)
inline constexpr PteVal kSoftSoftDirty = 1ull << 11;  // _PAGE_SOFT_DIRTY (_PAGE_BIT_SOFTW3)

// Bits 12..51 are the architectural frame-address field; the machine model implements
// MAXPHYADDR = 46 (systemc/machine_config.h) and treats bits 51:46 as reserved.
inline constexpr unsigned kMaxPhysAddrBits = 52;
inline constexpr PteVal kAddrMask = ((1ull << kMaxPhysAddrBits) - 1) & ~0xfffull;

// Upper-level entries pointing to a table: Linux's _PAGE_TABLE (P|RW|US|A|D). Permissions are
// ANDed across levels by the walker (HW1), so upper levels grant everything and leaves restrict.
inline constexpr PteVal kTableFlags = kPresent | kRw | kUser | kAccessed | kDirty;

constexpr Pfn pte_pfn(PteVal e) { return (e & kAddrMask) >> kPageShift; }
constexpr PteVal pfn_pte(Pfn pfn, PteVal flags) { return (pfn_to_phys(pfn) & kAddrMask) | flags; }
constexpr bool pte_present(PteVal e) { return (e & kPresent) != 0; }
constexpr bool pte_write(PteVal e) { return (e & kRw) != 0; }
constexpr bool pte_dirty(PteVal e) { return (e & kDirty) != 0; }
constexpr bool pte_young(PteVal e) { return (e & kAccessed) != 0; }
constexpr bool pte_special(PteVal e) { return (e & kSoftSpecial) != 0; }
constexpr bool pte_none(PteVal e) { return e == 0; }

// Levels, from the root: PML4 (level 4) .. PT (level 1). Each table is one 4 KiB frame of
// 512 eight-byte entries indexed by 9 VA bits.
inline constexpr unsigned kLevels = 4;
inline constexpr unsigned kEntriesPerTable = 512;
inline constexpr unsigned kPteBytes = 8;

constexpr unsigned level_shift(unsigned level) { return kPageShift + 9 * (level - 1); }
constexpr unsigned table_index(VirtAddr va, unsigned level) {
  return static_cast<unsigned>((va >> level_shift(level)) & (kEntriesPerTable - 1));
}
constexpr PhysAddr entry_addr(PhysAddr table, VirtAddr va, unsigned level) {
  return table + std::uint64_t{table_index(va, level)} * kPteBytes;
}

// User half of the 48-bit canonical address space.
inline constexpr VirtAddr kUserVaEnd = 1ull << 47;

// #PF error code (SDM 4.7).
inline constexpr std::uint32_t kPfPresent = 1u << 0;  // P: protection violation (else not-present)
inline constexpr std::uint32_t kPfWrite = 1u << 1;    // W/R: the access was a write
inline constexpr std::uint32_t kPfUser = 1u << 2;     // U/S: the access was in user mode
inline constexpr std::uint32_t kPfRsvd = 1u << 3;     // RSVD: a reserved bit was set
inline constexpr std::uint32_t kPfInstr = 1u << 4;    // I/D: the access was an instruction fetch

}  // namespace mmusim::x86
