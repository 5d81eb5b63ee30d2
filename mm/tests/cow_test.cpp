// Basic COW scenarios A01-A09 of mm-semantics.md §5.1, at the mm level.
#include <gtest/gtest.h>

#include "sim.h"

namespace mmusim::mm::testing {
namespace {

using FK = FaultKind;
using EK = FakePort::EventKind;
using Faults = std::vector<FaultKind>;

// X-EW: exclusive, writable, count 1, mapcount 1.
void expect_exclusive_writable(const Sim& sim, Pid pid, VirtAddr va) {
  const x86::PteVal pte = sim.kernel.lookup_pte(pid, va).value();
  EXPECT_TRUE(x86::pte_write(pte)) << "entry must be writable";
  const PageInfo page = sim.page_of(pid, va);
  EXPECT_TRUE(page.anon_exclusive);
  EXPECT_EQ(page.refcount, 1u);
  EXPECT_EQ(page.mapcount, 1u);
}

TEST(Cow, A01ReadThenWriteMapsZeroPageThenWpZero) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  EXPECT_EQ(sim.cpu.load(0, p, a), 0u);
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kZeroPage});
  EXPECT_EQ(sim.pfn_of(p, a), sim.kernel.zero_pfn());
  EXPECT_FALSE(x86::pte_write(*sim.kernel.lookup_pte(p, a)));
  EXPECT_TRUE(x86::pte_special(*sim.kernel.lookup_pte(p, a)));

  sim.port.clear_events();
  ASSERT_TRUE(sim.cpu.store(0, p, a, 1));
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kWpZero});
  EXPECT_EQ(sim.cpu.load(0, p, a), 1u);
  EXPECT_EQ(sim.stat("copies"), 0);
  EXPECT_EQ(sim.port.events_of(EK::kCopyFrame).size(), 0u) << "WP-zero copies no data";
  EXPECT_EQ(sim.port.events_of(EK::kFlush).size(), 1u) << "CF(P,A): the zero-page entry is replaced";
  expect_exclusive_writable(sim, p, a);
}

// R1: the zero-page entry is cleared, the flush completes, and only then is the new entry set.
TEST(Cow, A01BreakBeforeMakeOrder) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.load(0, p, a);
  sim.port.clear_events();
  sim.cpu.store(0, p, a, 1);
  const PhysAddr ptep = [&] {
    for (const auto& e : sim.port.events())
      if (e.kind == EK::kXchgPte && e.value == 0) return e.pa;
    return PhysAddr{0};
  }();
  ASSERT_NE(ptep, 0u) << "the old entry must be cleared with an atomic exchange";
  int clear = -1, flush = -1, install = -1;
  const auto& ev = sim.port.events();
  for (int i = 0; i < static_cast<int>(ev.size()); ++i) {
    if (ev[i].kind == EK::kXchgPte && ev[i].pa == ptep && ev[i].value == 0) clear = i;
    if (ev[i].kind == EK::kFlush) flush = i;
    if (ev[i].kind == EK::kWritePte && ev[i].pa == ptep && x86::pte_present(ev[i].value)) install = i;
  }
  ASSERT_GE(clear, 0);
  ASSERT_GE(flush, 0);
  ASSERT_GE(install, 0);
  EXPECT_LT(clear, flush);
  EXPECT_LT(flush, install);
  const TlbFlush& f = ev[flush].flush;
  EXPECT_FALSE(f.full);
  EXPECT_EQ(f.start, a);
  EXPECT_EQ(f.end, a + kPageSize);
  EXPECT_EQ(f.pcid, sim.kernel.mm_info(p)->pcid);
  EXPECT_TRUE(ev[flush].targets.test(0));
}

TEST(Cow, A02WriteFirstTouchMapsExclusivePageWithoutFlush) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.port.clear_events();
  ASSERT_TRUE(sim.cpu.store(0, p, a, 1));
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kMissing});
  EXPECT_EQ(sim.port.events_of(EK::kFlush).size(), 0u);
  EXPECT_EQ(sim.cpu.load(0, p, a), 1u);
  expect_exclusive_writable(sim, p, a);
  EXPECT_EQ(sim.kernel.mm_info(p)->rss_anon, 1u);
  EXPECT_TRUE(sim.kernel.mm_info(p)->vmas.at(0).anon_vma);
}

// A03 setup: X-EW in P, then fork. Returns the child.
Pid fork_after_write(Sim& sim, Pid p, VirtAddr a) {
  sim.cpu.store(0, p, a, 1);
  const long c = sim.kernel.fork(0, p);
  EXPECT_GT(c, 0);
  sim.cpu.take_faults();
  return static_cast<Pid>(c);
}

TEST(Cow, A03ForkParentWritesCopies) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  const Pid c = fork_after_write(sim, p, a);
  const Pfn x = sim.pfn_of(p, a);
  ASSERT_TRUE(sim.cpu.store(0, p, a, 2));
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kWpCopy});
  EXPECT_EQ(sim.cpu.load(1, c, a), 1u);
  EXPECT_EQ(sim.cpu.load(0, p, a), 2u);
  EXPECT_EQ(sim.stat("copies"), 1);
  // X mapped R/O only in C, not EXCL, count 1; X' EXCL W in P.
  EXPECT_EQ(sim.pfn_of(c, a), x);
  EXPECT_NE(sim.pfn_of(p, a), x);
  const PageInfo old = sim.kernel.page_info(x).value();
  EXPECT_FALSE(old.anon_exclusive);
  EXPECT_EQ(old.refcount, 1u);
  EXPECT_EQ(old.mapcount, 1u);
  EXPECT_FALSE(x86::pte_write(*sim.kernel.lookup_pte(c, a)));
  expect_exclusive_writable(sim, p, a);
}

// R2: while the clear+flush of wp_page_copy runs, the old page still counts this mapping.
TEST(Cow, A03OldPageCountsDropOnlyAfterFlush) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  fork_after_write(sim, p, a);
  const Pfn x = sim.pfn_of(p, a);
  std::vector<PageInfo> at_flush;
  sim.port.on_flush = [&](const FakePort::Event&) { at_flush.push_back(*sim.kernel.page_info(x)); };
  sim.cpu.store(0, p, a, 2);
  ASSERT_EQ(at_flush.size(), 1u);
  EXPECT_EQ(at_flush[0].mapcount, 2u);
  EXPECT_GE(at_flush[0].refcount, 2u);
  EXPECT_EQ(sim.kernel.page_info(x)->mapcount, 1u);
}

TEST(Cow, A04ThenChildWritesReusesWithoutFlush) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  const Pid c = fork_after_write(sim, p, a);
  sim.cpu.store(0, p, a, 2);
  sim.cpu.load(1, c, a);
  sim.cpu.take_faults();
  sim.port.clear_events();
  ASSERT_TRUE(sim.cpu.store(1, c, a, 3));
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kWpReuse});
  EXPECT_EQ(sim.port.events_of(EK::kFlush).size(), 0u) << "UP: an upgrade needs no flush (R7)";
  EXPECT_EQ(sim.stat("copies"), 1);
  EXPECT_EQ(sim.cpu.load(0, p, a), 2u);
  EXPECT_EQ(sim.cpu.load(1, c, a), 3u);
  expect_exclusive_writable(sim, c, a);
}

TEST(Cow, A05ChildWritesFirst) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  const Pid c = fork_after_write(sim, p, a);
  sim.cpu.store(1, c, a, 3);
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kWpCopy});
  sim.cpu.store(0, p, a, 2);
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kWpReuse});
  EXPECT_EQ(sim.stat("copies"), 1);
  EXPECT_EQ(sim.cpu.load(0, p, a), 2u);
  EXPECT_EQ(sim.cpu.load(1, c, a), 3u);
}

TEST(Cow, A06ChildExitsParentReuses) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  const Pid c = fork_after_write(sim, p, a);
  sim.cpu.load(1, c, a);  // C ran on CPU 1: its exit must flush there
  sim.port.clear_events();
  sim.kernel.exit(1, c);
  const auto flushes = sim.port.events_of(EK::kFlush);
  ASSERT_EQ(flushes.size(), 1u) << "ZF(C)";
  EXPECT_TRUE(flushes[0].targets.test(1));
  sim.cpu.store(0, p, a, 2);
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kWpReuse});
  EXPECT_EQ(sim.stat("copies"), 0);
  expect_exclusive_writable(sim, p, a);
}

TEST(Cow, A07ReadsOnlyShareTheFrame) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  const Pid c = fork_after_write(sim, p, a);
  EXPECT_EQ(sim.cpu.load(1, c, a), 1u);
  EXPECT_EQ(sim.cpu.load(0, p, a), 1u);
  EXPECT_TRUE(sim.cpu.take_faults().empty()) << "entries are copied at fork";
  EXPECT_EQ(sim.pfn_of(p, a), sim.pfn_of(c, a));
  EXPECT_FALSE(x86::pte_write(*sim.kernel.lookup_pte(p, a)));
  EXPECT_FALSE(x86::pte_write(*sim.kernel.lookup_pte(c, a)));
  const PageInfo x = sim.page_of(p, a);
  EXPECT_FALSE(x.anon_exclusive);
  EXPECT_EQ(x.mapcount, 2u);
  EXPECT_EQ(x.refcount, 2u);
}

TEST(Cow, A08ThreeSharers) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  const Pid c1 = fork_after_write(sim, p, a);
  const Pid c2 = static_cast<Pid>(sim.kernel.fork(0, p));
  sim.cpu.store(0, p, a, 2);
  sim.cpu.store(1, c1, a, 3);
  sim.cpu.store(2, c2, a, 4);
  EXPECT_EQ(sim.cpu.take_faults(), (Faults{FK::kWpCopy, FK::kWpCopy, FK::kWpReuse}));
  EXPECT_EQ(sim.stat("copies"), 2);
  EXPECT_EQ(sim.cpu.load(0, p, a), 2u);
  EXPECT_EQ(sim.cpu.load(1, c1, a), 3u);
  EXPECT_EQ(sim.cpu.load(2, c2, a), 4u);
}

TEST(Cow, A09ZeroPageNotInheritedWithoutAnonVma) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.load(0, p, a);
  EXPECT_FALSE(sim.kernel.mm_info(p)->vmas.at(0).anon_vma);
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  const auto child_pte = sim.kernel.lookup_pte(c, a);
  EXPECT_TRUE(!child_pte || x86::pte_none(*child_pte)) << "no entry copied";
  sim.cpu.take_faults();
  ASSERT_TRUE(sim.cpu.store(1, c, a, 5));
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kMissing});
  EXPECT_EQ(sim.cpu.load(0, p, a), 0u);
  EXPECT_EQ(sim.cpu.load(1, c, a), 5u);
  EXPECT_EQ(sim.stat("copies"), 0);
}

TEST(Cow, A09VariantWithAnonVmaInheritsZeroPageEntry) {
  Sim sim;
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.load(0, p, a);
  sim.cpu.store(0, p, a + kPageSize, 7);  // creates the anon_vma
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  EXPECT_EQ(sim.pfn_of(c, a), sim.kernel.zero_pfn());
  EXPECT_EQ(sim.kernel.page_info(sim.kernel.zero_pfn())->refcount, 1u) << "no refcount on the zero page";
  sim.cpu.take_faults();
  sim.cpu.store(1, c, a, 5);
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kWpZero});
  EXPECT_EQ(sim.cpu.load(0, p, a), 0u);
  EXPECT_EQ(sim.cpu.load(1, c, a + kPageSize), 7u);
}

// The value oracle catches a missed COW: break_cow reuses the shared page (I5 broken).
TEST(Cow, BreakCowLetsChildSeeParentWrite) {
  KernelConfig config;
  config.inject.break_cow = true;
  config.check_invariants = false;  // the point is to reach the broken state
  Sim sim(1024, config);
  auto [p, a] = sim.process_with_area();
  const Pid c = fork_after_write(sim, p, a);
  sim.cpu.store(0, p, a, 2);
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kWpReuse});
  EXPECT_EQ(sim.cpu.load(1, c, a), 2u) << "missed COW: the child sees the parent's write";
  bool i1 = false;
  for (const auto& v : sim.kernel.check_invariants()) i1 |= v.invariant == "I1";
  EXPECT_TRUE(i1) << "the shared page is mapped writable";
}

// Without fork's flush (R3) taking effect, the parent's store goes through its stale writable
// translation into the shared page and the child sees it.
TEST(Cow, IgnoredFlushesLetStaleTranslationLeak) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);  // the writable translation is now in CPU 0's TLB
  sim.port.test_ignore_flushes = true;
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  sim.cpu.store(0, p, a, 2);
  EXPECT_EQ(sim.cpu.load(1, c, a), 2u) << "a stale TLB entry defeats COW";
}

}  // namespace
}  // namespace mmusim::mm::testing
