#include <gtest/gtest.h>

#include <stdexcept>

#include "mmusim/machine/pwc.h"

namespace mmusim::machine {
namespace {

PwcParams geometry(unsigned entries, unsigned ways) {
  PwcParams p;
  p.entries = entries;
  p.ways = ways;
  p.hit_cycles = 2;
  return p;
}

PwcEntry table(PhysAddr pa) { return PwcEntry{pa, true, true, false}; }

std::uint64_t count(const stats::Group& g, const char* path) {
  const stats::Stat* s = g.find(path);
  EXPECT_NE(s, nullptr) << path;
  return s ? static_cast<std::uint64_t>(s->value_as_double()) : ~0ull;
}

constexpr VirtAddr k2M = 1ull << 21, k1G = 1ull << 30, k512G = 1ull << 39;

TEST(Pwc, TagCoversTheRegionOfItsLevel) {
  stats::Group root("");
  PagingStructureCache pde(geometry(4, 4), 2, root, "pde_cache");
  PagingStructureCache pdpte(geometry(4, 4), 3, root, "pdpte_cache");
  PagingStructureCache pml4e(geometry(4, 4), 4, root, "pml4e_cache");
  const VirtAddr va = 5 * k512G + 7 * k1G + 9 * k2M + 0x1234;
  pde.fill(1, va, table(0x3000));
  pdpte.fill(1, va, table(0x2000));
  pml4e.fill(1, va, table(0x1000));
  // Same 2 MiB region: same PDE; next 2 MiB region: another PDE, same PDPTE.
  EXPECT_EQ(pde.probe(1, va - 0x1234 + k2M - 1)->table, 0x3000u);
  EXPECT_FALSE(pde.probe(1, va + k2M));
  EXPECT_EQ(pdpte.probe(1, va + k2M)->table, 0x2000u);
  EXPECT_FALSE(pdpte.probe(1, va + k1G));
  EXPECT_EQ(pml4e.probe(1, va + k1G)->table, 0x1000u);
  EXPECT_FALSE(pml4e.probe(1, va + k512G));
  EXPECT_FALSE(pde.probe(2, va)) << "tagged by PCID";
  EXPECT_EQ(pde.level(), 2u);
  EXPECT_EQ(pde.hit_cycles(), 2u);
}

TEST(Pwc, LruInOneSetAndStats) {
  stats::Group root("");
  PagingStructureCache pde(geometry(2, 2), 2, root, "pde");
  EXPECT_FALSE(pde.lookup(1, 0));              // miss 1
  pde.fill(1, 0, table(0xa000));               // fill 1
  pde.fill(1, k2M, table(0xb000));             // fill 2
  EXPECT_TRUE(pde.lookup(1, 0));               // hit 1: region 0 becomes MRU
  pde.fill(1, 2 * k2M, table(0xc000));         // fill 3: evicts region 1 (LRU)
  EXPECT_FALSE(pde.lookup(1, k2M));            // miss 2
  EXPECT_EQ(pde.lookup(1, 2 * k2M)->table, 0xc000u);  // hit 2
  pde.fill(1, 2 * k2M, table(0xd000));         // fill 4: same tag, replaced in place
  EXPECT_EQ(pde.valid_entries(), 2u);
  EXPECT_EQ(pde.probe(1, 2 * k2M)->table, 0xd000u);
  EXPECT_EQ(count(root, "pde.hits"), 2u);
  EXPECT_EQ(count(root, "pde.misses"), 2u);
  EXPECT_EQ(count(root, "pde.fills"), 4u);
}

TEST(Pwc, ProbeDoesNotTouchLruOrStats) {
  stats::Group root("");
  PagingStructureCache pde(geometry(2, 2), 2, root, "pde");
  pde.fill(1, 0, table(0xa000));
  pde.fill(1, k2M, table(0xb000));
  ASSERT_TRUE(pde.probe(1, 0));
  pde.fill(1, 2 * k2M, table(0xc000));
  EXPECT_FALSE(pde.probe(1, 0)) << "region 0 stayed LRU";
  EXPECT_EQ(count(root, "pde.hits") + count(root, "pde.misses"), 0u);
}

TEST(Pwc, InvalidationsByPcidAllAndAddress) {
  stats::Group root("");
  PagingStructureCache pde(geometry(8, 2), 2, root, "pde");
  pde.fill(1, 0, table(0xa000));
  pde.fill(1, k2M, table(0xb000));
  pde.fill(2, 0, table(0xc000));
  pde.invalidate_address(1, 0x1000);  // region 0 of PCID 1 only
  EXPECT_FALSE(pde.probe(1, 0));
  EXPECT_TRUE(pde.probe(1, k2M));
  EXPECT_TRUE(pde.probe(2, 0));
  pde.invalidate_pcid(1);
  EXPECT_FALSE(pde.probe(1, k2M));
  EXPECT_TRUE(pde.probe(2, 0));
  pde.invalidate_all();
  EXPECT_EQ(pde.valid_entries(), 0u);
  pde.invalidate_all();  // an operation that finds nothing still counts
  EXPECT_EQ(count(root, "pde.invalidations"), 4u);
  EXPECT_EQ(count(root, "pde.entries_invalidated"), 3u);
}

TEST(Pwc, DisabledCacheHoldsAndCountsNothing) {
  stats::Group root("");
  PagingStructureCache pde(geometry(0, 1), 2, root, "pde");
  EXPECT_FALSE(pde.enabled());
  pde.fill(1, 0, table(0xa000));
  EXPECT_FALSE(pde.lookup(1, 0));
  pde.invalidate_all();
  EXPECT_EQ(pde.valid_entries(), 0u);
  EXPECT_EQ(count(root, "pde.misses") + count(root, "pde.fills") +
                count(root, "pde.invalidations"),
            0u);
}

TEST(Pwc, RejectsBadGeometryAndLevel) {
  stats::Group root("");
  EXPECT_THROW(PagingStructureCache(geometry(6, 2), 2, root, "a"), std::invalid_argument);
  EXPECT_THROW(PagingStructureCache(geometry(4, 0), 2, root, "b"), std::invalid_argument);
  EXPECT_THROW(PagingStructureCache(geometry(4, 4), 1, root, "c"), std::invalid_argument);
}

}  // namespace
}  // namespace mmusim::machine
