#include <gtest/gtest.h>

#include "mmusim/machine/mmu.h"
#include "page_tables.h"

namespace mmusim::machine {
namespace {

using testing::PageTables;
using x86::kAccessed, x86::kDirty, x86::kGlobal, x86::kNx, x86::kPresent, x86::kRw, x86::kUser;
using x86::kPfInstr, x86::kPfPresent, x86::kPfRsvd, x86::kPfUser, x86::kPfWrite;
using x86::kSoftSoftDirty, x86::kTableFlags, x86::pfn_pte, x86::PteVal;

constexpr VirtAddr kVa = 0x0000000000401238ull;
constexpr Pfn kData = 20;
constexpr Pcid kPcid = 5;
constexpr PteVal kUrw = kPresent | kRw | kUser;

struct MmuTest : ::testing::Test {
  MmuTest() : mem(config().memory, root), mmu(config(), mem, root), pt{mem} {}
  static MachineConfig config() {
    MachineConfig c;
    c.memory.size_bytes = 64 * kPageSize;
    c.memory.read_cycles = 30;
    c.memory.write_cycles = 40;
    c.dtlb.entries = 8;
    c.dtlb.ways = 2;
    c.dtlb.hit_cycles = 1;
    c.walker.walk_start_cycles = 5;
    return c;
  }
  std::uint64_t count(const char* path) const {
    const stats::Stat* s = root.find(path);
    EXPECT_NE(s, nullptr) << path;
    return s ? static_cast<std::uint64_t>(s->value_as_double()) : ~0ull;
  }
  Translation tr(AccessType t) { return mmu.translate(pt.root(), kPcid, kVa, t); }

  stats::Group root{""};
  PhysMem mem;
  Mmu mmu;
  PageTables pt;
};

TEST_F(MmuTest, MissWalksFillsAndCountsOneMiss) {
  pt.map(kVa, kData, kUrw, kTableFlags);
  Translation t = tr(AccessType::kLoad);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.path, Translation::Path::kMissWalk);
  EXPECT_EQ(t.pa, pfn_to_phys(kData) + 0x238);
  EXPECT_EQ(t.cycles, 1u + 5 + 4 * 30 + 40) << "lookup + walk (4 reads, A on the leaf)";
  t = tr(AccessType::kLoad);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.path, Translation::Path::kHit);
  EXPECT_EQ(t.cycles, 1u);
  EXPECT_EQ(count("dtlb.misses.load"), 1u);
  EXPECT_EQ(count("dtlb.hits.load"), 1u);
  EXPECT_EQ(count("dtlb.accesses"), 2u) << "the walk's refill is not a second lookup";
  EXPECT_EQ(count("dtlb.fills"), 1u);
  EXPECT_EQ(count("walker.walks"), 1u);
}

TEST_F(MmuTest, StoreOnCleanEntryRewalksToSetDirty) {
  pt.map(kVa, kData, kUrw, kTableFlags);
  ASSERT_TRUE(tr(AccessType::kLoad).ok());  // fills with D=0
  EXPECT_FALSE(pt.get(kVa, 1) & kDirty);
  Translation t = tr(AccessType::kStore);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.path, Translation::Path::kDirtyRewalk);
  EXPECT_EQ(t.cycles, 1u + 5 + 4 * 30 + 40) << "lookup + walk with one D write-back";
  EXPECT_TRUE(pt.get(kVa, 1) & kDirty);
  EXPECT_TRUE(mmu.dtlb().probe(kPcid, kVa)->dirty) << "refilled with D=1";
  EXPECT_EQ(tr(AccessType::kStore).path, Translation::Path::kHit);
  EXPECT_EQ(count("mmu.dirty_rewalks"), 1u);
  EXPECT_EQ(count("dtlb.hits.store"), 2u);
  EXPECT_EQ(count("dtlb.misses.store"), 0u) << "a D re-walk is not a miss";
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
  EXPECT_EQ(count("mmu.permission_rewalks"), 1u);
  EXPECT_EQ(count("mmu.faults"), 0u);
}

TEST_F(MmuTest, HitThenFlushThenMiss) {
  pt.map(kVa, kData, kUrw, kTableFlags);
  ASSERT_TRUE(tr(AccessType::kLoad).ok());
  ASSERT_EQ(tr(AccessType::kLoad).path, Translation::Path::kHit);
  mmu.dtlb().flush_pcid(kPcid);
  EXPECT_EQ(tr(AccessType::kLoad).path, Translation::Path::kMissWalk);
  EXPECT_EQ(count("dtlb.misses.load"), 2u);
  EXPECT_EQ(count("dtlb.hits.load"), 1u);
  EXPECT_EQ(count("walker.walks"), 2u);
}

TEST_F(MmuTest, StaleEntryIsUsedUntilFlushed) {
  // The TLB is not coherent with memory: a cleared PTE still translates until invalidated (HW2).
  pt.map(kVa, kData, kUrw, kTableFlags);
  ASSERT_TRUE(tr(AccessType::kLoad).ok());
  pt.set(kVa, 1, 0);
  EXPECT_TRUE(tr(AccessType::kLoad).ok());
  mmu.dtlb().invlpg(kPcid, kVa);
  const Translation t = tr(AccessType::kLoad);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error_code, kPfUser);
  EXPECT_FALSE(mmu.dtlb().probe(kPcid, kVa)) << "a fault fills nothing";
}

}  // namespace
}  // namespace mmusim::machine
