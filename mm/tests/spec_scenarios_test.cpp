// Scenarios of mm-semantics.md §5.1 (A10, A11), §5.2 (B01-B07, B11-B14, B16, B18-B20), §5.3
// (C01, C05, C07), §5.4 (D01-D04, D06-D08) and §5.10 (M04, Z01, Z02), through the Kernel facade
// and SwCpu, with the spec's expected values, fault kinds, copies and pin consistency (PC).
// pinR/pinW use pin_user_pages_fast (GUP-fast first, the slow path on bail-out), as §5.0 says.
#include <gtest/gtest.h>

#include <cerrno>

#include "sim.h"

namespace mmusim::mm::testing {
namespace {

using FK = FaultKind;
using EK = FakePort::EventKind;
using Faults = std::vector<FaultKind>;
constexpr unsigned kRW = kProtRead | kProtWrite;

struct Scenario : Sim {
  explicit Scenario(KernelConfig config = {}) : Sim(1024, config) {
    std::tie(p, a) = process_with_area();
  }
  // X-EW: w(P,A,1).
  void x_ew() {
    ASSERT_TRUE(cpu.store(0, p, a, 1));
    x = pfn_of(p, a);
    cpu.take_faults();
  }
  Pid fork_child() {
    const long c = kernel.fork(0, p);
    EXPECT_GT(c, 0);
    return static_cast<Pid>(c);
  }
  long pin_r(Pid pid, CpuId on = 0) { return kernel.pin_user_pages_fast(on, pid, a, FOLL_PIN); }
  long pin_w(Pid pid, CpuId on = 0) {
    return kernel.pin_user_pages_fast(on, pid, a, FOLL_PIN | FOLL_WRITE);
  }
  Faults faults() { return cpu.take_faults(); }
  Faults gup_faults() const { return kernel.last_gup_faults(); }

  Pid p = -1;
  VirtAddr a = 0;
  Pfn x = 0;
};

// ---- §5.1 ----

TEST(SpecA, A10ExtraGetRefForcesCopy) {
  Scenario s;
  s.x_ew();
  s.kernel.exit(1, s.fork_child());
  const long get = s.kernel.pin_user_pages(0, s.p, s.a, FOLL_GET);  // getR, held by a driver
  ASSERT_GT(get, 0);
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kWpCopy}) << "count 2 = map + get: never reuse";
  EXPECT_EQ(s.stat("copies"), 1);
  EXPECT_EQ(s.dma_read(get), 1u) << "the driver's reference still reads 1";
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 2u);
}

TEST(SpecA, A11SwapCachePageReuse) {
  Scenario s;
  s.x_ew();
  s.kernel.exit(1, s.fork_child());
  ASSERT_EQ(s.kernel.swap_out(0, s.p, s.a), 0);
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 1u);
  EXPECT_EQ(s.faults(), Faults{FK::kSwapIn});
  const PageInfo cached = s.page_of(s.p, s.a);
  EXPECT_TRUE(cached.swapcache) << "the page stays in the swap cache";
  EXPECT_FALSE(cached.anon_exclusive);
  EXPECT_EQ(cached.refcount, 2u);
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kWpReuse}) << "count 2 <= 1 + SwapCache: free it, count 1";
  EXPECT_FALSE(s.page_of(s.p, s.a).swapcache);
  EXPECT_EQ(s.stat("copies"), 0);
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 2u);
}

TEST(SpecA, A11VariantChildHoldsASwapEntry) {
  Scenario s;
  s.x_ew();
  const Pid c = s.fork_child();
  ASSERT_EQ(s.kernel.swap_out(0, s.p, s.a), 0);
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 1u);
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), (Faults{FK::kSwapIn, FK::kWpCopy}));
  EXPECT_EQ(s.stat("copies"), 1);
  EXPECT_EQ(s.cpu.load(1, c, s.a), 1u);
}

// ---- §5.2 ----

void b01_b02(bool write_pin) {
  Scenario s;
  s.x_ew();
  const long pin = write_pin ? s.pin_w(s.p) : s.pin_r(s.p);
  ASSERT_GT(pin, 0);
  EXPECT_TRUE(s.kernel.pin(pin)->fast);
  s.port.clear_events();
  const Pid c = s.fork_child();
  EXPECT_EQ(s.port.events_of(EK::kFlush).size(), 1u) << "FF(P) only";
  EXPECT_TRUE(s.writable(s.p, s.a)) << "P's entry untouched";
  EXPECT_TRUE(s.page_of(s.p, s.a).anon_exclusive);
  EXPECT_NE(s.pfn_of(c, s.a), s.x) << "eager copy for the child";
  EXPECT_TRUE(s.page_of(c, s.a).anon_exclusive);
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_TRUE(s.faults().empty()) << "no fault on the parent's write";
  ASSERT_EQ(s.dma_write(pin, 5), 0);
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 5u);
  EXPECT_EQ(s.cpu.load(1, c, s.a), 1u);
  EXPECT_EQ(s.stat("copies"), 1);
  EXPECT_EQ(s.stat("fork_eager_copies"), 1);
  EXPECT_TRUE(s.kernel.pin_consistent(pin));
  EXPECT_EQ(s.kernel.unpin_user_page(0, pin), 0);
}

TEST(SpecB, B01WritePinThenFork) { b01_b02(true); }
TEST(SpecB, B02ReadPinThenFork) { b01_b02(false); }

TEST(SpecB, B03ReadPinAfterForkUnshareCopies) {
  Scenario s;
  s.x_ew();
  const Pid c = s.fork_child();
  s.port.clear_events();
  const long pin = s.pin_r(s.p);
  ASSERT_GT(pin, 0);
  EXPECT_FALSE(s.kernel.pin(pin)->fast) << "GUP-fast bails: R/O, not EXCL";
  EXPECT_EQ(s.gup_faults(), Faults{FK::kUnshareCopy});
  EXPECT_EQ(s.port.events_of(EK::kFlush).size(), 1u) << "CF(P,A)";
  const x86::PteVal pte = s.pte(s.p, s.a);
  EXPECT_FALSE(x86::pte_write(pte));
  EXPECT_FALSE(x86::pte_dirty(pte)) << "unshare copies are clean (D3)";
  EXPECT_TRUE(s.page_of(s.p, s.a).anon_exclusive);
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kWpReuse});
  EXPECT_EQ(s.dma_read(pin), 2u);
  EXPECT_EQ(s.cpu.load(1, c, s.a), 1u);
  EXPECT_EQ(s.stat("copies"), 1);
  EXPECT_TRUE(s.kernel.pin_consistent(pin));
}

TEST(SpecB, B03UnshareKeepsSoftDirtyAndUffdWp) {
  Scenario s;
  s.x_ew();
  s.fork_child();
  // Plant soft-dirty and uffd-wp on P's R/O entry (no uffd API in this model).
  PhysAddr table = s.kernel.mm_info(s.p)->pgd;
  for (unsigned level = x86::kLevels; level > 1; --level)
    table = pfn_to_phys(x86::pte_pfn(s.port.load64(x86::entry_addr(table, s.a, level))));
  const PhysAddr slot = x86::entry_addr(table, s.a, 1);
  s.port.store64(slot, (s.port.load64(slot) & ~x86::kSoftSoftDirty) | x86::kSoftUffdWp);
  ASSERT_GT(s.pin_r(s.p), 0);
  EXPECT_EQ(s.gup_faults(), Faults{FK::kUnshareCopy});
  const x86::PteVal pte = s.pte(s.p, s.a);
  EXPECT_TRUE(pte & x86::kSoftUffdWp) << "I18: uffd-wp survives the unshare copy";
  EXPECT_FALSE(pte & x86::kSoftSoftDirty) << "soft-dirty copied as it was (clear)";
  EXPECT_FALSE(x86::pte_write(pte));
  EXPECT_TRUE(s.kernel.check_invariants().empty());
}

TEST(SpecB, B04ReadPinAfterForkSharerGone) {
  Scenario s;
  s.x_ew();
  s.kernel.exit(1, s.fork_child());
  s.port.clear_events();
  const long pin = s.pin_r(s.p);
  EXPECT_EQ(s.gup_faults(), Faults{FK::kUnshareMark});
  EXPECT_TRUE(s.port.events_of(EK::kFlush).empty()) << "UN-mark: no flush";
  EXPECT_FALSE(s.writable(s.p, s.a)) << "the entry stays R/O (I17)";
  EXPECT_EQ(s.pfn_of(s.p, s.a), s.x);
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kWpReuse});
  EXPECT_EQ(s.stat("copies"), 0);
  EXPECT_TRUE(s.kernel.pin_consistent(pin));
}

TEST(SpecB, B05WritePinAfterFork) {
  Scenario s;
  s.x_ew();
  const Pid c = s.fork_child();
  const long pin = s.pin_w(s.p);
  EXPECT_EQ(s.gup_faults(), Faults{FK::kWpCopy});
  EXPECT_TRUE(s.writable(s.p, s.a));
  ASSERT_EQ(s.dma_write(pin, 7), 0);
  EXPECT_EQ(s.cpu.load(1, c, s.a), 1u);
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 7u);
  EXPECT_EQ(s.stat("copies"), 1);
  EXPECT_TRUE(s.kernel.pin_consistent(pin));
}

TEST(SpecB, B06ReadPinInChildParentWrites) {
  Scenario s;
  s.x_ew();
  const Pid c = s.fork_child();
  s.kernel.switch_to(1, c);
  const long pin = s.pin_r(c, 1);
  EXPECT_EQ(s.gup_faults(), Faults{FK::kUnshareCopy});
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kWpReuse}) << "count(X) = 1";
  EXPECT_EQ(s.dma_read(pin), 1u);
  EXPECT_EQ(s.cpu.load(1, c, s.a), 1u);
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 2u);
  EXPECT_EQ(s.stat("copies"), 1);
  EXPECT_TRUE(s.kernel.pin_consistent(pin));
}

TEST(SpecB, B07ClassicWrongCowReproducer) {
  Scenario s;
  s.x_ew();
  const Pid c = s.fork_child();
  const long pin = s.pin_r(s.p);
  EXPECT_EQ(s.gup_faults(), Faults{FK::kUnshareCopy}) << "unshare at pin time, C alive";
  s.kernel.exit(1, c);
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kWpReuse});
  EXPECT_EQ(s.dma_read(pin), 2u);
  EXPECT_TRUE(s.kernel.pin_consistent(pin));
  EXPECT_EQ(s.kernel.pin(pin)->pfn, s.pfn_of(s.p, s.a));
  EXPECT_EQ(s.stat("copies"), 1);
}

TEST(SpecB, B11DontNeedOnPinnedPage) {
  Scenario s;
  s.x_ew();
  const long pin = s.pin_w(s.p);
  s.port.clear_events();
  ASSERT_EQ(s.kernel.madvise(0, s.p, s.a, kPageSize, Advice::kDontNeed), 0);
  EXPECT_EQ(s.port.events_of(EK::kFlush).size(), 1u) << "ZF";
  const PageInfo kept = *s.kernel.page_info(s.x);
  EXPECT_TRUE(kept.anon_exclusive) << "EXCL is sticky across the zap";
  EXPECT_EQ(kept.mapcount, 0u);
  EXPECT_EQ(kept.refcount, 1024u) << "the pin keeps X";
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 0u);
  EXPECT_EQ(s.faults(), Faults{FK::kZeroPage});
  ASSERT_EQ(s.dma_write(s.kernel.pins().at(0).id, 7), 0);
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 0u);
  EXPECT_TRUE(s.faults().empty());
  EXPECT_FALSE(s.kernel.pin_consistent(pin)) << "PC=N after the user's own unmap";
  EXPECT_TRUE(s.kernel.check_invariants().empty()) << "not a violation of I4";
  ASSERT_EQ(s.kernel.unpin_user_page(0, pin), 0) << "sanity check passes";
  EXPECT_FALSE(s.kernel.page_info(s.x).has_value()) << "X freed at unpin";
}

void b12(bool eager_write) {
  KernelConfig config;
  config.mprotect_write_exclusive = eager_write;
  Scenario s(config);
  s.x_ew();
  const long pin = s.pin_w(s.p);
  s.port.clear_events();
  ASSERT_EQ(s.kernel.mprotect(0, s.p, s.a, kPageSize, kProtRead), 0);
  EXPECT_EQ(s.port.events_of(EK::kFlush).size(), 1u) << "RF at mprotect(RO)";
  ASSERT_EQ(s.kernel.mprotect(0, s.p, s.a, kPageSize, kRW), 0);
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 3));
  EXPECT_EQ(s.faults(), eager_write ? Faults{} : Faults{FK::kWpReuse});
  EXPECT_EQ(s.dma_read(pin), 3u);
  EXPECT_EQ(s.stat("copies"), 0);
  EXPECT_TRUE(s.kernel.pin_consistent(pin));
}

TEST(SpecB, B12MprotectOnPinnedPage) { b12(true); }
TEST(SpecB, B12MprotectOnPinnedPageV517) { b12(false); }

TEST(SpecB, B12WriteUnderReadOnlyIsSigsegv) {
  Scenario s;
  s.x_ew();
  const long pin = s.pin_w(s.p);
  s.kernel.mprotect(0, s.p, s.a, kPageSize, kProtRead);
  EXPECT_FALSE(s.cpu.store(0, s.p, s.a, 3));
  EXPECT_EQ(s.kernel.killed_by(s.p), Signal::kSigsegv);
  EXPECT_EQ(s.dma_read(pin), 1u);
  EXPECT_EQ(s.kernel.unpin_user_page(0, pin), 0);
}

TEST(SpecB, B13PinAndDontFork) {
  Scenario s;
  s.x_ew();
  s.pin_w(s.p);
  ASSERT_EQ(s.kernel.madvise(0, s.p, s.a, kPageSize, Advice::kDontFork), 0);
  const Pid c = s.fork_child();
  EXPECT_TRUE(s.kernel.mm_info(c)->vmas.empty());
  EXPECT_FALSE(s.cpu.load(1, c, s.a).has_value()) << "SIGSEGV in the child";
  EXPECT_EQ(s.kernel.killed_by(c), Signal::kSigsegv);
  EXPECT_EQ(s.stat("copies"), 0);
  EXPECT_TRUE(s.writable(s.p, s.a));
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 1u);
}

TEST(SpecB, B14WipeOnFork) {
  Scenario s;
  s.x_ew();
  ASSERT_EQ(s.kernel.madvise(0, s.p, s.a, kPageSize, Advice::kWipeOnFork), 0);
  const Pid c = s.fork_child();
  EXPECT_EQ(s.cpu.load(1, c, s.a), 0u) << "fresh in the child";
  EXPECT_EQ(s.faults(), Faults{FK::kZeroPage});
  EXPECT_TRUE(s.writable(s.p, s.a));
  EXPECT_TRUE(s.page_of(s.p, s.a).anon_exclusive);
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_TRUE(s.faults().empty()) << "P's entry untouched: no fault";
  EXPECT_EQ(s.stat("copies"), 0);
}

TEST(SpecB, B16ReadPinOfNeverWrittenMemoryKnownBad) {
  Scenario s;
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 0u);
  const long pin = s.pin_r(s.p);
  EXPECT_EQ(s.kernel.pin(pin)->pfn, s.kernel.zero_pfn()) << "the slow path pins the zero page";
  EXPECT_TRUE(s.gup_faults().empty()) << "no unshare: the zero page is not anonymous";
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 1));
  EXPECT_EQ(s.faults(), (Faults{FK::kZeroPage, FK::kWpZero}));
  EXPECT_EQ(s.dma_read(pin), 0u);
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 1u);
  EXPECT_FALSE(s.kernel.pin_consistent(pin)) << "PC=N: documented limitation L4";
  EXPECT_EQ(s.stat("copies"), 0);
}

TEST(SpecB, B18NestedPinsAndFork) {
  Scenario s;
  s.x_ew();
  const long p1 = s.pin_r(s.p);
  const long p2 = s.pin_r(s.p);
  EXPECT_EQ(s.page_of(s.p, s.a).refcount, 1u + 2 * 1024);
  const Pid c = s.fork_child();
  EXPECT_EQ(s.stat("copies"), 1) << "eager copy at fork";
  EXPECT_TRUE(s.kernel.pin_consistent(p1) && s.kernel.pin_consistent(p2));
  EXPECT_EQ(s.kernel.unpin_user_page(0, p1), 0);
  EXPECT_TRUE(s.kernel.pin_consistent(p2));
  EXPECT_EQ(s.kernel.unpin_user_page(0, p2), 0);
  EXPECT_EQ(s.cpu.load(1, c, s.a), 1u);
}

void b19(bool eager_write) {
  KernelConfig config;
  config.mprotect_write_exclusive = eager_write;
  Scenario s(config);
  s.x_ew();
  s.kernel.mprotect(0, s.p, s.a, kPageSize, kProtRead);
  s.kernel.mprotect(0, s.p, s.a, kPageSize, kRW);
  const long pin = s.pin_w(s.p);
  ASSERT_GT(pin, 0);
  // v5.17: follow finds R/O -> WP-reuse (EXCL) -> W -> pinned. v6.0+: already writable.
  EXPECT_EQ(s.gup_faults(), eager_write ? Faults{} : Faults{FK::kWpReuse});
  EXPECT_EQ(s.kernel.pin(pin)->fast, eager_write);
  EXPECT_TRUE(s.writable(s.p, s.a));
  EXPECT_EQ(s.stat("copies"), 0);
  s.dma_write(pin, 9);
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 9u);
  EXPECT_TRUE(s.kernel.pin_consistent(pin));
}

TEST(SpecB, B19WritePinOfExclusiveReadOnlyEntry) { b19(true); }
TEST(SpecB, B19WritePinOfExclusiveReadOnlyEntryV517) { b19(false); }

TEST(SpecB, B20ReadPinOfExclusiveReadOnlyEntry) {
  KernelConfig config;
  config.mprotect_write_exclusive = false;  // the entry stays R/O, as the spec's row has it
  Scenario s(config);
  s.x_ew();
  s.kernel.mprotect(0, s.p, s.a, kPageSize, kProtRead);
  s.kernel.mprotect(0, s.p, s.a, kPageSize, kRW);
  EXPECT_FALSE(s.writable(s.p, s.a));
  const long pin = s.pin_r(s.p);
  EXPECT_TRUE(s.kernel.pin(pin)->fast) << "GUP-fast succeeds on the R/O exclusive entry";
  EXPECT_TRUE(s.gup_faults().empty());
  EXPECT_EQ(s.stat("faults_total"), 1) << "only X-EW's MISS";
  EXPECT_EQ(s.stat("copies"), 0);
  EXPECT_EQ(s.dma_read(pin), 1u);
}

// ---- §5.3 ----

TEST(SpecC, C01VmspliceStyleGetRefInChild) {
  Scenario s;
  s.x_ew();  // the secret 1
  const Pid c = s.fork_child();
  const long get = s.kernel.pin_user_pages(1, c, s.a, FOLL_GET);
  ASSERT_GT(get, 0);
  ASSERT_EQ(s.kernel.madvise(1, c, s.a, kPageSize, Advice::kDontNeed), 0);
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kWpCopy}) << "count = map + get = 2";
  EXPECT_EQ(s.dma_read(get), 1u) << "no leak: C still reads 1";
  EXPECT_EQ(s.stat("copies"), 1);
}

TEST(SpecC, C05SwapInAfterForkStaysShared) {
  Scenario s;
  s.x_ew();
  const Pid c = s.fork_child();
  s.cpu.load(1, c, s.a);
  s.port.clear_events();
  ASSERT_EQ(s.kernel.swap_out(0, s.p, s.a), 0);
  EXPECT_EQ(s.stat("tlb.requests_reclaim_batch_r9"), 2) << "BF: both mms, batched";
  EXPECT_EQ(s.stat("tlb.requests_swapout_r4"), 0);
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kSwapIn}) << "then WP-copy inside the same fault";
  EXPECT_EQ(s.stat("copies"), 1);
  EXPECT_EQ(s.cpu.load(1, c, s.a), 1u);
  EXPECT_EQ(s.faults(), Faults{FK::kSwapIn});
  EXPECT_FALSE(s.page_of(c, s.a).anon_exclusive) << "slot was still referenced: not EXCL";
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 2u);
}

TEST(SpecC, C07ODirectGetRefAcrossForkKnownBad) {
  Scenario s;
  s.x_ew();
  const long get = s.kernel.pin_user_pages(0, s.p, s.a, FOLL_GET | FOLL_WRITE);  // I/O into X
  const Pid c = s.fork_child();
  EXPECT_EQ(s.pfn_of(c, s.a), s.x) << "a get-ref is not a pin: fork shares X";
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a + 8, 3));
  EXPECT_EQ(s.faults(), Faults{FK::kWpCopy}) << "count 3";
  ASSERT_EQ(s.dma_write(get, 'D'), 0);  // the I/O completes into X
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 1u) << "P reads stale data";
  EXPECT_EQ(s.cpu.load(1, c, s.a), std::uint64_t{'D'}) << "C sees the I/O: limitation L2";
}

// ---- §5.4 ----

TEST(SpecD, D01SwapOutExclusiveThenReadSwapIn) {
  Scenario s;
  s.x_ew();
  s.port.clear_events();
  ASSERT_EQ(s.kernel.swap_out(0, s.p, s.a), 0);
  EXPECT_EQ(s.stat("tlb.requests_swapout_r4"), 1) << "CF(P,A) synchronous";
  EXPECT_EQ(s.stat("swap.writebacks"), 1);
  EXPECT_TRUE(is_swap(s.pte(s.p, s.a)));
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 1u);
  EXPECT_EQ(s.faults(), Faults{FK::kSwapIn});
  const PageInfo page = s.page_of(s.p, s.a);
  EXPECT_FALSE(page.anon_exclusive) << "swap cache kept -> count 2 -> not EXCL";
  EXPECT_TRUE(page.swapcache);
  EXPECT_FALSE(s.writable(s.p, s.a));
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kWpReuse});
  EXPECT_EQ(s.stat("copies"), 0);
}

TEST(SpecD, D02WriteSwapIn) {
  Scenario s;
  s.x_ew();
  ASSERT_EQ(s.kernel.swap_out(0, s.p, s.a), 0);
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kSwapIn});
  const PageInfo page = s.page_of(s.p, s.a);
  EXPECT_TRUE(page.anon_exclusive) << "swap cache freed, count 1: EXCL + W directly";
  EXPECT_FALSE(page.swapcache);
  EXPECT_TRUE(s.writable(s.p, s.a));
  EXPECT_EQ(s.stat("copies"), 0);
  EXPECT_EQ(s.kernel.free_swap_slots(), 256u);
}

TEST(SpecD, D03SwapOutOfPinnedPageRefused) {
  Scenario s;
  s.x_ew();
  const long pin = s.pin_r(s.p);
  s.port.clear_events();
  EXPECT_EQ(s.kernel.swap_out(0, s.p, s.a), -EBUSY);
  EXPECT_TRUE(s.port.events_of(EK::kFlush).empty()) << "pre-check: no unmap, no flush";
  EXPECT_EQ(s.stat("swap.out_refused"), 1);
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.dma_read(pin), 2u);
  EXPECT_TRUE(s.kernel.pin_consistent(pin));
  EXPECT_EQ(s.stat("copies"), 0);
}

// D03's variant: without the pre-check, try_to_unmap_one clears, flushes, finds the pin and
// restores the entry (B2).
TEST(SpecD, D03VariantPinCheckAfterTheFlush) {
  KernelConfig config;
  config.reclaim_pin_precheck = false;
  Scenario s(config);
  s.x_ew();
  const x86::PteVal before = s.pte(s.p, s.a);
  const long pin = s.pin_r(s.p);
  s.port.clear_events();
  EXPECT_EQ(s.kernel.swap_out(0, s.p, s.a), -EBUSY);
  const auto& ev = s.port.events();
  int clear = -1, flush = -1, restore = -1;
  for (int i = 0; i < static_cast<int>(ev.size()); ++i) {
    if (ev[i].kind == EK::kXchgPte && ev[i].value == 0 && clear < 0) clear = i;
    if (ev[i].kind == EK::kFlush && flush < 0) flush = i;
    if (ev[i].kind == EK::kWritePte && ev[i].value == before) restore = i;
  }
  ASSERT_GE(clear, 0);
  ASSERT_GE(flush, 0);
  ASSERT_GE(restore, 0);
  EXPECT_LT(clear, flush) << "CF(P,A)";
  EXPECT_LT(flush, restore) << "pin check after the flush, then the original entry";
  EXPECT_EQ(s.pte(s.p, s.a), before);
  EXPECT_TRUE(s.page_of(s.p, s.a).anon_exclusive);
  EXPECT_TRUE(s.page_of(s.p, s.a).swapcache) << "may stay in the swap cache";
  EXPECT_TRUE(s.kernel.pin_consistent(pin));
  EXPECT_TRUE(s.kernel.check_invariants().empty());
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_TRUE(s.faults().empty());
  EXPECT_EQ(s.dma_read(pin), 2u);
}

TEST(SpecD, D04SynchronousSwapDevice) {
  KernelConfig config;
  config.swap_synchronous = true;
  Scenario s(config);
  s.x_ew();
  ASSERT_EQ(s.kernel.swap_out(0, s.p, s.a), 0);
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 1u);
  EXPECT_EQ(s.faults(), Faults{FK::kSwapIn});
  const PageInfo page = s.page_of(s.p, s.a);
  EXPECT_TRUE(page.anon_exclusive) << "fresh page past the swap cache: EXCL (R/O)";
  EXPECT_FALSE(page.swapcache);
  EXPECT_FALSE(s.writable(s.p, s.a));
  const long pin = s.pin_r(s.p);
  EXPECT_TRUE(s.gup_faults().empty()) << "no unshare needed";
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kWpReuse});
  EXPECT_EQ(s.stat("copies"), 0);
  EXPECT_TRUE(s.kernel.pin_consistent(pin));
}

// D05: the write swap-in finds the page still under writeback: the swap cache cannot be freed,
// so the count stays 2, the page is not exclusive and the write copies (unnecessary but legal).
TEST(SpecD, D05SwapInDuringWriteback) {
  Scenario s;
  s.x_ew();
  const Pfn x = s.pfn_of(s.p, s.a);
  SwapOutOptions async;
  async.async_writeback = true;
  ASSERT_EQ(s.kernel.swap_out(0, s.p, s.a, async), 0);
  const PageInfo under_io = *s.kernel.page_info(x);
  EXPECT_TRUE(under_io.writeback);
  EXPECT_TRUE(under_io.swapcache) << "kept in the swap cache while the write is in flight";
  EXPECT_EQ(under_io.mapcount, 0u);
  EXPECT_EQ(s.kernel.swap_out(0, s.p, s.a, async), -EFAULT) << "already a swap entry";
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kSwapIn});
  EXPECT_EQ(s.stat("copies"), 1) << "swap cache cannot be freed -> not EXCL -> WP-copy";
  EXPECT_NE(s.pfn_of(s.p, s.a), x);
  EXPECT_TRUE(s.page_of(s.p, s.a).anon_exclusive);
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 2u);
  EXPECT_TRUE(s.kernel.check_invariants().empty());
  // The I/O completes: the old page, no longer mapped or referenced by an entry, is freed.
  const std::uint64_t free_before = s.kernel.free_frames();
  EXPECT_EQ(s.kernel.end_writeback(0), 1);
  EXPECT_FALSE(s.kernel.page_info(x).has_value());
  EXPECT_EQ(s.kernel.free_frames(), free_before + 1);
  EXPECT_EQ(s.kernel.free_swap_slots(), 256u);
  EXPECT_EQ(s.kernel.end_writeback(0), 0);
  EXPECT_TRUE(s.kernel.check_invariants().empty());
}

// D05's page must not be reclaimed again while its write is in flight, and swapoff waits for it.
TEST(SpecD, D05WritebackKeepsReclaimOffAndSwapoffWaits) {
  Scenario s;
  s.x_ew();
  SwapOutOptions async;
  async.async_writeback = true;
  ASSERT_EQ(s.kernel.swap_out(0, s.p, s.a, async), 0);
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 1u) << "read swap-in from the swap cache";
  EXPECT_EQ(s.kernel.swap_out(0, s.p, s.a), -EAGAIN) << "PageWriteback: reclaim keeps it";
  EXPECT_EQ(s.kernel.swapoff(0), 0);
  EXPECT_FALSE(s.page_of(s.p, s.a).writeback);
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 1u);
  EXPECT_TRUE(s.kernel.check_invariants().empty());
}

// D09: arch_unmap_one fails after the entry was cleared, flushed and the swap reference taken:
// the reference is released (S0/p1), the entry restored; X stays mapped and exclusive.
TEST(SpecD, D09ArchHookFailure) {
  Scenario s;
  s.x_ew();
  const x86::PteVal before = s.pte(s.p, s.a);
  const Pfn x = s.pfn_of(s.p, s.a);
  SwapOutOptions fail;
  fail.arch_unmap_fails = true;
  s.port.clear_events();
  EXPECT_EQ(s.kernel.swap_out(0, s.p, s.a, fail), -EBUSY);
  EXPECT_EQ(s.port.events_of(EK::kFlush).size(), 1u) << "CF(P,A) happened before the hook";
  EXPECT_EQ(s.pte(s.p, s.a), before) << "entry restored";
  const PageInfo page = *s.kernel.page_info(x);
  EXPECT_TRUE(page.anon_exclusive);
  EXPECT_EQ(page.mapcount, 1u);
  EXPECT_EQ(s.stat("swap.writebacks"), 0);
  EXPECT_TRUE(s.kernel.check_invariants().empty()) << "no leaked swap reference (SWAPMAP)";
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_TRUE(s.faults().empty()) << "still writable and exclusive";
  EXPECT_EQ(s.stat("copies"), 0);
}

TEST(SpecD, D06ReadPinAfterReadSwapIn) {
  Scenario s;
  s.x_ew();
  ASSERT_EQ(s.kernel.swap_out(0, s.p, s.a), 0);
  s.cpu.load(0, s.p, s.a);
  const long pin = s.pin_r(s.p);
  EXPECT_EQ(s.gup_faults(), Faults{FK::kUnshareMark}) << "lock, free swap cache, count 1";
  EXPECT_FALSE(s.page_of(s.p, s.a).swapcache);
  EXPECT_EQ(s.kernel.swap_out(0, s.p, s.a), -EBUSY) << "later swapout refused (pinned)";
  EXPECT_EQ(s.stat("copies"), 0);
  EXPECT_TRUE(s.kernel.pin_consistent(pin));
}

TEST(SpecD, D07Swapoff) {
  Scenario s;
  s.x_ew();
  ASSERT_EQ(s.kernel.swap_out(0, s.p, s.a), 0);
  ASSERT_EQ(s.kernel.swapoff(0), 0);
  EXPECT_EQ(s.kernel.free_swap_slots(), 0u) << "the device is gone";
  EXPECT_FALSE(is_swap(s.pte(s.p, s.a)));
  EXPECT_FALSE(s.writable(s.p, s.a));
  EXPECT_FALSE(s.page_of(s.p, s.a).anon_exclusive) << "unuse_pte: R/O, not EXCL";
  EXPECT_FALSE(s.page_of(s.p, s.a).swapcache);
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kWpReuse}) << "count 1";
  EXPECT_EQ(s.stat("copies"), 0);
  EXPECT_EQ(s.kernel.swapoff(0), -EINVAL);
  EXPECT_EQ(s.kernel.swap_out(0, s.p, s.a), -ENOMEM) << "no swap device any more";
}

TEST(SpecD, D08SharedPageSwapOut) {
  Scenario s;
  s.x_ew();
  const Pid c = s.fork_child();
  s.cpu.load(1, c, s.a);
  std::uint64_t written_at_flush = ~0ull;
  s.port.on_flush = [&](const FakePort::Event&) {
    if (written_at_flush == ~0ull) written_at_flush = static_cast<std::uint64_t>(s.stat("swap.writebacks"));
  };
  ASSERT_EQ(s.kernel.swap_out(0, s.p, s.a), 0);
  EXPECT_EQ(written_at_flush, 0u) << "BF completed before writeback (R9)";
  EXPECT_TRUE(is_swap(s.pte(s.p, s.a)));
  EXPECT_TRUE(is_swap(s.pte(c, s.a)));
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 1u);
  EXPECT_EQ(s.cpu.load(1, c, s.a), 1u);
  EXPECT_EQ(s.faults(), (Faults{FK::kSwapIn, FK::kSwapIn}));
  EXPECT_EQ(s.pfn_of(s.p, s.a), s.pfn_of(c, s.a)) << "both find the swap-cache page";
  EXPECT_EQ(s.stat("copies"), 0);
}

// ---- §5.10 ----

// M01: a NUMA scan makes the pinned page's entry protnone; the hint fault restores it read-only;
// the write reuses the exclusive page (no copy away from the pin). PC=Y.
TEST(SpecM, M01NumaHintOnAPinnedPage) {
  Scenario s;
  s.x_ew();
  const long pin = s.pin_w(s.p);
  ASSERT_GT(pin, 0);
  s.cpu.take_faults();
  s.port.clear_events();
  EXPECT_EQ(s.kernel.numa_scan(0, s.p, s.a, kPageSize), 1);
  EXPECT_EQ(s.port.events_of(EK::kFlush).size(), 1u) << "R5: flushed before return";
  EXPECT_FALSE(x86::pte_present(s.pte(s.p, s.a))) << "protnone";
  EXPECT_TRUE(s.page_of(s.p, s.a).anon_exclusive) << "EXCL kept";
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 1u);
  EXPECT_EQ(s.faults(), Faults{FK::kNumaHint});
  EXPECT_FALSE(s.writable(s.p, s.a)) << "restored read-only";
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kWpReuse});
  EXPECT_EQ(s.stat("copies"), 0);
  EXPECT_EQ(s.dma_read(pin), 2u);
  EXPECT_TRUE(s.kernel.pin_consistent(pin));
  EXPECT_EQ(s.kernel.numa_scan(0, s.p, s.a + 1, kPageSize), -EINVAL);
  EXPECT_TRUE(s.kernel.check_invariants().empty());
}

// M02, reference behaviour: clear_refs skips the pinned page's entry: it stays writable and
// soft-dirty, and the write takes no fault.
TEST(SpecM, M02SoftDirtyClearSkipsAPinnedPage) {
  Scenario s;
  s.x_ew();
  const long pin = s.pin_w(s.p);
  ASSERT_GT(pin, 0);
  s.cpu.take_faults();
  EXPECT_EQ(s.kernel.clear_refs(0, s.p), 0) << "nothing write-protected";
  EXPECT_TRUE(s.writable(s.p, s.a));
  EXPECT_TRUE(s.pte(s.p, s.a) & x86::kSoftSoftDirty);
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_TRUE(s.faults().empty());
  EXPECT_EQ(s.dma_read(pin), 2u);
  EXPECT_TRUE(s.kernel.pin_consistent(pin));
  EXPECT_EQ(s.stat("copies"), 0);
}

// M02's variant without a pin: the entry is write-protected and loses soft-dirty (flushed before
// return); the write WP-reuses the exclusive page and sets soft-dirty again.
TEST(SpecM, M02SoftDirtyClearWriteProtectsAndTheWriteReuses) {
  Scenario s;
  s.x_ew();
  s.cpu.take_faults();
  s.port.clear_events();
  EXPECT_EQ(s.kernel.clear_refs(0, s.p), 1);
  EXPECT_EQ(s.port.events_of(EK::kFlush).size(), 1u) << "R5: flushed before return";
  EXPECT_FALSE(s.writable(s.p, s.a));
  EXPECT_FALSE(s.pte(s.p, s.a) & x86::kSoftSoftDirty);
  EXPECT_TRUE(s.page_of(s.p, s.a).anon_exclusive) << "EXCL untouched";
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kWpReuse});
  EXPECT_TRUE(s.pte(s.p, s.a) & x86::kSoftSoftDirty);
  EXPECT_EQ(s.stat("copies"), 0);
  EXPECT_EQ(s.stat("tlb.requests_clear_refs_r5"), 1);
  EXPECT_TRUE(s.kernel.check_invariants().empty());
}

TEST(SpecM, M04MprotectDoesNotChangeSharing) {
  Scenario s;
  s.x_ew();
  s.fork_child();
  s.kernel.mprotect(0, s.p, s.a, kPageSize, kProtRead);
  s.kernel.mprotect(0, s.p, s.a, kPageSize, kRW);
  EXPECT_FALSE(s.writable(s.p, s.a));
  ASSERT_TRUE(s.cpu.store(0, s.p, s.a, 2));
  EXPECT_EQ(s.faults(), Faults{FK::kWpCopy}) << "count 2";
  EXPECT_EQ(s.stat("copies"), 1);
}

TEST(SpecZ, Z01MunmapPinnedPage) {
  Scenario s;
  s.x_ew();
  const long pin = s.pin_w(s.p);
  s.port.clear_events();
  ASSERT_EQ(s.kernel.munmap(0, s.p, s.a, kPageSize), 0);
  EXPECT_EQ(s.port.events_of(EK::kFlush).size(), 1u) << "ZF";
  EXPECT_TRUE(s.kernel.page_info(s.x).has_value()) << "X survives until unpin";
  ASSERT_EQ(s.dma_write(pin, 5), 0);
  EXPECT_EQ(s.dma_read(pin), 5u);
  ASSERT_EQ(s.kernel.unpin_user_page(0, pin), 0) << "EXCL sticky: the sanity check passes";
  EXPECT_FALSE(s.kernel.page_info(s.x).has_value()) << "X freed afterwards";
}

TEST(SpecZ, Z01PinOutlivesExit) {
  Scenario s;
  s.x_ew();
  const long pin = s.pin_w(s.p);
  s.kernel.exit(0, s.p);
  EXPECT_TRUE(s.kernel.page_info(s.x).has_value());
  ASSERT_EQ(s.dma_write(pin, 5), 0);
  EXPECT_TRUE(s.kernel.check_invariants().empty());
  ASSERT_EQ(s.kernel.unpin_user_page(0, pin), 0);
  EXPECT_FALSE(s.kernel.page_info(s.x).has_value());
}

TEST(SpecZ, Z02DontNeedInParentOfSharedPage) {
  Scenario s;
  s.x_ew();
  const Pid c = s.fork_child();
  ASSERT_EQ(s.kernel.madvise(0, s.p, s.a, kPageSize, Advice::kDontNeed), 0);
  EXPECT_EQ(s.cpu.load(0, s.p, s.a), 0u);
  EXPECT_EQ(s.faults(), Faults{FK::kZeroPage});
  ASSERT_TRUE(s.cpu.store(1, c, s.a, 3));
  EXPECT_EQ(s.faults(), Faults{FK::kWpReuse}) << "count 1";
  EXPECT_EQ(s.stat("copies"), 0);
}

}  // namespace
}  // namespace mmusim::mm::testing
