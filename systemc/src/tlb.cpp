#include "mmusim/machine/tlb.h"

#include <stdexcept>

namespace mmusim::machine {

using stats::Unit;

const char* page_size_name(PageSize s) {
  switch (s) {
    case PageSize::k4K: return "4k";
    case PageSize::k2M: return "2m";
    case PageSize::k1G: return "1g";
  }
  return "?";
}

// Layout (paths under the structure's group, e.g. cpu0.dtlb):
//   hits.{load,store,fetch}     timed lookups that hit, by access type (they partition the hits)
//   hits.{4k,2m,1g}             the same hits, by the size of the entry hit (another partition)
//   misses.{load,store,fetch}   timed lookups that missed, by access type
//   misses.{4k,2m,1g}           misses by the size of the page they were resolved to (STLB hit
//                               or walk); a miss ending in #PF has no size and is in none
//   accesses                    hits + misses (formula over the by-type counters)
//   fills, evictions            translations installed; valid victims replaced by a fill
//   invalidations.<op>          invalidation operations, one per call, by operation
//   entries_invalidated         valid entries dropped by those operations
Tlb::Stats::Stats(stats::Group& parent, const std::string& name)
    : group(name, &parent),
      hits_group("hits", &group),
      hit_load(hits_group, "load", Unit::kCount, "lookups by loads that hit"),
      hit_store(hits_group, "store", Unit::kCount, "lookups by stores that hit"),
      hit_fetch(hits_group, "fetch", Unit::kCount, "lookups by instruction fetches that hit"),
      hit_4k(hits_group, "4k", Unit::kCount, "lookups that hit a 4 KiB entry"),
      hit_2m(hits_group, "2m", Unit::kCount, "lookups that hit a 2 MiB entry"),
      hit_1g(hits_group, "1g", Unit::kCount, "lookups that hit a 1 GiB entry"),
      misses_group("misses", &group),
      miss_load(misses_group, "load", Unit::kCount, "lookups by loads that missed"),
      miss_store(misses_group, "store", Unit::kCount, "lookups by stores that missed"),
      miss_fetch(misses_group, "fetch", Unit::kCount, "lookups by instruction fetches that missed"),
      miss_4k(misses_group, "4k", Unit::kCount,
              "misses resolved (by a lower TLB level or a walk) to a 4 KiB page"),
      miss_2m(misses_group, "2m", Unit::kCount,
              "misses resolved (by a lower TLB level or a walk) to a 2 MiB page"),
      miss_1g(misses_group, "1g", Unit::kCount,
              "misses resolved (by a lower TLB level or a walk) to a 1 GiB page"),
      accesses(group, "accesses", Unit::kCount, "timed lookups (hits + misses)",
               [this] {
                 return static_cast<double>(hit_load.value() + hit_store.value() +
                                            hit_fetch.value() + miss_load.value() +
                                            miss_store.value() + miss_fetch.value());
               }),
      fills(group, "fills", Unit::kCount, "translations installed"),
      evictions(group, "evictions", Unit::kCount,
                "valid entries chosen as victim by the replacement policy on a fill"),
      inval_group("invalidations", &group),
      inv_invlpg(inval_group, "invlpg", Unit::kCount, "INVLPG operations (SDM 4.10.4.1)"),
      inv_invpcid_address(inval_group, "invpcid_address", Unit::kCount,
                          "INVPCID type 0 (individual address) operations"),
      inv_invpcid_single(inval_group, "invpcid_single", Unit::kCount,
                         "INVPCID type 1 (single context) operations"),
      inv_invpcid_all(inval_group, "invpcid_all", Unit::kCount,
                      "INVPCID type 2 (all, global included) and type 3 (all non-global) "
                      "operations"),
      inv_cr3(inval_group, "cr3", Unit::kCount,
              "MOV CR3 without the no-flush bit (drops the new PCID's non-global entries)"),
      inv_fault(inval_group, "fault", Unit::kCount,
                "single-VA invalidations by #PF delivery (SDM 4.10.4.1, HW7)"),
      entries_invalidated(group, "entries_invalidated", Unit::kCount,
                          "valid entries dropped by invalidation operations"),
      hits_by_type{&hit_load, &hit_store, &hit_fetch},
      misses_by_type{&miss_load, &miss_store, &miss_fetch},
      hits_by_size{&hit_4k, &hit_2m, &hit_1g},
      misses_by_size{&miss_4k, &miss_2m, &miss_1g} {
  static_assert(static_cast<unsigned>(AccessType::kLoad) == 0 &&
                    static_cast<unsigned>(AccessType::kStore) == 1 &&
                    static_cast<unsigned>(AccessType::kFetch) == 2,
                "hits_by_type is indexed by AccessType");
}

namespace {

std::string check_array(const std::string& name, unsigned i, const TlbArrayParams& a) {
  const std::string n = name + ".array" + std::to_string(i);
  if (a.ways == 0) return n + ".ways must be nonzero";
  const unsigned sets = a.entries / a.ways;
  if (a.entries % a.ways != 0 || (sets & (sets - 1)) != 0)
    return n + ": entries=" + std::to_string(a.entries) + " ways=" + std::to_string(a.ways) +
           " is not a power-of-two number of sets";
  if (a.page_sizes == 0 || (a.page_sizes & ~unsigned{kPage4K | kPage2M | kPage1G}) != 0)
    return n + ".page_sizes must name at least one of 4k, 2m, 1g";
  return {};
}

}  // namespace

Tlb::Array::Array(const TlbArrayParams& p, Replacement r, std::uint64_t seed)
    : ways(p.ways),
      set_mask(p.entries / p.ways - 1),
      page_sizes(p.page_sizes),
      slots(p.entries),
      policy(r, p.entries / p.ways, p.ways, seed) {}

Tlb::Tlb(const TlbParams& params, stats::Group& parent, const std::string& name,
         std::uint64_t seed)
    : name_(name), params_(params), stats_(parent, name) {
  for (unsigned i = 0; i < TlbParams::kArrays; ++i) {
    const TlbArrayParams& a = params_.arrays[i];
    if (a.entries == 0) continue;
    if (std::string e = check_array(name, i, a); !e.empty()) throw std::invalid_argument(e);
    // Each array draws its own stream, so that arrays do not perturb each other's victims.
    arrays_.emplace_back(a, params_.replacement, SplitMix64(seed + i).next());
  }
  if (arrays_.empty()) throw std::invalid_argument(name + " has no array with nonzero entries");
  // One probe per size, into the first array holding it, 4 KiB first (the common hit).
  for (unsigned s = 0; s < kPageSizeCount; ++s) {
    const PageSize size = static_cast<PageSize>(s);
    for (unsigned i = 0; i < arrays_.size(); ++i) {
      if ((arrays_[i].page_sizes & page_size_bit(size)) == 0) continue;
      probe_of_[s] = static_cast<int>(i);
      probes_[probe_count_++] = Probe{i, size};
      break;
    }
  }
}

unsigned Tlb::capacity() const {
  unsigned n = 0;
  for (const Array& a : arrays_) n += static_cast<unsigned>(a.slots.size());
  return n;
}

std::optional<TlbEntry> Tlb::probe(Pcid pcid, VirtAddr va) const {
  const Hit hit = find(pcid & kPcidMask, va);
  if (hit.slot == nullptr) return std::nullopt;
  return hit.slot->entry;
}

// Drops the conflicting entries of size s (smaller than the new entry, in array a) whose pages
// lie inside the new entry's page: 2^(new_shift - shift(s)) page numbers from `first`.
void Tlb::drop_inside(Array& a, PageSize s, Pcid pcid, VirtAddr va, const TlbEntry& entry) {
  const unsigned new_shift = page_shift(entry.size);
  const std::uint64_t pages = 1ull << (new_shift - page_shift(s));
  const std::uint64_t first = (va >> new_shift) << (new_shift - page_shift(s));
  const std::uint64_t size_bits = (std::uint64_t{page_size_index(s)} << 1) | 1;
  const std::uint64_t sets = std::uint64_t{a.set_mask} + 1;
  const std::uint64_t scan = pages < sets ? pages : sets;
  for (std::uint64_t i = 0; i < scan; ++i) {
    Way* ways = &a.slots[static_cast<std::size_t>((first + i) & a.set_mask) * a.ways];
    for (unsigned w = 0; w < a.ways; ++w) {
      const std::uint64_t vpn = ways[w].tag >> 3;
      if ((ways[w].tag & 7) == size_bits && vpn - first < pages &&
          (ways[w].pcid == pcid || ways[w].entry.global || entry.global))
        drop(a, ways[w]);
    }
  }
}

// Drops every entry the new one would shadow: a page overlapping the new page, of the same PCID
// or with either entry global (such an entry would match a (PCID, VA) the new one matches).
// Returns the way to fill in the new entry's set: the first entry with the new entry's own tag
// (overwritten in place), else the first invalid way once the drops are done, else null (the
// set is full). Sizes of which no entry is valid are skipped: none of their ways can overlap.
Tlb::Way* Tlb::drop_shadowed(Pcid pcid, VirtAddr va, const TlbEntry& entry) {
  const auto conflicts = [&](const Way& w) {
    return w.pcid == pcid || w.entry.global || entry.global;
  };
  const unsigned new_shift = page_shift(entry.size);
  for (unsigned p = 0; p < probe_count_; ++p) {
    const PageSize s = probes_[p].size;
    if (s == entry.size || valid_[page_size_index(s)] == 0) continue;  // own size: below
    Array& a = arrays_[probes_[p].array];
    if (page_shift(s) < new_shift) {
      drop_inside(a, s, pcid, va, entry);
      continue;
    }
    // The one larger page of size s that contains va, in its one set.
    const std::uint64_t tag = tag_of(va, s);
    Way* ways = &a.slots[std::size_t{set_index(a, va, s)} * a.ways];
    for (unsigned w = 0; w < a.ways; ++w)
      if (ways[w].tag == tag && conflicts(ways[w])) drop(a, ways[w]);
  }
  // The new entry's own size, last, in the set it goes to: an overlapping page of the same size
  // is the same page (same tag). The first such entry is kept for the fill, any other dropped;
  // each way's final state is known when it is passed, so the first invalid way is found in the
  // same pass.
  Array& a = arrays_[static_cast<unsigned>(probe_of_[page_size_index(entry.size)])];
  const std::uint64_t tag = tag_of(va, entry.size);
  Way* ways = &a.slots[std::size_t{set_index(a, va, entry.size)} * a.ways];
  Way* same_tag = nullptr;
  Way* invalid = nullptr;
  for (unsigned w = 0; w < a.ways; ++w) {
    if (ways[w].tag == tag && conflicts(ways[w])) {
      if (same_tag == nullptr) {
        same_tag = &ways[w];
        continue;
      }
      drop(a, ways[w]);
    }
    if (invalid == nullptr && ways[w].tag == 0) invalid = &ways[w];
  }
  return same_tag != nullptr ? same_tag : invalid;
}

// Writes the new entry into `slot` of `set` (null: the replacement policy's victim, counted as
// an eviction) as most recently used.
void Tlb::install(Array& a, unsigned set, Way* slot, Pcid pcid, VirtAddr va,
                  const TlbEntry& entry) {
  Way* ways = &a.slots[std::size_t{set} * a.ways];
  if (slot == nullptr) {
    slot = &ways[a.policy.victim(set)];
    stats_.evictions.inc();
  }
  if (slot->tag != 0) {  // replaced in place, or evicted
    --valid_[page_size_index(slot->entry.size)];
    --a.valid;
  }
  *slot = Way{tag_of(va, entry.size), pcid, entry};
  ++valid_[page_size_index(entry.size)];
  ++a.valid;
  a.policy.touch(set, static_cast<unsigned>(slot - ways));
  stats_.fills.inc();
}

void Tlb::fill(Pcid pcid, VirtAddr va, const TlbEntry& entry) {
  const int ai = probe_of_[page_size_index(entry.size)];
  if (ai < 0) return;  // no array holds this size
  pcid &= kPcidMask;
  assert((entry.pfn & ((page_bytes(entry.size) >> kPageShift) - 1)) == 0 &&
         "[tlb] huge-page frame not aligned to its size");
  Array& a = arrays_[static_cast<unsigned>(ai)];
  clear_hit_cache();
  Way* slot = drop_shadowed(pcid, va, entry);
  install(a, set_index(a, va, entry.size), slot, pcid, va, entry);
}

// No entry matches (pcid, va): any entry of the new one's size or larger that it would shadow
// would match (pcid, va) itself (same tag, and of the same PCID or global, the new entry being
// non-global), so there is none, and none to replace in place; only smaller pages inside the new
// one may need dropping. The first invalid way of the set is the way fill() would pick; a full
// array has none.
void Tlb::fill_after_miss(Pcid pcid, VirtAddr va, const TlbEntry& entry) {
  const int ai = probe_of_[page_size_index(entry.size)];
  if (ai < 0) return;  // no array holds this size
  if (entry.global) {
    fill(pcid, va, entry);
    return;
  }
  pcid &= kPcidMask;
  assert((entry.pfn & ((page_bytes(entry.size) >> kPageShift) - 1)) == 0 &&
         "[tlb] huge-page frame not aligned to its size");
  assert(find(pcid, va).slot == nullptr && "[tlb] fill_after_miss of a cached (PCID, VA)");
  Array& a = arrays_[static_cast<unsigned>(ai)];
  clear_hit_cache();
  const unsigned new_shift = page_shift(entry.size);
  for (unsigned p = 0; p < probe_count_; ++p) {
    const PageSize s = probes_[p].size;
    if (page_shift(s) < new_shift && valid_[page_size_index(s)] != 0)
      drop_inside(arrays_[probes_[p].array], s, pcid, va, entry);
  }
  const unsigned set = set_index(a, va, entry.size);
  Way* slot = nullptr;
  if (a.valid < a.slots.size()) {
    Way* ways = &a.slots[std::size_t{set} * a.ways];
    for (unsigned w = 0; w < a.ways; ++w) {
      if (ways[w].tag == 0) {
        slot = &ways[w];
        break;
      }
    }
  }
  install(a, set, slot, pcid, va, entry);
}

// Drops the entries whose page contains `va` (one set per probe) and that satisfy `pred`.
template <typename Pred>
unsigned Tlb::drop_va(VirtAddr va, Pred pred) {
  clear_hit_cache();
  unsigned dropped = 0;
  for (unsigned p = 0; p < probe_count_; ++p) {
    const PageSize s = probes_[p].size;
    if (valid_[page_size_index(s)] == 0) continue;  // no entry of this size
    Array& a = arrays_[probes_[p].array];
    const std::uint64_t tag = tag_of(va, s);
    Way* ways = &a.slots[std::size_t{set_index(a, va, s)} * a.ways];
    for (unsigned w = 0; w < a.ways; ++w) {
      if (ways[w].tag != tag || !pred(ways[w])) continue;
      drop(a, ways[w]);
      ++dropped;
    }
  }
  stats_.entries_invalidated.inc(dropped);
  return dropped;
}

template <typename Pred>
unsigned Tlb::drop_if(Pred pred) {
  clear_hit_cache();
  unsigned dropped = 0;
  for (Array& a : arrays_) {
    for (Way& w : a.slots) {
      if (w.tag == 0 || !pred(w)) continue;
      drop(a, w);
      ++dropped;
    }
  }
  stats_.entries_invalidated.inc(dropped);
  return dropped;
}

// INVLPG: "invalidates any TLB entries for the page [...] associated with the current PCID", and
// global entries for it regardless of PCID (SDM vol. 2A INVLPG, vol. 3A §4.10.4.1).
void Tlb::invlpg(Pcid pcid, VirtAddr va) {
  stats_.inv_invlpg.inc();
  pcid &= kPcidMask;
  drop_va(va, [pcid](const Way& w) { return w.entry.global || w.pcid == pcid; });
}

// INVPCID type 0: the address's mappings for the PCID "except global translations".
void Tlb::invpcid_address(Pcid pcid, VirtAddr va) {
  stats_.inv_invpcid_address.inc();
  pcid &= kPcidMask;
  drop_va(va, [pcid](const Way& w) { return !w.entry.global && w.pcid == pcid; });
}

// INVPCID type 1: every mapping of the PCID except global translations.
void Tlb::invpcid_single(Pcid pcid) {
  stats_.inv_invpcid_single.inc();
  pcid &= kPcidMask;
  drop_if([pcid](const Way& w) { return !w.entry.global && w.pcid == pcid; });
}

// INVPCID type 2 (all contexts, global included) / type 3 (all contexts except globals).
void Tlb::invpcid_all(bool include_global) {
  stats_.inv_invpcid_all.inc();
  drop_if([include_global](const Way& w) { return include_global || !w.entry.global; });
}

// MOV to CR3, CR4.PCIDE=1, CR3[63]=0: the new PCID's non-global entries (SDM §4.10.4.1).
void Tlb::write_cr3(Pcid pcid) {
  stats_.inv_cr3.inc();
  pcid &= kPcidMask;
  drop_if([pcid](const Way& w) { return !w.entry.global && w.pcid == pcid; });
}

// #PF delivery invalidates the faulting address's entries as INVLPG would (SDM §4.10.4.1).
void Tlb::invalidate_for_fault(Pcid pcid, VirtAddr va) {
  stats_.inv_fault.inc();
  pcid &= kPcidMask;
  drop_va(va, [pcid](const Way& w) { return w.entry.global || w.pcid == pcid; });
}

unsigned Tlb::valid_entries() const {
  unsigned n = 0;
  for (const Array& a : arrays_)
    for (const Way& w : a.slots) n += w.tag != 0 ? 1 : 0;
  assert(n == valid_[0] + valid_[1] + valid_[2] && "[tlb] per-size valid counts drifted");
#ifndef NDEBUG
  for (const Array& a : arrays_) {
    unsigned in_array = 0;
    for (const Way& w : a.slots) in_array += w.tag != 0 ? 1 : 0;
    assert(in_array == a.valid && "[tlb] per-array valid count drifted");
  }
#endif
  return n;
}

}  // namespace mmusim::machine
