// One core's address translation: L1 iTLB / dTLB, the unified L2 STLB and the page walker with
// its paging-structure caches.
//
// translate() follows x86 (SDM vol. 3A §4.10.2-§4.10.4, mm-semantics §1.9):
// - fetches look up the iTLB, loads and stores the dTLB; an L1 miss looks up the STLB, an STLB
//   miss walks. Latency = L1 hit_cycles (+ STLB hit_cycles on an L1 miss) (+ the walk);
// - a hit (L1 or STLB) that permits the access, and is not a store through an entry with D=0,
//   completes; an STLB hit fills the L1;
// - a store hitting an entry with cached D=0 re-walks so that the walker sets D in memory (HW3);
//   counted in mmu.dirty_rewalks, not as a second miss;
// - a hit that does not permit the access re-walks before raising #PF (the entry may be stale and
//   more restrictive than memory); counted in mmu.permission_rewalks; #PF only if the walk faults;
// - every successful walk fills the L1 and the STLB. There is no retried lookup after a fill:
//   translate uses the walk's result, so a walk that ends in a refill counts one miss per level.
#pragma once

#include <cstdint>

#include "mmusim/arch/types.h"
#include "mmusim/machine/core_interfaces.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/machine/page_walker.h"
#include "mmusim/machine/phys_mem.h"
#include "mmusim/machine/tlb.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine {

struct Translation {
  enum class Status : std::uint8_t { kOk, kFault };
  enum class Path : std::uint8_t {
    kHit,               // L1 hit
    kStlbHit,           // L1 miss, STLB hit (the L1 is filled from the STLB)
    kMissWalk,          // L1 and STLB miss: walked
    kDirtyRewalk,       // store through a D=0 entry (L1 or STLB): walked to set D
    kPermissionRewalk,  // a hit that did not permit the access: walked before #PF
  };
  Status status = Status::kFault;
  Path path = Path::kHit;
  PhysAddr pa = 0;               // when ok()
  std::uint32_t error_code = 0;  // #PF error code when !ok()
  Cycles cycles = 0;             // TLB lookups + any walk
  unsigned page_shift = 0;       // when ok(): 12, 21 or 30 (size of the page translated through)
  // The walk's part of `cycles` and its A/D write-backs (0 without a walk), for the core's
  // miss window (miss_window.h).
  Cycles walk_cycles = 0;
  unsigned ad_writes = 0;

  bool ok() const { return status == Status::kOk; }
  bool walked() const { return path != Path::kHit && path != Path::kStlbHit; }
};

// True if a cached translation allows the access (CR0.WP=1, no SMEP/SMAP, as the walker).
bool tlb_entry_permits(const TlbEntry& e, AccessType type, Privilege priv);

class Mmu {
 public:
  // Registers the groups "itlb", "dtlb", "stlb", "walker" (with "pml4e_cache", "pdpte_cache",
  // "pde_cache" under it) and "mmu" under `parent` (the core's group). Random replacement in
  // each TLB structure draws from replacement_seed(config.seed, cpu, <structure name>).
  Mmu(const MachineConfig& config, PhysMem& memory, stats::Group& parent, CpuId cpu);
  // Same, for cpu 0 (callers written before the multi-core machine).
  Mmu(const MachineConfig& config, PhysMem& memory, stats::Group& parent)
      : Mmu(config, memory, parent, 0) {}

  // Translates `va` for an access of `type` at `priv` in address space (cr3_root, pcid).
  // Inline: a repeated L1 hit that completes is answered from the L1's hit cache (tlb.h), with
  // the same counts, replacement update and result as the full lookup; anything else takes
  // translate_slow.
  Translation translate(PhysAddr cr3_root, Pcid pcid, VirtAddr va, AccessType type,
                        Privilege priv = Privilege::kUser) {
    Translation t;
    if (__builtin_expect(translate_cached(pcid, va, type, priv, t.pa), 1)) {
      t.status = Translation::Status::kOk;
      t.cycles = l1_for(type).hit_cycles();
      t.page_shift = l1_for(type).cached_page_shift(va);
      return t;
    }
    return translate_slow(cr3_root, pcid, va, type, priv);
  }
  // translate()'s first step alone, for the core's per-access path: true, with `pa`, if the L1's
  // hit cache answers (an L1 hit of l1_hit_cycles(type), counted as translate() counts it);
  // false, changing nothing, if translate_slow() must run.
  bool translate_cached(Pcid pcid, VirtAddr va, AccessType type, Privilege priv, PhysAddr& pa) {
    return l1_for(type).lookup_cached(pcid, va, type, use_class(type, priv), pa);
  }
  Cycles l1_hit_cycles(AccessType type) const {
    return type == AccessType::kFetch ? itlb_.hit_cycles() : dtlb_.hit_cycles();
  }
  // translate() after translate_cached() answered false.
  Translation translate_slow(PhysAddr cr3_root, Pcid pcid, VirtAddr va, AccessType type,
                             Privilege priv);

  // Invalidation operations (SDM vol. 3A §4.10.4.1), each applied to the iTLB, the dTLB, the
  // STLB and the paging-structure caches; each TLB counts the operation under
  // invalidations.<op>. Paging-structure-cache entries carry no global bit.
  //
  // INVLPG: the entries for `va` (any page size covering it) of `pcid`, the global entries for
  // `va`, and every paging-structure-cache entry of `pcid`.
  void invlpg(Pcid pcid, VirtAddr va);
  // INVPCID type 0 (individual address): as INVLPG, but global entries are kept.
  void invpcid_address(Pcid pcid, VirtAddr va);
  // INVPCID type 1 (single context): every non-global entry of `pcid`; its PWC entries.
  void invpcid_single(Pcid pcid);
  // INVPCID type 2 (include_global) / type 3 (all non-global): every TLB entry (type 3: but the
  // global ones) of every PCID, and every paging-structure-cache entry.
  void invpcid_all(bool include_global);
  // MOV to CR3 with CR4.PCIDE=1: without the no-flush bit (CR3[63]) drops the non-global TLB
  // entries and the PWC entries of `new_pcid`; with it keeps everything.
  void write_cr3(Pcid new_pcid, bool noflush);
  // #PF delivery (HW7): the faulting VA's TLB entries as INVLPG drops them, counted apart
  // (invalidations.fault), and the PWC entries of `pcid` that would translate `va`; so a
  // spurious fault is fixed by retrying (R7).
  void invalidate_for_fault(Pcid pcid, VirtAddr va);

  Tlb& itlb() { return itlb_; }
  const Tlb& itlb() const { return itlb_; }
  Tlb& dtlb() { return dtlb_; }
  const Tlb& dtlb() const { return dtlb_; }
  Tlb& stlb() { return stlb_; }
  const Tlb& stlb() const { return stlb_; }
  PageWalker& walker() { return walker_; }
  const PageWalker& walker() const { return walker_; }
  std::uint64_t faults() const { return stats_.faults.value(); }

 private:
  // The access class of the L1s' hit caches: one per (type, privilege).
  static unsigned use_class(AccessType type, Privilege priv) {
    return static_cast<unsigned>(type) * 2 + static_cast<unsigned>(priv);
  }
  Translation lookup_stlb(Tlb& l1, PhysAddr cr3_root, Pcid pcid, VirtAddr va, AccessType type,
                          Privilege priv, Translation t);
  Translation walk_and_fill(Tlb& l1, PhysAddr cr3_root, Pcid pcid, VirtAddr va, AccessType type,
                            Privilege priv, Translation t, bool after_miss);
  Tlb& l1_for(AccessType type) { return type == AccessType::kFetch ? itlb_ : dtlb_; }

  Tlb itlb_;
  Tlb dtlb_;
  Tlb stlb_;
  PageWalker walker_;

  struct Stats {
    explicit Stats(stats::Group& parent);
    stats::Group group;
    stats::Scalar faults;
    stats::Scalar dirty_rewalks;
    stats::Scalar permission_rewalks;
  } stats_;
};

}  // namespace mmusim::machine
