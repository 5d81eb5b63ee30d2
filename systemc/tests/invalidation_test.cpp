// Invalidation: what a remote invalidation drops on a target's MMU, and what it costs there.
#include <gtest/gtest.h>

#include "mmusim/machine/invalidation.h"
#include "mmusim/machine/mmu.h"
#include "page_tables.h"

namespace mmusim::machine {
namespace {

using x86::kPresent, x86::kRw, x86::kUser, x86::kTableFlags;

constexpr VirtAddr kVa = 0x0000000000400000ull;
constexpr Pcid kPcid = 7;

MachineConfig config() {
  MachineConfig c;
  c.memory.size_bytes = 64 * kPageSize;
  c.core.invlpg_cycles = 111;
  c.core.flush_pcid_cycles = 222;
  c.core.flush_all_cycles = 333;
  return c;
}

struct InvalidationTest : ::testing::Test {
  InvalidationTest() {
    for (unsigned i = 0; i < 3; ++i) {
      pt.map(kVa + i * kPageSize, 20 + i, kPresent | kRw | kUser, kTableFlags);
      EXPECT_TRUE(mmu.translate(pt.root(), kPcid, kVa + i * kPageSize, AccessType::kLoad).ok());
      EXPECT_TRUE(mmu.translate(pt.root(), kPcid + 1, kVa + i * kPageSize, AccessType::kLoad).ok());
    }
  }
  bool cached(Pcid pcid, unsigned page) const {
    return mmu.dtlb().probe(pcid, kVa + page * kPageSize).has_value();
  }
  MachineConfig cfg = config();
  stats::Group root{""};
  PhysMem mem{cfg.memory, root};
  Mmu mmu{cfg, mem, root, 0};
  testing::PageTables pt{mem};
};

TEST_F(InvalidationTest, RangeDropsEachPageOfThePcidWithInvlpg) {
  const Invalidation inv = Invalidation::range(kPcid, kVa + 0x10, kVa + kPageSize + 1);
  ASSERT_EQ(inv.pages.size(), 2u) << "start rounded down, end up";
  apply_invalidation(mmu, inv);
  EXPECT_FALSE(cached(kPcid, 0));
  EXPECT_FALSE(cached(kPcid, 1));
  EXPECT_TRUE(cached(kPcid, 2));
  EXPECT_TRUE(cached(kPcid + 1, 0)) << "another PCID keeps its entries";
  EXPECT_EQ(invalidation_cycles(cfg.core, inv), 2 * 111u);
  EXPECT_EQ(invlpgb_instructions(inv), 2u);
  EXPECT_EQ(root.find("dtlb.invalidations.invlpg")->value_as_double(), 2.0);
}

TEST_F(InvalidationTest, WholePcidAndEverything) {
  const Invalidation pcid = Invalidation::whole_pcid(kPcid);
  apply_invalidation(mmu, pcid);
  EXPECT_FALSE(cached(kPcid, 2));
  EXPECT_TRUE(cached(kPcid + 1, 2));
  EXPECT_EQ(invalidation_cycles(cfg.core, pcid), 222u);
  EXPECT_EQ(invlpgb_instructions(pcid), 1u);
  const Invalidation all = Invalidation::everything();
  apply_invalidation(mmu, all);
  EXPECT_FALSE(cached(kPcid + 1, 2));
  EXPECT_EQ(invalidation_cycles(cfg.core, all), 333u);
  EXPECT_EQ(invlpgb_instructions(all), 1u);
  const Invalidation list = Invalidation::page_list(kPcid, {kVa, kVa + 5 * kPageSize, kVa + 9});
  EXPECT_EQ(invalidation_cycles(cfg.core, list), 3 * 111u);
}

}  // namespace
}  // namespace mmusim::machine
