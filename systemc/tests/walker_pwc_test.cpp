// The page walker with its paging-structure caches enabled (SDM vol. 3A §4.10.3).
#include <gtest/gtest.h>

#include "mmusim/machine/page_walker.h"
#include "page_tables.h"

namespace mmusim::machine {
namespace {

using testing::PageTables;
using x86::kAccessed, x86::kNx, x86::kPresent, x86::kRw, x86::kUser;
using x86::kPfInstr, x86::kPfPresent, x86::kPfUser, x86::kPfWrite;
using x86::kTableFlags, x86::PteVal;

constexpr VirtAddr k2M = 1ull << 21, k1G = 1ull << 30;
constexpr VirtAddr kVa = 0x00007f1234567abcull;  // PDPT index 72, PD index 418, PT index 0x167
constexpr VirtAddr kVaOtherPd = kVa + k2M + 0x1000;  // same PDPTE, another PDE (and PTE slot)
constexpr VirtAddr kVaOtherPdpt = kVa + k1G + 0x2000;  // same PML4E, another PDPTE
constexpr Pfn kData = 10;
constexpr Pcid kPcid = 3;
constexpr PteVal kUrw = kPresent | kRw | kUser;
// Distinct hit latencies, so that each sum below names the caches consulted.
constexpr Cycles kPml4eHit = 2, kPdpteHit = 3, kPdeHit = 4;

struct PwcWalkerTest : ::testing::Test {
  PwcWalkerTest() : mem(params(), root), walker(walker_params(), mem, root), pt{mem} {}
  static MemoryParams params() {
    MemoryParams p;
    p.size_bytes = 64 * kPageSize;
    p.read_cycles = 30;
    p.write_cycles = 40;
    return p;
  }
  static WalkerParams walker_params() {
    WalkerParams w;
    w.walk_start_cycles = 5;
    w.pml4e_cache = {4, 4, kPml4eHit};
    w.pdpte_cache = {4, 4, kPdpteHit};
    w.pde_cache = {8, 4, kPdeHit};
    return w;
  }
  std::uint64_t count(const char* path) const {
    const stats::Stat* s = root.find(path);
    EXPECT_NE(s, nullptr) << path;
    return s ? static_cast<std::uint64_t>(s->value_as_double()) : ~0ull;
  }
  WalkResult walk(VirtAddr va, AccessType t = AccessType::kLoad, Pcid pcid = kPcid) {
    return walker.walk(pt.root(), pcid, va, t, Privilege::kUser);
  }
  unsigned cached() const {
    return walker.pml4e_cache().valid_entries() + walker.pdpte_cache().valid_entries() +
           walker.pde_cache().valid_entries();
  }

  stats::Group root{""};
  PhysMem mem;
  PageWalker walker;
  PageTables pt;
};

TEST_F(PwcWalkerTest, EachCacheSkipsTheLevelsAboveIt) {
  // Upper levels already Accessed (kTableFlags); each leaf gets its A bit from the walk (+40).
  pt.map(kVa, kData, kUrw, kTableFlags);
  pt.map(kVaOtherPd, kData + 1, kUrw, kTableFlags);
  pt.map(kVaOtherPdpt, kData + 2, kUrw, kTableFlags);
  constexpr Cycles kAllLookups = kPdeHit + kPdpteHit + kPml4eHit;

  WalkResult r = walk(kVa);  // cold: three lookups miss, four reads
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.start_level, 4u);
  EXPECT_EQ(r.pwc_cycles, kAllLookups);
  EXPECT_EQ(r.cycles, 5 + kAllLookups + 4 * 30 + 40);

  r = walk(kVa);  // PDE-cache hit: only the PTE is read, three reads saved
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.entry.pfn, kData);
  EXPECT_EQ(r.start_level, 1u);
  EXPECT_EQ(r.pte_reads, 1u);
  EXPECT_EQ(r.cycles, 5 + kPdeHit + 1 * 30);

  r = walk(kVaOtherPd);  // PDE miss, PDPTE hit: PDE + PTE read
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.entry.pfn, kData + 1);
  EXPECT_EQ(r.start_level, 2u);
  EXPECT_EQ(r.cycles, 5 + kPdeHit + kPdpteHit + 2 * 30 + 40);

  r = walk(kVaOtherPdpt);  // PDE and PDPTE miss, PML4E hit: three reads
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.entry.pfn, kData + 2);
  EXPECT_EQ(r.start_level, 3u);
  EXPECT_EQ(r.cycles, 5 + kAllLookups + 3 * 30 + 40);

  EXPECT_EQ(count("walker.pde_cache.hits"), 1u);
  EXPECT_EQ(count("walker.pde_cache.misses"), 3u);
  EXPECT_EQ(count("walker.pdpte_cache.hits"), 1u);
  EXPECT_EQ(count("walker.pdpte_cache.misses"), 2u);
  EXPECT_EQ(count("walker.pml4e_cache.hits"), 1u);
  EXPECT_EQ(count("walker.pml4e_cache.misses"), 1u);
  // Fills: walk 1 caches all three levels, walk 3 its PDE, walk 4 its PDPTE and PDE.
  EXPECT_EQ(count("walker.pml4e_cache.fills"), 1u);
  EXPECT_EQ(count("walker.pdpte_cache.fills"), 2u);
  EXPECT_EQ(count("walker.pde_cache.fills"), 3u);
  EXPECT_EQ(count("walker.pte_reads"), 4u + 1 + 2 + 3);
  const auto* cycles = dynamic_cast<const stats::Distribution*>(root.find("walker.walk_cycles"));
  ASSERT_NE(cycles, nullptr);
  EXPECT_EQ(cycles->sum(), 174u + 39 + 112 + 144);
  EXPECT_EQ(cycles->min(), 39u);
}

TEST_F(PwcWalkerTest, OnlyEntriesWithAccessedSetAreCached) {
  pt.map(kVa, kData, kUrw);  // upper levels without A
  pt.set(kVa, 1, 0);         // the walk faults at the PTE and sets no A bit
  EXPECT_FALSE(walk(kVa).ok());
  EXPECT_EQ(cached(), 0u);
  pt.set(kVa, 4, pt.get(kVa, 4) | kAccessed);  // only the PML4E has A
  EXPECT_FALSE(walk(kVa).ok());
  EXPECT_EQ(walker.pml4e_cache().valid_entries(), 1u);
  EXPECT_EQ(walker.pdpte_cache().valid_entries(), 0u);
  EXPECT_EQ(walker.pde_cache().valid_entries(), 0u);
  pt.map(kVa, kData, kUrw);  // a successful walk sets A on the levels it reads, then caches them
  const WalkResult r = walk(kVa);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.start_level, 3u) << "PML4E-cache hit";
  EXPECT_EQ(cached(), 3u);
}

TEST_F(PwcWalkerTest, CachedEntryCarriesTheRightsAccumulatedAboveIt) {
  // A read-only PMD write-protects its table (HW1), also when the walk starts below it.
  pt.map(kVa, kData, kUrw | kAccessed | x86::kDirty, kTableFlags);
  pt.set(kVa, 2, pt.get(kVa, 2) & ~kRw);
  ASSERT_TRUE(walk(kVa).ok());  // caches the PDE with RW=0
  pt.set(kVa, 2, pt.get(kVa, 2) | kRw);  // memory made writable, no invalidation
  WalkResult r = walk(kVa, AccessType::kStore);
  ASSERT_FALSE(r.ok()) << "the PDE-cache entry still says read-only: the OS must invalidate";
  EXPECT_EQ(r.start_level, 1u);
  EXPECT_EQ(r.error_code, kPfPresent | kPfWrite | kPfUser);
  walker.invalidate_pcid(kPcid);
  EXPECT_TRUE(walk(kVa, AccessType::kStore).ok());
  // NX from the PML4E is ORed into the cached entries below.
  pt.set(kVa, 4, pt.get(kVa, 4) | kNx);
  walker.invalidate_all();
  ASSERT_TRUE(walk(kVa).ok());
  pt.set(kVa, 4, pt.get(kVa, 4) & ~kNx);
  r = walk(kVa, AccessType::kFetch);
  EXPECT_EQ(r.start_level, 1u);
  EXPECT_EQ(r.error_code, kPfPresent | kPfUser | kPfInstr);
}

TEST_F(PwcWalkerTest, HugeLeavesAreNotCachedAsTablePointers) {
  pt.map_2m(kVa, 3 * 512, kUrw, kTableFlags);
  ASSERT_TRUE(walk(kVa).ok());
  EXPECT_EQ(walker.pde_cache().valid_entries(), 0u) << "a PS=1 PDE is a leaf";
  EXPECT_EQ(walker.pdpte_cache().valid_entries(), 1u);
  WalkResult r = walk(kVa);  // PDE miss, PDPTE hit: one read, the 2 MiB PDE
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.entry.size, PageSize::k2M);
  EXPECT_EQ(r.cycles, 5 + kPdeHit + kPdpteHit + 30);
  walker.invalidate_all();
  pt.map_1g(kVa, 2 * 512 * 512, kUrw, kTableFlags);
  ASSERT_TRUE(walk(kVa).ok());
  EXPECT_EQ(walker.pdpte_cache().valid_entries(), 0u) << "a PS=1 PDPTE is a leaf";
  r = walk(kVa);  // PML4E hit: one read, the 1 GiB PDPTE
  EXPECT_EQ(r.entry.size, PageSize::k1G);
  EXPECT_EQ(r.pte_reads, 1u);
}

TEST_F(PwcWalkerTest, EntriesAreTaggedByPcid) {
  pt.map(kVa, kData, kUrw, kTableFlags);
  ASSERT_TRUE(walk(kVa).ok());
  const WalkResult r = walk(kVa, AccessType::kLoad, kPcid + 1);
  EXPECT_EQ(r.start_level, 4u);
  EXPECT_EQ(r.pte_reads, 4u);
}

TEST_F(PwcWalkerTest, Invalidations) {
  pt.map(kVa, kData, kUrw, kTableFlags);
  pt.map(kVaOtherPd, kData + 1, kUrw, kTableFlags);
  ASSERT_TRUE(walk(kVa).ok());
  ASSERT_TRUE(walk(kVaOtherPd).ok());
  ASSERT_TRUE(walk(kVa, AccessType::kLoad, kPcid + 1).ok());
  EXPECT_EQ(cached(), 4u + 3u);
  // #PF delivery drops what would translate kVa in kPcid: its PML4E, PDPTE and PDE entries.
  walker.invalidate_address(kPcid, kVa);
  EXPECT_FALSE(walker.pde_cache().probe(kPcid, kVa));
  EXPECT_TRUE(walker.pde_cache().probe(kPcid, kVaOtherPd));
  EXPECT_FALSE(walker.pdpte_cache().probe(kPcid, kVaOtherPd));
  EXPECT_FALSE(walker.pml4e_cache().probe(kPcid, kVaOtherPd));
  EXPECT_EQ(cached(), 1u + 3u);
  walker.invalidate_pcid(kPcid);
  EXPECT_EQ(cached(), 3u) << "the other PCID's entries stay";
  walker.invalidate_all();
  EXPECT_EQ(cached(), 0u);
  EXPECT_EQ(count("walker.pde_cache.invalidations"), 3u);
  EXPECT_EQ(count("walker.pde_cache.entries_invalidated"), 3u);
  EXPECT_EQ(count("walker.pml4e_cache.entries_invalidated"), 2u);
}

}  // namespace
}  // namespace mmusim::machine
