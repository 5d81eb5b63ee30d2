// Operations interleaving at a shootdown: ArchPort::flush_tlb may let other CPUs run OS
// operations before it returns (the machine does, while the targets acknowledge). The FakePort's
// on_flush hook runs "another CPU" at that point. cpu_relax is the FakePort default (false: it
// cannot let the suspended holder run), so contended locks make the newcomer back off.
#include <gtest/gtest.h>

#include <cerrno>

#include "sim.h"

namespace mmusim::mm::testing {
namespace {

using FK = FaultKind;
using Faults = std::vector<FaultKind>;

// R01 / T2 in the shootdown window: C's write during P's COW flush finds X still counted for P
// (R2) and copies; no invariant check runs while P's COW is suspended half-way.
TEST(Concurrency, WriteByTheOtherSharerDuringACowShootdown) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  sim.kernel.switch_to(2, c);
  sim.kernel.switch_to(1, p);  // P.t2: the COW must shoot CPU 1 down
  const Pfn x = sim.pfn_of(p, a);
  sim.cpu.take_faults();
  bool ran = false;
  sim.port.on_flush = [&](const FakePort::Event& e) {
    if (ran || e.cpu != 0) return;
    ran = true;
    ASSERT_TRUE(sim.cpu.store(2, c, a, 3));
  };
  ASSERT_TRUE(sim.cpu.store(0, p, a, 2));
  ASSERT_TRUE(ran);
  EXPECT_EQ(sim.cpu.take_faults(), (Faults{FK::kWpCopy, FK::kWpCopy}))
      << "C (inside P's window) copies too: X still counts P's mapping (R2)";
  EXPECT_EQ(sim.kernel.page_info(x).has_value(), false) << "X went with the last mapping";
  EXPECT_EQ(sim.cpu.load(0, p, a), 2u);
  EXPECT_EQ(sim.cpu.load(2, c, a), 3u);
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
}

// Concurrent zappers (§3.19, R6): P.t2's MADV_DONTNEED runs while P.t1's is waiting in its
// flush. It finds the entry already cleared and zaps nothing, but the whole mm must be flushed
// before it returns (mm_tlb_flush_nested), or a CPU still translating A would let P.t2 read the
// old page after its own DONTNEED returned. skip_nested_flush removes that flush.
void parallel_dontneed(bool inject, std::vector<FakePort::Event>* second_flushes, long* stat) {
  KernelConfig config;
  config.inject.skip_nested_flush = inject;
  Sim sim(1024, config);
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  sim.kernel.switch_to(1, p);
  sim.kernel.switch_to(2, p);
  bool ran = false;
  sim.port.on_flush = [&](const FakePort::Event& e) {
    if (e.cpu == 1) second_flushes->push_back(e);
    if (ran || e.cpu != 0) return;
    ran = true;
    EXPECT_EQ(sim.kernel.lookup_pte(p, a), x86::PteVal{0}) << "cleared by P.t1, flush in flight";
    ASSERT_EQ(sim.kernel.madvise(1, p, a, kPageSize, Advice::kDontNeed), 0);
  };
  ASSERT_EQ(sim.kernel.madvise(0, p, a, kPageSize, Advice::kDontNeed), 0);
  ASSERT_TRUE(ran);
  EXPECT_TRUE(sim.kernel.check_invariants().empty()) << "tlb_flush_pending back to 0";
  *stat = sim.stat("tlb.requests_zap_nested_r6");
}

TEST(Concurrency, ParallelDontneedForcesAWholeMmFlush) {
  std::vector<FakePort::Event> flushes;
  long nested = 0;
  parallel_dontneed(false, &flushes, &nested);
  ASSERT_EQ(flushes.size(), 1u) << "P.t2 zapped nothing, yet flushes";
  EXPECT_TRUE(flushes[0].flush.full) << "the whole mm: it cannot know what P.t1 cleared";
  EXPECT_EQ(nested, 1);
}

TEST(Concurrency, ParallelDontneedWithoutTheNestedFlushReturnsUnflushed) {
  std::vector<FakePort::Event> flushes;
  long nested = 0;
  parallel_dontneed(true, &flushes, &nested);
  EXPECT_TRUE(flushes.empty()) << "skip_nested_flush: P.t2 returns with P.t1's flush in flight";
  EXPECT_EQ(nested, 0);
}

// A fault on the entry a COW holds across its shootdown (cleared, new page not yet installed):
// the access is retried (the port cannot let the holder finish first). Another entry of the same
// table is not held in this model (the PTL is per entry here, per table in Linux: only timing).
TEST(Concurrency, FaultOnAnEntryWhosePtlIsHeldRetries) {
  Sim sim;
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  sim.kernel.fork(0, p);
  sim.kernel.switch_to(1, p);
  FaultResult same{FK::kMissing}, other{FK::kZeroPage};
  sim.port.on_flush = [&](const FakePort::Event& e) {
    if (e.cpu != 0 || same.kind != FK::kMissing) return;
    EXPECT_EQ(sim.kernel.lookup_pte(p, a), x86::PteVal{0}) << "cleared, not yet replaced (R1)";
    same = sim.kernel.handle_page_fault(1, a, x86::kPfUser);
    other = sim.kernel.handle_page_fault(1, a + kPageSize, x86::kPfUser | x86::kPfWrite);
  };
  ASSERT_TRUE(sim.cpu.store(0, p, a, 2));
  EXPECT_EQ(same.kind, FK::kSpurious) << "no zero page slipped into the cleared entry";
  EXPECT_EQ(same.signal, Signal::kNone);
  EXPECT_EQ(other.kind, FK::kMissing);
  sim.port.on_flush = nullptr;
  EXPECT_EQ(sim.cpu.load(1, p, a), 2u) << "the retry sees the COW's new page";
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
}

// mprotect holds mmap_lock for write across its flush: a fault of another thread retries, GUP
// and other syscalls on the mm back off with -EAGAIN.
TEST(Concurrency, MmapLockWriterBlocksFaultsAndCalls) {
  Sim sim;
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  sim.kernel.switch_to(1, p);
  FaultResult fault{FK::kMissing};
  long gup = 0, munmap = 0, madvise = 0;
  sim.port.on_flush = [&](const FakePort::Event&) {
    if (fault.kind != FK::kMissing) return;
    fault = sim.kernel.handle_page_fault(1, a + kPageSize, x86::kPfUser);
    gup = sim.kernel.pin_user_pages(1, p, a, FOLL_PIN);
    munmap = sim.kernel.munmap(1, p, a + kPageSize, kPageSize);
    madvise = sim.kernel.madvise(1, p, a, kPageSize, Advice::kDontNeed);
  };
  ASSERT_EQ(sim.kernel.mprotect(0, p, a, kPageSize, kProtRead), 0);
  EXPECT_EQ(fault.kind, FK::kSpurious);
  EXPECT_EQ(gup, -EAGAIN);
  EXPECT_EQ(munmap, -EAGAIN);
  EXPECT_EQ(madvise, -EAGAIN);
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
}

// A kill during another operation on the same mm: the teardown waits until that operation is
// done with the mm (mm_users), then happens.
TEST(Concurrency, KillDuringAnotherOperationDefersTheTeardown) {
  Sim sim;
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  sim.cpu.store(0, p, a + kPageSize, 2);
  sim.kernel.switch_to(1, p);
  const std::uint64_t boot_free = sim.kernel.free_frames() + 6;  // root, 3 tables, 2 pages
  FaultResult fault{FK::kMissing};
  sim.port.on_flush = [&](const FakePort::Event& e) {
    if (e.cpu != 0 || fault.kind != FK::kMissing) return;
    fault = sim.kernel.handle_page_fault(1, 0x10000, x86::kPfUser);  // SIGSEGV: no VMA
    EXPECT_FALSE(sim.kernel.alive(p));
    EXPECT_TRUE(sim.kernel.mm_info(p) == std::nullopt);
  };
  // MADV_DONTNEED holds mmap_lock for read only: the faulting thread runs on.
  ASSERT_EQ(sim.kernel.madvise(0, p, a, kPageSize, Advice::kDontNeed), 0);
  EXPECT_EQ(fault.kind, FK::kSigsegv);
  EXPECT_EQ(sim.kernel.killed_by(p), Signal::kSigsegv);
  EXPECT_FALSE(sim.kernel.current(0) || sim.kernel.current(1));
  EXPECT_EQ(sim.kernel.free_frames(), boot_free - 1) << "torn down; CPU 0 keeps the root lazily";
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
}

// Reclaim holds the PTL of an exclusive page across its R4 shootdown; GUP's slow path on that
// table backs off, and the fault path retries.
TEST(Concurrency, GupDuringReclaimShootdownBacksOff) {
  Sim sim;
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  sim.cpu.store(0, p, a + kPageSize, 2);
  sim.kernel.switch_to(1, p);
  long gup = 0, other = 0;
  sim.port.on_flush = [&](const FakePort::Event&) {
    if (gup != 0) return;
    gup = sim.kernel.pin_user_pages(1, p, a, FOLL_PIN);
    other = sim.kernel.pin_user_pages(1, p, a + kPageSize, FOLL_PIN);
  };
  ASSERT_EQ(sim.kernel.swap_out(0, p, a), 0);
  EXPECT_EQ(gup, -EAGAIN) << "the entry reclaim holds";
  EXPECT_GT(other, 0) << "another entry of the table";
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
}

// Reclaim holds the page lock across its batched shootdown: a swap-in of that page retries
// instead of racing the writeback (lock_page_or_retry).
TEST(Concurrency, SwapInOfAPageUnderReclaimRetries) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  sim.cpu.load(2, c, a);
  FaultResult inner{FK::kMissing};
  sim.port.on_flush = [&](const FakePort::Event&) {
    if (inner.kind != FK::kMissing || !is_swap(sim.pte(c, a))) return;
    inner = sim.kernel.handle_page_fault(2, a, x86::kPfUser);
  };
  ASSERT_EQ(sim.kernel.swap_out(0, p, a), 0);
  EXPECT_EQ(inner.kind, FK::kSpurious) << "the swap-cache page is locked by reclaim";
  EXPECT_TRUE(is_swap(sim.pte(c, a)));
  sim.port.on_flush = nullptr;
  EXPECT_EQ(sim.cpu.load(2, c, a), 1u);
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
}

}  // namespace
}  // namespace mmusim::mm::testing
