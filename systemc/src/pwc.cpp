#include "mmusim/machine/pwc.h"

#include <stdexcept>

#include "mmusim/arch/x86_paging.h"

namespace mmusim::machine {

using stats::Unit;

PagingStructureCache::Stats::Stats(stats::Group& parent, const std::string& name)
    : group(name, &parent),
      hits(group, "hits", Unit::kCount, "walks that found the entry here and skipped the levels above"),
      misses(group, "misses", Unit::kCount, "walks that consulted this cache and missed"),
      fills(group, "fills", Unit::kCount,
            "entries installed (non-leaf, present, Accessed, read from memory by a walk)"),
      invalidations(group, "invalidations", Unit::kCount,
                    "invalidation operations applied (INVLPG, INVPCID, MOV CR3 without no-flush)"),
      entries_invalidated(group, "entries_invalidated", Unit::kCount,
                          "valid entries dropped by invalidation operations") {}

namespace {

unsigned sets_of(const PwcParams& p, const std::string& name) {
  if (p.entries == 0) return 0;
  const unsigned sets = p.ways == 0 ? 0 : p.entries / p.ways;
  if (p.ways == 0 || p.entries % p.ways != 0 || (sets & (sets - 1)) != 0)
    throw std::invalid_argument(name + ": entries=" + std::to_string(p.entries) + " ways=" +
                                std::to_string(p.ways) + " is not a power-of-two number of sets");
  return sets;
}

}  // namespace

PagingStructureCache::PagingStructureCache(const PwcParams& params, unsigned level,
                                           stats::Group& parent, const std::string& name)
    : params_(params),
      level_(level),
      sets_(sets_of(params, name)),
      ways_(params.entries),
      lru_(Replacement::kLru, sets_, params.ways, 0),
      stats_(parent, name) {
  if (level < 2 || level > 4)
    throw std::invalid_argument(name + ": level " + std::to_string(level) +
                                " has no paging-structure cache (2, 3 or 4)");
}

// VA[47:level_shift(level)]: the bits that select the cached entry and every entry above it.
std::uint64_t PagingStructureCache::tag_of(VirtAddr va) const {
  const unsigned shift = x86::level_shift(level_);
  return (va & ((1ull << 48) - 1)) >> shift;
}

int PagingStructureCache::find(Pcid pcid, std::uint64_t tag) const {
  const Way* set = &ways_[std::size_t{set_of(tag)} * params_.ways];
  for (unsigned w = 0; w < params_.ways; ++w)
    if (set[w].valid && set[w].tag == tag && set[w].pcid == pcid) return static_cast<int>(w);
  return -1;
}

std::optional<PwcEntry> PagingStructureCache::lookup(Pcid pcid, VirtAddr va) {
  if (!enabled()) return std::nullopt;
  const std::uint64_t tag = tag_of(va);
  const int w = find(pcid & kPcidMask, tag);
  if (w < 0) {
    stats_.misses.inc();
    return std::nullopt;
  }
  stats_.hits.inc();
  lru_.touch(set_of(tag), static_cast<unsigned>(w));
  return ways_[std::size_t{set_of(tag)} * params_.ways + static_cast<unsigned>(w)].entry;
}

std::optional<PwcEntry> PagingStructureCache::probe(Pcid pcid, VirtAddr va) const {
  if (!enabled()) return std::nullopt;
  const std::uint64_t tag = tag_of(va);
  const int w = find(pcid & kPcidMask, tag);
  if (w < 0) return std::nullopt;
  return ways_[std::size_t{set_of(tag)} * params_.ways + static_cast<unsigned>(w)].entry;
}

void PagingStructureCache::fill(Pcid pcid, VirtAddr va, const PwcEntry& entry) {
  if (!enabled()) return;
  pcid &= kPcidMask;
  const std::uint64_t tag = tag_of(va);
  const unsigned set = set_of(tag);
  Way* ways = &ways_[std::size_t{set} * params_.ways];
  int w = find(pcid, tag);
  for (unsigned i = 0; i < params_.ways && w < 0; ++i)
    if (!ways[i].valid) w = static_cast<int>(i);
  if (w < 0) w = static_cast<int>(lru_.victim(set));
  ways[w] = Way{true, pcid, tag, entry};
  lru_.touch(set, static_cast<unsigned>(w));
  stats_.fills.inc();
}

void PagingStructureCache::invalidate_pcid(Pcid pcid) {
  if (!enabled()) return;
  pcid &= kPcidMask;
  stats_.invalidations.inc();
  unsigned dropped = 0;
  for (Way& w : ways_) {
    if (!w.valid || w.pcid != pcid) continue;
    w.valid = false;
    ++dropped;
  }
  stats_.entries_invalidated.inc(dropped);
}

void PagingStructureCache::invalidate_all() {
  if (!enabled()) return;
  stats_.invalidations.inc();
  unsigned dropped = 0;
  for (Way& w : ways_) {
    dropped += w.valid ? 1 : 0;
    w.valid = false;
  }
  stats_.entries_invalidated.inc(dropped);
}

void PagingStructureCache::invalidate_address(Pcid pcid, VirtAddr va) {
  if (!enabled()) return;
  stats_.invalidations.inc();
  const std::uint64_t tag = tag_of(va);
  const int w = find(pcid & kPcidMask, tag);
  if (w < 0) return;
  ways_[std::size_t{set_of(tag)} * params_.ways + static_cast<unsigned>(w)].valid = false;
  stats_.entries_invalidated.inc();
}

unsigned PagingStructureCache::valid_entries() const {
  unsigned n = 0;
  for (const Way& w : ways_) n += w.valid ? 1 : 0;
  return n;
}

}  // namespace mmusim::machine
