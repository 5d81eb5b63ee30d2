// Translation lookaside buffer: set-associative, true LRU, 4 KiB pages, tagged with the VPN and
// the 12-bit PCID; a global entry (PTE.G) matches every PCID (SDM vol. 3A §4.10.2, §4.10.4).
// The set index is the low VPN bits; the PCID does not take part in indexing.
//
// Invariant (checked): at most one valid entry matches a (PCID, VA) pair. fill() keeps it by
// replacing an entry that would match the new one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mmusim/arch/types.h"
#include "mmusim/machine/core_interfaces.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine {

// What a TLB entry caches of a walk: the frame and the effective permissions (ANDed/ORed over
// the four levels, HW1), the leaf's dirty state as cached at fill time, and the leaf's G bit.
struct TlbEntry {
  Pfn pfn = 0;
  bool writable = false;
  bool user = false;
  bool nx = false;
  bool dirty = false;
  bool global = false;
};

class Tlb {
 public:
  // Registers its statistics in a child group `name` of `parent`.
  Tlb(const TlbParams& params, stats::Group& parent, const std::string& name);

  unsigned entries() const { return params_.entries; }
  unsigned ways() const { return params_.ways; }
  unsigned sets() const { return sets_; }
  Cycles hit_cycles() const { return params_.hit_cycles; }

  // Timed lookup: on a hit, makes the entry most recently used. Counts a hit or a miss under the
  // access type.
  std::optional<TlbEntry> lookup(Pcid pcid, VirtAddr va, AccessType type);
  // Untimed look (checkers, tests): no statistics, no LRU update.
  std::optional<TlbEntry> probe(Pcid pcid, VirtAddr va) const;
  // Installs a translation (most recently used). An entry matching the same (PCID, VA) is
  // replaced in place; otherwise the victim is an invalid way, else the least recently used one.
  void fill(Pcid pcid, VirtAddr va, const TlbEntry& entry);

  // Invalidations. Each counts one operation under invalidations.<kind> and the entries it drops
  // under entries_invalidated.
  // INVLPG / INVPCID type 0: the entry for `va` in `pcid`, and a global entry for `va`. (INVLPG
  // drops global entries for its address; INVPCID type 0 strictly keeps them. Machine::invlpg
  // uses the INVLPG behaviour for both, which only ever drops more.)
  void invlpg(Pcid pcid, VirtAddr va);
  // #PF delivery (SDM §4.10.4.1, HW7): the faulting VA's entries as INVLPG would drop them;
  // counted apart (invalidations.fault) from the OS's INVLPGs.
  void invalidate_for_fault(Pcid pcid, VirtAddr va);
  // INVPCID type 1, and MOV CR3 without the no-flush bit: every non-global entry of `pcid`.
  void flush_pcid(Pcid pcid);
  // INVPCID type 3 (and MOV CR3 with CR4.PCIDE=0): every non-global entry of every PCID.
  void flush_all_nonglobal();
  // INVPCID type 2: every entry, global ones included.
  void flush_all();

  // Valid entries now held (for checks and tests; untimed).
  unsigned valid_entries() const;

 private:
  struct Way {
    bool valid = false;
    std::uint64_t vpn = 0;
    Pcid pcid = 0;
    TlbEntry entry;
    std::uint64_t last_use = 0;  // LRU stamp: larger is more recent
  };
  unsigned set_of(std::uint64_t vpn) const { return static_cast<unsigned>(vpn & (sets_ - 1)); }
  Way* set_begin(std::uint64_t vpn) { return &ways_[std::size_t{set_of(vpn)} * params_.ways]; }
  const Way* set_begin(std::uint64_t vpn) const {
    return &ways_[std::size_t{set_of(vpn)} * params_.ways];
  }
  static bool matches(const Way& w, std::uint64_t vpn, Pcid pcid) {
    return w.valid && w.vpn == vpn && (w.entry.global || w.pcid == pcid);
  }
  const Way* find(Pcid pcid, std::uint64_t vpn) const;
  unsigned drop_va(Pcid pcid, VirtAddr va);
  template <typename Pred>
  unsigned drop_if(Pred pred);

  TlbParams params_;
  unsigned sets_;
  std::vector<Way> ways_;  // sets_ * ways, set-major
  std::uint64_t clock_ = 0;

  struct Stats {
    Stats(stats::Group& parent, const std::string& name);
    stats::Group group;
    stats::Group hits_group;
    stats::Scalar hit_load, hit_store, hit_fetch;
    stats::Group misses_group;
    stats::Scalar miss_load, miss_store, miss_fetch;
    stats::Formula accesses;
    stats::Scalar fills;
    stats::Scalar evictions;
    stats::Group inval_group;
    stats::Scalar inv_invlpg, inv_fault, inv_flush_pcid, inv_flush_nonglobal, inv_flush_all;
    stats::Scalar entries_invalidated;
  } stats_;
};

}  // namespace mmusim::machine
