#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <vector>

#include "mmusim/machine/replacement.h"

namespace mmusim::machine {
namespace {

TEST(Replacement, LruVictimIsTheLeastRecentlyTouchedWay) {
  ReplacementPolicy lru(Replacement::kLru, 2, 4, 0);
  for (unsigned w = 0; w < 4; ++w) lru.touch(1, w);  // order 0 1 2 3 in set 1
  EXPECT_EQ(lru.victim(1), 0u);
  lru.touch(1, 0);  // order 1 2 3 0
  EXPECT_EQ(lru.victim(1), 1u);
  lru.touch(1, 2);  // order 1 3 0 2
  EXPECT_EQ(lru.victim(1), 1u);
  lru.touch(1, 1);  // order 3 0 2 1
  EXPECT_EQ(lru.victim(1), 3u);
  EXPECT_EQ(lru.victim(0), 0u) << "set 0 untouched: all stamps 0, lowest way on a tie";
}

// Hand-computed tree for 4 ways: node 1 chooses between {0,1} (node 2) and {2,3} (node 3); a bit
// points at the half holding the next victim.
TEST(Replacement, TreePlruVictimOrder) {
  ReplacementPolicy plru(Replacement::kPlru, 1, 4, 0);
  EXPECT_EQ(plru.victim(0), 0u) << "all bits 0: leftmost";
  for (unsigned w = 0; w < 4; ++w) plru.touch(0, w);
  // After touching 3 last: node1 -> left, node2 -> 0 (touch 1 pointed it at 0), node3 -> 2.
  EXPECT_EQ(plru.victim(0), 0u);
  plru.touch(0, 0);  // node1 -> right, node2 -> 1
  EXPECT_EQ(plru.victim(0), 2u) << "true LRU would say 1; the tree only knows 0 was last";
  plru.touch(0, 2);  // node1 -> left, node3 -> 3
  EXPECT_EQ(plru.victim(0), 1u);
  plru.touch(0, 1);  // node1 -> right, node2 -> 0
  EXPECT_EQ(plru.victim(0), 3u);
  plru.touch(0, 3);  // node1 -> left, node3 -> 2
  EXPECT_EQ(plru.victim(0), 0u);
}

TEST(Replacement, TreePlruEightWays) {
  ReplacementPolicy plru(Replacement::kPlru, 1, 8, 0);
  plru.touch(0, 5);  // root -> {0..3}, then node 2 is still 0 -> {0,1}, node 4 -> 0
  EXPECT_EQ(plru.victim(0), 0u);
  plru.touch(0, 0);  // root -> {4..7}; node 3 points away from 5: {6,7}; node 7 -> 6
  EXPECT_EQ(plru.victim(0), 6u);
}

TEST(Replacement, PlruNeedsPowerOfTwoWays) {
  EXPECT_THROW(ReplacementPolicy(Replacement::kPlru, 1, 6, 0), std::invalid_argument);
  EXPECT_NO_THROW(ReplacementPolicy(Replacement::kLru, 1, 6, 0));
  EXPECT_NO_THROW(ReplacementPolicy(Replacement::kRandom, 1, 6, 0));
}

std::vector<unsigned> draws(std::uint64_t seed) {
  ReplacementPolicy r(Replacement::kRandom, 1, 8, seed);
  std::vector<unsigned> v;
  for (int i = 0; i < 32; ++i) v.push_back(r.victim(0));
  return v;
}

TEST(Replacement, RandomIsDeterministicPerSeedAndDiffersBetweenSeeds) {
  EXPECT_EQ(draws(7), draws(7));
  EXPECT_NE(draws(7), draws(8));
  const std::vector<unsigned> d = draws(7);
  EXPECT_GT(std::set<unsigned>(d.begin(), d.end()).size(), 4u) << "uses more than a few ways";
  for (unsigned w : d) EXPECT_LT(w, 8u);
}

TEST(Replacement, SplitMix64KnownValues) {
  // Reference values of splitmix64 seeded with 0 (Vigna's splitmix64.c).
  SplitMix64 g(0);
  EXPECT_EQ(g.next(), 0xe220a8397b1dcdafull);
  EXPECT_EQ(g.next(), 0x6e789e6aa1b965f4ull);
}

TEST(Replacement, SeedMixesMachineSeedCpuAndStructure) {
  const std::uint64_t base = replacement_seed(1, 0, "dtlb");
  EXPECT_EQ(base, replacement_seed(1, 0, "dtlb"));
  EXPECT_NE(base, replacement_seed(2, 0, "dtlb"));
  EXPECT_NE(base, replacement_seed(1, 1, "dtlb"));
  EXPECT_NE(base, replacement_seed(1, 0, "itlb"));
  EXPECT_NE(replacement_seed(1, 1, "dtlb"), replacement_seed(1, 2, "dtlb"));
}

}  // namespace
}  // namespace mmusim::machine
