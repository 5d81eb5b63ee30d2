// fork (R3, PCIDs, -ENOMEM) and exit (R6, every frame back), context switches and bad pids.
#include <gtest/gtest.h>

#include <cerrno>

#include "sim.h"

namespace mmusim::mm::testing {
namespace {

using EK = FakePort::EventKind;

TEST(Fork, WriteProtectsParentAndFlushesItBeforeReturning) {
  Sim sim;
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  sim.cpu.store(0, p, a + kPageSize, 2);
  const std::uint64_t seq = sim.kernel.mm_info(p)->write_protect_seq;
  sim.port.clear_events();
  const long c = sim.kernel.fork(0, p);
  ASSERT_GT(c, 0);
  EXPECT_FALSE(x86::pte_write(*sim.kernel.lookup_pte(p, a)));
  EXPECT_FALSE(x86::pte_write(*sim.kernel.lookup_pte(p, a + kPageSize)));
  const x86::PteVal child = *sim.kernel.lookup_pte(static_cast<Pid>(c), a);
  EXPECT_FALSE(x86::pte_write(child));
  EXPECT_FALSE(x86::pte_young(child)) << "the child's entry is old";
  // R3: a full flush of the parent's PCID on the parent's CPUs, after its entries were
  // write-protected.
  const auto& ev = sim.port.events();
  int last_wrprotect = -1, flush = -1;
  for (int i = 0; i < static_cast<int>(ev.size()); ++i) {
    if (ev[i].kind == EK::kXchgPte && x86::pte_present(ev[i].old) && x86::pte_write(ev[i].old))
      last_wrprotect = i;
    if (ev[i].kind == EK::kFlush) flush = i;
  }
  ASSERT_GE(flush, 0) << "fork must flush the parent (R3)";
  EXPECT_GT(flush, last_wrprotect);
  EXPECT_TRUE(ev[flush].flush.full);
  EXPECT_EQ(ev[flush].flush.pcid, sim.kernel.mm_info(p)->pcid);
  EXPECT_TRUE(ev[flush].targets.test(0));
  EXPECT_EQ(sim.kernel.mm_info(p)->write_protect_seq, seq + 2) << "B3 bracket";
  EXPECT_EQ(sim.stat("forks"), 1);
}

TEST(Fork, ChildGetsItsOwnPcidAndTables) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  const MmInfo pm = *sim.kernel.mm_info(p), cm = *sim.kernel.mm_info(c);
  EXPECT_NE(pm.pcid, cm.pcid);
  EXPECT_GE(cm.pcid, 1);
  EXPECT_LE(cm.pcid, 4095);
  EXPECT_NE(pm.pgd, cm.pgd);
  EXPECT_EQ(cm.nr_pgtables, 3u);
  EXPECT_EQ(cm.rss_anon, 1u);
  EXPECT_TRUE(cm.cpumask.empty());
  ASSERT_EQ(cm.vmas.size(), 1u);
  EXPECT_EQ(cm.vmas[0].start, a);
}

TEST(Fork, OutOfMemoryLeavesParentIntactAndFreesTheChild) {
  Sim sim(/*frames=*/10);
  auto [p, a] = sim.process_with_area(1);
  sim.cpu.store(0, p, a, 7);  // frames 3..7
  const std::uint64_t before = sim.kernel.free_frames();
  ASSERT_EQ(before, 2u);  // the child's pgd and one table fit, the next table does not
  EXPECT_EQ(sim.kernel.fork(0, p), -ENOMEM);
  EXPECT_EQ(sim.kernel.free_frames(), before);
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
  EXPECT_EQ(sim.cpu.load(0, p, a), 7u);
  ASSERT_TRUE(sim.cpu.store(0, p, a, 8));
  EXPECT_EQ(sim.cpu.load(0, p, a), 8u);
  EXPECT_EQ(sim.page_of(p, a).refcount, 1u);
  EXPECT_EQ(sim.stat("forks"), 0);
}

// B09's base-page analogue: no frame for the eager copy of a pinned page -> fork fails, the
// parent and its pin are untouched.
TEST(Fork, OutOfMemoryForTheEagerCopy) {
  Sim sim(/*frames=*/12);
  auto [p, a] = sim.process_with_area(1);
  sim.cpu.store(0, p, a, 7);  // frames 3..7
  const long pin = sim.kernel.pin_user_pages(0, p, a, FOLL_PIN | FOLL_WRITE);
  ASSERT_GT(pin, 0);
  ASSERT_EQ(sim.kernel.free_frames(), 4u);  // the child's pgd and 3 tables; no page left
  EXPECT_EQ(sim.kernel.fork(0, p), -ENOMEM);
  EXPECT_EQ(sim.kernel.free_frames(), 4u) << "nothing of the child remains";
  EXPECT_TRUE(sim.kernel.pin_consistent(pin));
  EXPECT_TRUE(sim.writable(p, a));
  EXPECT_TRUE(sim.page_of(p, a).anon_exclusive);
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
}

TEST(Exit, FreesEveryFrame) {
  Sim sim;
  const std::uint64_t boot_free = sim.kernel.free_frames();
  auto [p, a] = sim.process_with_area(64);
  for (int i = 0; i < 64; i += 2) sim.cpu.store(0, p, a + i * kPageSize, i);
  sim.cpu.load(0, p, a + kPageSize);
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  sim.cpu.store(1, c, a, 99);
  const Pid q = static_cast<Pid>(sim.kernel.fork(1, c));
  sim.kernel.exit(0, p);
  EXPECT_EQ(sim.cpu.load(1, c, a + 2 * kPageSize), 2u);
  sim.kernel.exit(1, c);
  EXPECT_EQ(sim.cpu.load(2, q, a), 99u);
  sim.kernel.exit(2, q);
  EXPECT_EQ(sim.kernel.free_frames(), boot_free);
  EXPECT_EQ(sim.stat("pages_allocated"), sim.stat("pages_freed"));
  EXPECT_EQ(sim.stat("exits"), 3);
}

// R6: at the instant of the exit's flush no page or table has been freed yet.
TEST(Exit, FlushesBeforeFreeing) {
  Sim sim;
  auto [p, a] = sim.process_with_area(4);
  for (int i = 0; i < 4; ++i) sim.cpu.store(0, p, a + i * kPageSize, i);
  const std::uint64_t before = sim.kernel.free_frames();
  std::vector<std::uint64_t> free_at_flush;
  sim.port.on_flush = [&](const FakePort::Event&) { free_at_flush.push_back(sim.kernel.free_frames()); };
  sim.kernel.exit(0, p);
  ASSERT_EQ(free_at_flush.size(), 1u);
  EXPECT_EQ(free_at_flush[0], before);
  EXPECT_EQ(sim.kernel.free_frames(), before + 4 + 3 + 1);  // pages, tables, pgd
}

TEST(Exit, FlushesTheWholeMmAndLeavesTheCpuOnSwapper) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const Pcid pcid = sim.kernel.mm_info(p)->pcid;
  sim.port.clear_events();
  sim.kernel.exit(0, p);
  const auto flushes = sim.port.events_of(EK::kFlush);
  ASSERT_EQ(flushes.size(), 1u);
  EXPECT_TRUE(flushes[0].flush.full);
  EXPECT_EQ(flushes[0].flush.pcid, pcid);
  const auto cr3 = sim.port.events_of(EK::kCr3);
  ASSERT_EQ(cr3.size(), 1u);
  EXPECT_EQ(cr3[0].pcid, 0);
  EXPECT_FALSE(sim.kernel.current(0).has_value());
  EXPECT_FALSE(sim.kernel.alive(p));
  EXPECT_EQ(sim.kernel.killed_by(p), std::nullopt);
}

// A CPU that still runs the exiting task's mm keeps the root in CR3 (lazy TLB, mmgrab) instead
// of receiving a remote CR3 write; the root is freed when that CPU switches to another task.
TEST(Exit, OtherCpusKeepTheRootLazilyUntilTheirNextSwitch) {
  Sim sim;
  auto [p, a] = sim.process_with_area();  // current on CPU 0
  sim.cpu.store(0, p, a, 1);
  const Pid q = sim.kernel.create_process(1);
  const std::uint64_t before = sim.kernel.free_frames();
  sim.port.clear_events();
  sim.kernel.exit(1, p);
  EXPECT_TRUE(sim.port.events_of(EK::kCr3).empty());
  EXPECT_FALSE(sim.kernel.current(0).has_value());
  EXPECT_EQ(sim.kernel.free_frames(), before + 4) << "page and tables; the root waits";
  const FakePort::Event flush = sim.port.events_of(EK::kFlush).at(0);
  EXPECT_TRUE(flush.targets.test(0)) << "the zap flush reached CPU 0";
  sim.kernel.switch_to(0, q);
  EXPECT_EQ(sim.kernel.free_frames(), before + 5);
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
}

TEST(Switch, WritesCr3WithNoflushAndJoinsCpumask) {
  Sim sim;
  const Pid p = sim.kernel.create_process(0);
  sim.port.clear_events();
  sim.kernel.switch_to(3, p);
  const auto cr3 = sim.port.events_of(EK::kCr3);
  ASSERT_EQ(cr3.size(), 1u);
  EXPECT_EQ(cr3[0].cpu, 3u);
  EXPECT_EQ(cr3[0].pa, sim.kernel.mm_info(p)->pgd);
  EXPECT_EQ(cr3[0].pcid, sim.kernel.mm_info(p)->pcid);
  EXPECT_TRUE(cr3[0].noflush);
  EXPECT_TRUE(sim.kernel.mm_info(p)->cpumask.test(3));
  EXPECT_EQ(sim.kernel.current(3), p);
  EXPECT_GE(sim.port.charged(CostPhase::kExit), CostProfile{}.context_switch_cycles);
}

TEST(Errors, DeadOrUnknownPids) {
  Sim sim;
  const Pid p = sim.kernel.create_process(0);
  sim.kernel.exit(0, p);
  EXPECT_EQ(sim.kernel.mmap(0, p, 0, kPageSize, kProtRead, false), -ESRCH);
  EXPECT_EQ(sim.kernel.fork(0, p), -ESRCH);
  EXPECT_EQ(sim.kernel.fork(0, 1234), -ESRCH);
  EXPECT_THROW(sim.kernel.exit(0, p), std::invalid_argument);
  EXPECT_THROW(sim.kernel.switch_to(0, 1234), std::invalid_argument);
  EXPECT_FALSE(sim.kernel.lookup_pte(p, 0x10000).has_value());
  EXPECT_FALSE(sim.kernel.mm_info(p).has_value());
}

TEST(Pcid, ReusedPcidIsFlushedFirst) {
  Sim sim;
  std::optional<Pcid> first;
  Pid last = -1;
  // Run 4096 short-lived processes: the PCID space (4095) wraps once.
  for (int i = 0; i < 4096; ++i) {
    const Pid p = sim.kernel.create_process(0);
    if (!first) first = sim.kernel.mm_info(p)->pcid;
    if (i == 4095) {
      last = p;
      break;
    }
    sim.kernel.switch_to(0, p);
    sim.kernel.exit(0, p);
  }
  EXPECT_EQ(sim.kernel.mm_info(last)->pcid, *first);
  const auto flushes = sim.port.events_of(EK::kFlush);
  ASSERT_FALSE(flushes.empty());
  EXPECT_EQ(flushes.back().flush.pcid, *first);
  EXPECT_TRUE(flushes.back().flush.full);
}

}  // namespace
}  // namespace mmusim::mm::testing
