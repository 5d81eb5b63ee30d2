#include <gtest/gtest.h>

#include "mmusim/machine/tlb.h"

namespace mmusim::machine {
namespace {

constexpr AccessType kLoad = AccessType::kLoad;
constexpr AccessType kStore = AccessType::kStore;

TlbParams geometry(unsigned entries, unsigned ways) {
  TlbParams p;
  p.entries = entries;
  p.ways = ways;
  p.hit_cycles = 1;
  return p;
}

TlbEntry entry(Pfn pfn, bool global = false) {
  TlbEntry e;
  e.pfn = pfn;
  e.writable = true;
  e.user = true;
  e.global = global;
  return e;
}

// VA of the n-th page mapping to set `set` of a TLB with `sets` sets.
VirtAddr va_in_set(unsigned set, unsigned n, unsigned sets) {
  return (std::uint64_t{n} * sets + set) << kPageShift;
}

std::uint64_t count(const stats::Group& g, const char* path) {
  const stats::Stat* s = g.find(path);
  EXPECT_NE(s, nullptr) << path;
  return s ? static_cast<std::uint64_t>(s->value_as_double()) : ~0ull;
}

TEST(Tlb, LruVictimOrderInTwoWaySet) {
  stats::Group root("");
  Tlb tlb(geometry(8, 2), root, "dtlb");  // 4 sets
  ASSERT_EQ(tlb.sets(), 4u);
  const VirtAddr a = va_in_set(1, 0, 4), b = va_in_set(1, 1, 4), c = va_in_set(1, 2, 4);
  tlb.fill(1, a, entry(10));
  tlb.fill(1, b, entry(11));
  ASSERT_TRUE(tlb.lookup(1, a, kLoad));  // a becomes MRU, b LRU
  tlb.fill(1, c, entry(12));             // evicts b
  EXPECT_TRUE(tlb.probe(1, a));
  EXPECT_FALSE(tlb.probe(1, b));
  EXPECT_TRUE(tlb.probe(1, c));
  tlb.fill(1, b, entry(11));  // a is LRU now (c filled after a's lookup)
  EXPECT_FALSE(tlb.probe(1, a));
  EXPECT_TRUE(tlb.probe(1, b));
  EXPECT_TRUE(tlb.probe(1, c));
  EXPECT_EQ(count(root, "dtlb.evictions"), 2u);
  EXPECT_EQ(count(root, "dtlb.fills"), 4u);
}

TEST(Tlb, ProbeDoesNotTouchLruOrStats) {
  stats::Group root("");
  Tlb tlb(geometry(2, 2), root, "dtlb");  // one set
  tlb.fill(0, 0x1000, entry(1));
  tlb.fill(0, 0x2000, entry(2));
  ASSERT_TRUE(tlb.probe(0, 0x1000));  // would make 0x1000 MRU if it touched LRU
  tlb.fill(0, 0x3000, entry(3));
  EXPECT_FALSE(tlb.probe(0, 0x1000)) << "0x1000 was LRU: probe must not refresh it";
  EXPECT_EQ(count(root, "dtlb.accesses"), 0u);
}

TEST(Tlb, InvalidWayIsPreferredOverLru) {
  stats::Group root("");
  Tlb tlb(geometry(2, 2), root, "dtlb");
  tlb.fill(0, 0x1000, entry(1));
  tlb.fill(0, 0x2000, entry(2));
  tlb.invlpg(0, 0x2000);  // frees the MRU way
  tlb.fill(0, 0x3000, entry(3));
  EXPECT_TRUE(tlb.probe(0, 0x1000)) << "the invalid way must be used, not the LRU one";
  EXPECT_EQ(count(root, "dtlb.evictions"), 0u);
}

TEST(Tlb, PcidIsolation) {
  stats::Group root("");
  Tlb tlb(geometry(16, 4), root, "dtlb");
  tlb.fill(1, 0x5000, entry(100));
  tlb.fill(2, 0x5000, entry(200));
  EXPECT_EQ(tlb.lookup(1, 0x5000, kLoad)->pfn, 100u);
  EXPECT_EQ(tlb.lookup(2, 0x5000, kLoad)->pfn, 200u);
  EXPECT_FALSE(tlb.lookup(3, 0x5000, kLoad));
  tlb.invlpg(1, 0x5000);
  EXPECT_FALSE(tlb.probe(1, 0x5000));
  EXPECT_TRUE(tlb.probe(2, 0x5000)) << "INVLPG in PCID 1 must keep PCID 2's entry";
  EXPECT_EQ(tlb.lookup(0x1002, 0x5000, kLoad)->pfn, 200u) << "PCID is 12 bits";
}

TEST(Tlb, GlobalEntryMatchesEveryPcid) {
  stats::Group root("");
  Tlb tlb(geometry(16, 4), root, "dtlb");
  tlb.fill(1, 0x7000, entry(70, /*global=*/true));
  EXPECT_EQ(tlb.lookup(1, 0x7000, kLoad)->pfn, 70u);
  EXPECT_EQ(tlb.lookup(9, 0x7000, kLoad)->pfn, 70u);
  // Filling a PCID-private translation of the same VA replaces the global one (one match only).
  tlb.fill(9, 0x7000, entry(71));
  EXPECT_EQ(tlb.valid_entries(), 1u);
  EXPECT_EQ(tlb.lookup(9, 0x7000, kLoad)->pfn, 71u);
  EXPECT_FALSE(tlb.probe(1, 0x7000));
}

TEST(Tlb, InvlpgDropsGlobalEntryForTheVa) {
  stats::Group root("");
  Tlb tlb(geometry(16, 4), root, "dtlb");
  tlb.fill(1, 0x7000, entry(70, true));
  tlb.fill(1, 0x8000, entry(80, true));
  tlb.invlpg(4, 0x7000);  // another PCID: the global entry still matches
  EXPECT_FALSE(tlb.probe(1, 0x7000));
  EXPECT_TRUE(tlb.probe(1, 0x8000));
  EXPECT_EQ(count(root, "dtlb.invalidations.invlpg"), 1u);
  EXPECT_EQ(count(root, "dtlb.entries_invalidated"), 1u);
}

TEST(Tlb, FlushPcidKeepsGlobals) {
  stats::Group root("");
  Tlb tlb(geometry(16, 4), root, "dtlb");
  tlb.fill(1, 0x1000, entry(1));
  tlb.fill(1, 0x2000, entry(2));
  tlb.fill(2, 0x1000, entry(3));
  tlb.fill(1, 0x9000, entry(9, true));
  tlb.flush_pcid(1);
  EXPECT_FALSE(tlb.probe(1, 0x1000));
  EXPECT_FALSE(tlb.probe(1, 0x2000));
  EXPECT_TRUE(tlb.probe(2, 0x1000));
  EXPECT_TRUE(tlb.probe(1, 0x9000));
  EXPECT_EQ(count(root, "dtlb.entries_invalidated"), 2u);
  tlb.flush_all_nonglobal();
  EXPECT_EQ(tlb.valid_entries(), 1u);
  tlb.flush_all();
  EXPECT_EQ(tlb.valid_entries(), 0u);
  EXPECT_EQ(count(root, "dtlb.invalidations.flush_pcid"), 1u);
  EXPECT_EQ(count(root, "dtlb.invalidations.flush_nonglobal"), 1u);
  EXPECT_EQ(count(root, "dtlb.invalidations.flush_all"), 1u);
  EXPECT_EQ(count(root, "dtlb.entries_invalidated"), 4u);
}

// Hand-computed: 1-set 2-way TLB; sequence of lookups and fills.
TEST(Tlb, StatsOnAHandComputedSequence) {
  stats::Group root("");
  Tlb tlb(geometry(2, 2), root, "dtlb");
  EXPECT_FALSE(tlb.lookup(0, 0x1000, kLoad));   // miss.load 1
  tlb.fill(0, 0x1000, entry(1));                // fill 1
  EXPECT_TRUE(tlb.lookup(0, 0x1000, kLoad));    // hit.load 1
  EXPECT_FALSE(tlb.lookup(0, 0x2000, kStore));  // miss.store 1
  tlb.fill(0, 0x2000, entry(2));                // fill 2
  EXPECT_TRUE(tlb.lookup(0, 0x2000, kStore));   // hit.store 1
  EXPECT_FALSE(tlb.lookup(0, 0x3000, kLoad));   // miss.load 2
  tlb.fill(0, 0x3000, entry(3));                // fill 3, evicts 0x1000 (LRU)
  EXPECT_FALSE(tlb.lookup(0, 0x1000, kStore));  // miss.store 2
  tlb.fill(0, 0x1000, entry(1));                // fill 4, evicts 0x2000
  tlb.fill(0, 0x1000, entry(5));                // fill 5, replaces in place: no eviction
  EXPECT_EQ(tlb.probe(0, 0x1000)->pfn, 5u);
  tlb.invlpg(0, 0x3000);                        // 1 entry
  tlb.invlpg(0, 0x3000);                        // 0 entries, still an operation
  EXPECT_EQ(count(root, "dtlb.hits.load"), 1u);
  EXPECT_EQ(count(root, "dtlb.hits.store"), 1u);
  EXPECT_EQ(count(root, "dtlb.misses.load"), 2u);
  EXPECT_EQ(count(root, "dtlb.misses.store"), 2u);
  EXPECT_EQ(count(root, "dtlb.accesses"), 6u);
  EXPECT_EQ(count(root, "dtlb.fills"), 5u);
  EXPECT_EQ(count(root, "dtlb.evictions"), 2u);
  EXPECT_EQ(count(root, "dtlb.invalidations.invlpg"), 2u);
  EXPECT_EQ(count(root, "dtlb.entries_invalidated"), 1u);
}

TEST(Tlb, RejectsBadGeometry) {
  stats::Group root("");
  EXPECT_THROW(Tlb(geometry(64, 3), root, "a"), std::invalid_argument);
  EXPECT_THROW(Tlb(geometry(48, 4), root, "b"), std::invalid_argument);
  EXPECT_THROW(Tlb(geometry(64, 0), root, "c"), std::invalid_argument);
}

}  // namespace
}  // namespace mmusim::machine
