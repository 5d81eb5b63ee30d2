#include <gtest/gtest.h>

#include <stdexcept>

#include "mmusim/machine/page_walker.h"
#include "page_tables.h"

namespace mmusim::machine {
namespace {

using testing::PageTables;
using x86::kAccessed, x86::kDirty, x86::kGlobal, x86::kNx, x86::kPresent, x86::kRw, x86::kUser;
using x86::kPfInstr, x86::kPfPresent, x86::kPfRsvd, x86::kPfUser, x86::kPfWrite;
using x86::kSoftSoftDirty, x86::kTableFlags, x86::pfn_pte, x86::PteVal;

constexpr VirtAddr kVa = 0x00007f1234567abcull;
constexpr Pfn kData = 10;
constexpr Pcid kPcid = 3;
constexpr PteVal kUrw = kPresent | kRw | kUser;

struct WalkerTest : ::testing::Test {
  WalkerTest() : mem(params(), root), walker(walker_params(), mem, root), pt{mem} {}
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
    return w;
  }
  std::uint64_t count(const char* path) const {
    const stats::Stat* s = root.find(path);
    EXPECT_NE(s, nullptr) << path;
    return s ? static_cast<std::uint64_t>(s->value_as_double()) : ~0ull;
  }
  WalkResult walk(AccessType t, Privilege p = Privilege::kUser) {
    return walker.walk(pt.root(), kPcid, kVa, t, p);
  }

  stats::Group root{""};
  PhysMem mem;
  PageWalker walker;
  PageTables pt;
};

TEST_F(WalkerTest, LoadSetsAccessedOnEveryLevelButNotDirty) {
  pt.map(kVa, kData, kUrw);
  const WalkResult r = walk(AccessType::kLoad);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.entry.pfn, kData);
  EXPECT_TRUE(r.entry.writable);
  EXPECT_TRUE(r.entry.user);
  EXPECT_FALSE(r.entry.dirty);
  EXPECT_FALSE(r.entry.global);
  for (unsigned level = 4; level >= 1; --level) {
    EXPECT_TRUE(pt.get(kVa, level) & kAccessed) << "level " << level;
    EXPECT_FALSE(pt.get(kVa, level) & kDirty) << "level " << level;
  }
  EXPECT_EQ(r.pte_reads, 4u);
  EXPECT_EQ(r.ad_writes, 4u);
  EXPECT_EQ(r.cycles, 5u + 4 * 30 + 4 * 40);
  // Second walk: A already set, no write-backs.
  const WalkResult again = walk(AccessType::kLoad);
  EXPECT_EQ(again.ad_writes, 0u);
  EXPECT_EQ(again.cycles, 5u + 4 * 30);
  EXPECT_EQ(count("walker.walks"), 2u);
  EXPECT_EQ(count("walker.pte_reads"), 8u);
  EXPECT_EQ(count("walker.ad_writes"), 4u);
  EXPECT_EQ(count("walker.walk_cycles"), 2u);  // samples
  EXPECT_EQ(count("walker.pages.4k"), 2u);
}

TEST_F(WalkerTest, PermittedStoreSetsDirtyOnTheLeafInTheSameWriteAsAccessed) {
  pt.map(kVa, kData, kUrw | kGlobal, kTableFlags);  // upper levels already A/D
  const WalkResult r = walk(AccessType::kStore);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.entry.dirty);
  EXPECT_TRUE(r.entry.global);
  EXPECT_EQ(pt.get(kVa, 1) & (kAccessed | kDirty), kAccessed | kDirty);
  EXPECT_EQ(r.ad_writes, 1u);
  EXPECT_EQ(r.cycles, 5u + 4 * 30 + 1 * 40);
}

TEST_F(WalkerTest, DirtyAlreadySetNeedsNoWrite) {
  pt.map(kVa, kData, kUrw | kAccessed | kDirty, kTableFlags);
  const WalkResult r = walk(AccessType::kStore);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.entry.dirty);
  EXPECT_EQ(r.ad_writes, 0u);
  EXPECT_EQ(r.cycles, 5u + 4 * 30);
}

TEST_F(WalkerTest, NotPresentAtEachLevel) {
  for (unsigned level = 4; level >= 1; --level) {
    pt.map(kVa, kData, kUrw);
    pt.set(kVa, level, pt.get(kVa, level) & ~kPresent);
    const WalkResult r = walk(AccessType::kLoad);
    ASSERT_FALSE(r.ok()) << level;
    EXPECT_EQ(r.error_code, kPfUser) << "not-present user read: P=0 W=0 U=1";
    EXPECT_EQ(r.fault, FaultKind::kNotPresent);
    EXPECT_EQ(r.fault_level, level);
    EXPECT_EQ(r.pte_reads, 5 - level);
    EXPECT_EQ(r.ad_writes, 0u) << "a faulting walk sets no A bit";
  }
  EXPECT_EQ(count("walker.faults.not_present"), 4u);
  const WalkResult w = walk(AccessType::kStore, Privilege::kSupervisor);
  EXPECT_EQ(w.error_code, kPfWrite);
}

TEST_F(WalkerTest, ProtectionWriteLeavesDirtyClear) {
  pt.map(kVa, kData, kPresent | kUser);  // read-only
  const WalkResult r = walk(AccessType::kStore);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_code, kPfPresent | kPfWrite | kPfUser);
  EXPECT_EQ(r.fault, FaultKind::kProtection);
  EXPECT_FALSE(pt.get(kVa, 1) & kDirty) << "HW3: D only on a permitted store";
  EXPECT_EQ(r.cycles, 5u + 4 * 30);
  EXPECT_EQ(count("walker.faults.protection"), 1u);
  // A load of the same page is fine, and supervisor writes honour RW too (CR0.WP=1).
  EXPECT_TRUE(walk(AccessType::kLoad).ok());
  EXPECT_EQ(walk(AccessType::kStore, Privilege::kSupervisor).error_code, kPfPresent | kPfWrite);
}

TEST_F(WalkerTest, UserAccessToSupervisorPage) {
  pt.map(kVa, kData, kPresent | kRw);  // no US on the leaf
  const WalkResult r = walk(AccessType::kLoad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_code, kPfPresent | kPfUser);
  EXPECT_TRUE(walk(AccessType::kLoad, Privilege::kSupervisor).ok());
}

TEST_F(WalkerTest, PermissionsAreAndedAcrossLevels) {
  // A read-only PMD write-protects the whole table below it (what PTE-table COW relies on, HW1).
  pt.map(kVa, kData, kUrw);
  pt.set(kVa, 2, pt.get(kVa, 2) & ~kRw);
  WalkResult r = walk(AccessType::kStore);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_code, kPfPresent | kPfWrite | kPfUser);
  r = walk(AccessType::kLoad);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.entry.writable) << "the effective RW is the AND over the levels";
  // US cleared at the PDPT: supervisor-only for the whole subtree.
  pt.map(kVa, kData, kUrw);
  pt.set(kVa, 3, pt.get(kVa, 3) & ~kUser);
  EXPECT_EQ(walk(AccessType::kLoad).error_code, kPfPresent | kPfUser);
  // NX at the PML4 is ORed down.
  pt.map(kVa, kData, kUrw);
  pt.set(kVa, 4, pt.get(kVa, 4) | kNx);
  r = walk(AccessType::kLoad);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.entry.nx);
}

TEST_F(WalkerTest, FetchFaultsSetInstructionBit) {
  pt.map(kVa, kData, kUrw | kNx);
  WalkResult r = walk(AccessType::kFetch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_code, kPfPresent | kPfUser | kPfInstr);
  pt.set(kVa, 1, 0);
  r = walk(AccessType::kFetch);
  EXPECT_EQ(r.error_code, kPfUser | kPfInstr);
}

TEST_F(WalkerTest, ReservedBits) {
  pt.map(kVa, kData, kUrw);
  pt.set(kVa, 1, pt.get(kVa, 1) | (1ull << 46));  // above MAXPHYADDR 46
  WalkResult r = walk(AccessType::kLoad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_code, kPfPresent | kPfRsvd | kPfUser);
  EXPECT_EQ(r.fault, FaultKind::kReserved);
  EXPECT_EQ(r.fault_level, 1u);
  pt.map(kVa, kData, kUrw);
  pt.set(kVa, 3, pt.get(kVa, 3) | (1ull << 51));
  EXPECT_EQ(walk(AccessType::kStore).error_code, kPfPresent | kPfRsvd | kPfWrite | kPfUser);
  pt.map(kVa, kData, kUrw);
  pt.set(kVa, 4, pt.get(kVa, 4) | x86::kPse);  // PS is reserved in a PML4E
  r = walk(AccessType::kLoad);
  EXPECT_EQ(r.error_code, kPfPresent | kPfRsvd | kPfUser);
  EXPECT_EQ(r.fault_level, 4u);
  // Bits 52..62 are ignored (software/protection keys), bit 63 is NX, not reserved (EFER.NXE=1).
  pt.map(kVa, kData, kUrw | (1ull << 52) | (1ull << 62) | kSoftSoftDirty);
  EXPECT_TRUE(walk(AccessType::kLoad).ok());
  EXPECT_EQ(count("walker.faults.reserved"), 3u);
}

// --- huge pages (SDM 4.5, tables 4-17 and 4-19) ------------------------------------------------

constexpr Pfn k2MFrame = 3 * 512;        // 2 MiB aligned
constexpr Pfn k1GFrame = 2 * 512 * 512;  // 1 GiB aligned

TEST_F(WalkerTest, TwoMegabytePage) {
  pt.map_2m(kVa, k2MFrame, kUrw);
  WalkResult r = walk(AccessType::kLoad);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.entry.size, PageSize::k2M);
  EXPECT_EQ(r.entry.pfn, k2MFrame);
  EXPECT_EQ(r.entry.translate(kVa), pfn_to_phys(k2MFrame) + (kVa & 0x1fffff));
  EXPECT_FALSE(r.entry.dirty);
  EXPECT_EQ(r.pte_reads, 3u) << "PML4E, PDPTE, PDE";
  EXPECT_EQ(r.ad_writes, 3u);
  EXPECT_EQ(r.cycles, 5u + 3 * 30 + 3 * 40);
  for (unsigned level = 4; level >= 2; --level)
    EXPECT_TRUE(pt.get(kVa, level) & kAccessed) << level;
  EXPECT_FALSE(pt.get(kVa, 2) & kDirty);
  // A store sets D on the PDE, the leaf.
  r = walk(AccessType::kStore);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.entry.dirty);
  EXPECT_TRUE(pt.get(kVa, 2) & kDirty);
  EXPECT_FALSE(pt.get(kVa, 3) & kDirty) << "D only on the leaf";
  EXPECT_EQ(r.ad_writes, 1u);
  EXPECT_EQ(count("walker.pages.2m"), 2u);
  EXPECT_EQ(count("walker.pages.4k"), 0u);
}

TEST_F(WalkerTest, HugeLeafPatBitIsNotPartOfTheFrame) {
  pt.map_2m(kVa, k2MFrame, kUrw | (1ull << 12));  // PAT
  const WalkResult r = walk(AccessType::kLoad);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.entry.pfn, k2MFrame);
}

TEST_F(WalkerTest, OneGigabytePage) {
  pt.map_1g(kVa, k1GFrame, kUrw | kGlobal);
  const WalkResult r = walk(AccessType::kStore);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.entry.size, PageSize::k1G);
  EXPECT_EQ(r.entry.pfn, k1GFrame);
  EXPECT_EQ(r.entry.translate(kVa), pfn_to_phys(k1GFrame) + (kVa & 0x3fffffff));
  EXPECT_TRUE(r.entry.global);
  EXPECT_TRUE(r.entry.dirty);
  EXPECT_EQ(r.pte_reads, 2u);
  EXPECT_EQ(r.ad_writes, 2u) << "A on the PML4E; A and D on the PDPTE in one write";
  EXPECT_EQ(pt.get(kVa, 3) & (kAccessed | kDirty), kAccessed | kDirty);
  EXPECT_EQ(count("walker.pages.1g"), 1u);
}

TEST_F(WalkerTest, HugeLeafReservedBits) {
  pt.map_2m(kVa, k2MFrame, kUrw | (1ull << 13));
  WalkResult r = walk(AccessType::kLoad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_code, kPfPresent | kPfRsvd | kPfUser);
  EXPECT_EQ(r.fault_level, 2u);
  pt.map_2m(kVa, k2MFrame, kUrw | (1ull << 20));
  EXPECT_EQ(walk(AccessType::kLoad).fault, FaultKind::kReserved);
  pt.map_1g(kVa, k1GFrame, kUrw | (1ull << 29));
  r = walk(AccessType::kFetch);
  EXPECT_EQ(r.error_code, kPfPresent | kPfRsvd | kPfUser | kPfInstr);
  EXPECT_EQ(r.fault_level, 3u);
  pt.map_1g(kVa, k1GFrame, kUrw | (1ull << 13));
  EXPECT_EQ(walk(AccessType::kLoad).fault, FaultKind::kReserved);
  pt.map_1g(kVa, k1GFrame, kUrw | (1ull << 46));  // above MAXPHYADDR in a huge leaf too
  EXPECT_EQ(walk(AccessType::kLoad).fault, FaultKind::kReserved);
  EXPECT_EQ(count("walker.faults.reserved"), 5u);
  EXPECT_FALSE(pt.get(kVa, 4) & kAccessed) << "a faulting walk sets no A bit";
}

TEST_F(WalkerTest, HugeLeafPermissionsAreAndedWithTheLevelsAbove) {
  pt.map_2m(kVa, k2MFrame, kUrw);
  pt.set(kVa, 4, pt.get(kVa, 4) & ~kUser);
  EXPECT_EQ(walk(AccessType::kLoad).error_code, kPfPresent | kPfUser);
  pt.map_2m(kVa, k2MFrame, kUrw);
  pt.set(kVa, 3, pt.get(kVa, 3) & ~kRw);
  EXPECT_EQ(walk(AccessType::kStore).error_code, kPfPresent | kPfWrite | kPfUser);
  EXPECT_FALSE(pt.get(kVa, 2) & kDirty);
  pt.map_1g(kVa, k1GFrame, kUrw | kNx);
  const WalkResult r = walk(AccessType::kFetch);
  EXPECT_EQ(r.error_code, kPfPresent | kPfUser | kPfInstr);
  EXPECT_EQ(r.fault_level, 3u) << "a protection fault names the leaf's level";
}

TEST_F(WalkerTest, TableBeyondMemoryIsAModelError) {
  pt.map(kVa, kData, kUrw);
  pt.set(kVa, 2, pfn_pte(1000, kUrw));  // PT frame beyond the 64-frame memory
  EXPECT_THROW(walk(AccessType::kLoad), std::out_of_range);
}

}  // namespace
}  // namespace mmusim::machine
