#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "mmusim/machine/tlb.h"

namespace mmusim::machine {
namespace {

constexpr AccessType kLoad = AccessType::kLoad;
constexpr AccessType kStore = AccessType::kStore;
constexpr AccessType kFetch = AccessType::kFetch;
constexpr VirtAddr k2M = 1ull << 21, k1G = 1ull << 30;

// One array holding `sizes`.
TlbParams geometry(unsigned entries, unsigned ways, unsigned sizes = kPage4K,
                   Replacement r = Replacement::kLru) {
  TlbParams p;
  p.arrays[0] = {entries, ways, sizes};
  p.replacement = r;
  p.hit_cycles = 1;
  return p;
}

TlbEntry entry(Pfn pfn, bool global = false, PageSize size = PageSize::k4K) {
  TlbEntry e;
  e.pfn = pfn;
  e.size = size;
  e.writable = true;
  e.user = true;
  e.global = global;
  return e;
}
TlbEntry entry_2m(Pfn pfn, bool global = false) { return entry(pfn, global, PageSize::k2M); }
TlbEntry entry_1g(Pfn pfn, bool global = false) { return entry(pfn, global, PageSize::k1G); }

// VA of the n-th 4 KiB page mapping to set `set` of a TLB with `sets` sets.
VirtAddr va_in_set(unsigned set, unsigned n, unsigned sets) {
  return (std::uint64_t{n} * sets + set) << kPageShift;
}

std::uint64_t count(const stats::Group& g, const char* path) {
  const stats::Stat* s = g.find(path);
  EXPECT_NE(s, nullptr) << path;
  return s ? static_cast<std::uint64_t>(s->value_as_double()) : ~0ull;
}

// --- replacement and geometry -------------------------------------------------------------------

TEST(Tlb, LruVictimOrderInTwoWaySet) {
  stats::Group root("");
  Tlb tlb(geometry(8, 2), root, "dtlb");  // 4 sets
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

// Pages 0..3 fill ways 0..3 of the one set; the tree then picks as in Replacement.TreePlru*.
TEST(Tlb, TreePlruVictimOrder) {
  stats::Group root("");
  Tlb tlb(geometry(4, 4, kPage4K, Replacement::kPlru), root, "dtlb");
  for (Pfn p = 0; p < 4; ++p) tlb.fill(0, p << kPageShift, entry(p));  // ways 0..3
  ASSERT_TRUE(tlb.lookup(0, 0x0000, kLoad));  // touch way 0: PLRU points at way 2 (LRU: way 1)
  tlb.fill(0, 0x4000, entry(4));              // replaces page 2
  EXPECT_TRUE(tlb.probe(0, 0x1000)) << "true LRU would have evicted page 1";
  EXPECT_FALSE(tlb.probe(0, 0x2000));
  tlb.fill(0, 0x5000, entry(5));  // after touching way 2: the tree points at way 1
  EXPECT_FALSE(tlb.probe(0, 0x1000));
  EXPECT_TRUE(tlb.probe(0, 0x0000));
  EXPECT_TRUE(tlb.probe(0, 0x3000));
  EXPECT_EQ(count(root, "dtlb.evictions"), 2u);
}

// The pages surviving 40 fills of distinct pages into one 8-way set.
std::vector<Pfn> random_survivors(std::uint64_t seed) {
  stats::Group root("");
  Tlb tlb(geometry(8, 8, kPage4K, Replacement::kRandom), root, "dtlb", seed);
  for (Pfn p = 0; p < 40; ++p) tlb.fill(0, p << kPageShift, entry(p));
  std::vector<Pfn> alive;
  for (Pfn p = 0; p < 40; ++p)
    if (tlb.probe(0, p << kPageShift)) alive.push_back(p);
  EXPECT_EQ(alive.size(), 8u);
  return alive;
}

TEST(Tlb, RandomReplacementIsDeterministicPerSeed) {
  EXPECT_EQ(random_survivors(11), random_survivors(11));
  EXPECT_NE(random_survivors(11), random_survivors(12));
}

TEST(Tlb, DirectMapped) {
  stats::Group root("");
  Tlb tlb(geometry(4, 1), root, "dtlb");  // 4 sets of 1 way
  tlb.fill(0, 0x1000, entry(1));          // set 1
  tlb.fill(0, 0x2000, entry(2));          // set 2
  tlb.fill(0, 0x5000, entry(5));          // set 1: evicts page 1 at once
  EXPECT_FALSE(tlb.probe(0, 0x1000));
  EXPECT_TRUE(tlb.probe(0, 0x2000));
  EXPECT_TRUE(tlb.probe(0, 0x5000));
  EXPECT_EQ(count(root, "dtlb.evictions"), 1u);
}

TEST(Tlb, FullyAssociative) {
  stats::Group root("");
  Tlb tlb(geometry(4, 4), root, "dtlb");  // one set
  // Pages that would share a set in any set-associative layout all fit.
  for (Pfn p = 0; p < 4; ++p) tlb.fill(0, p * 0x10000, entry(p));
  EXPECT_EQ(tlb.valid_entries(), 4u);
  EXPECT_EQ(count(root, "dtlb.evictions"), 0u);
  tlb.fill(0, 0x40000, entry(4));  // evicts the LRU: page 0
  EXPECT_FALSE(tlb.probe(0, 0));
  EXPECT_EQ(tlb.capacity(), 4u);
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

TEST(Tlb, InvalidWayIsPreferredOverTheVictim) {
  for (Replacement r : {Replacement::kLru, Replacement::kPlru, Replacement::kRandom}) {
    stats::Group root("");
    Tlb tlb(geometry(2, 2, kPage4K, r), root, "dtlb", 3);
    tlb.fill(0, 0x1000, entry(1));
    tlb.fill(0, 0x2000, entry(2));
    tlb.invlpg(0, 0x2000);  // frees the MRU way
    tlb.fill(0, 0x3000, entry(3));
    EXPECT_TRUE(tlb.probe(0, 0x1000)) << replacement_name(r);
    EXPECT_EQ(count(root, "dtlb.evictions"), 0u) << replacement_name(r);
  }
}

TEST(Tlb, RejectsBadGeometry) {
  stats::Group root("");
  EXPECT_THROW(Tlb(geometry(64, 3), root, "a"), std::invalid_argument);
  EXPECT_THROW(Tlb(geometry(48, 4), root, "b"), std::invalid_argument);
  EXPECT_THROW(Tlb(geometry(64, 0), root, "c"), std::invalid_argument);
  EXPECT_THROW(Tlb(geometry(0, 1), root, "d"), std::invalid_argument) << "no array";
  EXPECT_THROW(Tlb(geometry(4, 1, 8), root, "e"), std::invalid_argument) << "bad size mask";
  EXPECT_THROW(Tlb(geometry(12, 6, kPage4K, Replacement::kPlru), root, "f"),
               std::invalid_argument);
}

// --- tags: PCID, global ----------------------------------------------------------------------

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

// The hit cache answers a repeated hit of (PCID, page) as lookup() would, counted the same way,
// an unmasked PCID included (its high bits select the slot of the page itself).
TEST(Tlb, HitCacheAnswersRepeatedHitsAndKeysOnTheMaskedPcid) {
  stats::Group root("");
  Tlb tlb(geometry(16, 4), root, "dtlb");
  tlb.fill(2, 0x5000, entry(200));
  PhysAddr pa = 0;
  EXPECT_FALSE(tlb.lookup_cached(2, 0x5008, kLoad, 0, pa)) << "nothing cached before a lookup";
  ASSERT_EQ(tlb.lookup(2, 0x5000, kLoad)->pfn, 200u);
  tlb.mark_hit_usable(0x5000, 0);
  ASSERT_TRUE(tlb.lookup_cached(2, 0x5008, kLoad, 0, pa));
  EXPECT_EQ(pa, (PhysAddr{200} << kPageShift) | 0x8);
  EXPECT_FALSE(tlb.lookup_cached(2, 0x5008, kStore, 2, pa)) << "not marked usable for stores";
  EXPECT_FALSE(tlb.lookup_cached(3, 0x5008, kLoad, 0, pa)) << "another PCID";
  pa = 0;
  EXPECT_TRUE(tlb.lookup_cached(0x1002, 0x5008, kLoad, 0, pa)) << "PCID 2, unmasked";
  EXPECT_EQ(pa, (PhysAddr{200} << kPageShift) | 0x8);
  EXPECT_FALSE(tlb.lookup_cached(0x1002, 0x4008, kLoad, 0, pa)) << "page 4 is not page 5";
  EXPECT_EQ(tlb.lookup(0x1002, 0x5008, kLoad)->pfn, 200u) << "as lookup() answers";
  EXPECT_EQ(count(root, "dtlb.hits.load"), 4u) << "two lookups and two cached hits";
  tlb.invlpg(2, 0x5000);
  EXPECT_FALSE(tlb.lookup_cached(2, 0x5008, kLoad, 0, pa)) << "an invalidation empties the cache";
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

// --- page sizes ------------------------------------------------------------------------------

TEST(Tlb, SeparateArraysPerPageSize) {
  stats::Group root("");
  TlbParams p;
  p.arrays[0] = {16, 4, kPage4K};
  p.arrays[1] = {8, 4, kPage2M};
  p.arrays[2] = {4, 4, kPage1G};
  Tlb tlb(p, root, "dtlb");
  EXPECT_EQ(tlb.capacity(), 28u);
  tlb.fill(1, 0x1000, entry(1));
  tlb.fill(1, 3 * k2M + 0x5000, entry_2m(512 * 7));
  tlb.fill(1, 2 * k1G + 0x123456, entry_1g(512 * 512 * 3));
  EXPECT_EQ(tlb.lookup(1, 0x1abc, kLoad)->pfn, 1u);
  const std::optional<TlbEntry> m = tlb.lookup(1, 3 * k2M + k2M - 8, kStore);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->size, PageSize::k2M);
  EXPECT_EQ(m->translate(3 * k2M + 0x12345), pfn_to_phys(512 * 7) + 0x12345);
  const std::optional<TlbEntry> g = tlb.lookup(1, 2 * k1G + 0x3fffffff, kFetch);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->translate(2 * k1G + 0x3fffffff), pfn_to_phys(512 * 512 * 3) + 0x3fffffff);
  EXPECT_FALSE(tlb.lookup(1, 4 * k2M, kLoad));
  EXPECT_EQ(count(root, "dtlb.hits.4k"), 1u);
  EXPECT_EQ(count(root, "dtlb.hits.2m"), 1u);
  EXPECT_EQ(count(root, "dtlb.hits.1g"), 1u);
  EXPECT_EQ(count(root, "dtlb.hits.load"), 1u);
  EXPECT_EQ(count(root, "dtlb.hits.store"), 1u);
  EXPECT_EQ(count(root, "dtlb.hits.fetch"), 1u);
  EXPECT_EQ(count(root, "dtlb.misses.load"), 1u);
  EXPECT_EQ(count(root, "dtlb.accesses"), 4u);
}

// A 4K+2M array indexes each entry by its own page number: 2 MiB page 1 and 4 KiB pages 1 and 5
// all land in set 1 of a 4-set array and compete for its 2 ways.
TEST(Tlb, SharedArrayIndexesEachSizeByItsOwnPageNumber) {
  stats::Group root("");
  Tlb tlb(geometry(8, 2, kPage4K | kPage2M), root, "stlb");
  tlb.fill(1, k2M + 0x3000, entry_2m(512));  // 2 MiB page number 1 -> set 1
  tlb.fill(1, 0x1000, entry(1));             // VPN 1 -> set 1
  EXPECT_TRUE(tlb.probe(1, k2M + 0x1ff000)) << "any VA of the 2 MiB page";
  tlb.fill(1, 0x5000, entry(5));             // VPN 5 -> set 1: evicts the LRU, the 2 MiB page
  EXPECT_FALSE(tlb.probe(1, k2M));
  EXPECT_TRUE(tlb.probe(1, 0x1000));
  tlb.fill(1, 2 * k2M, entry_2m(1024));      // 2 MiB page number 2 -> set 2: no eviction
  EXPECT_EQ(count(root, "stlb.evictions"), 1u);
  EXPECT_EQ(tlb.valid_entries(), 3u);
}

TEST(Tlb, PageSizeHelpers) {
  EXPECT_EQ(page_shift(PageSize::k4K), 12u);
  EXPECT_EQ(page_shift(PageSize::k2M), 21u);
  EXPECT_EQ(page_shift(PageSize::k1G), 30u);
  EXPECT_EQ(page_size_bit(PageSize::k2M), unsigned{kPage2M});
  EXPECT_EQ(page_size_bit(PageSize::k1G), unsigned{kPage1G});
  EXPECT_STREQ(page_size_name(PageSize::k2M), "2m") << "the stat suffix of the size";
}

TEST(Tlb, StructureWithoutTheSizeDoesNotCacheIt) {
  stats::Group root("");
  Tlb tlb(geometry(8, 2, kPage4K), root, "itlb");
  EXPECT_TRUE(tlb.holds(PageSize::k4K));
  EXPECT_FALSE(tlb.holds(PageSize::k2M));
  tlb.fill(1, k2M, entry_2m(512));
  EXPECT_FALSE(tlb.probe(1, k2M));
  EXPECT_EQ(count(root, "itlb.fills"), 0u);
}

// One-match invariant across sizes: a new page drops the overlapping ones it would shadow.
TEST(Tlb, HugeFillDropsShadowedSmallEntriesAndViceVersa) {
  stats::Group root("");
  TlbParams p;
  p.arrays[0] = {16, 4, kPage4K};
  p.arrays[1] = {8, 4, kPage2M | kPage1G};
  Tlb tlb(p, root, "dtlb");
  tlb.fill(1, k2M + 0x1000, entry(10));
  tlb.fill(1, k2M + 0x7000, entry(11));
  tlb.fill(2, k2M + 0x1000, entry(12));  // another PCID: not shadowed
  tlb.fill(1, 0x1000, entry(13));        // outside the 2 MiB page
  tlb.fill(1, k2M, entry_2m(512));
  EXPECT_EQ(tlb.probe(1, k2M + 0x1000)->size, PageSize::k2M);
  EXPECT_EQ(tlb.probe(1, k2M + 0x7000)->size, PageSize::k2M);
  EXPECT_EQ(tlb.probe(2, k2M + 0x1000)->pfn, 12u);
  EXPECT_EQ(tlb.probe(1, 0x1000)->pfn, 13u);
  EXPECT_EQ(tlb.valid_entries(), 3u);
  // A 4 KiB page inside it (the OS split the page) replaces the 2 MiB entry.
  tlb.fill(1, k2M + 0x3000, entry(20));
  EXPECT_FALSE(tlb.probe(1, k2M + 0x7000));
  EXPECT_EQ(tlb.probe(1, k2M + 0x3000)->pfn, 20u);
  // A global 1 GiB page over all of them drops every PCID's entries inside it.
  tlb.fill(1, 0, entry_1g(0, /*global=*/true));
  EXPECT_EQ(tlb.valid_entries(), 1u);
  EXPECT_EQ(tlb.probe(2, k2M + 0x1000)->size, PageSize::k1G);
  EXPECT_EQ(count(root, "dtlb.evictions"), 0u) << "shadowed entries are not evictions";
}

TEST(Tlb, MissSizeIsRecordedWhenResolved) {
  stats::Group root("");
  Tlb tlb(geometry(8, 2), root, "dtlb");
  EXPECT_FALSE(tlb.lookup(1, k2M, kLoad));
  tlb.record_miss_size(PageSize::k2M);
  EXPECT_FALSE(tlb.lookup(1, 0x1000, kStore));
  tlb.record_miss_size(PageSize::k4K);
  EXPECT_FALSE(tlb.lookup(1, 0x2000, kStore));  // ends in #PF: no size
  EXPECT_FALSE(tlb.lookup(1, k1G, kFetch));
  tlb.record_miss_size(PageSize::k1G);
  EXPECT_EQ(count(root, "dtlb.misses.load"), 1u);
  EXPECT_EQ(count(root, "dtlb.misses.store"), 2u);
  EXPECT_EQ(count(root, "dtlb.misses.fetch"), 1u);
  EXPECT_EQ(count(root, "dtlb.misses.4k"), 1u);
  EXPECT_EQ(count(root, "dtlb.misses.2m"), 1u);
  EXPECT_EQ(count(root, "dtlb.misses.1g"), 1u);
}

// --- invalidation operations (SDM vol. 3A §4.10.4.1) ----------------------------------------

// PCID 1: private 4K page A, global 4K page G, private 2M page H; PCID 2: private 4K page A.
struct TlbInvalidation : ::testing::Test {
  static constexpr VirtAddr kA = 0x1000, kG = 0x9000, kH = 4 * k2M;
  TlbInvalidation() : tlb(params(), root, "dtlb") {
    tlb.fill(1, kA, entry(1));
    tlb.fill(1, kG, entry(9, /*global=*/true));
    tlb.fill(1, kH, entry_2m(2048));
    tlb.fill(2, kA, entry(2));
  }
  static TlbParams params() {
    TlbParams p;
    p.arrays[0] = {16, 4, kPage4K};
    p.arrays[1] = {8, 4, kPage2M};
    return p;
  }
  std::uint64_t stat(const char* path) const { return count(root, path); }
  stats::Group root{""};
  Tlb tlb;
};

TEST_F(TlbInvalidation, InvlpgDropsTheVaInItsPcidAndGlobalEntries) {
  tlb.invlpg(3, kG);  // another PCID: the global entry still goes
  EXPECT_FALSE(tlb.probe(1, kG));
  tlb.invlpg(1, kA);
  EXPECT_FALSE(tlb.probe(1, kA));
  EXPECT_TRUE(tlb.probe(2, kA));
  tlb.invlpg(1, kH + 0x1ff000);  // any VA inside the 2 MiB page
  EXPECT_FALSE(tlb.probe(1, kH));
  EXPECT_EQ(tlb.valid_entries(), 1u);
  EXPECT_EQ(stat("dtlb.invalidations.invlpg"), 3u);
  EXPECT_EQ(stat("dtlb.entries_invalidated"), 3u);
}

TEST_F(TlbInvalidation, InvpcidAddressKeepsGlobalEntries) {
  tlb.invpcid_address(1, kG);
  EXPECT_TRUE(tlb.probe(1, kG)) << "INVPCID type 0 keeps global translations";
  tlb.invpcid_address(1, kH + 0x5000);
  EXPECT_FALSE(tlb.probe(1, kH));
  tlb.invpcid_address(1, kA);
  EXPECT_TRUE(tlb.probe(2, kA));
  EXPECT_EQ(tlb.valid_entries(), 2u);
  EXPECT_EQ(stat("dtlb.invalidations.invpcid_address"), 3u);
  EXPECT_EQ(stat("dtlb.entries_invalidated"), 2u);
}

TEST_F(TlbInvalidation, InvpcidSingleKeepsGlobalsAndOtherPcids) {
  tlb.invpcid_single(1);
  EXPECT_FALSE(tlb.probe(1, kA));
  EXPECT_FALSE(tlb.probe(1, kH));
  EXPECT_TRUE(tlb.probe(1, kG));
  EXPECT_TRUE(tlb.probe(2, kA));
  EXPECT_EQ(stat("dtlb.invalidations.invpcid_single"), 1u);
  EXPECT_EQ(stat("dtlb.entries_invalidated"), 2u);
}

TEST_F(TlbInvalidation, InvpcidAllWithAndWithoutGlobals) {
  tlb.invpcid_all(false);  // type 3
  EXPECT_EQ(tlb.valid_entries(), 1u);
  EXPECT_TRUE(tlb.probe(7, kG));
  tlb.invpcid_all(true);  // type 2
  EXPECT_EQ(tlb.valid_entries(), 0u);
  EXPECT_EQ(stat("dtlb.invalidations.invpcid_all"), 2u);
  EXPECT_EQ(stat("dtlb.entries_invalidated"), 4u);
}

TEST_F(TlbInvalidation, Cr3WriteDropsTheNewPcidsNonGlobalEntries) {
  tlb.write_cr3(2);
  EXPECT_FALSE(tlb.probe(2, kA));
  EXPECT_TRUE(tlb.probe(1, kA));
  EXPECT_TRUE(tlb.probe(2, kG)) << "global, seen from PCID 2";
  EXPECT_EQ(stat("dtlb.invalidations.cr3"), 1u);
  EXPECT_EQ(stat("dtlb.entries_invalidated"), 1u);
}

TEST_F(TlbInvalidation, FaultDeliveryActsAsInvlpgCountedApart) {
  tlb.invalidate_for_fault(1, kH + 0x2000);
  tlb.invalidate_for_fault(1, kG);
  EXPECT_FALSE(tlb.probe(1, kH));
  EXPECT_FALSE(tlb.probe(1, kG));
  EXPECT_EQ(stat("dtlb.invalidations.fault"), 2u);
  EXPECT_EQ(stat("dtlb.invalidations.invlpg"), 0u);
  EXPECT_EQ(stat("dtlb.entries_invalidated"), 2u);
}

// --- statistics on a hand-computed sequence --------------------------------------------------

TEST(Tlb, StatsOnAHandComputedSequence) {
  stats::Group root("");
  Tlb tlb(geometry(2, 2), root, "dtlb");
  EXPECT_FALSE(tlb.lookup(0, 0x1000, kLoad));   // miss.load 1
  tlb.fill(0, 0x1000, entry(1));                // fill 1
  EXPECT_TRUE(tlb.lookup(0, 0x1000, kLoad));    // hit.load 1
  EXPECT_FALSE(tlb.lookup(0, 0x2000, kStore));  // miss.store 1
  tlb.fill(0, 0x2000, entry(2));                // fill 2
  EXPECT_TRUE(tlb.lookup(0, 0x2000, kStore));   // hit.store 1
  EXPECT_FALSE(tlb.lookup(0, 0x3000, kFetch));  // miss.fetch 1
  tlb.fill(0, 0x3000, entry(3));                // fill 3, evicts 0x1000 (LRU)
  EXPECT_TRUE(tlb.lookup(0, 0x3000, kFetch));   // hit.fetch 1
  EXPECT_FALSE(tlb.lookup(0, 0x1000, kStore));  // miss.store 2
  tlb.fill(0, 0x1000, entry(1));                // fill 4, evicts 0x2000
  tlb.fill(0, 0x1000, entry(5));                // fill 5, replaces in place: no eviction
  EXPECT_EQ(tlb.probe(0, 0x1000)->pfn, 5u);
  tlb.invlpg(0, 0x3000);                        // 1 entry
  tlb.invlpg(0, 0x3000);                        // 0 entries, still an operation
  EXPECT_EQ(count(root, "dtlb.hits.load"), 1u);
  EXPECT_EQ(count(root, "dtlb.hits.store"), 1u);
  EXPECT_EQ(count(root, "dtlb.hits.fetch"), 1u);
  EXPECT_EQ(count(root, "dtlb.hits.4k"), 3u);
  EXPECT_EQ(count(root, "dtlb.misses.load"), 1u);
  EXPECT_EQ(count(root, "dtlb.misses.store"), 2u);
  EXPECT_EQ(count(root, "dtlb.misses.fetch"), 1u);
  EXPECT_EQ(count(root, "dtlb.accesses"), 7u);
  EXPECT_EQ(count(root, "dtlb.fills"), 5u);
  EXPECT_EQ(count(root, "dtlb.evictions"), 2u);
  EXPECT_EQ(count(root, "dtlb.invalidations.invlpg"), 2u);
  EXPECT_EQ(count(root, "dtlb.entries_invalidated"), 1u);
}

}  // namespace
}  // namespace mmusim::machine
