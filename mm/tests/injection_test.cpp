// Every fault-injection switch (injections.h): the table, and for each switch the state it
// produces or an oracle that catches it, where a functional port with per-CPU TLBs can show it.
// Races that need a store buffer or interrupt-delayed shootdowns are the testbench's.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "sim.h"

namespace mmusim::mm::testing {
namespace {

using FK = FaultKind;
using EK = FakePort::EventKind;
using Faults = std::vector<FaultKind>;

KernelConfig injected(bool Injections::*field, bool checks = false) {
  KernelConfig config;
  config.inject.*field = true;
  config.check_invariants = checks;
  return config;
}

TEST(Injections, TableListsEveryFieldOnceWithRuleAndEffect) {
  const auto& table = injection_table();
  EXPECT_EQ(table.size(), sizeof(Injections) / sizeof(bool));
  std::set<std::string> names;
  for (const InjectionInfo& row : table) {
    EXPECT_TRUE(names.insert(row.name).second) << row.name;
    EXPECT_NE(std::string(row.rule), "");
    EXPECT_GT(std::string(row.effect).size(), 40u) << row.name;
    Injections inj;
    EXPECT_FALSE(inj.*row.field) << "off by default: " << row.name;
    inj.*row.field = true;
    int set = 0;
    for (const InjectionInfo& other : table) set += inj.*other.field;
    EXPECT_EQ(set, 1) << row.name << " names its own field";
  }
  for (const char* name : {"break_cow", "skip_cow_flush", "early_cow_unmap", "skip_fork_flush",
                           "skip_swapout_flush", "plain_pte_clear", "skip_mprotect_flush",
                           "free_before_flush", "skip_pgtable_flush", "skip_fork_seqcount",
                           "skip_unshare", "no_eager_fork_copy", "skip_reclaim_batch_flush",
                           "skip_fork_seq_fence"})
    EXPECT_TRUE(names.count(name)) << name;
}

// T2 (R1): P.t2 on CPU 1 keeps translating A to X after P.t1's COW; C then reuses X and writes a
// secret that P.t2 reads.
std::uint64_t t2_leak(const KernelConfig& config) {
  Sim sim(1024, config);
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  sim.cpu.load(1, p, a);       // P.t2 caches A -> X (R/O)
  sim.cpu.store(0, p, a, 2);   // P.t1: WP-copy
  sim.cpu.store(2, c, a, 99);  // C: count(X) == 1 -> WP-reuse, writes its secret
  return *sim.cpu.load(1, p, a);
}

TEST(Injections, SkipCowFlushLeaksThroughAStaleTranslation) {
  EXPECT_EQ(t2_leak(KernelConfig{}), 2u) << "R1: P.t2 refaults and reads P's new value";
  EXPECT_EQ(t2_leak(injected(&Injections::skip_cow_flush, true)), 99u)
      << "T2: C's secret read by P";
}

TEST(Injections, EarlyCowUnmapDropsTheCountBeforeTheFlush) {
  Sim sim(1024, injected(&Injections::early_cow_unmap, true));
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  sim.kernel.fork(0, p);
  const Pfn x = sim.pfn_of(p, a);
  std::vector<PageInfo> at_flush;
  sim.port.on_flush = [&](const FakePort::Event&) { at_flush.push_back(*sim.kernel.page_info(x)); };
  sim.cpu.store(0, p, a, 2);
  ASSERT_EQ(at_flush.size(), 1u);
  EXPECT_EQ(at_flush[0].mapcount, 1u) << "R2 broken: C could reuse X while P's CPUs translate to it";
  EXPECT_EQ(at_flush[0].refcount, 1u);
}

// T1 / C04 (R3).
std::uint64_t t1_child_sees(const KernelConfig& config) {
  Sim sim(1024, config);
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);  // CPU 0 caches a writable, dirty translation
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  sim.cpu.store(0, p, a, 2);  // after fork returned
  return *sim.cpu.load(1, c, a);
}

TEST(Injections, SkipForkFlushIsAMissedCow) {
  EXPECT_EQ(t1_child_sees(KernelConfig{}), 1u);
  EXPECT_EQ(t1_child_sees(injected(&Injections::skip_fork_flush, true)), 2u) << "C04 fails";
}

TEST(Injections, SkipSwapoutFlushWritesBackBeforeTheShootdown) {
  for (bool inject : {false, true}) {
    KernelConfig config;
    config.inject.skip_swapout_flush = inject;
    Sim sim(1024, config);
    auto [p, a] = sim.process_with_area();
    sim.cpu.store(0, p, a, 1);
    const Pfn x = sim.pfn_of(p, a);
    double written = -1;
    bool exclusive_at_flush = false;
    sim.port.on_flush = [&](const FakePort::Event&) {
      written = sim.stat("swap.writebacks");
      exclusive_at_flush = sim.kernel.page_info(x)->anon_exclusive;
    };
    ASSERT_EQ(sim.kernel.swap_out(0, p, a), 0);
    if (inject) {
      EXPECT_EQ(written, 1) << "R10 broken: content copied while translations remain";
      EXPECT_FALSE(exclusive_at_flush) << "R4 broken: EXCL cleared before any shootdown";
      EXPECT_EQ(sim.stat("tlb.requests_swapout_r4"), 0);
    } else {
      EXPECT_EQ(written, 0);
      EXPECT_TRUE(exclusive_at_flush);
    }
  }
}

// R9: CPU 1 keeps C's read-only translation of a shared page that reclaim frees; the frame's next
// owner writes a secret and C reads it.
std::uint64_t r9_child_reads(const KernelConfig& config) {
  Sim sim(1024, config);
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  sim.cpu.load(1, c, a);  // C caches A -> X
  EXPECT_EQ(sim.kernel.swap_out(0, p, a), 0);
  sim.cpu.store(0, p, a + kPageSize, 0x5ec);  // the freed frame is handed out again (LIFO)
  return *sim.cpu.load(1, c, a);
}

TEST(Injections, SkipReclaimBatchFlushIsAUseAfterFree) {
  EXPECT_EQ(r9_child_reads(KernelConfig{}), 1u) << "C refaults and swaps in";
  EXPECT_EQ(r9_child_reads(injected(&Injections::skip_reclaim_batch_flush, true)), 0x5ecu);
}

TEST(Injections, PlainPteClearUsesStorePte) {
  Sim sim(1024, injected(&Injections::plain_pte_clear, true));
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  sim.cpu.store(0, p, a + kPageSize, 2);
  sim.kernel.fork(0, p);
  sim.port.clear_events();
  sim.cpu.store(0, p, a, 3);                                   // wp_page_copy's clear
  ASSERT_EQ(sim.kernel.swap_out(0, p, a + kPageSize), 0);      // try_to_unmap_one's clears
  sim.kernel.madvise(0, p, a, kPageSize, Advice::kDontNeed);   // zap's clear
  int plain = 0, locked_clears = 0;
  for (const auto& e : sim.port.events()) {
    plain += e.kind == EK::kStorePte && e.value == 0;
    locked_clears += e.kind == EK::kXchgPte && e.value == 0;
  }
  EXPECT_EQ(plain, 4) << "COW, two unmaps (P and C), zap";
  EXPECT_EQ(locked_clears, 0);
  EXPECT_TRUE(sim.kernel.check_invariants().empty()) << "only the memory order differs (T4)";
}

// T14 / M03 (R5).
TEST(Injections, SkipMprotectFlushLetsAStaleWritableEntryWrite) {
  for (bool inject : {false, true}) {
    KernelConfig config;
    config.inject.skip_mprotect_flush = inject;
    Sim sim(1024, config);
    auto [p, a] = sim.process_with_area();
    sim.cpu.store(0, p, a, 1);
    ASSERT_EQ(sim.kernel.mprotect(0, p, a, kPageSize, kProtRead), 0);
    EXPECT_EQ(sim.cpu.store(0, p, a, 2), inject) << "a store after mprotect(RO) returned";
    EXPECT_EQ(sim.kernel.alive(p), inject);
  }
}

TEST(Injections, FreeBeforeFlushReleasesPagesFirst) {
  Sim sim(1024, injected(&Injections::free_before_flush, true));
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  sim.cpu.store(0, p, a + kPageSize, 2);
  const std::uint64_t before = sim.kernel.free_frames();
  std::vector<std::uint64_t> free_at_flush;
  sim.port.on_flush = [&](const FakePort::Event&) { free_at_flush.push_back(sim.kernel.free_frames()); };
  sim.kernel.madvise(0, p, a, 2 * kPageSize, Advice::kDontNeed);
  ASSERT_EQ(free_at_flush.size(), 1u);
  EXPECT_EQ(free_at_flush[0], before + 2) << "T10: the frames could be reused before the flush";
}

TEST(Injections, SkipPgtableFlushFreesTablesWithoutAPwcFlush) {
  Sim sim(1024, injected(&Injections::skip_pgtable_flush, true));
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  sim.kernel.madvise(0, p, a, kPageSize, Advice::kDontNeed);
  sim.port.clear_events();
  const std::uint64_t before = sim.kernel.free_frames();
  ASSERT_EQ(sim.kernel.munmap(0, p, a, kPageSize), 0);
  EXPECT_TRUE(sim.port.events_of(EK::kFlush).empty()) << "R11 broken: no PWC invalidation";
  EXPECT_EQ(sim.kernel.free_frames(), before + 3);
  // With a leaf to clear the flush happens, but after the tables went.
  auto [q, b] = sim.process_with_area(1, 1);
  sim.cpu.store(1, q, b, 1);
  const std::uint64_t q_before = sim.kernel.free_frames();
  std::vector<std::uint64_t> free_at_flush;
  sim.port.on_flush = [&](const FakePort::Event&) { free_at_flush.push_back(sim.kernel.free_frames()); };
  ASSERT_EQ(sim.kernel.munmap(1, q, b, kPageSize), 0);
  ASSERT_EQ(free_at_flush.size(), 1u);
  EXPECT_EQ(free_at_flush[0], q_before + 3);
}

// T6 (R13): a GUP-fast pin completing between fork's pin check and its write-protect. The port
// hook runs the pinning CPU's second half right before fork's ptep_set_wrprotect.
TEST(Injections, SkipForkSeqcountLetsAGupFastPinSurviveFork) {
  Sim sim(1024, injected(&Injections::skip_fork_seqcount));
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  sim.kernel.switch_to(1, p);
  const long cursor = sim.kernel.gup_fast_begin(1, p, a, FOLL_PIN);
  long pin = 0;
  sim.port.before_xchg = [&](PhysAddr, x86::PteVal value) {
    if (pin == 0 && x86::pte_present(value) && !x86::pte_write(value)) pin = sim.kernel.gup_fast_end(cursor);
  };
  const std::uint64_t seq = sim.kernel.mm_info(p)->write_protect_seq;
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  sim.port.before_xchg = nullptr;
  EXPECT_EQ(sim.kernel.mm_info(p)->write_protect_seq, seq) << "no seqcount bracket";
  ASSERT_GT(pin, 0);
  EXPECT_TRUE(sim.kernel.pin(pin)->fast) << "the entry was unchanged and the seq too";
  EXPECT_EQ(sim.pfn_of(c, a), sim.kernel.pin(pin)->pfn) << "the pinned page is shared";
  EXPECT_TRUE(sim.violates("I3"));
  sim.cpu.store(0, p, a, 2);  // P's write copies away from the pin
  EXPECT_FALSE(sim.kernel.pin_consistent(pin));
  EXPECT_TRUE(sim.violates("I4"));
}

TEST(Injections, ForkSeqcountIsOddDuringTheCopy) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  std::vector<std::uint64_t> seen;
  sim.port.before_xchg = [&](PhysAddr, x86::PteVal) {
    seen.push_back(sim.kernel.mm_info(p)->write_protect_seq);
  };
  sim.port.clear_events();
  sim.kernel.fork(0, p);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen[0] % 2, 1u) << "Q3 of a concurrent GUP-fast would see the change";
  const auto& ev = sim.port.events();
  int fence = -1, wrprotect = -1;
  for (int i = 0; i < static_cast<int>(ev.size()); ++i) {
    if (ev[i].kind == EK::kFence && fence < 0) fence = i;
    if (ev[i].kind == EK::kXchgPte && wrprotect < 0) wrprotect = i;
  }
  ASSERT_GE(fence, 0) << "the PTL's locked RMW after the increment (4.4 b)";
  EXPECT_LT(fence, wrprotect) << "before the first pin check and write-protect";
  // The count GUP-fast reads lives in memory: fork stores 1 then 2 there with plain stores, the
  // odd one before the fence.
  std::vector<std::pair<int, std::uint64_t>> seq_stores;
  const PhysAddr slot = 8 * sim.kernel.mm_info(p)->pcid;
  for (int i = 0; i < static_cast<int>(ev.size()); ++i)
    if (ev[i].kind == EK::kStorePte && ev[i].pa == slot) seq_stores.emplace_back(i, ev[i].value);
  ASSERT_EQ(seq_stores.size(), 2u);
  EXPECT_EQ(seq_stores[0].second, 1u);
  EXPECT_LT(seq_stores[0].first, fence);
  EXPECT_EQ(seq_stores[1].second, 2u);
  EXPECT_EQ(sim.port.peek_pte(slot), 2u);
}

// R06 (§4.4 (b)): without the fence nothing orders the odd count's store before the pin check.
TEST(Injections, SkipForkSeqFenceIssuesNoFence) {
  Sim sim(1024, injected(&Injections::skip_fork_seq_fence));
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  sim.port.clear_events();
  sim.kernel.fork(0, p);
  int fences = 0, seq_stores = 0;
  for (const auto& e : sim.port.events()) {
    fences += e.kind == EK::kFence;
    seq_stores += e.kind == EK::kStorePte;
  }
  EXPECT_EQ(fences, 0);
  EXPECT_EQ(seq_stores, 2) << "the count is still bracketed";
}

// B07 on the pre-series model: the R/O pin does not unshare, the later write copies away.
TEST(Injections, SkipUnshareIsTheClassicWrongCow) {
  Sim sim(1024, injected(&Injections::skip_unshare));
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  sim.cpu.take_faults();
  const long pin = sim.kernel.pin_user_pages_fast(0, p, a, FOLL_PIN);
  EXPECT_TRUE(sim.kernel.last_gup_faults().empty()) << "no unshare";
  EXPECT_TRUE(sim.violates("I3"));
  sim.kernel.exit(1, c);
  sim.cpu.store(0, p, a, 2);
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kWpCopy}) << "count includes the pin";
  EXPECT_EQ(sim.dma_read(pin), 1u) << "the device reads the old page";
  EXPECT_FALSE(sim.kernel.pin_consistent(pin)) << "PC=N: B07 must fail on this model";
  EXPECT_TRUE(sim.violates("I4"));
}

TEST(Injections, SkipUnshareIsCaughtAtPinTimeWithChecks) {
  Sim sim(1024, injected(&Injections::skip_unshare, true));
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  sim.kernel.fork(0, p);
  try {
    sim.kernel.pin_user_pages(0, p, a, FOLL_PIN);
    FAIL() << "follow_page_pte's I2 sanity check must throw";
  } catch (const InvariantError& e) {
    EXPECT_EQ(e.operation(), "follow_page_pte");
    EXPECT_EQ(e.violations().at(0).invariant, "I2");
  }
}

// B01 without the eager copy: the pinned page is shared, the parent's write copies away from it
// and the device's write lands in the child's page (wrong COW and missed COW at once).
TEST(Injections, NoEagerForkCopySharesThePinnedPage) {
  Sim sim(1024, injected(&Injections::no_eager_fork_copy));
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const long pin = sim.kernel.pin_user_pages_fast(0, p, a, FOLL_PIN | FOLL_WRITE);
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  EXPECT_EQ(sim.stat("copies"), 0);
  EXPECT_TRUE(sim.violates("I3"));
  sim.cpu.store(0, p, a, 2);
  EXPECT_EQ(sim.cpu.take_faults(), (Faults{FK::kMissing, FK::kWpCopy}));
  sim.dma_write(pin, 5);
  EXPECT_EQ(sim.cpu.load(0, p, a), 2u) << "P never sees the device's write";
  EXPECT_EQ(sim.cpu.load(1, c, a), 5u) << "C does";
  EXPECT_FALSE(sim.kernel.pin_consistent(pin));
}

}  // namespace
}  // namespace mmusim::mm::testing
