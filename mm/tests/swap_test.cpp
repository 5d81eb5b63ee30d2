// Reclaim to swap and swap-in beyond the spec rows: errors, the swap entry's bits, fork and exit
// with swap entries, the swap cache with extra references, OOM and corrupt entries, costs.
#include <gtest/gtest.h>

#include <cerrno>

#include "sim.h"

namespace mmusim::mm::testing {
namespace {

using FK = FaultKind;
using EK = FakePort::EventKind;
using Faults = std::vector<FaultKind>;

PhysAddr pte_slot(const Sim& sim, Pid pid, VirtAddr va) {
  PhysAddr table = sim.kernel.mm_info(pid)->pgd;
  for (unsigned level = x86::kLevels; level > 1; --level)
    table = pfn_to_phys(x86::pte_pfn(sim.port.load64(x86::entry_addr(table, va, level))));
  return x86::entry_addr(table, va, 1);
}

TEST(SwapOut, Errors) {
  Sim sim;
  auto [p, a] = sim.process_with_area(2);
  EXPECT_EQ(sim.kernel.swap_out(0, p, a), -EFAULT) << "nothing mapped";
  sim.cpu.load(0, p, a);
  EXPECT_EQ(sim.kernel.swap_out(0, p, a), -EFAULT) << "the zero page is not anonymous";
  EXPECT_EQ(sim.kernel.swap_out(0, p, 0x10000), -EFAULT) << "no VMA";
  EXPECT_EQ(sim.kernel.swap_out(0, p, x86::kUserVaEnd), -EFAULT);
  EXPECT_EQ(sim.kernel.swap_out(0, 99, a), -ESRCH);
  EXPECT_EQ(sim.kernel.swap_out(64, p, a), -EINVAL);
  sim.cpu.store(0, p, a + kPageSize, 1);
  ASSERT_EQ(sim.kernel.swap_out(0, p, a + kPageSize + 123), 0) << "any address in the page";
  EXPECT_EQ(sim.kernel.swap_out(0, p, a + kPageSize), -EFAULT) << "already a swap entry";
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
}

TEST(SwapOut, NoSlotIsEnomem) {
  KernelConfig config;
  config.swap_slots = 1;
  Sim sim(1024, config);
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  sim.cpu.store(0, p, a + kPageSize, 2);
  ASSERT_EQ(sim.kernel.swap_out(0, p, a), 0);
  EXPECT_EQ(sim.kernel.free_swap_slots(), 0u);
  EXPECT_EQ(sim.kernel.swap_out(0, p, a + kPageSize), -ENOMEM);
  EXPECT_TRUE(sim.writable(p, a + kPageSize)) << "untouched";
  KernelConfig none;
  none.swap_slots = 0;
  Sim nodev(1024, none);
  auto [q, b] = nodev.process_with_area();
  nodev.cpu.store(0, q, b, 1);
  EXPECT_EQ(nodev.kernel.swap_out(0, q, b), -ENOMEM);
  EXPECT_EQ(nodev.kernel.swapoff(0), -EINVAL);
}

TEST(SwapOut, ExclusivePageIsClearedFlushedThenShared) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const Pfn x = sim.pfn_of(p, a);
  std::vector<PageInfo> at_flush;
  sim.port.on_flush = [&](const FakePort::Event&) { at_flush.push_back(*sim.kernel.page_info(x)); };
  const std::uint64_t free_before = sim.kernel.free_frames();
  ASSERT_EQ(sim.kernel.swap_out(0, p, a), 0);
  ASSERT_EQ(at_flush.size(), 1u);
  EXPECT_TRUE(at_flush[0].anon_exclusive) << "R4: EXCL cleared only after the shootdown";
  EXPECT_FALSE(sim.kernel.page_info(x).has_value()) << "written back and freed";
  EXPECT_EQ(sim.kernel.free_frames(), free_before + 1);
  EXPECT_EQ(sim.kernel.mm_info(p)->rss_anon, 0u);
  EXPECT_EQ(sim.kernel.mm_info(p)->rss_swap, 1u);
  EXPECT_EQ(sim.kernel.free_swap_slots(), 255u);
  EXPECT_EQ(sim.stat("swap.outs"), 1);
  EXPECT_GE(sim.port.charged(CostPhase::kZeroCopy), CostProfile{}.swap_io_page_cycles);
}

TEST(SwapOut, SoftDirtyAndUffdWpTravelThroughTheSwapEntry) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  sim.kernel.mprotect(0, p, a, kPageSize, kProtRead);
  const PhysAddr slot = pte_slot(sim, p, a);
  sim.port.store64(slot, sim.port.load64(slot) | x86::kSoftUffdWp | x86::kSoftSoftDirty);
  ASSERT_EQ(sim.kernel.swap_out(0, p, a), 0);
  const x86::PteVal swp = sim.pte(p, a);
  EXPECT_TRUE(swp & x86::kRw) << "_PAGE_SWP_SOFT_DIRTY";
  EXPECT_TRUE(swp & x86::kUser) << "_PAGE_SWP_UFFD_WP";
  EXPECT_EQ(sim.cpu.load(0, p, a), 1u);
  const x86::PteVal pte = sim.pte(p, a);
  EXPECT_TRUE(pte & x86::kSoftUffdWp);
  EXPECT_TRUE(pte & x86::kSoftSoftDirty);
  EXPECT_FALSE(x86::pte_write(pte));
}

TEST(SwapOut, GetReferenceKeepsThePageInTheSwapCache) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 6);
  const Pfn x = sim.pfn_of(p, a);
  const long get = sim.kernel.pin_user_pages(0, p, a, FOLL_GET);
  ASSERT_EQ(sim.kernel.swap_out(0, p, a), 0) << "a get-ref does not look pinned";
  const PageInfo kept = *sim.kernel.page_info(x);
  EXPECT_TRUE(kept.swapcache);
  EXPECT_EQ(kept.mapcount, 0u);
  EXPECT_EQ(kept.refcount, 2u) << "swap cache + get";
  EXPECT_EQ(sim.cpu.load(0, p, a), 6u);
  EXPECT_EQ(sim.pfn_of(p, a), x) << "found in the swap cache: no read";
  EXPECT_EQ(sim.stat("swap.reads"), 0);
  EXPECT_EQ(sim.kernel.unpin_user_page(0, get), 0);
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
}

TEST(SwapIn, ForkDuplicatesSwapEntriesAndExitReleasesThem) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 4);
  ASSERT_EQ(sim.kernel.swap_out(0, p, a), 0);
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  EXPECT_TRUE(is_swap(sim.pte(c, a)));
  EXPECT_EQ(sim.kernel.mm_info(c)->rss_swap, 1u);
  EXPECT_TRUE(sim.kernel.check_invariants().empty()) << "SWAPMAP: slot count 2";
  sim.kernel.exit(0, p);
  EXPECT_EQ(sim.kernel.free_swap_slots(), 255u) << "C still refers to the slot";
  EXPECT_EQ(sim.cpu.load(1, c, a), 4u);
  sim.kernel.exit(1, c);
  EXPECT_EQ(sim.kernel.free_swap_slots(), 256u);
}

TEST(SwapIn, OutOfMemoryIsAnOomKill) {
  Sim sim(/*frames=*/8);  // boot 2, pgd, 3 tables, 1 page: the 7 usable frames are taken
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  ASSERT_EQ(sim.kernel.swap_out(0, p, a), 0);
  // Another mapping's page takes the freed frame.
  const long b = sim.kernel.mmap(0, p, 0, kPageSize, kProtRead | kProtWrite, false);
  ASSERT_TRUE(sim.cpu.store(0, p, static_cast<VirtAddr>(b), 2));
  sim.cpu.take_faults();
  EXPECT_FALSE(sim.cpu.load(0, p, a).has_value());
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kOom});
  EXPECT_EQ(sim.kernel.killed_by(p), Signal::kOomKill);
  EXPECT_EQ(sim.kernel.free_swap_slots(), 256u) << "the dead task's swap entry was released";
}

TEST(SwapIn, CorruptSwapEntryIsSigbus) {
  KernelConfig config;
  config.check_invariants = false;  // the planted entry breaks SWAPMAP by itself
  Sim sim(1024, config);
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  ASSERT_EQ(sim.kernel.swap_out(0, p, a), 0);
  const PhysAddr slot = pte_slot(sim, p, a);
  sim.port.store64(slot, sim.port.load64(slot) - (x86::PteVal{1} << 9));  // offset 1: unused
  const FaultResult r = sim.kernel.handle_page_fault(0, a, x86::kPfUser);
  EXPECT_EQ(r.kind, FK::kSwapIn);
  EXPECT_EQ(r.signal, Signal::kSigbus) << "bad swap entry: VM_FAULT_SIGBUS";
  EXPECT_EQ(sim.kernel.killed_by(p), Signal::kSigbus);
  EXPECT_EQ(sim.stat("kills"), 1);
}

TEST(SwapIn, ExclusiveMarkerModel) {
  KernelConfig config;
  config.swap_exclusive_marker = true;
  Sim sim(1024, config);
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  ASSERT_EQ(sim.kernel.swap_out(0, p, a), 0);
  EXPECT_TRUE(sim.pte(p, a) & x86::kPse) << "_PAGE_SWP_EXCLUSIVE";
  EXPECT_EQ(sim.cpu.load(0, p, a), 1u);
  EXPECT_TRUE(sim.page_of(p, a).anon_exclusive) << "the marker proves exclusivity";
  EXPECT_TRUE(sim.page_of(p, a).swapcache);
  sim.cpu.take_faults();
  ASSERT_TRUE(sim.cpu.store(0, p, a, 2));
  EXPECT_EQ(sim.cpu.take_faults(), Faults{FK::kWpReuse});
  // fork clears the marker in both: the slot becomes shared.
  sim.kernel.swap_out(0, p, a);
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  EXPECT_FALSE(sim.pte(p, a) & x86::kPse);
  EXPECT_FALSE(sim.pte(c, a) & x86::kPse);
  EXPECT_EQ(sim.cpu.load(1, c, a), 2u);
  EXPECT_FALSE(sim.page_of(c, a).anon_exclusive);
}

TEST(SwapIn, SwapFullDropsTheSwapCacheOnRead) {
  KernelConfig config;
  config.swap_slots = 2;
  Sim sim(1024, config);
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  sim.cpu.store(0, p, a + kPageSize, 2);
  sim.kernel.swap_out(0, p, a);
  sim.kernel.swap_out(0, p, a + kPageSize);
  EXPECT_EQ(sim.cpu.load(0, p, a), 1u);
  EXPECT_FALSE(sim.page_of(p, a).swapcache) << "vm_swap_full: freed at once";
  EXPECT_TRUE(sim.page_of(p, a).anon_exclusive) << "and then count 1 proves exclusivity";
}

TEST(Swapoff, BringsBackSharedAndCachedPages) {
  Sim sim;
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  sim.cpu.store(0, p, a + kPageSize, 2);
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  ASSERT_EQ(sim.kernel.swap_out(0, p, a), 0);
  ASSERT_EQ(sim.kernel.swap_out(0, p, a + kPageSize), 0);
  sim.cpu.load(1, c, a);  // one page back in the swap cache, one only on the device
  ASSERT_EQ(sim.kernel.swapoff(0), 0);
  EXPECT_EQ(sim.pfn_of(p, a), sim.pfn_of(c, a));
  EXPECT_EQ(sim.page_of(p, a).mapcount, 2u);
  EXPECT_EQ(sim.cpu.load(0, p, a + kPageSize), 2u);
  EXPECT_EQ(sim.cpu.load(1, c, a + kPageSize), 2u);
  EXPECT_EQ(sim.kernel.mm_info(p)->rss_swap, 0u);
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
}

}  // namespace
}  // namespace mmusim::mm::testing
