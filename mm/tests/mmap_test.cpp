// Private anonymous mmap: placement, MAP_FIXED, errors, and the unmap MAP_FIXED implies.
#include <gtest/gtest.h>

#include <cerrno>

#include "sim.h"

namespace mmusim::mm::testing {
namespace {

using EK = FakePort::EventKind;
constexpr VirtAddr kBase = 0x7f0000000000;

TEST(Mmap, KernelPlacesTopDownBelowMmapBase) {
  Sim sim;
  const Pid p = sim.kernel.create_process(0);
  const long a = sim.kernel.mmap(0, p, 0, 3 * kPageSize, kProtRead | kProtWrite, false);
  const long b = sim.kernel.mmap(0, p, 0, 100, kProtRead, false);  // rounded up to a page
  EXPECT_EQ(a, static_cast<long>(kBase - 3 * kPageSize));
  EXPECT_EQ(b, a - static_cast<long>(kPageSize));
  const MmInfo mm = *sim.kernel.mm_info(p);
  ASSERT_EQ(mm.vmas.size(), 2u);
  EXPECT_EQ(mm.vmas[0].end - mm.vmas[0].start, kPageSize);
  EXPECT_EQ(mm.vmas[0].prot, kProtRead);
  EXPECT_EQ(mm.vmas[1].prot, kProtRead | kProtWrite);
}

TEST(Mmap, FixedAndHint) {
  Sim sim;
  const Pid p = sim.kernel.create_process(0);
  EXPECT_EQ(sim.kernel.mmap(0, p, 0x400000, kPageSize, kProtRead, true), 0x400000);
  EXPECT_EQ(sim.kernel.mmap(0, p, 0x800000, kPageSize, kProtRead, false), 0x800000) << "free hint";
  const long taken = sim.kernel.mmap(0, p, 0x400000, kPageSize, kProtRead, false);
  EXPECT_NE(taken, 0x400000) << "a hint over a mapping is not honoured";
}

TEST(Mmap, Errors) {
  Sim sim;
  const Pid p = sim.kernel.create_process(0);
  EXPECT_EQ(sim.kernel.mmap(0, p, 0, 0, kProtRead, false), -EINVAL);
  EXPECT_EQ(sim.kernel.mmap(0, p, 0, kPageSize, 8, false), -EINVAL);
  EXPECT_EQ(sim.kernel.mmap(0, p, 0x400001, kPageSize, kProtRead, true), -EINVAL);
  EXPECT_EQ(sim.kernel.mmap(0, p, x86::kUserVaEnd - kPageSize, 2 * kPageSize, kProtRead, true), -EINVAL);
  EXPECT_EQ(sim.kernel.mmap(0, p, 0, x86::kUserVaEnd + 1, kProtRead, false), -ENOMEM);
  EXPECT_EQ(sim.kernel.mmap(0, p, 0, kBase, kProtRead, false), -ENOMEM) << "no gap that large";
  EXPECT_TRUE(sim.kernel.mm_info(p)->vmas.empty());
}

TEST(Mmap, FixedOverPopulatedRangeZapsFlushesAndFrees) {
  Sim sim;
  auto [p, a] = sim.process_with_area(40);
  for (int i = 0; i < 40; ++i) sim.cpu.store(0, p, a + i * kPageSize, i + 1);
  const std::uint64_t free_before = sim.kernel.free_frames();
  sim.port.clear_events();
  // Replace pages 1..2 (2 pages: a ranged flush), then pages 4..39 (36 pages: a full flush).
  ASSERT_EQ(sim.kernel.mmap(0, p, a + kPageSize, 2 * kPageSize, kProtRead | kProtWrite, true),
            static_cast<long>(a + kPageSize));
  ASSERT_EQ(sim.kernel.mmap(0, p, a + 4 * kPageSize, 36 * kPageSize, kProtRead, true),
            static_cast<long>(a + 4 * kPageSize));
  const auto flushes = sim.port.events_of(EK::kFlush);
  ASSERT_EQ(flushes.size(), 2u);
  EXPECT_FALSE(flushes[0].flush.full);
  EXPECT_EQ(flushes[0].flush.start, a + kPageSize);
  EXPECT_EQ(flushes[0].flush.end, a + 3 * kPageSize);
  EXPECT_TRUE(flushes[1].flush.full) << "more than 33 pages: full PCID flush";
  EXPECT_EQ(sim.kernel.free_frames(), free_before + 38);
  EXPECT_EQ(sim.stat("tlb.flush_full"), 1);
  EXPECT_EQ(sim.cpu.load(0, p, a), 1u);
  EXPECT_EQ(sim.cpu.load(0, p, a + kPageSize), 0u) << "fresh mapping";
  EXPECT_EQ(sim.cpu.load(0, p, a + 3 * kPageSize), 4u);
  EXPECT_EQ(sim.kernel.mm_info(p)->vmas.size(), 4u) << "the old VMA was split around the new ones";
}

}  // namespace
}  // namespace mmusim::mm::testing
