// A paging-structure cache (SDM vol. 3A §4.10.3): caches upper-level paging entries that point
// to a table, so that a walk can skip the levels above. Three instances per walker:
//   level 4, PML4E cache: tag PCID + VA[47:39], holds the PDPT's address;
//   level 3, PDPTE cache: tag PCID + VA[47:30], holds the PD's address;
//   level 2, PDE cache:   tag PCID + VA[47:21], holds the PT's address.
// An entry also holds the permissions accumulated from the PML4E down to the cached entry (RW
// and US ANDed, NX ORed; SDM §4.10.3.1), so that a walk starting below keeps the effective
// rights of HW1. Leaves (PS=1) are never cached here: they go to the TLBs.
//
// Set-associative (sets = entries/ways, a power of two; set index = low tag bits), true LRU.
// entries == 0 disables the cache: lookup() always misses without counting, fill() is a no-op.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mmusim/arch/types.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/machine/replacement.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine {

struct PwcEntry {
  PhysAddr table = 0;  // physical address of the next-level table
  bool writable = false;
  bool user = false;
  bool nx = false;
};

class PagingStructureCache {
 public:
  // `level`: 4 (PML4E), 3 (PDPTE) or 2 (PDE). Registers its statistics in a child group `name`
  // of `parent`. std::invalid_argument for a bad geometry or level.
  PagingStructureCache(const PwcParams& params, unsigned level, stats::Group& parent,
                       const std::string& name);

  bool enabled() const { return params_.entries != 0; }
  unsigned level() const { return level_; }
  Cycles hit_cycles() const { return params_.hit_cycles; }

  // Timed lookup (counted as a hit or a miss; a hit becomes most recently used). Only called
  // when enabled().
  std::optional<PwcEntry> lookup(Pcid pcid, VirtAddr va);
  // Untimed look (tests, checkers): no statistics, no LRU update.
  std::optional<PwcEntry> probe(Pcid pcid, VirtAddr va) const;
  // Installs the entry for the region of `va`; an entry with the same tag is replaced in place.
  void fill(Pcid pcid, VirtAddr va, const PwcEntry& entry);

  // Invalidation operations (each counted under invalidations, the entries under
  // entries_invalidated): every entry of `pcid` (INVLPG, INVPCID types 0 and 1, MOV CR3 without
  // no-flush), every entry (INVPCID types 2 and 3), or the entry of `pcid` that would be used
  // for `va` (#PF delivery).
  void invalidate_pcid(Pcid pcid);
  void invalidate_all();
  void invalidate_address(Pcid pcid, VirtAddr va);

  unsigned valid_entries() const;

 private:
  struct Way {
    bool valid = false;
    Pcid pcid = 0;
    std::uint64_t tag = 0;  // VA[47:level_shift]
    PwcEntry entry;
  };
  std::uint64_t tag_of(VirtAddr va) const;
  unsigned set_of(std::uint64_t tag) const { return static_cast<unsigned>(tag & (sets_ - 1)); }
  int find(Pcid pcid, std::uint64_t tag) const;  // way index in the tag's set, or -1

  PwcParams params_;
  unsigned level_;
  unsigned sets_ = 0;
  std::vector<Way> ways_;  // sets_ * ways, set-major
  ReplacementPolicy lru_;

  struct Stats {
    Stats(stats::Group& parent, const std::string& name);
    stats::Group group;
    stats::Scalar hits;
    stats::Scalar misses;
    stats::Scalar fills;
    stats::Scalar invalidations;
    stats::Scalar entries_invalidated;
  } stats_;
};

}  // namespace mmusim::machine
