// GUP: the slow path (follow_page_pte, faultin_page with WRITE or UNSHARE), GUP-fast and its
// split form, unpin with its sanity check, DMA through pins, errors (§3.8-§3.10, §4.4).
#include <gtest/gtest.h>

#include <cerrno>

#include "sim.h"

namespace mmusim::mm::testing {
namespace {

using FK = FaultKind;
using EK = FakePort::EventKind;
using Faults = std::vector<FaultKind>;
constexpr unsigned kPinR = FOLL_PIN;
constexpr unsigned kPinW = FOLL_PIN | FOLL_WRITE;

TEST(Gup, FlagValidation) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  EXPECT_EQ(sim.kernel.pin_user_pages(0, p, a, FOLL_PIN | FOLL_GET), -EINVAL);
  EXPECT_EQ(sim.kernel.pin_user_pages(0, p, a, FOLL_WRITE), -EINVAL) << "neither GET nor PIN";
  EXPECT_EQ(sim.kernel.pin_user_pages(0, p, a, FOLL_GET | FOLL_LONGTERM), -EINVAL);
  EXPECT_EQ(sim.kernel.pin_user_pages(0, p, a, FOLL_PIN | 64), -EINVAL);
  EXPECT_EQ(sim.kernel.pin_user_pages_fast(0, p, a, FOLL_PIN | FOLL_GET), -EINVAL);
  EXPECT_EQ(sim.kernel.gup_fast_begin(0, p, a, 0), -EINVAL);
  EXPECT_EQ(sim.kernel.pin_user_pages(64, p, a, kPinR), -EINVAL);
  EXPECT_EQ(sim.kernel.pin_user_pages(0, 99, a, kPinR), -ESRCH);
  EXPECT_EQ(sim.kernel.pin_user_pages(0, p, 0x10000, kPinR), -EFAULT) << "no VMA";
  EXPECT_EQ(sim.kernel.pin_user_pages(0, p, x86::kUserVaEnd, kPinR), -EFAULT);
  EXPECT_EQ(sim.kernel.pin_user_pages_fast(0, p, x86::kUserVaEnd, kPinR), -EFAULT);
  EXPECT_GT(sim.kernel.pin_user_pages(0, p, a, FOLL_PIN | FOLL_LONGTERM), 0);
  EXPECT_TRUE(sim.kernel.pins().size() == 1);
}

TEST(Gup, WritePinOfAbsentPageFaultsItInAndPins) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  const long pin = sim.kernel.pin_user_pages(0, p, a + 8, kPinW);
  ASSERT_GT(pin, 0);
  EXPECT_EQ(sim.kernel.last_gup_faults(), Faults{FK::kMissing});
  const PinInfo info = *sim.kernel.pin(pin);
  EXPECT_EQ(info.id, pin);
  EXPECT_EQ(info.pid, p);
  EXPECT_EQ(info.va, a) << "page aligned";
  EXPECT_EQ(info.pfn, sim.pfn_of(p, a));
  EXPECT_EQ(info.flags, kPinW);
  EXPECT_FALSE(info.fast);
  const PageInfo page = sim.page_of(p, a);
  EXPECT_EQ(page.refcount, 1025u) << "mapping + GUP_PIN_COUNTING_BIAS";
  EXPECT_TRUE(page.maybe_pinned);
  EXPECT_TRUE(page.anon_exclusive);
  EXPECT_TRUE(sim.kernel.mm_info(p)->has_pinned);
  EXPECT_TRUE(sim.kernel.pin_consistent(pin));
  EXPECT_EQ(sim.stat("gup.pins"), 1);
  EXPECT_EQ(sim.stat("gup.faults"), 1);
  EXPECT_EQ(sim.stat("faults.missing"), 1);
  ASSERT_EQ(sim.dma_write(pin, 77), 0);
  EXPECT_EQ(sim.cpu.load(0, p, a), 77u) << "DMA lands in the mapped page";
  ASSERT_EQ(sim.kernel.unpin_user_page(0, pin), 0);
  EXPECT_EQ(sim.page_of(p, a).refcount, 1u);
  EXPECT_FALSE(sim.kernel.pin(pin).has_value());
  EXPECT_EQ(sim.kernel.unpin_user_page(0, pin), -EINVAL);
  EXPECT_EQ(sim.stat("gup.unpins"), 1);
}

TEST(Gup, ReadPinOfAbsentPagePinsTheZeroPage) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  const long pin = sim.kernel.pin_user_pages(0, p, a, kPinR);
  ASSERT_GT(pin, 0);
  EXPECT_EQ(sim.kernel.last_gup_faults(), Faults{FK::kZeroPage});
  EXPECT_EQ(sim.kernel.pin(pin)->pfn, sim.kernel.zero_pfn()) << "L4: the zero page is pinned";
  EXPECT_EQ(sim.kernel.page_info(sim.kernel.zero_pfn())->refcount, 1u) << "its count untouched";
  EXPECT_EQ(sim.dma_read(pin), 0u);
  std::uint64_t v = 1;
  EXPECT_EQ(sim.kernel.device_write(pin, 0, &v, 8), -EFAULT) << "never written";
  EXPECT_TRUE(sim.kernel.pin_consistent(pin));
  EXPECT_EQ(sim.kernel.unpin_user_page(0, pin), 0);
}

TEST(Gup, GetRefAddsOne) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const long ref = sim.kernel.pin_user_pages(0, p, a, FOLL_GET);
  ASSERT_GT(ref, 0);
  EXPECT_EQ(sim.page_of(p, a).refcount, 2u);
  EXPECT_FALSE(sim.page_of(p, a).maybe_pinned);
  EXPECT_FALSE(sim.kernel.mm_info(p)->has_pinned) << "only FOLL_PIN sets MMF_HAS_PINNED";
  EXPECT_EQ(sim.stat("gup.gets"), 1);
  EXPECT_EQ(sim.kernel.unpin_user_page(0, ref), 0);
  EXPECT_EQ(sim.page_of(p, a).refcount, 1u);
}

TEST(GupFast, PinsAWritableEntryWithInterruptsOff) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  sim.port.clear_events();
  const long pin = sim.kernel.pin_user_pages_fast(0, p, a, kPinW);
  ASSERT_GT(pin, 0);
  EXPECT_TRUE(sim.kernel.pin(pin)->fast);
  EXPECT_TRUE(sim.kernel.last_gup_faults().empty());
  EXPECT_EQ(sim.port.events_of(EK::kIrqDisable).size(), 1u);
  EXPECT_EQ(sim.port.events_of(EK::kIrqEnable).size(), 1u);
  EXPECT_FALSE(sim.port.irqs_disabled(0));
  // G1 read and G3 reread of the leaf go through the port (no TLB).
  int leaf_reads = 0;
  const PhysAddr leaf = [&] {
    PhysAddr table = sim.kernel.mm_info(p)->pgd;
    for (unsigned level = x86::kLevels; level > 1; --level)
      table = pfn_to_phys(x86::pte_pfn(sim.port.load64(x86::entry_addr(table, a, level))));
    return x86::entry_addr(table, a, 1);
  }();
  for (const auto& e : sim.port.events_of(EK::kReadPte)) leaf_reads += e.pa == leaf;
  EXPECT_EQ(leaf_reads, 2);
  EXPECT_EQ(sim.stat("gup.fast_success"), 1);
  EXPECT_EQ(sim.stat("gup.fast_fallback"), 0);
}

TEST(GupFast, FallsBackOnAbsentSpecialOrReadOnlyEntries) {
  Sim sim;
  auto [p, a] = sim.process_with_area(3);
  sim.cpu.load(0, p, a + kPageSize);  // zero page
  sim.cpu.store(0, p, a + 2 * kPageSize, 1);
  sim.kernel.mprotect(0, p, a + 2 * kPageSize, kPageSize, kProtRead);
  const long none = sim.kernel.pin_user_pages_fast(0, p, a, kPinW);
  const long zero = sim.kernel.pin_user_pages_fast(0, p, a + kPageSize, kPinR);
  const long ro = sim.kernel.pin_user_pages_fast(0, p, a + 2 * kPageSize, kPinR);
  ASSERT_GT(none, 0);
  ASSERT_GT(zero, 0);
  ASSERT_GT(ro, 0);
  EXPECT_FALSE(sim.kernel.pin(none)->fast);
  EXPECT_FALSE(sim.kernel.pin(zero)->fast) << "special entries bail out";
  EXPECT_TRUE(sim.kernel.pin(ro)->fast) << "B20: R/O but exclusive, no unshare needed";
  EXPECT_EQ(sim.stat("gup.fast_fallback"), 2);
  EXPECT_EQ(sim.kernel.pin_user_pages_fast(0, p, a + 2 * kPageSize, kPinW), -EFAULT)
      << "FOLL_WRITE on a read-only area without FOLL_FORCE";
}

TEST(GupFast, NotCurrentGoesStraightToTheSlowPath) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  sim.port.clear_events();
  const long pin = sim.kernel.pin_user_pages_fast(1, p, a, kPinR);
  ASSERT_GT(pin, 0);
  EXPECT_FALSE(sim.kernel.pin(pin)->fast);
  EXPECT_TRUE(sim.port.events_of(EK::kIrqDisable).empty());
}

// §4.4 (a) at operation granularity: a swap-out between G1 and G2 is caught by the reread (the
// entry became a swap entry); the slow path then swaps the page back in.
TEST(GupFast, SwapOutBetweenBeginAndEndIsCaught) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 5);
  const long cursor = sim.kernel.gup_fast_begin(0, p, a, kPinR);
  ASSERT_GT(cursor, 0);
  EXPECT_TRUE(sim.port.irqs_disabled(0));
  ASSERT_EQ(sim.kernel.swap_out(1, p, a), 0) << "no pin yet: the pre-check lets it go";
  const long pin = sim.kernel.gup_fast_end(cursor);
  ASSERT_GT(pin, 0);
  EXPECT_FALSE(sim.kernel.pin(pin)->fast);
  EXPECT_FALSE(sim.port.irqs_disabled(0));
  EXPECT_EQ(sim.kernel.last_gup_faults(), (Faults{FK::kSwapIn, FK::kUnshareMark}));
  EXPECT_EQ(sim.dma_read(pin), 5u);
  EXPECT_TRUE(sim.kernel.pin_consistent(pin));
  EXPECT_EQ(sim.kernel.gup_fast_end(cursor), -EINVAL) << "a cursor ends once";
}

// A fork between G1 and G2: the reread sees the write-protected entry (or, for an entry fork
// leaves alone, the sequence count catches it); the slow path unshares (B10, one copy).
TEST(GupFast, ForkBetweenBeginAndEndIsCaught) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const long cursor = sim.kernel.gup_fast_begin(0, p, a, kPinR);
  const Pid c = static_cast<Pid>(sim.kernel.fork(1, p));
  const long pin = sim.kernel.gup_fast_end(cursor);
  ASSERT_GT(pin, 0);
  EXPECT_FALSE(sim.kernel.pin(pin)->fast);
  EXPECT_EQ(sim.kernel.last_gup_faults(), Faults{FK::kUnshareCopy});
  EXPECT_EQ(sim.stat("copies"), 1);
  EXPECT_TRUE(sim.kernel.pin_consistent(pin));
  EXPECT_NE(sim.pfn_of(p, a), sim.pfn_of(c, a));
  EXPECT_EQ(sim.cpu.load(1, c, a), 1u);
}

// The same race on an entry fork does not modify (R/O and exclusive before fork): G3 sees the
// same entry, and the unshare check (G4) or write_protect_seq (Q3) sends it to the slow path.
TEST(GupFast, ForkOfAReadOnlyEntryIsCaughtWithoutAnEntryChange) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  sim.kernel.mprotect(0, p, a, kPageSize, kProtRead);
  const x86::PteVal before = sim.pte(p, a);
  const long cursor = sim.kernel.gup_fast_begin(0, p, a, kPinR);
  sim.kernel.fork(1, p);
  EXPECT_EQ(sim.pte(p, a), before) << "fork left the R/O entry as it was";
  const long pin = sim.kernel.gup_fast_end(cursor);
  ASSERT_GT(pin, 0);
  EXPECT_FALSE(sim.kernel.pin(pin)->fast);
  EXPECT_EQ(sim.kernel.last_gup_faults(), Faults{FK::kUnshareCopy});
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
}

// §4.4 (c): a page table freed while a GUP-fast section is open is kept until it ends.
TEST(GupFast, TablesFreedDuringASectionWaitForItsEnd) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const long cursor = sim.kernel.gup_fast_begin(0, p, a, kPinR);
  const std::uint64_t before = sim.kernel.free_frames();
  ASSERT_EQ(sim.kernel.munmap(1, p, a, kPageSize), 0);
  EXPECT_EQ(sim.kernel.free_frames(), before + 1) << "the page goes, the 3 tables wait";
  EXPECT_EQ(sim.kernel.gup_fast_end(cursor), -EFAULT) << "reread: none; slow path: no VMA";
  EXPECT_EQ(sim.kernel.free_frames(), before + 4);
}

TEST(GupFast, EndAfterExitIsEsrch) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const std::uint64_t boot_free = sim.kernel.free_frames() + 5;  // pgd, 3 tables, 1 page
  const long cursor = sim.kernel.gup_fast_begin(0, p, a, kPinR);
  sim.kernel.exit(1, p);
  EXPECT_EQ(sim.kernel.gup_fast_end(cursor), -ESRCH);
  EXPECT_EQ(sim.kernel.free_frames(), boot_free - 1) << "CPU 0 still has the root in CR3 (lazy)";
  EXPECT_FALSE(sim.port.irqs_disabled(0));
}

TEST(GupFast, OneOpenSectionPerCpu) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const long cursor = sim.kernel.gup_fast_begin(0, p, a, kPinR);
  ASSERT_GT(cursor, 0);
  EXPECT_EQ(sim.kernel.gup_fast_begin(0, p, a, kPinR), -EBUSY);
  EXPECT_EQ(sim.kernel.pin_user_pages_fast(0, p, a, kPinR), -EBUSY);
  sim.kernel.switch_to(1, p);
  const long other = sim.kernel.gup_fast_begin(1, p, a, kPinR);
  ASSERT_GT(other, 0) << "another CPU may";
  EXPECT_GT(sim.kernel.gup_fast_end(cursor), 0);
  EXPECT_GT(sim.kernel.gup_fast_end(other), 0);
  EXPECT_EQ(sim.page_of(p, a).refcount, 1u + 2 * 1024);
}

TEST(Gup, ForceWritesAReadOnlyPrivateAreaByBreakingCow) {
  Sim sim;
  const Pid p = sim.kernel.create_process(0);
  sim.kernel.switch_to(0, p);
  const VirtAddr a = static_cast<VirtAddr>(sim.kernel.mmap(0, p, 0, kPageSize, kProtRead, false));
  EXPECT_EQ(sim.cpu.load(0, p, a), 0u);  // the zero page
  EXPECT_EQ(sim.kernel.pin_user_pages(0, p, a, kPinW), -EFAULT);
  const long pin = sim.kernel.pin_user_pages(0, p, a, kPinW | FOLL_FORCE);
  ASSERT_GT(pin, 0);
  EXPECT_EQ(sim.kernel.last_gup_faults(), Faults{FK::kWpZero});
  EXPECT_FALSE(sim.writable(p, a)) << "COW broken, but the area stays read-only";
  EXPECT_TRUE(sim.page_of(p, a).anon_exclusive);
  sim.dma_write(pin, 9);
  EXPECT_EQ(sim.cpu.load(0, p, a), 9u);
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
}

TEST(Gup, ProtNoneNeedsForce) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 3);
  sim.kernel.mprotect(0, p, a, kPageSize, kProtNone);
  EXPECT_EQ(sim.kernel.pin_user_pages(0, p, a, kPinR), -EFAULT);
  const long pin = sim.kernel.pin_user_pages(0, p, a, kPinR | FOLL_FORCE);
  ASSERT_GT(pin, 0);
  EXPECT_EQ(sim.dma_read(pin), 3u);
  EXPECT_TRUE(sim.kernel.pin_consistent(pin));
}

TEST(Gup, OutOfMemoryIsEnomemWithoutAKill) {
  Sim sim(/*frames=*/8);  // boot 2, pgd, 3 tables: the page does not fit... after the tables
  auto [p, a] = sim.process_with_area();
  sim.cpu.load(0, p, a);  // tables now exist (frames 4..6); one frame left
  const long filler = sim.kernel.pin_user_pages(0, p, a, kPinW);
  ASSERT_GT(filler, 0);  // WP-zero took the last frame
  const long b = sim.kernel.mmap(0, p, 0, kPageSize, kProtRead | kProtWrite, false);
  EXPECT_EQ(sim.kernel.pin_user_pages(0, p, static_cast<VirtAddr>(b), kPinW), -ENOMEM);
  EXPECT_TRUE(sim.kernel.alive(p));
}

TEST(Gup, DeviceAccessBounds) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  const long pin = sim.kernel.pin_user_pages(0, p, a, kPinW);
  std::uint64_t v = 0x1122334455667788;
  EXPECT_EQ(sim.kernel.device_write(pin, kPageSize - 8, &v, 8), 0);
  EXPECT_EQ(sim.cpu.load(0, p, a + kPageSize - 8), v);
  EXPECT_EQ(sim.kernel.device_write(pin, kPageSize - 4, &v, 8), -EINVAL);
  EXPECT_EQ(sim.kernel.device_read(pin, kPageSize, &v, 1), -EINVAL);
  EXPECT_EQ(sim.kernel.device_read(pin, 0, &v, 0), -EINVAL);
  EXPECT_EQ(sim.kernel.device_read(pin, 0, nullptr, 8), -EINVAL);
  EXPECT_EQ(sim.kernel.device_read(12345, 0, &v, 8), -EINVAL);
  EXPECT_EQ(sim.kernel.device_write(12345, 0, &v, 8), -EINVAL);
}

TEST(Gup, PinConsistencyIsFalseForDeadOrUnmapped) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  const long pin = sim.kernel.pin_user_pages(0, p, a, kPinW);
  EXPECT_TRUE(sim.kernel.pin_consistent(pin));
  EXPECT_FALSE(sim.kernel.pin_consistent(999));
  sim.kernel.exit(0, p);
  EXPECT_FALSE(sim.kernel.pin_consistent(pin));
  EXPECT_TRUE(sim.kernel.pin(pin).has_value()) << "pins outlive their process";
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
  EXPECT_EQ(sim.kernel.unpin_user_page(0, pin), 0);
}

// The unpin sanity check (§3.10): a pinned page that lost PG_anon_exclusive (only possible with
// a rule broken, here fork sharing it) is reported as I3; the pin is released anyway.
TEST(Gup, UnpinSanityCheckNamesI3) {
  KernelConfig config;
  config.inject.no_eager_fork_copy = true;
  Sim sim(1024, config);
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const long pin = sim.kernel.pin_user_pages(0, p, a, kPinW);
  EXPECT_THROW(sim.kernel.fork(0, p), InvariantError) << "debug_vm after fork: I3";
  try {
    sim.kernel.unpin_user_page(0, pin);
    FAIL() << "the sanity check must throw";
  } catch (const InvariantError& e) {
    EXPECT_EQ(e.operation(), "unpin_user_page");
    ASSERT_EQ(e.violations().size(), 1u);
    EXPECT_EQ(e.violations()[0].invariant, "I3");
    EXPECT_EQ(e.violations()[0].pfn, sim.pfn_of(p, a));
  }
  EXPECT_FALSE(sim.kernel.pin(pin).has_value());
  EXPECT_EQ(sim.page_of(p, a).refcount, 2u) << "parent and child mappings remain";
}

}  // namespace
}  // namespace mmusim::mm::testing
