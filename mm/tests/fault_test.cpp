// Fault handling outside the COW table: bad accesses, OOM, spurious faults, costs and stats.
#include <gtest/gtest.h>

#include "sim.h"

namespace mmusim::mm::testing {
namespace {

using FK = FaultKind;
using EK = FakePort::EventKind;
using Faults = std::vector<FaultKind>;

TEST(Fault, UnmappedAddressKillsWithSigsegv) {
  Sim sim;
  const std::uint64_t boot_free = sim.kernel.free_frames();
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  EXPECT_FALSE(sim.cpu.load(0, p, a + 16 * kPageSize).has_value());
  EXPECT_EQ(sim.cpu.take_faults(), (Faults{FK::kMissing, FK::kSigsegv}));
  EXPECT_FALSE(sim.kernel.alive(p));
  EXPECT_EQ(sim.kernel.killed_by(p), Signal::kSigsegv);
  EXPECT_FALSE(sim.kernel.current(0).has_value());
  EXPECT_EQ(sim.kernel.free_frames(), boot_free) << "a killed task's memory is freed";
  EXPECT_EQ(sim.stat("faults.sigsegv"), 1);
  EXPECT_EQ(sim.stat("kills"), 1);
}

TEST(Fault, WriteToReadOnlyMappingKills) {
  Sim sim;
  const Pid p = sim.kernel.create_process(0);
  const VirtAddr a = static_cast<VirtAddr>(sim.kernel.mmap(0, p, 0, kPageSize, kProtRead, false));
  EXPECT_EQ(sim.cpu.load(0, p, a), 0u);
  EXPECT_FALSE(sim.cpu.store(0, p, a, 1));
  EXPECT_EQ(sim.cpu.take_faults(), (Faults{FK::kZeroPage, FK::kSigsegv}));
  EXPECT_EQ(sim.kernel.killed_by(p), Signal::kSigsegv);
}

TEST(Fault, ProtNoneRefusesReads) {
  Sim sim;
  const Pid p = sim.kernel.create_process(0);
  const VirtAddr a = static_cast<VirtAddr>(sim.kernel.mmap(0, p, 0, kPageSize, kProtNone, false));
  EXPECT_FALSE(sim.cpu.load(0, p, a).has_value());
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kSigsegv});
}

TEST(Fault, InstructionFetchFromNonExecKills) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  const FaultResult r = sim.kernel.handle_page_fault(0, a, x86::kPfUser | x86::kPfInstr);
  EXPECT_EQ(r.kind, FK::kSigsegv);
  EXPECT_EQ(r.signal, Signal::kSigsegv);
}

TEST(Fault, EntryThatPermitsAccessIsSpuriousWithoutFlush) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  sim.port.clear_events();
  const FaultResult r = sim.kernel.handle_page_fault(0, a, x86::kPfUser | x86::kPfWrite | x86::kPfPresent);
  EXPECT_EQ(r.kind, FK::kSpurious);
  EXPECT_EQ(r.signal, Signal::kNone);
  EXPECT_TRUE(sim.port.events_of(EK::kFlush).empty()) << "R7: no flush";
  EXPECT_TRUE(sim.kernel.alive(p));
}

TEST(Fault, NoCurrentTaskIsAnError) {
  Sim sim;
  EXPECT_THROW(sim.kernel.handle_page_fault(3, 0x10000, x86::kPfUser), std::invalid_argument);
}

// Boot takes frames 1-2; a process needs a pgd and three lower tables before its first page.
TEST(Fault, OomKillsOnlyTheFaultingTask) {
  Sim sim(/*frames=*/12);
  auto [q, qa] = sim.process_with_area(1, 1);
  ASSERT_TRUE(sim.cpu.store(1, q, qa, 42));  // Q: pgd + 3 tables + 1 page = frames 3..7
  auto [p, a] = sim.process_with_area(2, 0);  // P: pgd (8)
  sim.cpu.take_faults();
  EXPECT_FALSE(sim.cpu.store(0, p, a, 1));  // 3 tables (9..11): the page cannot be had
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kOom});
  EXPECT_EQ(sim.kernel.killed_by(p), Signal::kOomKill);
  EXPECT_FALSE(sim.kernel.alive(p));
  EXPECT_EQ(sim.cpu.load(1, q, qa), 42u) << "other processes' memory stays intact";
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
  EXPECT_EQ(sim.kernel.free_frames(), 4u);  // P's pgd and three tables came back
}

TEST(Fault, CostsAreChargedPerPhase) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  const Cycles entry = sim.port.charged(CostPhase::kEntry);
  const Cycles exit = sim.port.charged(CostPhase::kExit);
  const Cycles alloc = sim.port.charged(CostPhase::kAlloc);
  const Cycles lookup = sim.port.charged(CostPhase::kVmaLookup);
  sim.cpu.store(0, p, a, 1);
  const CostProfile costs;
  EXPECT_EQ(sim.port.charged(CostPhase::kEntry) - entry, costs.exception_entry_cycles);
  EXPECT_EQ(sim.port.charged(CostPhase::kExit) - exit, costs.exception_exit_cycles);
  EXPECT_EQ(sim.port.charged(CostPhase::kVmaLookup) - lookup, costs.vma_lookup_cycles);
  // three page tables and the page
  EXPECT_EQ(sim.port.charged(CostPhase::kAlloc) - alloc, 4 * costs.page_alloc_cycles);
  EXPECT_GT(sim.port.charged(CostPhase::kPteUpdate), 0u);
}

TEST(Fault, StatisticsAreDeclaredWithDescriptions) {
  Sim sim;
  for (const char* kind : {"missing", "zero_page", "wp_zero", "wp_reuse", "wp_copy", "spurious",
                           "sigsegv", "oom", "unshare_mark", "unshare_copy", "swap_in"})
    EXPECT_NO_THROW(sim.stat(std::string("faults.") + kind)) << kind;
  for (const char* name :
       {"copies", "zero_fills", "pages_allocated", "pages_freed", "forks", "exits",
        "tlb.flush_pages", "tlb.flush_full", "fork_eager_copies", "munmaps", "mprotects",
        "madvises", "zapped_pages", "gup.pins", "gup.gets", "gup.unpins", "gup.fast_success",
        "gup.fast_fallback", "gup.faults", "swap.outs", "swap.out_refused", "swap.ins",
        "swap.reads", "swap.writebacks", "swap.cache_frees", "tlb.requests_cow_r1",
        "tlb.requests_fork_r3", "tlb.requests_swapout_r4", "tlb.requests_reclaim_batch_r9",
        "tlb.requests_mprotect_r5", "tlb.requests_zap_r6", "tlb.requests_pcid_reuse"}) {
    const stats::Stat* s = sim.root.find(std::string("mm.") + name);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_FALSE(s->description().empty()) << name;
  }
  auto [p, a] = sim.process_with_area();
  sim.cpu.load(0, p, a);
  sim.cpu.store(0, p, a, 1);
  EXPECT_EQ(sim.stat("faults.zero_page"), 1);
  EXPECT_EQ(sim.stat("faults.wp_zero"), 1);
  EXPECT_EQ(sim.stat("faults_total"), 2);
  EXPECT_EQ(sim.stat("zero_fills"), 1);
  EXPECT_EQ(sim.stat("tlb.flush_pages"), 1);
}

}  // namespace
}  // namespace mmusim::mm::testing
