// x86-64 4-level page-table walker (SDM vol. 3A §4.5) with paging-structure caches (§4.10.3).
//
// A walk consults the PDE cache, then the PDPTE cache, then the PML4E cache (deepest first; each
// enabled cache consulted costs its hit_cycles, a disabled one is skipped), and reads the
// remaining entries from physical memory: after a PDE-cache hit only the PTE, after a PDPTE hit
// the PDE and PTE, after a PML4E hit three entries, otherwise all four. A PS=1 PDPTE is a 1 GiB
// leaf and a PS=1 PDE a 2 MiB leaf. It computes the effective permissions (RW and US ANDed, NX
// ORed across the levels, HW1; a cached entry carries those of the levels above it), classifies
// faults with the #PF error code (SDM §4.7), and on success sets the Accessed bits of the entries
// it read and the leaf's Dirty bit for a permitted store (SDM §4.8) as locked read-modify-writes
// (HW3).
//
// Cost: walk_start_cycles + hit_cycles of each cache consulted + pte_reads * read_cycles +
// ad_writes * write_cycles.
//
// Paging-structure-cache fills: every non-leaf entry read from memory by the walk that is
// present, free of reserved bits and has its Accessed bit set (in memory, or by this walk) is
// cached with the permissions accumulated down to it, as SDM §4.10.3.1 allows. A faulting walk
// sets no A bit, so it caches only entries whose A bit was already set.
//
// Modelled control state: CR0.WP=1 (supervisor writes honour RW), EFER.NXE=1 (bit 63 is NX,
// not reserved), CR4.SMEP=SMAP=0, CR4.PCIDE=1, MAXPHYADDR = kModelMaxPhysAddrBits (46).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "mmusim/arch/types.h"
#include "mmusim/arch/x86_paging.h"
#include "mmusim/machine/core_interfaces.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/machine/phys_mem.h"
#include "mmusim/machine/pwc.h"
#include "mmusim/machine/tlb_entry.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine {

// The privilege level of an access (CPL 3 = user, else supervisor).
enum class Privilege : std::uint8_t { kSupervisor, kUser };

// Reserved physical-address bits of a paging entry with MAXPHYADDR = 46: bits [51:46].
inline constexpr x86::PteVal kRsvdAddrBits =
    ((1ull << x86::kMaxPhysAddrBits) - 1) & ~((1ull << kModelMaxPhysAddrBits) - 1);
// Frame-address bits of a paging entry with MAXPHYADDR = 46: bits [45:12].
inline constexpr x86::PteVal kModelAddrMask = ((1ull << kModelMaxPhysAddrBits) - 1) & ~0xfffull;
// Reserved low address bits of huge leaves (SDM tables 4-17, 4-19): bit 12 is PAT, so bits
// [20:13] of a 2 MiB PDE and [29:13] of a 1 GiB PDPTE must be zero.
inline constexpr x86::PteVal kRsvd2MBits = ((1ull << 21) - 1) & ~((1ull << 13) - 1);
inline constexpr x86::PteVal kRsvd1GBits = ((1ull << 30) - 1) & ~((1ull << 13) - 1);

enum class FaultKind : std::uint8_t { kNotPresent, kProtection, kReserved };

struct WalkResult {
  enum class Status : std::uint8_t { kOk, kFault };
  Status status = Status::kFault;
  // Fault: the #PF error code (x86::kPf*) and its classification. Meaningless when ok().
  std::uint32_t error_code = 0;
  FaultKind fault = FaultKind::kNotPresent;
  unsigned fault_level = 0;  // 4 = PML4E .. 1 = PTE: the level whose entry caused the fault
  // Success: the translation, ready for a TLB fill (entry.size is the leaf's page size).
  TlbEntry entry;
  // Cost: walk_start_cycles + pwc_cycles + pte_reads * read_cycles + ad_writes * write_cycles.
  Cycles cycles = 0;
  Cycles pwc_cycles = 0;     // hit_cycles of the paging-structure caches consulted
  unsigned pte_reads = 0;
  unsigned ad_writes = 0;
  // Level of the first entry read from memory: 4 without a paging-structure-cache hit, 3 / 2 / 1
  // after a PML4E / PDPTE / PDE-cache hit (of the last attempt, if the walk restarted).
  unsigned start_level = x86::kLevels;

  bool ok() const { return status == Status::kOk; }
};

class PageWalker {
 public:
  // Registers its statistics in a child group `name` of `parent`, and the caches' groups
  // "pml4e_cache", "pdpte_cache", "pde_cache" under it.
  PageWalker(const WalkerParams& params, PhysMem& memory, stats::Group& parent,
             const std::string& name = "walker");

  // Walks the tables rooted at `cr3_root` (the PML4's physical address) of address space `pcid`
  // for an access of `type` at `priv` to `va`.
  WalkResult walk(PhysAddr cr3_root, Pcid pcid, VirtAddr va, AccessType type, Privilege priv);

  // Paging-structure-cache invalidation (SDM §4.10.4.1): every entry of `pcid` in the three
  // caches (INVLPG, INVPCID types 0/1, MOV CR3 without no-flush), or every entry (INVPCID types
  // 2/3). Counted by each enabled cache.
  void invalidate_pcid(Pcid pcid);
  void invalidate_all();
  // #PF delivery: the entries of `pcid` that would be used to translate `va` (SDM §4.10.4.1).
  void invalidate_address(Pcid pcid, VirtAddr va);

  PagingStructureCache& pml4e_cache() { return pml4e_cache_; }
  PagingStructureCache& pdpte_cache() { return pdpte_cache_; }
  PagingStructureCache& pde_cache() { return pde_cache_; }
  const PagingStructureCache& pml4e_cache() const { return pml4e_cache_; }
  const PagingStructureCache& pdpte_cache() const { return pdpte_cache_; }
  const PagingStructureCache& pde_cache() const { return pde_cache_; }

 private:
  struct Step {
    PhysAddr addr = 0;
    x86::PteVal value = 0;
  };
  // The permissions accumulated down to some level, and the table it points to.
  struct Start {
    unsigned level = x86::kLevels;  // first level to read from memory
    PwcEntry at;                    // table of that level, rights of the levels above
  };
  enum class Progress : std::uint8_t { kDone, kRetry };
  Start consult_caches(PhysAddr cr3_root, Pcid pcid, VirtAddr va, WalkResult& r);
  Progress try_walk(PhysAddr cr3_root, Pcid pcid, VirtAddr va, AccessType type, Privilege priv,
                    WalkResult& r);
  static bool reserved_bits(x86::PteVal e, unsigned level);
  bool set_accessed_dirty(const Step* steps, unsigned count, bool set_dirty, WalkResult& r);
  void fill_caches(Pcid pcid, VirtAddr va, const Step* steps, const PwcEntry* rights,
                   unsigned start_level, unsigned count, bool accessed_set);
  PagingStructureCache* cache_for(unsigned level);
  void fault(WalkResult& r, FaultKind kind, unsigned level, AccessType type, Privilege priv);
  void record(const WalkResult& r);

  WalkerParams params_;
  PhysMem& mem_;

  struct Stats {
    Stats(stats::Group& parent, const std::string& name);
    stats::Group group;
    stats::Scalar walks;
    stats::Distribution walk_cycles;
    stats::Scalar pte_reads;
    stats::Scalar ad_writes;
    stats::Group faults_group;
    stats::Scalar not_present, protection, reserved;
    stats::Group pages_group;
    stats::Scalar page_4k, page_2m, page_1g;
  } stats_;

  // After stats_: their groups hang under the walker's group.
  PagingStructureCache pml4e_cache_;
  PagingStructureCache pdpte_cache_;
  PagingStructureCache pde_cache_;
};

}  // namespace mmusim::machine
