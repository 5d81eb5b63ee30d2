#include "mmusim/machine/tlb.h"

#include <cassert>
#include <stdexcept>

namespace mmusim::machine {

using stats::Unit;

Tlb::Stats::Stats(stats::Group& parent, const std::string& name)
    : group(name, &parent),
      hits_group("hits", &group),
      hit_load(hits_group, "load", Unit::kCount, "lookups by loads that hit"),
      hit_store(hits_group, "store", Unit::kCount, "lookups by stores that hit"),
      hit_fetch(hits_group, "fetch", Unit::kCount, "lookups by instruction fetches that hit"),
      misses_group("misses", &group),
      miss_load(misses_group, "load", Unit::kCount, "lookups by loads that missed"),
      miss_store(misses_group, "store", Unit::kCount, "lookups by stores that missed"),
      miss_fetch(misses_group, "fetch", Unit::kCount, "lookups by instruction fetches that missed"),
      accesses(group, "accesses", Unit::kCount, "timed lookups (hits + misses)",
               [this] {
                 return static_cast<double>(hit_load.value() + hit_store.value() +
                                            hit_fetch.value() + miss_load.value() +
                                            miss_store.value() + miss_fetch.value());
               }),
      fills(group, "fills", Unit::kCount, "translations installed"),
      evictions(group, "evictions", Unit::kCount, "valid entries replaced by a fill (LRU victim)"),
      inval_group("invalidations", &group),
      inv_invlpg(inval_group, "invlpg", Unit::kCount, "INVLPG / INVPCID type 0 operations"),
      inv_fault(inval_group, "fault", Unit::kCount,
                "single-VA invalidations by #PF delivery (SDM 4.10.4.1)"),
      inv_flush_pcid(inval_group, "flush_pcid", Unit::kCount,
                     "INVPCID type 1 / MOV CR3 (no-flush clear) operations"),
      inv_flush_nonglobal(inval_group, "flush_nonglobal", Unit::kCount,
                          "INVPCID type 3 operations (all non-global entries)"),
      inv_flush_all(inval_group, "flush_all", Unit::kCount,
                    "INVPCID type 2 operations (all entries, global included)"),
      entries_invalidated(group, "entries_invalidated", Unit::kCount,
                          "valid entries dropped by invalidation operations") {}

Tlb::Tlb(const TlbParams& params, stats::Group& parent, const std::string& name)
    : params_(params), sets_(params.ways ? params.entries / params.ways : 0), stats_(parent, name) {
  if (params_.ways == 0 || sets_ == 0 || params_.entries % params_.ways != 0 ||
      (sets_ & (sets_ - 1)) != 0)
    throw std::invalid_argument(name + ": entries=" + std::to_string(params_.entries) +
                                " ways=" + std::to_string(params_.ways) +
                                " is not a power-of-two number of sets");
  ways_.resize(params_.entries);
}

const Tlb::Way* Tlb::find(Pcid pcid, std::uint64_t vpn) const {
  const Way* set = set_begin(vpn);
  const Way* hit = nullptr;
  for (unsigned w = 0; w < params_.ways; ++w) {
    if (!matches(set[w], vpn, pcid)) continue;
    assert(hit == nullptr && "[tlb] two entries match one (PCID, VA)");
    hit = &set[w];
  }
  return hit;
}

std::optional<TlbEntry> Tlb::lookup(Pcid pcid, VirtAddr va, AccessType type) {
  const std::uint64_t vpn = va >> kPageShift;
  Way* hit = const_cast<Way*>(find(pcid & kPcidMask, vpn));
  const bool is_hit = hit != nullptr;
  switch (type) {
    case AccessType::kLoad: (is_hit ? stats_.hit_load : stats_.miss_load).inc(); break;
    case AccessType::kStore: (is_hit ? stats_.hit_store : stats_.miss_store).inc(); break;
    case AccessType::kFetch: (is_hit ? stats_.hit_fetch : stats_.miss_fetch).inc(); break;
  }
  if (!is_hit) return std::nullopt;
  hit->last_use = ++clock_;
  return hit->entry;
}

std::optional<TlbEntry> Tlb::probe(Pcid pcid, VirtAddr va) const {
  const Way* hit = find(pcid & kPcidMask, va >> kPageShift);
  if (hit == nullptr) return std::nullopt;
  return hit->entry;
}

void Tlb::fill(Pcid pcid, VirtAddr va, const TlbEntry& entry) {
  pcid &= kPcidMask;
  const std::uint64_t vpn = va >> kPageShift;
  Way* set = set_begin(vpn);
  Way* slot = nullptr;
  // An entry the new one would shadow (same VPN, and same PCID or either one global) is replaced,
  // so that no lookup ever matches two entries.
  for (unsigned w = 0; w < params_.ways; ++w) {
    Way& way = set[w];
    if (!way.valid || way.vpn != vpn) continue;
    if (!(way.pcid == pcid || way.entry.global || entry.global)) continue;
    if (slot == nullptr)
      slot = &way;
    else
      way.valid = false;
  }
  if (slot == nullptr) {
    for (unsigned w = 0; w < params_.ways && slot == nullptr; ++w)
      if (!set[w].valid) slot = &set[w];
  }
  if (slot == nullptr) {
    slot = &set[0];
    for (unsigned w = 1; w < params_.ways; ++w)
      if (set[w].last_use < slot->last_use) slot = &set[w];
    stats_.evictions.inc();
  }
  *slot = Way{true, vpn, pcid, entry, ++clock_};
  stats_.fills.inc();
}

template <typename Pred>
unsigned Tlb::drop_if(Pred pred) {
  unsigned dropped = 0;
  for (Way& w : ways_) {
    if (w.valid && pred(w)) {
      w.valid = false;
      ++dropped;
    }
  }
  stats_.entries_invalidated.inc(dropped);
  return dropped;
}

unsigned Tlb::drop_va(Pcid pcid, VirtAddr va) {
  pcid &= kPcidMask;
  const std::uint64_t vpn = va >> kPageShift;
  Way* set = set_begin(vpn);
  unsigned dropped = 0;
  for (unsigned w = 0; w < params_.ways; ++w) {
    if (matches(set[w], vpn, pcid)) {
      set[w].valid = false;
      ++dropped;
    }
  }
  stats_.entries_invalidated.inc(dropped);
  return dropped;
}

void Tlb::invlpg(Pcid pcid, VirtAddr va) {
  stats_.inv_invlpg.inc();
  drop_va(pcid, va);
}

void Tlb::invalidate_for_fault(Pcid pcid, VirtAddr va) {
  stats_.inv_fault.inc();
  drop_va(pcid, va);
}

void Tlb::flush_pcid(Pcid pcid) {
  stats_.inv_flush_pcid.inc();
  pcid &= kPcidMask;
  drop_if([pcid](const Way& w) { return !w.entry.global && w.pcid == pcid; });
}

void Tlb::flush_all_nonglobal() {
  stats_.inv_flush_nonglobal.inc();
  drop_if([](const Way& w) { return !w.entry.global; });
}

void Tlb::flush_all() {
  stats_.inv_flush_all.inc();
  drop_if([](const Way&) { return true; });
}

unsigned Tlb::valid_entries() const {
  unsigned n = 0;
  for (const Way& w : ways_) n += w.valid ? 1 : 0;
  return n;
}

}  // namespace mmusim::machine
