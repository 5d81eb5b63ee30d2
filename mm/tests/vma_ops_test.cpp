// munmap, mprotect and madvise: VMA split/merge, zap with flush before free (R6), page-table
// freeing after a PWC-dropping flush (R11), change_protection with its range flush (R5).
#include <gtest/gtest.h>

#include <cerrno>

#include "sim.h"

namespace mmusim::mm::testing {
namespace {

using FK = FaultKind;
using EK = FakePort::EventKind;
using Faults = std::vector<FaultKind>;
constexpr unsigned kRW = kProtRead | kProtWrite;

TEST(Munmap, RemovesTheAreaFlushesThenFreesPagesAndTables) {
  Sim sim;
  auto [p, a] = sim.process_with_area(4);
  for (int i = 0; i < 4; ++i) sim.cpu.store(0, p, a + i * kPageSize, i + 1);
  const std::uint64_t before = sim.kernel.free_frames();
  const std::uint64_t tables = sim.kernel.mm_info(p)->nr_pgtables;
  std::vector<std::uint64_t> free_at_flush;
  sim.port.on_flush = [&](const FakePort::Event&) { free_at_flush.push_back(sim.kernel.free_frames()); };
  ASSERT_EQ(sim.kernel.munmap(0, p, a, 4 * kPageSize), 0);
  ASSERT_EQ(free_at_flush.size(), 1u) << "one mmu_gather flush";
  EXPECT_EQ(free_at_flush[0], before) << "R6/R11: nothing freed before the flush";
  EXPECT_EQ(sim.kernel.free_frames(), before + 4 + tables) << "pages and now-empty tables";
  EXPECT_EQ(sim.kernel.mm_info(p)->nr_pgtables, 0u);
  EXPECT_TRUE(sim.kernel.mm_info(p)->vmas.empty());
  EXPECT_EQ(sim.stat("munmaps"), 1);
  EXPECT_EQ(sim.stat("zapped_pages"), 4);
  EXPECT_EQ(sim.stat("tlb.requests_zap_r6"), 1);
  EXPECT_FALSE(sim.cpu.load(0, p, a).has_value()) << "SIGSEGV after munmap";
}

TEST(Munmap, MiddleSplitsTheAreaAndKeepsSharedTables) {
  Sim sim;
  auto [p, a] = sim.process_with_area(3);
  for (int i = 0; i < 3; ++i) sim.cpu.store(0, p, a + i * kPageSize, i + 1);
  const std::uint64_t tables = sim.kernel.mm_info(p)->nr_pgtables;
  ASSERT_EQ(sim.kernel.munmap(0, p, a + kPageSize, kPageSize), 0);
  const MmInfo mm = *sim.kernel.mm_info(p);
  ASSERT_EQ(mm.vmas.size(), 2u);
  EXPECT_EQ(mm.vmas[0].end, a + kPageSize);
  EXPECT_EQ(mm.vmas[1].start, a + 2 * kPageSize);
  EXPECT_EQ(mm.nr_pgtables, tables) << "the PTE table still serves both pieces";
  EXPECT_EQ(sim.cpu.load(0, p, a), 1u);
  EXPECT_EQ(sim.cpu.load(0, p, a + 2 * kPageSize), 3u);
  EXPECT_EQ(sim.kernel.lookup_pte(p, a + kPageSize), x86::PteVal{0});
}

TEST(Munmap, ErrorsAndHoles) {
  Sim sim;
  auto [p, a] = sim.process_with_area(1);
  EXPECT_EQ(sim.kernel.munmap(0, p, a + 1, kPageSize), -EINVAL);
  EXPECT_EQ(sim.kernel.munmap(0, p, a, 0), -EINVAL);
  EXPECT_EQ(sim.kernel.munmap(0, p, x86::kUserVaEnd - kPageSize, 2 * kPageSize), -EINVAL);
  EXPECT_EQ(sim.kernel.munmap(0, p, a, ~0ull), -EINVAL);
  EXPECT_EQ(sim.kernel.munmap(0, 99, a, kPageSize), -ESRCH);
  EXPECT_EQ(sim.kernel.munmap(64, p, a, kPageSize), -EINVAL);
  EXPECT_EQ(sim.kernel.munmap(0, p, 0x10000, kPageSize), 0) << "nothing mapped there: fine";
  EXPECT_EQ(sim.kernel.munmap(0, p, a, 100), 0) << "length rounded up";
  EXPECT_TRUE(sim.kernel.mm_info(p)->vmas.empty());
}

// A table holding only cleared entries is freed behind a flush even when no leaf was present.
TEST(Munmap, TablesOnlyStillGetAFlush) {
  Sim sim;
  auto [p, a] = sim.process_with_area(1);
  sim.cpu.store(0, p, a, 1);
  ASSERT_EQ(sim.kernel.madvise(0, p, a, kPageSize, Advice::kDontNeed), 0);
  sim.port.clear_events();
  std::vector<std::uint64_t> free_at_flush;
  sim.port.on_flush = [&](const FakePort::Event&) { free_at_flush.push_back(sim.kernel.free_frames()); };
  const std::uint64_t before = sim.kernel.free_frames();
  ASSERT_EQ(sim.kernel.munmap(0, p, a, kPageSize), 0);
  ASSERT_EQ(free_at_flush.size(), 1u) << "R11: a flush that drops the paging-structure caches";
  EXPECT_EQ(free_at_flush[0], before);
  EXPECT_EQ(sim.kernel.free_frames(), before + 3);
}

TEST(Mprotect, ReadOnlyWriteProtectsFlushesAndKeepsExclusivity) {
  Sim sim;
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  sim.cpu.store(0, p, a + kPageSize, 2);
  sim.port.clear_events();
  ASSERT_EQ(sim.kernel.mprotect(0, p, a, 2 * kPageSize, kProtRead), 0);
  EXPECT_FALSE(sim.writable(p, a));
  EXPECT_FALSE(sim.writable(p, a + kPageSize));
  EXPECT_TRUE(sim.page_of(p, a).anon_exclusive) << "mprotect never touches PG_anon_exclusive";
  const auto flushes = sim.port.events_of(EK::kFlush);
  ASSERT_EQ(flushes.size(), 1u) << "RF: the range is flushed before return (R5)";
  EXPECT_EQ(flushes[0].flush.start, a);
  EXPECT_EQ(flushes[0].flush.end, a + 2 * kPageSize);
  EXPECT_EQ(sim.stat("tlb.requests_mprotect_r5"), 1);
  EXPECT_EQ(sim.kernel.mm_info(p)->vmas.at(0).prot, kProtRead);
  EXPECT_EQ(sim.cpu.load(0, p, a + kPageSize), 2u);
  EXPECT_FALSE(sim.cpu.store(0, p, a, 3)) << "SIGSEGV";
  EXPECT_EQ(sim.kernel.killed_by(p), Signal::kSigsegv);
}

TEST(Mprotect, WritableAgainSetsWriteOnlyOnExclusivePages) {
  Sim sim;
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  sim.cpu.store(0, p, a + kPageSize, 2);
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  sim.cpu.store(0, p, a, 3);  // WP-copy: page 0 exclusive again in P, page 1 shared
  sim.kernel.mprotect(0, p, a, 2 * kPageSize, kProtRead);
  ASSERT_EQ(sim.kernel.mprotect(0, p, a, 2 * kPageSize, kRW), 0);
  EXPECT_TRUE(sim.writable(p, a)) << "exclusive: can_change_pte_writable";
  EXPECT_FALSE(sim.writable(p, a + kPageSize)) << "shared: stays R/O for a WP fault";
  EXPECT_EQ(sim.cpu.load(1, c, a + kPageSize), 2u);
}

TEST(Mprotect, V517ModeLeavesEveryEntryReadOnly) {
  KernelConfig config;
  config.mprotect_write_exclusive = false;
  Sim sim(1024, config);
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  sim.kernel.mprotect(0, p, a, kPageSize, kProtRead);
  sim.kernel.mprotect(0, p, a, kPageSize, kRW);
  EXPECT_FALSE(sim.writable(p, a));
  sim.cpu.take_faults();
  ASSERT_TRUE(sim.cpu.store(0, p, a, 2));
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kWpReuse}) << "the exclusive page is reused";
}

TEST(Mprotect, SplitsAndMergesAreas) {
  Sim sim;
  auto [p, a] = sim.process_with_area(3);
  ASSERT_EQ(sim.kernel.mprotect(0, p, a + kPageSize, kPageSize, kProtRead), 0);
  MmInfo mm = *sim.kernel.mm_info(p);
  ASSERT_EQ(mm.vmas.size(), 3u);
  EXPECT_EQ(mm.vmas[1].start, a + kPageSize);
  EXPECT_EQ(mm.vmas[1].prot, kProtRead);
  ASSERT_EQ(sim.kernel.mprotect(0, p, a + kPageSize, kPageSize, kRW), 0);
  mm = *sim.kernel.mm_info(p);
  ASSERT_EQ(mm.vmas.size(), 1u) << "vma_merge: adjacent and compatible again";
  EXPECT_EQ(mm.vmas[0].start, a);
  EXPECT_EQ(mm.vmas[0].end, a + 3 * kPageSize);
}

TEST(Mprotect, ErrorsAndHoles) {
  Sim sim;
  auto [p, a] = sim.process_with_area(1);
  const long b = sim.kernel.mmap(0, p, a + 2 * kPageSize, kPageSize, kRW, true);
  ASSERT_EQ(b, static_cast<long>(a + 2 * kPageSize));
  EXPECT_EQ(sim.kernel.mprotect(0, p, a + 1, kPageSize, kProtRead), -EINVAL);
  EXPECT_EQ(sim.kernel.mprotect(0, p, a, kPageSize, 8), -EINVAL);
  EXPECT_EQ(sim.kernel.mprotect(0, p, a, 0, kProtRead), 0);
  EXPECT_EQ(sim.kernel.mprotect(0, 99, a, kPageSize, kProtRead), -ESRCH);
  // A hole at a + 4K: the area before it is changed, then -ENOMEM (as Linux).
  EXPECT_EQ(sim.kernel.mprotect(0, p, a, 3 * kPageSize, kProtRead), -ENOMEM);
  const MmInfo mm = *sim.kernel.mm_info(p);
  EXPECT_EQ(mm.vmas.at(0).prot, kProtRead);
  EXPECT_EQ(mm.vmas.at(1).prot, kRW);
  EXPECT_EQ(sim.kernel.mprotect(0, p, 0x10000, kPageSize, kProtRead), -ENOMEM);
}

TEST(Mprotect, ProtNoneKeepsThePageAndRestores) {
  Sim sim;
  auto [p, a] = sim.process_with_area(1);
  sim.cpu.store(0, p, a, 42);
  const Pfn x = sim.pfn_of(p, a);
  ASSERT_EQ(sim.kernel.mprotect(0, p, a, kPageSize, kProtNone), 0);
  const x86::PteVal none = sim.pte(p, a);
  EXPECT_FALSE(x86::pte_present(none)) << "the walker sees no translation";
  EXPECT_EQ(x86::pte_pfn(none), x) << "PROT_NONE keeps the frame (_PAGE_PROTNONE)";
  EXPECT_EQ(sim.page_of(p, a).mapcount, 1u);
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
  ASSERT_EQ(sim.kernel.mprotect(0, p, a, kPageSize, kRW), 0);
  EXPECT_TRUE(sim.writable(p, a));
  EXPECT_EQ(sim.cpu.load(0, p, a), 42u);
  ASSERT_EQ(sim.kernel.mprotect(0, p, a, kPageSize, kProtNone), 0);
  EXPECT_FALSE(sim.cpu.load(0, p, a).has_value());
  EXPECT_EQ(sim.kernel.killed_by(p), Signal::kSigsegv);
}

TEST(Mprotect, LargeRangeUsesTheFlushCeiling) {
  Sim sim;
  auto [p, a] = sim.process_with_area(40);
  for (int i = 0; i < 40; ++i) sim.cpu.store(0, p, a + i * kPageSize, i);
  sim.port.clear_events();
  ASSERT_EQ(sim.kernel.mprotect(0, p, a, 40 * kPageSize, kProtRead), 0);
  const auto flushes = sim.port.events_of(EK::kFlush);
  ASSERT_EQ(flushes.size(), 1u);
  EXPECT_TRUE(flushes[0].flush.full) << "40 pages > 33: full PCID flush";
}

TEST(Madvise, DontNeedZapsAndRefaultsZero) {
  Sim sim;
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  sim.cpu.store(0, p, a + kPageSize, 2);
  const std::uint64_t before = sim.kernel.free_frames();
  sim.port.clear_events();
  ASSERT_EQ(sim.kernel.madvise(0, p, a, kPageSize, Advice::kDontNeed), 0);
  EXPECT_EQ(sim.port.events_of(EK::kFlush).size(), 1u) << "ZF";
  EXPECT_EQ(sim.kernel.free_frames(), before + 1) << "the page goes, the tables stay";
  sim.cpu.take_faults();
  EXPECT_EQ(sim.cpu.load(0, p, a), 0u);
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kZeroPage});
  EXPECT_EQ(sim.cpu.load(0, p, a + kPageSize), 2u);
  EXPECT_EQ(sim.stat("madvises"), 1);
  EXPECT_EQ(sim.kernel.mm_info(p)->vmas.size(), 1u);
}

TEST(Madvise, ErrorsAndHoles) {
  Sim sim;
  auto [p, a] = sim.process_with_area(1);
  sim.cpu.store(0, p, a, 1);
  EXPECT_EQ(sim.kernel.madvise(0, p, a + 8, kPageSize, Advice::kDontNeed), -EINVAL);
  EXPECT_EQ(sim.kernel.madvise(0, p, a, kPageSize, static_cast<Advice>(77)), -EINVAL);
  EXPECT_EQ(sim.kernel.madvise(0, p, a, 0, Advice::kDontNeed), 0);
  EXPECT_EQ(sim.kernel.madvise(0, 99, a, kPageSize, Advice::kDontNeed), -ESRCH);
  // The range runs past the area: the mapped part is still zapped.
  EXPECT_EQ(sim.kernel.madvise(0, p, a, 2 * kPageSize, Advice::kDontNeed), -ENOMEM);
  EXPECT_EQ(sim.kernel.lookup_pte(p, a), x86::PteVal{0});
}

TEST(Madvise, ForkAdvicesSplitAndMerge) {
  Sim sim;
  auto [p, a] = sim.process_with_area(3);
  ASSERT_EQ(sim.kernel.madvise(0, p, a + kPageSize, kPageSize, Advice::kDontFork), 0);
  MmInfo mm = *sim.kernel.mm_info(p);
  ASSERT_EQ(mm.vmas.size(), 3u);
  EXPECT_TRUE(mm.vmas[1].dontcopy);
  EXPECT_FALSE(mm.vmas[0].dontcopy);
  ASSERT_EQ(sim.kernel.madvise(0, p, a, 3 * kPageSize, Advice::kWipeOnFork), 0);
  mm = *sim.kernel.mm_info(p);
  EXPECT_TRUE(mm.vmas[0].wipeonfork && mm.vmas[1].wipeonfork && mm.vmas[2].wipeonfork);
  ASSERT_EQ(sim.kernel.madvise(0, p, a, 3 * kPageSize, Advice::kDoFork), 0);
  ASSERT_EQ(sim.kernel.madvise(0, p, a, 3 * kPageSize, Advice::kKeepOnFork), 0);
  mm = *sim.kernel.mm_info(p);
  ASSERT_EQ(mm.vmas.size(), 1u) << "merged back";
  EXPECT_FALSE(mm.vmas[0].dontcopy || mm.vmas[0].wipeonfork);
}

TEST(Switch, SamePidCurrentOnSeveralCpusAndExitLeavesAll) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.kernel.switch_to(1, p);
  sim.kernel.switch_to(2, p);
  EXPECT_EQ(sim.kernel.current(0), p);
  EXPECT_EQ(sim.kernel.current(1), p);
  EXPECT_EQ(sim.kernel.current(2), p);
  sim.cpu.store(2, p, a, 5);
  sim.port.clear_events();
  ASSERT_EQ(sim.kernel.mprotect(1, p, a, kPageSize, kProtRead), 0);
  const auto flushes = sim.port.events_of(EK::kFlush);
  ASSERT_EQ(flushes.size(), 1u);
  EXPECT_EQ(flushes[0].cpu, 1u) << "initiator";
  EXPECT_TRUE(flushes[0].targets.test(0) && flushes[0].targets.test(1) && flushes[0].targets.test(2))
      << "every CPU of mm_cpumask";
  sim.kernel.exit(0, p);
  EXPECT_FALSE(sim.kernel.current(0) || sim.kernel.current(1) || sim.kernel.current(2));
  const auto cr3 = sim.port.events_of(EK::kCr3);
  ASSERT_EQ(cr3.size(), 1u) << "only the exiting CPU loads swapper_pg_dir; no remote CR3 writes";
  EXPECT_EQ(cr3[0].cpu, 0u);
}

}  // namespace
}  // namespace mmusim::mm::testing
