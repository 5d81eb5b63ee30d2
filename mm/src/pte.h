// Linux's x86 PTE helpers beyond the hardware definitions of arch/x86_paging.h: software views of
// present, PROT_NONE and swap-format entries (mm-semantics.md §1.2).
//
// Encodings follow arch/x86/include/asm/pgtable{,_64}.h:
//  * PROT_NONE: not present for the hardware, _PAGE_PROTNONE (the global bit, only meaningful in
//    a non-present entry) set, pfn and A/D/soft-dirty/uffd-wp kept. Linux's pte_present() is true
//    for it, and so is this file's.
//  * swap entry (type 0, the one swap device): offset stored inverted from bit 9 up (the L1TF
//    mitigation), type in bits 59..63; bits 1, 2 and 7 are _PAGE_SWP_SOFT_DIRTY,
//    _PAGE_SWP_UFFD_WP and _PAGE_SWP_EXCLUSIVE. Bits 0 (present) and 8 (protnone) are clear.
#pragma once

#include <cstdint>

#include "mmusim/arch/x86_paging.h"
#include "vma.h"

namespace mmusim::mm {

using x86::PteVal;

inline constexpr PteVal kPageProtNone = x86::kGlobal;  // _PAGE_PROTNONE (bit 8, non-present)
inline constexpr PteVal kSwpSoftDirty = x86::kRw;      // _PAGE_SWP_SOFT_DIRTY (bit 1)
inline constexpr PteVal kSwpUffdWp = x86::kUser;       // _PAGE_SWP_UFFD_WP (bit 2)
inline constexpr PteVal kSwpExclusive = x86::kPse;     // _PAGE_SWP_EXCLUSIVE (bit 7)
inline constexpr unsigned kSwpTypeBits = 5;
inline constexpr unsigned kSwpOffsetShift = 9 + kSwpTypeBits;  // SWP_OFFSET_SHIFT

inline constexpr bool pte_protnone(PteVal e) {
  return (e & (x86::kPresent | kPageProtNone)) == kPageProtNone;
}
// Linux's pte_present: the entry maps a frame (hardware-present or PROT_NONE).
inline constexpr bool pte_present(PteVal e) { return x86::pte_present(e) || pte_protnone(e); }
inline constexpr bool is_swap_pte(PteVal e) { return !x86::pte_none(e) && !pte_present(e); }
inline constexpr bool pte_uffd_wp(PteVal e) { return (e & x86::kSoftUffdWp) != 0; }
inline constexpr bool pte_soft_dirty(PteVal e) { return (e & x86::kSoftSoftDirty) != 0; }
// On x86 pte_mkdirty sets the soft-dirty bit too.
inline constexpr PteVal pte_mkdirty(PteVal e) { return e | x86::kDirty | x86::kSoftSoftDirty; }

// Swap entries (swp_entry_t of type 0).
inline constexpr PteVal swp_entry_to_pte(std::uint64_t offset) {
  return (~offset << kSwpOffsetShift) >> kSwpTypeBits;
}
inline constexpr std::uint64_t pte_swp_offset(PteVal e) {
  return ~(e & ~(kSwpSoftDirty | kSwpUffdWp | kSwpExclusive)) << kSwpTypeBits >> kSwpOffsetShift;
}
inline constexpr unsigned pte_swp_type(PteVal e) {
  return static_cast<unsigned>(e >> (64 - kSwpTypeBits));
}
inline constexpr bool pte_swp_soft_dirty(PteVal e) { return (e & kSwpSoftDirty) != 0; }
inline constexpr bool pte_swp_uffd_wp(PteVal e) { return (e & kSwpUffdWp) != 0; }
inline constexpr bool pte_swp_exclusive(PteVal e) { return (e & kSwpExclusive) != 0; }

static_assert(pte_swp_offset(swp_entry_to_pte(0)) == 0);
static_assert(pte_swp_offset(swp_entry_to_pte(12345) | kSwpSoftDirty | kSwpExclusive) == 12345);
static_assert(is_swap_pte(swp_entry_to_pte(0)) && pte_swp_type(swp_entry_to_pte(77)) == 0);
static_assert(!pte_protnone(swp_entry_to_pte(5)));

// mk_pte(page, vma->vm_page_prot) for a private anonymous area: x86's PAGE_COPY family is
// present, user, accessed, NX unless VM_EXEC, and never writable (the write bit is added per
// entry by maybe_mkwrite); PROT_NONE areas get PAGE_NONE (a protnone entry).
inline PteVal mk_pte(Pfn pfn, unsigned long vm_flags) {
  if (!(vm_flags & kVmAccessFlags)) return x86::pfn_pte(pfn, kPageProtNone | x86::kAccessed);
  const PteVal nx = (vm_flags & VM_EXEC) ? 0 : x86::kNx;
  return x86::pfn_pte(pfn, x86::kPresent | x86::kUser | x86::kAccessed | nx);
}

// maybe_mkwrite: the write bit only where the VMA allows writes.
inline PteVal maybe_mkwrite(PteVal e, unsigned long vm_flags) {
  return (vm_flags & VM_WRITE) ? e | x86::kRw : e;
}

}  // namespace mmusim::mm
