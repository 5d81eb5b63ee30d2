// One TLB structure (L1 iTLB, L1 dTLB or the unified STLB): up to three set-associative arrays
// looked up in parallel, tagged with the page number and the 12-bit PCID; a global entry (PTE.G)
// matches every PCID (SDM vol. 3A §4.10.2, §4.10.4).
//
// Page sizes and indexing: each array holds the sizes of its TlbArrayParams::page_sizes mask.
// An entry of size S sits in set (VA >> shift(S)) mod sets, i.e. it is indexed by its own page
// number, so an array holding 4 KiB + 2 MiB indexes 4 KiB entries with the 4 KiB VPN and 2 MiB
// entries with the 2 MiB page number, and a lookup probes one set per size it holds. A fill goes
// to the first array (in TlbParams order) holding the entry's size (a later array naming the
// same size is never filled); a structure with no such array does not cache that size. A lookup
// therefore probes, for each size, that one array: at most three sets (sizes of which no entry
// is valid are not probed).
//
// Invariant (asserted): at most one valid entry matches a (PCID, VA) pair. fill() keeps it by
// dropping every entry the new one would shadow (overlapping pages of the same PCID, or where
// either entry is global); one with the same tag is replaced in place.
//
// Replacement: one TlbParams::replacement policy for the structure, state per array; an invalid
// way is always chosen first.
//
// Hit cache (the MMU's L1-hit fast path, Mmu::translate): a few recently hit ways, direct-mapped
// by the 4 KiB page number of the address looked up, each with the (PCID, 4 KiB page) that hit
// it and the access classes the MMU found the entry usable for (mark_hit_usable). lookup_cached()
// answers a repeated hit from it without probing the arrays, with everything lookup() does: the
// hit counted by type and by size, and the same replacement update of the same way. Any change
// of the arrays' contents (fill, invalidation) empties the cache.
#pragma once

#include <array>
#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mmusim/arch/types.h"
#include "mmusim/machine/core_interfaces.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/machine/replacement.h"
#include "mmusim/machine/tlb_entry.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine {

class Tlb {
 public:
  // Registers its statistics in a child group `name` of `parent`. `seed` feeds random
  // replacement (Mmu passes replacement_seed(config.seed, cpu, name)). std::invalid_argument for
  // a geometry MachineConfig::validate() would reject.
  Tlb(const TlbParams& params, stats::Group& parent, const std::string& name,
      std::uint64_t seed = 0);
  Tlb(const Tlb&) = delete;
  Tlb& operator=(const Tlb&) = delete;

  const std::string& name() const { return name_; }
  Cycles hit_cycles() const { return params_.hit_cycles; }
  Replacement replacement() const { return params_.replacement; }
  // True if some array holds pages of size `s`.
  bool holds(PageSize s) const { return probe_of_[page_size_index(s)] >= 0; }
  // Total entries over the arrays.
  unsigned capacity() const;

  // Timed lookup: counts a hit (hits.<type> and hits.<size>) or a miss (misses.<type>); a hit
  // becomes most recently used.
  std::optional<TlbEntry> lookup(Pcid pcid, VirtAddr va, AccessType type) {
    pcid &= kPcidMask;
    const Hit hit = find(pcid, va);
    const unsigned t = static_cast<unsigned>(type);
    if (hit.slot == nullptr) {
      stats_.misses_by_type[t]->inc();
      return std::nullopt;
    }
    const TlbEntry& e = hit.slot->entry;
    stats_.hits_by_type[t]->inc();
    stats_.hits_by_size[page_size_index(e.size)]->inc();
    arrays_[hit.array].policy.touch(hit.set, hit.way);
    cache_hit(pcid, va, hit);
    return e;
  }

  // The hit cache (see the header comment). `use` names an access class (an AccessType and a
  // privilege, numbered by the caller, < 8). If a way cached for va's page matches (pcid, va) and
  // was marked usable for `use`, does what lookup() would on that hit and sets `pa` to va's
  // translation; otherwise returns false and changes nothing (the caller then calls lookup()).
  bool lookup_cached(Pcid pcid, VirtAddr va, AccessType type, unsigned use, PhysAddr& pa) {
    const unsigned slot = hit_slot(va);
    const CachedHit& c = hit_cache_[slot];
    if (((hit_usable_[slot] >> use) & 1u) == 0 || hit_key(pcid, va) != c.key) return false;
    hits_of(type).inc();  // a member, not through hits_by_type: `type` is a constant here
    c.size_hits->inc();
    if (c.lru_stamp != nullptr)
      c.policy->touch_lru(c.lru_stamp);
    else
      c.policy->touch(c.set, c.way);
    pa = c.frame | (va & c.offset_mask);
    return true;
  }
  // The page_shift of the entry that lookup_cached() last answered for `va`'s page.
  unsigned cached_page_shift(VirtAddr va) const { return hit_cache_[hit_slot(va)].shift; }
  // The entry that the last lookup(), of `va`, hit may complete accesses of class `use` through
  // lookup_cached(). Only right after that lookup() (no fill or invalidation in between).
  void mark_hit_usable(VirtAddr va, unsigned use) {
    hit_usable_[hit_slot(va)] |= static_cast<std::uint8_t>(1u << use);
  }

  // A miss of this structure was resolved (by a lower level or a walk) to a page of size `s`:
  // counts misses.<size>. Misses that end in #PF have no size and are counted by type only.
  void record_miss_size(PageSize s) { stats_.misses_by_size[page_size_index(s)]->inc(); }
  // Untimed look (checkers, tests): no statistics, no replacement update.
  std::optional<TlbEntry> probe(Pcid pcid, VirtAddr va) const;
  // Installs the translation of the page containing `va` (entry.size) as most recently used;
  // counts fills, and evictions when a valid victim is replaced. A no-op if no array holds
  // entry.size.
  void fill(Pcid pcid, VirtAddr va, const TlbEntry& entry);
  // fill() for a translation whose lookup of (pcid, va) has just missed, with no fill or
  // invalidation since (the MMU's fills after a miss): the same result with less searching, as
  // no entry can be shadowed but smaller pages inside the new one (asserted in debug builds).
  void fill_after_miss(Pcid pcid, VirtAddr va, const TlbEntry& entry);

  // Invalidation operations (SDM vol. 3A §4.10.4.1). Each counts one operation under
  // invalidations.<op> and the entries it drops under entries_invalidated. "Entries for va" are
  // those of any page size whose page contains va.
  void invlpg(Pcid pcid, VirtAddr va);           // invlpg: for va in pcid, and global for va
  void invpcid_address(Pcid pcid, VirtAddr va);  // invpcid_address: for va in pcid, not global
  void invpcid_single(Pcid pcid);                // invpcid_single: non-global entries of pcid
  void invpcid_all(bool include_global);         // invpcid_all: all (type 2) / non-global (3)
  void write_cr3(Pcid pcid);  // cr3: MOV CR3 without no-flush: non-global entries of pcid
  void invalidate_for_fault(Pcid pcid, VirtAddr va);  // fault: #PF delivery (HW7), as invlpg

  // Valid entries now held (for checks and tests; untimed).
  unsigned valid_entries() const;

 private:
  // tag = page number << 3 | size << 1 | 1; an invalid way has tag 0, so one compare checks
  // validity, page number and size together.
  struct Way {
    std::uint64_t tag = 0;
    Pcid pcid = 0;
    TlbEntry entry;
  };
  struct Array {
    Array(const TlbArrayParams& p, Replacement r, std::uint64_t seed);
    unsigned ways;
    unsigned set_mask;  // sets - 1
    unsigned page_sizes;
    std::vector<Way> slots;  // sets * ways, set-major
    ReplacementPolicy policy;
    std::size_t valid = 0;   // valid ways
  };
  // Where a lookup matched: slot == nullptr on a miss.
  struct Hit {
    const Way* slot = nullptr;
    unsigned array = 0, set = 0, way = 0;
  };
  // One probe per page size held: the array that holds it.
  struct Probe {
    unsigned array;
    PageSize size;
  };
  static std::uint64_t tag_of(VirtAddr va, PageSize s) {
    return ((va >> page_shift(s)) << 3) | (std::uint64_t{page_size_index(s)} << 1) | 1;
  }
  static bool matches(const Way& w, std::uint64_t tag, Pcid pcid) {
    return w.tag == tag && (w.entry.global || w.pcid == pcid);
  }
  static unsigned set_index(const Array& a, VirtAddr va, PageSize s) {
    return static_cast<unsigned>(va >> page_shift(s)) & a.set_mask;
  }

  // The way matching (pcid, va) among the probes.
  Hit find(Pcid pcid, VirtAddr va) const;
  template <typename Pred>
  unsigned drop_va(VirtAddr va, Pred pred);
  template <typename Pred>
  unsigned drop_if(Pred pred);
  Way* drop_shadowed(Pcid pcid, VirtAddr va, const TlbEntry& entry);
  void drop_inside(Array& a, PageSize s, Pcid pcid, VirtAddr va, const TlbEntry& entry);
  void install(Array& a, unsigned set, Way* slot, Pcid pcid, VirtAddr va, const TlbEntry& entry);
  // Invalidates a valid way of array a.
  void drop(Array& a, Way& w) {
    --valid_[(w.tag >> 1) & 3];
    --a.valid;
    w.tag = 0;
  }
  // The hit cache's slot for `va`, and its update on a timed hit.
  // (PCID, 4 KiB page) as one word, so that a cached hit is checked with one comparison: the
  // page's address with the PCID (12 bits) in its offset bits. The PCID is not masked here (the
  // core keeps its PCID masked): an unmasked one's bits 12-15 fall on the page number's low 4
  // bits, which select the slot, so a key can match only the slot's own page, and the answer is
  // lookup()'s for the masked PCID (static_assert below).
  static std::uint64_t hit_key(Pcid pcid, VirtAddr va) { return (va & kPageMask) | pcid; }
  static unsigned hit_slot(VirtAddr va) {
    return static_cast<unsigned>(va >> kPageShift) & (kHitCacheSlots - 1);
  }
  void cache_hit(Pcid pcid, VirtAddr va, const Hit& hit) {
    const unsigned slot = hit_slot(va);
    CachedHit& c = hit_cache_[slot];
    // A slot still marked (no change since) for the same (PCID, page) holds this same way: keep
    // the classes marked so far.
    if (hit_usable_[slot] != 0 && c.key == hit_key(pcid, va)) return;
    const TlbEntry& e = hit.slot->entry;
    hit_usable_[slot] = 0;
    c.key = hit_key(pcid, va);
    c.shift = static_cast<std::uint8_t>(page_shift(e.size));
    c.frame = pfn_to_phys(e.pfn);
    c.offset_mask = page_bytes(e.size) - 1;
    c.size_hits = stats_.hits_by_size[page_size_index(e.size)];
    c.policy = &arrays_[hit.array].policy;
    c.lru_stamp = c.policy->lru_stamp(hit.set, hit.way);
    c.set = hit.set;
    c.way = hit.way;
  }
  stats::Scalar& hits_of(AccessType type) {
    return type == AccessType::kLoad    ? stats_.hit_load
           : type == AccessType::kStore ? stats_.hit_store
                                        : stats_.hit_fetch;
  }
  // The arrays' contents change: every cached hit is stale.
  void clear_hit_cache() { hit_usable_.fill(0); }

  std::string name_;
  TlbParams params_;
  std::vector<Array> arrays_;  // the present arrays (entries != 0), in TlbParams order
  std::array<Probe, kPageSizeCount> probes_{};
  unsigned probe_count_ = 0;
  std::array<int, kPageSizeCount> probe_of_{{-1, -1, -1}};  // array index per size, or -1
  // Valid entries per page size (all in the size's one array): a size with none is not probed.
  std::array<unsigned, kPageSizeCount> valid_{};

  // One cached hit; valid while its hit_usable_ byte is nonzero.
  struct CachedHit {
    std::uint64_t key = 0;    // hit_key() of the lookup that hit
    PhysAddr frame = 0;       // the entry's first byte
    std::uint64_t offset_mask = 0;
    stats::Scalar* size_hits = nullptr;   // hits.<size> of the entry
    ReplacementPolicy* policy = nullptr;  // its array's
    std::uint64_t* lru_stamp = nullptr;   // policy->lru_stamp(set, way)
    unsigned set = 0, way = 0;
    std::uint8_t shift = 0;  // page_shift of the entry's size
  };
  static constexpr unsigned kHitCacheSlots = 16;
  static_assert(sizeof(Pcid) == 2 && kHitCacheSlots >= (1u << (16 - 12)),
                "hit_key: an unmasked PCID's high bits must stay within the slot-index bits");
  std::array<CachedHit, kHitCacheSlots> hit_cache_{};
  // Per slot, bit `use`: lookup_cached may answer that access class; 0: the slot is empty.
  std::array<std::uint8_t, kHitCacheSlots> hit_usable_{};

  struct Stats {
    Stats(stats::Group& parent, const std::string& name);
    stats::Group group;
    stats::Group hits_group;
    stats::Scalar hit_load, hit_store, hit_fetch, hit_4k, hit_2m, hit_1g;
    stats::Group misses_group;
    stats::Scalar miss_load, miss_store, miss_fetch, miss_4k, miss_2m, miss_1g;
    stats::Formula accesses;
    stats::Scalar fills;
    stats::Scalar evictions;
    stats::Group inval_group;
    stats::Scalar inv_invlpg, inv_invpcid_address, inv_invpcid_single, inv_invpcid_all, inv_cr3,
        inv_fault;
    stats::Scalar entries_invalidated;
    // Indexed by AccessType / PageSize (no branch on the hit path).
    std::array<stats::Scalar*, 3> hits_by_type, misses_by_type;
    std::array<stats::Scalar*, kPageSizeCount> hits_by_size, misses_by_size;
  } stats_;
};

// Inline: it is the L1-hit path. Probes 4 KiB first (the common case) and stops at the first
// hit; the one-match invariant makes that the only one (checked in debug builds).
inline Tlb::Hit Tlb::find(Pcid pcid, VirtAddr va) const {
  Hit hit;
  for (unsigned p = 0; p < probe_count_; ++p) {
    const PageSize size = probes_[p].size;
    if (valid_[page_size_index(size)] == 0) continue;  // no entry of this size can match
    const Array& a = arrays_[probes_[p].array];
    const std::uint64_t tag = tag_of(va, size);
    const unsigned set = set_index(a, va, size);
    const Way* ways = &a.slots[std::size_t{set} * a.ways];
    for (unsigned w = 0; w < a.ways; ++w) {
      if (!matches(ways[w], tag, pcid)) continue;
      assert(hit.slot == nullptr && "[tlb] two entries match one (PCID, VA)");
      hit = Hit{&ways[w], probes_[p].array, set, w};
#ifdef NDEBUG
      return hit;
#endif
    }
  }
  return hit;
}

}  // namespace mmusim::machine
