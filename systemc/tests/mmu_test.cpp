#include <gtest/gtest.h>

#include "mmusim/machine/mmu.h"
#include "page_tables.h"

namespace mmusim::machine {
namespace {

using testing::PageTables;
using x86::kAccessed, x86::kDirty, x86::kGlobal, x86::kNx, x86::kPresent, x86::kRw, x86::kUser;
using x86::kPfInstr, x86::kPfPresent, x86::kPfUser, x86::kPfWrite;
using x86::kTableFlags, x86::PteVal;

constexpr VirtAddr kVa = 0x0000000000401238ull;
constexpr VirtAddr k2M = 1ull << 21;
constexpr Pfn kData = 20;
constexpr Pfn k2MFrame = 512;
constexpr Pcid kPcid = 5;
constexpr PteVal kUrw = kPresent | kRw | kUser;
constexpr Cycles kL1 = 1, kStlb = 8, kStart = 5, kRead = 30, kWrite = 40;
// A cold 4 KiB walk whose upper levels are already Accessed: 4 reads and the leaf's A write.
constexpr Cycles kColdWalk = kStart + 4 * kRead + kWrite;

// iTLB: 4 KiB only. dTLB: 4 KiB + a 2 MiB array. STLB: 4 KiB and 2 MiB in one array.
// Paging-structure caches off unless a test turns them on (latencies stay those of 4 reads).
MachineConfig base_config() {
  MachineConfig c;
  c.memory.size_bytes = 64 * kPageSize;
  c.memory.read_cycles = kRead;
  c.memory.write_cycles = kWrite;
  c.itlb.arrays = {};
  c.itlb.arrays[0] = {8, 2, kPage4K};
  c.itlb.hit_cycles = kL1;
  c.dtlb.arrays = {};
  c.dtlb.arrays[0] = {8, 2, kPage4K};
  c.dtlb.arrays[1] = {4, 2, kPage2M};
  c.dtlb.hit_cycles = kL1;
  c.stlb.arrays = {};
  c.stlb.arrays[0] = {32, 4, kPage4K | kPage2M};
  c.stlb.hit_cycles = kStlb;
  c.walker.walk_start_cycles = kStart;
  c.walker.pml4e_cache = {};
  c.walker.pdpte_cache = {};
  c.walker.pde_cache = {};
  return c;
}

struct MmuTest : ::testing::Test {
  explicit MmuTest(const MachineConfig& c = base_config())
      : config(c), mem(config.memory, root), mmu(config, mem, root, 0), pt{mem} {}
  std::uint64_t count(const char* path) const {
    const stats::Stat* s = root.find(path);
    EXPECT_NE(s, nullptr) << path;
    return s ? static_cast<std::uint64_t>(s->value_as_double()) : ~0ull;
  }
  Translation tr(AccessType t, VirtAddr va = kVa, Pcid pcid = kPcid) {
    return mmu.translate(pt.root(), pcid, va, t);
  }

  MachineConfig config;
  stats::Group root{""};
  PhysMem mem;
  Mmu mmu;
  PageTables pt;
};

TEST_F(MmuTest, MissWalksFillsBothLevelsAndCountsOneMissEach) {
  pt.map(kVa, kData, kUrw, kTableFlags);
  Translation t = tr(AccessType::kLoad);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.path, Translation::Path::kMissWalk);
  EXPECT_EQ(t.pa, pfn_to_phys(kData) + 0x238);
  EXPECT_EQ(t.page_shift, 12u);
  EXPECT_EQ(t.cycles, kL1 + kStlb + kColdWalk) << "dTLB + STLB lookups + walk";
  EXPECT_TRUE(mmu.dtlb().probe(kPcid, kVa));
  EXPECT_TRUE(mmu.stlb().probe(kPcid, kVa));
  EXPECT_FALSE(mmu.itlb().probe(kPcid, kVa)) << "a load does not fill the iTLB";
  t = tr(AccessType::kLoad);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.path, Translation::Path::kHit);
  EXPECT_EQ(t.cycles, kL1);
  // The walk's refill is not looked up again: one miss per level, then one L1 hit.
  EXPECT_EQ(count("dtlb.misses.load"), 1u);
  EXPECT_EQ(count("dtlb.misses.4k"), 1u);
  EXPECT_EQ(count("dtlb.hits.load"), 1u);
  EXPECT_EQ(count("dtlb.accesses"), 2u);
  EXPECT_EQ(count("stlb.misses.load"), 1u);
  EXPECT_EQ(count("stlb.misses.4k"), 1u);
  EXPECT_EQ(count("stlb.accesses"), 1u);
  EXPECT_EQ(count("dtlb.fills"), 1u);
  EXPECT_EQ(count("stlb.fills"), 1u);
  EXPECT_EQ(count("walker.walks"), 1u);
}

TEST_F(MmuTest, StlbHitFillsTheL1) {
  pt.map(kVa, kData, kUrw, kTableFlags);
  ASSERT_TRUE(tr(AccessType::kLoad).ok());
  mmu.dtlb().invpcid_single(kPcid);  // the L1 loses it, the STLB keeps it
  Translation t = tr(AccessType::kLoad);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.path, Translation::Path::kStlbHit);
  EXPECT_EQ(t.cycles, kL1 + kStlb);
  EXPECT_EQ(t.pa, pfn_to_phys(kData) + 0x238);
  EXPECT_TRUE(mmu.dtlb().probe(kPcid, kVa)) << "filled from the STLB";
  EXPECT_EQ(tr(AccessType::kLoad).path, Translation::Path::kHit);
  EXPECT_EQ(count("walker.walks"), 1u);
  EXPECT_EQ(count("dtlb.misses.load"), 2u);
  EXPECT_EQ(count("dtlb.misses.4k"), 2u) << "the second miss resolved by the STLB";
  EXPECT_EQ(count("stlb.hits.load"), 1u);
  EXPECT_EQ(count("stlb.misses.load"), 1u);
  EXPECT_EQ(count("dtlb.fills"), 2u);
  EXPECT_EQ(count("stlb.fills"), 1u);
}

TEST_F(MmuTest, FetchesUseTheItlb) {
  pt.map(kVa, kData, kUrw, kTableFlags);
  Translation t = tr(AccessType::kFetch);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(mmu.itlb().probe(kPcid, kVa));
  EXPECT_FALSE(mmu.dtlb().probe(kPcid, kVa));
  // A load misses the dTLB and hits the STLB the fetch filled.
  t = tr(AccessType::kLoad);
  EXPECT_EQ(t.path, Translation::Path::kStlbHit);
  EXPECT_EQ(count("itlb.misses.fetch"), 1u);
  EXPECT_EQ(count("stlb.misses.fetch"), 1u);
  EXPECT_EQ(count("stlb.hits.load"), 1u);
  EXPECT_EQ(tr(AccessType::kFetch).path, Translation::Path::kHit);
  EXPECT_EQ(count("itlb.hits.fetch"), 1u);
}

TEST_F(MmuTest, TwoMegabytePageThroughTheHierarchy) {
  pt.map_2m(kVa, k2MFrame, kUrw, kTableFlags);
  Translation t = tr(AccessType::kLoad);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.page_shift, 21u);
  EXPECT_EQ(t.pa, pfn_to_phys(k2MFrame) + (kVa & (k2M - 1)));
  EXPECT_EQ(t.cycles, kL1 + kStlb + kStart + 3 * kRead + kWrite);
  // Another 4 KiB page of the same 2 MiB page hits the dTLB's 2 MiB array.
  const VirtAddr other = (kVa & ~(k2M - 1)) + 0x1ff008;
  t = tr(AccessType::kLoad, other);
  EXPECT_EQ(t.path, Translation::Path::kHit);
  EXPECT_EQ(t.pa, pfn_to_phys(k2MFrame) + 0x1ff008);
  EXPECT_EQ(count("dtlb.hits.2m"), 1u);
  EXPECT_EQ(count("dtlb.misses.2m"), 1u);
  EXPECT_EQ(count("stlb.misses.2m"), 1u);
  EXPECT_EQ(count("walker.pages.2m"), 1u);
  // The iTLB holds no 2 MiB pages: every fetch misses it and hits the STLB.
  EXPECT_EQ(tr(AccessType::kFetch).path, Translation::Path::kStlbHit);
  EXPECT_EQ(tr(AccessType::kFetch).path, Translation::Path::kStlbHit);
  EXPECT_EQ(count("itlb.fills"), 0u);
  EXPECT_EQ(count("itlb.misses.2m"), 2u);
}

TEST_F(MmuTest, StoreOnCleanEntryRewalksToSetDirty) {
  pt.map(kVa, kData, kUrw, kTableFlags);
  ASSERT_TRUE(tr(AccessType::kLoad).ok());  // fills with D=0
  EXPECT_FALSE(pt.get(kVa, 1) & kDirty);
  Translation t = tr(AccessType::kStore);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.path, Translation::Path::kDirtyRewalk);
  EXPECT_EQ(t.cycles, kL1 + kStart + 4 * kRead + kWrite) << "lookup + walk with one D write";
  EXPECT_TRUE(pt.get(kVa, 1) & kDirty);
  EXPECT_TRUE(mmu.dtlb().probe(kPcid, kVa)->dirty) << "refilled with D=1";
  EXPECT_TRUE(mmu.stlb().probe(kPcid, kVa)->dirty);
  EXPECT_EQ(tr(AccessType::kStore).path, Translation::Path::kHit);
  EXPECT_EQ(count("mmu.dirty_rewalks"), 1u);
  EXPECT_EQ(count("dtlb.hits.store"), 2u);
  EXPECT_EQ(count("dtlb.misses.store"), 0u) << "a D re-walk is not a miss";
}

TEST_F(MmuTest, StoreOnCleanStlbEntryRewalks) {
  pt.map(kVa, kData, kUrw, kTableFlags);
  ASSERT_TRUE(tr(AccessType::kLoad).ok());
  mmu.dtlb().invpcid_single(kPcid);
  const Translation t = tr(AccessType::kStore);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.path, Translation::Path::kDirtyRewalk);
  EXPECT_EQ(t.cycles, kL1 + kStlb + kStart + 4 * kRead + kWrite);
  EXPECT_EQ(count("mmu.dirty_rewalks"), 1u);
  EXPECT_EQ(count("stlb.hits.store"), 1u);
  EXPECT_EQ(count("dtlb.misses.store"), 1u);
  EXPECT_EQ(count("dtlb.misses.4k"), 2u) << "load miss + store miss (resolved by the STLB)";
  EXPECT_EQ(count("stlb.misses.4k"), 1u) << "the re-walk is no STLB miss";
}

TEST_F(MmuTest, StoreOnCleanEntryFaultsIfThePteLostWrite) {
  // HW3: D is set only if the entry is still present and writable; otherwise the store faults.
  pt.map(kVa, kData, kUrw, kTableFlags);
  ASSERT_TRUE(tr(AccessType::kLoad).ok());
  pt.set(kVa, 1, pt.get(kVa, 1) & ~kRw);  // the OS write-protects without flushing
  const Translation t = tr(AccessType::kStore);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error_code, kPfPresent | kPfWrite | kPfUser);
  EXPECT_FALSE(pt.get(kVa, 1) & kDirty);
  EXPECT_EQ(count("mmu.faults"), 1u);
}

TEST_F(MmuTest, StaleReadOnlyEntryIsRewalkedBeforeFaulting) {
  pt.map(kVa, kData, kPresent | kUser, kTableFlags);
  ASSERT_TRUE(tr(AccessType::kLoad).ok());  // cached read-only
  pt.set(kVa, 1, pt.get(kVa, 1) | kRw);     // the OS makes it writable (no flush needed)
  const Translation t = tr(AccessType::kStore);
  ASSERT_TRUE(t.ok()) << "hardware re-walks before #PF";
  EXPECT_EQ(t.path, Translation::Path::kPermissionRewalk);
  EXPECT_TRUE(mmu.dtlb().probe(kPcid, kVa)->writable);
  EXPECT_TRUE(mmu.stlb().probe(kPcid, kVa)->writable);
  EXPECT_EQ(count("mmu.permission_rewalks"), 1u);
  EXPECT_EQ(count("mmu.faults"), 0u);
}

TEST_F(MmuTest, FetchThroughNxEntryRewalksThenFaults) {
  pt.map(kVa, kData, kUrw | kNx, kTableFlags);
  ASSERT_TRUE(tr(AccessType::kLoad).ok());  // STLB holds it with NX
  const Translation t = tr(AccessType::kFetch);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.path, Translation::Path::kPermissionRewalk) << "STLB hit that does not permit";
  EXPECT_EQ(t.error_code, kPfPresent | kPfUser | kPfInstr);
  EXPECT_EQ(count("mmu.permission_rewalks"), 1u);
  EXPECT_EQ(count("mmu.faults"), 1u);
  EXPECT_EQ(count("walker.faults.protection"), 1u);
}

TEST_F(MmuTest, StaleEntryIsUsedUntilFlushed) {
  // The TLB is not coherent with memory: a cleared PTE still translates until invalidated (HW2).
  pt.map(kVa, kData, kUrw, kTableFlags);
  ASSERT_TRUE(tr(AccessType::kLoad).ok());
  pt.set(kVa, 1, 0);
  EXPECT_TRUE(tr(AccessType::kLoad).ok());
  mmu.dtlb().invlpg(kPcid, kVa);
  EXPECT_TRUE(tr(AccessType::kLoad).ok()) << "the STLB still holds it";
  mmu.invlpg(kPcid, kVa);
  const Translation t = tr(AccessType::kLoad);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error_code, kPfUser);
  EXPECT_FALSE(mmu.dtlb().probe(kPcid, kVa)) << "a fault fills nothing";
  EXPECT_FALSE(mmu.stlb().probe(kPcid, kVa));
  EXPECT_EQ(count("dtlb.misses.load"), 3u);
  EXPECT_EQ(count("dtlb.misses.4k"), 2u) << "a miss ending in #PF has no page size";
}

// --- invalidation operations over the whole hierarchy ----------------------------------------

// PCID 5 private page A (4 KiB) and huge page H (2 MiB), a global page G (4 KiB); PCID 6 maps A
// too (same tables: the test is about tags). Each is loaded and fetched, so the iTLB, dTLB and
// STLB hold every 4 KiB translation and the dTLB and STLB the 2 MiB one.
struct MmuInvalidation : MmuTest {
  static constexpr VirtAddr kA = kVa, kG = 0x0000000000403000ull, kH = 0x0000000040000000ull;
  static constexpr Pcid kOther = 6;
  static MachineConfig with_pwcs() {
    MachineConfig c = base_config();
    c.walker.pml4e_cache = {4, 4, 1};
    c.walker.pdpte_cache = {4, 4, 1};
    c.walker.pde_cache = {8, 4, 1};
    return c;
  }
  MmuInvalidation() : MmuTest(with_pwcs()) {
    pt.map(kA, kData, kUrw, kTableFlags);
    pt.map(kG, kData + 1, kUrw | kGlobal, kTableFlags);
    pt.map_2m(kH, k2MFrame, kUrw, kTableFlags);
    for (VirtAddr va : {kA, kG, kH}) {
      EXPECT_TRUE(tr(AccessType::kLoad, va).ok());
      EXPECT_TRUE(tr(AccessType::kFetch, va).ok());
    }
    EXPECT_TRUE(tr(AccessType::kLoad, kA, kOther).ok());
  }
  bool cached(Tlb& t, VirtAddr va, Pcid pcid = kPcid) { return t.probe(pcid, va).has_value(); }
  bool anywhere(VirtAddr va, Pcid pcid = kPcid) {
    return cached(mmu.itlb(), va, pcid) || cached(mmu.dtlb(), va, pcid) ||
           cached(mmu.stlb(), va, pcid);
  }
  bool everywhere(VirtAddr va, Pcid pcid = kPcid) {
    return cached(mmu.dtlb(), va, pcid) && cached(mmu.stlb(), va, pcid);
  }
  unsigned pwc_entries(Pcid pcid) {
    unsigned n = 0;
    for (VirtAddr va : {kA, kG, kH}) {
      n += mmu.walker().pml4e_cache().probe(pcid, va) ? 1 : 0;
      n += mmu.walker().pdpte_cache().probe(pcid, va) ? 1 : 0;
      n += mmu.walker().pde_cache().probe(pcid, va) ? 1 : 0;
    }
    return n;
  }
};

TEST_F(MmuInvalidation, SetupHoldsWhatTheTestsDrop) {
  EXPECT_TRUE(everywhere(kA) && cached(mmu.itlb(), kA));
  EXPECT_TRUE(everywhere(kG, kOther)) << "global";
  EXPECT_TRUE(everywhere(kH + 0x123000));
  EXPECT_FALSE(cached(mmu.itlb(), kH)) << "the iTLB holds no 2 MiB page";
  EXPECT_TRUE(everywhere(kA, kOther));
  EXPECT_GT(pwc_entries(kPcid), 0u);
  EXPECT_GT(pwc_entries(kOther), 0u);
}

TEST_F(MmuInvalidation, InvlpgDropsTheVaGlobalsAndThePcidsPwcEntries) {
  mmu.invlpg(kPcid, kH + 0x1ff000);  // any VA inside the 2 MiB page
  EXPECT_FALSE(anywhere(kH));
  EXPECT_TRUE(everywhere(kA));
  EXPECT_EQ(pwc_entries(kPcid), 0u) << "INVLPG drops every PWC entry of the PCID";
  EXPECT_GT(pwc_entries(kOther), 0u);
  mmu.invlpg(kOther, kG);  // the global entry goes whatever the PCID
  EXPECT_FALSE(anywhere(kG));
  EXPECT_TRUE(everywhere(kA, kOther)) << "only kG's entries in PCID 6";
  EXPECT_EQ(count("dtlb.invalidations.invlpg"), 2u);
  EXPECT_EQ(count("itlb.invalidations.invlpg"), 2u);
  EXPECT_EQ(count("stlb.invalidations.invlpg"), 2u);
  // kH in dTLB and STLB; kG in the three structures.
  EXPECT_EQ(count("dtlb.entries_invalidated") + count("stlb.entries_invalidated") +
                count("itlb.entries_invalidated"),
            5u);
}

TEST_F(MmuInvalidation, InvpcidAddressKeepsGlobals) {
  mmu.invpcid_address(kPcid, kG);
  EXPECT_TRUE(everywhere(kG)) << "INVPCID type 0 keeps global translations";
  mmu.invpcid_address(kPcid, kA);
  EXPECT_FALSE(anywhere(kA));
  EXPECT_TRUE(everywhere(kA, kOther));
  EXPECT_EQ(pwc_entries(kPcid), 0u);
  EXPECT_EQ(count("stlb.invalidations.invpcid_address"), 2u);
  EXPECT_EQ(count("walker.pde_cache.invalidations"), 2u);
}

TEST_F(MmuInvalidation, InvpcidSingleKeepsGlobalsAndOtherPcids) {
  mmu.invpcid_single(kPcid);
  EXPECT_FALSE(anywhere(kA));
  EXPECT_FALSE(anywhere(kH));
  EXPECT_TRUE(everywhere(kG));
  EXPECT_TRUE(everywhere(kA, kOther));
  EXPECT_EQ(pwc_entries(kPcid), 0u);
  EXPECT_GT(pwc_entries(kOther), 0u);
  EXPECT_EQ(count("dtlb.invalidations.invpcid_single"), 1u);
}

TEST_F(MmuInvalidation, InvpcidAllTypes2And3) {
  mmu.invpcid_all(false);  // type 3
  EXPECT_FALSE(anywhere(kA) || anywhere(kH) || anywhere(kA, kOther));
  EXPECT_TRUE(everywhere(kG));
  EXPECT_EQ(pwc_entries(kPcid) + pwc_entries(kOther), 0u) << "every PWC entry";
  mmu.invpcid_all(true);  // type 2
  EXPECT_FALSE(anywhere(kG));
  EXPECT_EQ(mmu.itlb().valid_entries() + mmu.dtlb().valid_entries() +
                mmu.stlb().valid_entries(),
            0u);
  EXPECT_EQ(count("itlb.invalidations.invpcid_all"), 2u);
}

TEST_F(MmuInvalidation, Cr3WriteWithAndWithoutNoflush) {
  mmu.write_cr3(kOther, /*noflush=*/true);
  EXPECT_TRUE(everywhere(kA, kOther));
  EXPECT_GT(pwc_entries(kOther), 0u);
  EXPECT_EQ(count("dtlb.invalidations.cr3"), 0u) << "a no-flush write invalidates nothing";
  mmu.write_cr3(kOther, /*noflush=*/false);
  EXPECT_FALSE(anywhere(kA, kOther));
  EXPECT_EQ(pwc_entries(kOther), 0u);
  EXPECT_TRUE(everywhere(kA)) << "other PCIDs keep theirs";
  EXPECT_TRUE(everywhere(kG, kOther)) << "global entries survive";
  EXPECT_GT(pwc_entries(kPcid), 0u);
  EXPECT_EQ(count("dtlb.invalidations.cr3"), 1u);
  EXPECT_EQ(count("dtlb.entries_invalidated"), 1u);
}

TEST_F(MmuInvalidation, FaultDeliveryDropsTheVaCountedApart) {
  mmu.invalidate_for_fault(kPcid, kA);
  EXPECT_FALSE(anywhere(kA));
  EXPECT_TRUE(everywhere(kA, kOther));
  EXPECT_FALSE(mmu.walker().pde_cache().probe(kPcid, kA)) << "the PWC entries kA would use";
  EXPECT_TRUE(mmu.walker().pde_cache().probe(kOther, kA));
  EXPECT_EQ(count("dtlb.invalidations.fault"), 1u);
  EXPECT_EQ(count("dtlb.invalidations.invlpg"), 0u);
}

TEST_F(MmuInvalidation, PwcShortensTheWalkAfterATlbOnlyFlush) {
  // The STLB and dTLB lose kA, the PDE cache keeps its PT pointer: the walk reads one PTE.
  mmu.dtlb().invpcid_single(kPcid);
  mmu.stlb().invpcid_single(kPcid);
  const Translation t = tr(AccessType::kLoad, kA);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.path, Translation::Path::kMissWalk);
  EXPECT_EQ(t.cycles, kL1 + kStlb + kStart + 1 /* PDE-cache hit */ + kRead);
}

TEST(MmuSeeds, RandomReplacementDrawsPerCpu) {
  // Two cores with random-replacement dTLBs evict differently under the same fills.
  MachineConfig c = base_config();
  c.dtlb.arrays = {};
  c.dtlb.arrays[0] = {8, 8, kPage4K};
  c.dtlb.replacement = Replacement::kRandom;
  stats::Group root("");
  PhysMem mem(c.memory, root);
  stats::Group g0("cpu0", &root), g1("cpu1", &root), g0b("cpu0b", &root);
  Mmu m0(c, mem, g0, 0), m1(c, mem, g1, 1), m0b(c, mem, g0b, 0);
  auto survivors = [](Mmu& m) {
    TlbEntry e;
    e.user = e.writable = true;
    for (Pfn p = 0; p < 40; ++p) m.dtlb().fill(1, p << kPageShift, e);
    std::uint64_t mask = 0;
    for (Pfn p = 0; p < 40; ++p)
      if (m.dtlb().probe(1, p << kPageShift)) mask |= 1ull << p;
    return mask;
  };
  const std::uint64_t s0 = survivors(m0);
  EXPECT_EQ(s0, survivors(m0b)) << "same seed, same cpu";
  EXPECT_NE(s0, survivors(m1));
}

}  // namespace
}  // namespace mmusim::machine
