// StoreBuffer without SystemC: drain timing, byte-accurate forwarding, partial-overlap waits,
// full stalls, forced drains, and that each statistic counts exactly its event.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mmusim/machine/store_buffer.h"

namespace mmusim::machine {
namespace {

constexpr Cycles kDrain = 10, kForward = 5, kRead = 30;
constexpr PhysAddr kA = 0x3000;

struct Sink : StoreSink {
  std::vector<BufferedStore> drained;
  void store_drained(const BufferedStore& s) override { drained.push_back(s); }
};

struct StoreBufferTest : ::testing::Test {
  static MemoryParams memory() {
    MemoryParams m;
    m.size_bytes = 64 * kPageSize;
    m.read_cycles = kRead;
    return m;
  }
  static StoreBufferParams params(unsigned entries = 4) {
    StoreBufferParams p;
    p.entries = entries;
    p.drain_cycles = kDrain;
    p.forward_cycles = kForward;
    return p;
  }
  std::uint64_t count(const char* path) const {
    const stats::Stat* s = root.find(path);
    EXPECT_NE(s, nullptr) << path;
    return s ? static_cast<std::uint64_t>(s->value_as_double()) : ~0ull;
  }
  CoreOp op(std::uint64_t token) {
    CoreOp o;
    o.kind = CoreOp::Kind::kStore;
    o.token = token;
    return o;
  }

  stats::Group root{""};
  PhysMem mem{memory(), root};
  Sink sink;
  StoreBuffer sb{params(), mem, &sink, root};
};

TEST_F(StoreBufferTest, StoresLeaveInOrderAtTheDrainRate) {
  EXPECT_EQ(sb.retire(kA, 8, 1, op(1), 0), 0u);
  EXPECT_EQ(sb.retire(kA + 8, 8, 2, op(2), 0), 0u);
  EXPECT_EQ(sb.retire(kA + 16, 8, 3, op(3), 3), 0u);
  ASSERT_EQ(sb.size(), 3u);
  EXPECT_EQ(sb.entry(0).leaves, 10u) << "first store: drain_cycles after it entered";
  EXPECT_EQ(sb.entry(1).leaves, 20u) << "one store leaves every drain_cycles";
  EXPECT_EQ(sb.entry(2).leaves, 30u);
  EXPECT_EQ(sb.entry(2).retired, 3u);
  sb.drain_until(19);
  ASSERT_EQ(sink.drained.size(), 1u);
  EXPECT_EQ(sink.drained[0].op.token, 1u);
  EXPECT_EQ(mem.peek64(kA), 1u) << "a drained store is in memory";
  EXPECT_EQ(mem.peek64(kA + 8), 0u) << "a buffered one is not";
  sb.drain_until(30);
  EXPECT_TRUE(sb.empty());
  EXPECT_EQ(count("sb.stores_drained"), 3u);
  // After an idle period the next store leaves drain_cycles after it enters.
  sb.retire(kA, 4, 7, op(4), 100);
  EXPECT_EQ(sb.entry(0).leaves, 110u);
  EXPECT_EQ(count("mem.writes"), 3u) << "each drained store is one memory write";
}

TEST_F(StoreBufferTest, ForwardsAFullyCoveredLoadYoungestStorePerByte) {
  mem.poke64(kA, 0x1111111111111111ull);
  sb.retire(kA, 8, 0x8877665544332211ull, op(1), 0);
  sb.retire(kA + 2, 2, 0xbbaa, op(2), 0);  // younger: bytes 2..3
  const auto r = sb.load(kA, 8, 1);
  EXPECT_EQ(r.value, 0x88776655bbaa2211ull) << "the younger store wins bytes 2..3";
  EXPECT_EQ(r.cycles, kForward);
  const auto r4 = sb.load(kA + 2, 4, 1);
  EXPECT_EQ(r4.value, 0x6655bbaaull);
  // A load spanning two 8-byte granules, covered by two stores.
  sb.retire(kA + 8, 8, 0xffeeddccbbaa9988ull, op(3), 1);
  const auto span = sb.load(kA + 6, 4, 2);
  EXPECT_EQ(span.value, 0x99888877ull) << "bytes 6..7 of the first store, 0..1 of the third";
  EXPECT_EQ(span.cycles, kForward);
  EXPECT_EQ(count("sb.forwards"), 3u);
  EXPECT_EQ(count("mem.reads"), 0u) << "forwarded loads do not read memory";
  EXPECT_EQ(sb.size(), 3u) << "forwarding does not drain";
}

TEST_F(StoreBufferTest, PartlyCoveredLoadWaitsForTheOverlappingStoresThenReadsMemory) {
  mem.poke64(kA, 0x1111111111111111ull);
  sb.retire(kA + 8, 8, 5, op(1), 0);       // leaves 10, no overlap with the load
  sb.retire(kA + 4, 2, 0xbbaa, op(2), 0);  // leaves 20: bytes 4..5 of the load
  sb.retire(kA + 16, 8, 6, op(3), 0);      // leaves 30, younger, no overlap
  const auto r = sb.load(kA, 8, 2);
  EXPECT_EQ(r.value, 0x1111bbaa11111111ull) << "memory after the overlapping store landed";
  EXPECT_EQ(r.cycles, (20u - 2u) + kRead) << "waits until the overlapping store left";
  EXPECT_EQ(sb.size(), 1u) << "the younger, non-overlapping store is still buffered";
  EXPECT_EQ(count("sb.partial_waits"), 1u);
  EXPECT_EQ(count("sb.partial_wait_cycles"), 18u);
  EXPECT_EQ(count("sb.forwards"), 0u);
}

TEST_F(StoreBufferTest, LoadWithNoOverlapReadsMemoryEvenWhenTheFilterCollides) {
  mem.poke64(kA, 42);
  sb.retire(kA + 256 * 8, 8, 9, op(1), 0);  // same filter slot as kA, different address
  const auto r = sb.load(kA, 8, 1);
  EXPECT_EQ(r.value, 42u);
  EXPECT_EQ(r.cycles, kRead);
  EXPECT_EQ(count("sb.partial_waits"), 0u);
  EXPECT_EQ(count("sb.forwards"), 0u);
  EXPECT_EQ(count("mem.reads"), 1u);
}

TEST_F(StoreBufferTest, FullBufferStallsUntilTheOldestStoreLeaves) {
  for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(sb.retire(kA + 8 * i, 8, i, op(i), 0), 0u);
  EXPECT_TRUE(sb.full());
  // Entries leave at 10, 20, 30, 40; a fifth store at cycle 4 waits until 10.
  EXPECT_EQ(sb.retire(kA + 32, 8, 4, op(4), 4), 6u);
  EXPECT_EQ(sb.size(), 4u);
  EXPECT_EQ(sb.entry(3).retired, 10u);
  EXPECT_EQ(sb.entry(3).leaves, 50u);
  EXPECT_EQ(count("sb.full_stalls"), 1u);
  EXPECT_EQ(count("sb.full_stall_cycles"), 6u);
  // Occupancy is sampled once per retired store: 1, 2, 3, 4, 4.
  const auto* occ = dynamic_cast<const stats::Distribution*>(root.find("sb.occupancy"));
  ASSERT_NE(occ, nullptr);
  EXPECT_EQ(occ->count(), 5u);
  EXPECT_EQ(occ->sum(), 14u);
  EXPECT_EQ(occ->max(), 4u);
}

TEST_F(StoreBufferTest, ForcedDrainLandsEverythingAndCountsItsCause) {
  EXPECT_EQ(sb.drain_all(DrainCause::kFence, 5), 5u) << "empty: no wait";
  EXPECT_EQ(count("sb.drains.fence"), 0u) << "only drains that found stores count";
  sb.retire(kA, 8, 1, op(1), 0);
  sb.retire(kA + 8, 8, 2, op(2), 0);
  EXPECT_EQ(sb.drain_all(DrainCause::kInterrupt, 12), 20u) << "until the last store left";
  EXPECT_TRUE(sb.empty());
  EXPECT_EQ(mem.peek64(kA + 8), 2u);
  EXPECT_EQ(count("sb.drains.interrupt"), 1u);
  EXPECT_EQ(count("sb.drain_wait_cycles"), 8u);
  ASSERT_EQ(sink.drained.size(), 2u);
  EXPECT_EQ(sink.drained[1].leaves, 20u) << "the sink sees when each store became visible";
  for (const char* cause : {"fence", "locked", "exception", "kernel_entry", "serializing"})
    EXPECT_EQ(count((std::string("sb.drains.") + cause).c_str()), 0u) << cause;
}

TEST_F(StoreBufferTest, EachDrainCauseCountsOnlyItself) {
  const DrainCause causes[] = {DrainCause::kFence,     DrainCause::kLocked,
                               DrainCause::kException, DrainCause::kInterrupt,
                               DrainCause::kKernelEntry, DrainCause::kSerializing};
  Cycles now = 0;
  for (unsigned i = 0; i < kDrainCauses; ++i) {
    sb.retire(kA, 8, i, op(i), now);
    now = sb.drain_all(causes[i], now);
    for (unsigned j = 0; j < kDrainCauses; ++j) {
      const std::string path = std::string("sb.drains.") + drain_cause_name(causes[j]);
      EXPECT_EQ(count(path.c_str()), j <= i ? 1u : 0u) << path << " after " << i + 1 << " drains";
    }
  }
  EXPECT_EQ(count("sb.drain_wait_cycles"), kDrainCauses * kDrain);
}

TEST_F(StoreBufferTest, StoresKeepOnlyTheirSizeOfTheValue) {
  sb.retire(kA, 2, 0x123456789abcdef0ull, op(1), 0);
  EXPECT_EQ(sb.entry(0).value, 0xdef0u);
  sb.drain_all(DrainCause::kFence, 0);
  EXPECT_EQ(mem.peek64(kA), 0xdef0u) << "the bytes around the store are untouched";
}

}  // namespace
}  // namespace mmusim::machine
