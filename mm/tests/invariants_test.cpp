// check_invariants finds planted violations, and the debug check turns them into InvariantError.
#include <gtest/gtest.h>

#include <algorithm>

#include "sim.h"

namespace mmusim::mm::testing {
namespace {

// The PTE slot of `va` in `pid`, found like the hardware would.
PhysAddr pte_slot(const Sim& sim, Pid pid, VirtAddr va) {
  PhysAddr table = sim.kernel.mm_info(pid)->pgd;
  for (unsigned level = x86::kLevels; level > 1; --level)
    table = pfn_to_phys(x86::pte_pfn(sim.port.load64(x86::entry_addr(table, va, level))));
  return x86::entry_addr(table, va, 1);
}

TEST(Invariants, CleanRunHasNone) {
  Sim sim;
  auto [p, a] = sim.process_with_area(4);
  sim.cpu.store(0, p, a, 1);
  sim.cpu.load(0, p, a + kPageSize);
  sim.kernel.fork(0, p);
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
}

TEST(Invariants, PlantedWritableSharedEntryIsI1) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  const PhysAddr slot = pte_slot(sim, c, a);
  sim.port.store64(slot, sim.port.load64(slot) | x86::kRw);  // a shared page made writable
  const auto violations = sim.kernel.check_invariants();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].invariant, "I1");
  EXPECT_EQ(violations[0].pid, c);
  EXPECT_EQ(violations[0].va, a);
  EXPECT_EQ(violations[0].pfn, sim.pfn_of(c, a));
  EXPECT_NE(violations[0].detail.find("I1"), std::string::npos);

  try {
    sim.kernel.switch_to(1, p);
    FAIL() << "the debug check must throw";
  } catch (const InvariantError& e) {
    EXPECT_EQ(e.operation(), "switch_to");
    ASSERT_EQ(e.violations().size(), 1u);
    EXPECT_EQ(e.violations()[0].invariant, "I1");
  }
}

TEST(Invariants, PlantedSecondMappingOfExclusivePageIsI6AndMapcount) {
  Sim sim;
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  sim.cpu.load(0, p, a + kPageSize);  // the zero page: a PTE slot to overwrite
  const PhysAddr slot = pte_slot(sim, p, a + kPageSize);
  sim.port.store64(slot, *sim.kernel.lookup_pte(p, a) & ~x86::kRw);
  std::vector<std::string> names;
  for (const auto& v : sim.kernel.check_invariants()) names.push_back(v.invariant);
  EXPECT_NE(std::find(names.begin(), names.end(), "I6"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "MAPCOUNT"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "RSS"), names.end());
}

TEST(Invariants, WritableZeroPageIsReported) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.load(0, p, a);
  const PhysAddr slot = pte_slot(sim, p, a);
  sim.port.store64(slot, sim.port.load64(slot) | x86::kRw);
  const auto violations = sim.kernel.check_invariants();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].invariant, "ZERO");
}

TEST(Invariants, PlantedWritableUffdWpEntryIsI18) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.store(0, p, a, 1);
  const PhysAddr slot = pte_slot(sim, p, a);
  sim.port.store64(slot, sim.port.load64(slot) | x86::kSoftUffdWp);
  EXPECT_EQ(sim.violations(), std::vector<std::string>{"I18"});
  try {
    sim.kernel.mprotect(0, p, a + kPageSize, kPageSize, kProtRead);  // any entry point
    FAIL() << "the debug check must throw";
  } catch (const InvariantError& e) {
    EXPECT_EQ(e.operation(), "mprotect");
    EXPECT_EQ(e.violations().at(0).pfn, sim.pfn_of(p, a));
  }
}

TEST(Invariants, PlantedSwapEntryIsSwapmapAndSwapents) {
  Sim sim;
  auto [p, a] = sim.process_with_area(2);
  sim.cpu.store(0, p, a, 1);
  sim.cpu.store(0, p, a + kPageSize, 2);
  ASSERT_EQ(sim.kernel.swap_out(0, p, a), 0);
  // A copy of the swap entry in a second slot: the slot's count and MM_SWAPENTS disagree.
  const PhysAddr second = pte_slot(sim, p, a + kPageSize);
  sim.port.store64(second, sim.port.load64(pte_slot(sim, p, a)));
  const auto names = sim.violations();
  EXPECT_NE(std::find(names.begin(), names.end(), "SWAPMAP"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "SWAPENTS"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "MAPCOUNT"), names.end()) << "page 2 lost its entry";
}

TEST(Invariants, GarbageNonPresentEntryIsBadpte) {
  Sim sim;
  auto [p, a] = sim.process_with_area();
  sim.cpu.load(0, p, a);
  sim.port.store64(pte_slot(sim, p, a), x86::kRw);  // not present, not PROT_NONE, no slot
  const auto names = sim.violations();
  EXPECT_NE(std::find(names.begin(), names.end(), "BADPTE"), names.end());
}

TEST(Invariants, PinsSwapAndForkKeepTheStateClean) {
  Sim sim;
  auto [p, a] = sim.process_with_area(4);
  for (int i = 0; i < 4; ++i) sim.cpu.store(0, p, a + i * kPageSize, i);
  const long pin = sim.kernel.pin_user_pages_fast(0, p, a, FOLL_PIN);
  const long get = sim.kernel.pin_user_pages(0, p, a + kPageSize, FOLL_GET);
  ASSERT_EQ(sim.kernel.swap_out(0, p, a + 2 * kPageSize), 0);
  const Pid c = static_cast<Pid>(sim.kernel.fork(0, p));
  ASSERT_EQ(sim.kernel.swap_out(0, p, a + 3 * kPageSize), 0);
  sim.cpu.load(1, c, a + 2 * kPageSize);
  sim.kernel.mprotect(0, p, a, 4 * kPageSize, kProtRead);
  sim.kernel.munmap(1, c, a, kPageSize);
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
  sim.kernel.exit(0, p);
  EXPECT_TRUE(sim.kernel.check_invariants().empty()) << "pins outlive the exit";
  sim.kernel.unpin_user_page(0, pin);
  sim.kernel.unpin_user_page(0, get);
  EXPECT_TRUE(sim.kernel.check_invariants().empty());
}

}  // namespace
}  // namespace mmusim::mm::testing
