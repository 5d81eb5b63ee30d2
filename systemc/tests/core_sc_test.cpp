// Core + Machine under SystemC, one core at a time: operations, faults, the store buffer seen
// from the core, kWait. SystemC elaborates once per process: each TEST builds its own Machine
// and ctest runs each TEST as its own process (run by hand with --gtest_filter=one test).
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "mmusim/machine/core.h"
#include "mmusim/machine/machine.h"
#include "mmusim/machine/mmu.h"
#include "mmusim/machine/phys_mem.h"
#include "page_tables.h"
#include "sc_test_support.h"

namespace mmusim::machine {
namespace {

using namespace testing;  // NOLINT: the test support helpers
using x86::kAccessed, x86::kDirty, x86::kPresent, x86::kRw, x86::kUser;
using x86::kPfInstr, x86::kPfPresent, x86::kPfUser, x86::kPfWrite;
using x86::kTableFlags, x86::pfn_pte;

constexpr VirtAddr kVa = 0x0000000000601000ull;
constexpr Pfn kData = 30;
constexpr Pcid kPcid = 3;
constexpr x86::PteVal kMapped = kPresent | kRw | kUser | kAccessed | kDirty;

// Translation costs with small_config(): L1 miss, STLB miss, walk of four reads.
constexpr Cycles kFaultWalk = kL1 + kStlb + kWalkStart + 4 * kRead;  // leaf not present
constexpr Cycles kWarmWalk = kFaultWalk;                           // A/D already set
constexpr Cycles kFirstWalk = kFaultWalk + kWrite;                 // A|D in one write-back
constexpr Cycles kHandler = 1000;

TEST(CoreSc, FaultMapsPageRetryCompletesAndCyclesAddUp) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(small_config(), program, vector, root);
  PageTables pt{m.memory()};
  pt.map(kVa, kData, 0, kTableFlags);  // upper levels present, leaf empty
  pt.set(kVa, 1, 0);
  EXPECT_EQ(m.write_cr3(0, pt.root(), kPcid, false), kCr3);

  vector.on_fault = [&](CpuId cpu, VirtAddr va, std::uint32_t, Cycles now) {
    EXPECT_EQ(now, kFaultWalk) << "#PF is delivered after the faulting walk";
    EXPECT_EQ(m.now(cpu), now);
    EXPECT_FALSE(m.mmu(cpu).dtlb().probe(kPcid, va)) << "HW7: fault delivery dropped the VA";
    m.memory().write64(pt.entry(va, 1), pfn_pte(kData, kPresent | kRw | kUser));
    return FaultReply{FaultOutcome::kRetry, kHandler};
  };
  vector.on_kernel = [&](CpuId cpu, const CoreOp&, Cycles) {
    return m.invlpg(cpu, kPcid, kVa) + 10;  // the service flushes the page: next access walks
  };
  program.ops[0] = {store(kVa + 8, 0x1122334455667788ull, 8, 1), compute(100),
                    load(kVa + 8, 8, 2), kernel(7), load(kVa + 12, 4, 3),
                    store(kVa + 9, 0xabcd, 2, 4), load(kVa + 8, 8, 5)};
  m.run();

  ASSERT_EQ(vector.error_codes.size(), 1u);
  EXPECT_EQ(vector.error_codes[0], kPfWrite | kPfUser) << "not-present user write";
  const auto& d = program.done[0];
  ASSERT_EQ(d.size(), 5u);
  Cycles t = kFaultWalk + kHandler + kFirstWalk;  // the retried store retires into the buffer
  EXPECT_EQ(d[0].token, 1u);
  EXPECT_EQ(d[0].now, t);
  const Cycles first_visible = t + kDrain;
  t += 100 + kL1 + kRead;  // compute (the store drained meanwhile); load hits, reads memory
  EXPECT_EQ(d[1].value, 0x1122334455667788ull) << "the value round-trips through memory";
  EXPECT_EQ(d[1].now, t);
  t += kInvlpg + 10;              // kernel entry: INVLPG + service
  t += kWarmWalk + kRead;         // INVLPG dropped the L1 and the STLB entry: walk, read
  EXPECT_EQ(d[2].value, 0x11223344u) << "a 4-byte load is zero-extended, little-endian";
  EXPECT_EQ(d[2].now, t);
  t += kL1;  // store hit, D cached: retires at once
  EXPECT_EQ(d[3].value, 0xabcdu);
  EXPECT_EQ(d[3].now, t);
  const Cycles second_visible = t + kDrain;
  // The load hits, finds the 2-byte store still buffered and covering only part of it: it waits
  // until that store has drained, then reads memory.
  t = second_visible + kRead;
  EXPECT_EQ(d[4].value, 0x1122334455abcd88ull) << "a 2-byte store at +9 replaced bytes 9..10";
  EXPECT_EQ(d[4].now, t);
  EXPECT_EQ(m.now(0), t);
  EXPECT_EQ(count(root, "cpu0.cycles"), t);
  ASSERT_EQ(program.visible[0].size(), 2u);
  EXPECT_EQ(program.visible[0][0].now, first_visible);
  EXPECT_EQ(program.visible[0][0].pa, pfn_to_phys(kData) + 8);
  EXPECT_EQ(program.visible[0][1].now, second_visible);
  EXPECT_EQ(m.memory().peek64(pfn_to_phys(kData) + 8), 0x1122334455abcd88ull);
  EXPECT_EQ(count(root, "cpu0.loads"), 3u);
  EXPECT_EQ(count(root, "cpu0.stores"), 2u);
  EXPECT_EQ(count(root, "cpu0.computes"), 1u);
  EXPECT_EQ(count(root, "cpu0.kernel_entries"), 1u);
  EXPECT_EQ(count(root, "cpu0.page_faults"), 1u);
  EXPECT_EQ(count(root, "cpu0.aborted"), 0u);
  EXPECT_EQ(count(root, "cpu0.sb.partial_waits"), 1u);
  EXPECT_EQ(count(root, "cpu0.sb.partial_wait_cycles"), kDrain - kL1);
  EXPECT_EQ(count(root, "cpu0.sb.stores_drained"), 2u);
  EXPECT_EQ(count(root, "cpu0.dtlb.invalidations.fault"), 1u);
  EXPECT_EQ(count(root, "cpu0.dtlb.invalidations.invlpg"), 1u);
  EXPECT_EQ(count(root, "cpu0.dtlb.invalidations.cr3"), 1u) << "CR3 write without noflush";
  EXPECT_EQ(count(root, "cpu0.dtlb.misses.store"), 2u) << "the faulting try and the retry";
  EXPECT_EQ(count(root, "cpu0.walker.walks"), 3u);
  EXPECT_EQ(count(root, "mem.frames_resident"), 5u) << "four tables and the data frame";
}

// A prefetch walks like a load but never faults: with the leaf empty it is dropped (no #PF, no TLB
// entry); once the leaf is present it fills the dTLB, so the next load hits.
TEST(CoreSc, PrefetchWalksButNeverFaults) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(small_config(), program, vector, root);
  PageTables pt{m.memory()};
  pt.map(kVa, kData, 0, kTableFlags);
  pt.set(kVa, 1, 0);  // leaf empty
  EXPECT_EQ(m.write_cr3(0, pt.root(), kPcid, false), kCr3);
  vector.on_kernel = [&](CpuId, const CoreOp&, Cycles) {
    m.memory().write64(pt.entry(kVa, 1), pfn_pte(kData, kMapped));
    return Cycles{10};
  };
  program.ops[0] = {prefetch(kVa, 1), kernel(2), prefetch(kVa + 8, 3), load(kVa, 8, 4)};
  m.run();
  EXPECT_TRUE(vector.error_codes.empty()) << "a prefetch never raises #PF";
  const auto& d = program.done[0];
  ASSERT_EQ(d.size(), 3u);
  Cycles t = kFaultWalk;
  EXPECT_EQ(d[0].now, t) << "dropped after its walk";
  EXPECT_EQ(d[0].value, 0u);
  t += 10;                         // the kernel maps the leaf
  t += kWarmWalk;                  // the walk fills the dTLB
  EXPECT_EQ(d[1].now, t);
  t += kL1 + kRead;                // the load hits what the prefetch filled
  EXPECT_EQ(d[2].now, t);
  EXPECT_EQ(count(root, "cpu0.prefetches"), 2u);
  EXPECT_EQ(count(root, "cpu0.prefetches_dropped"), 1u);
  EXPECT_EQ(count(root, "cpu0.page_faults"), 0u);
  EXPECT_EQ(count(root, "cpu0.loads"), 1u);
  EXPECT_EQ(count(root, "cpu0.walker.walks"), 2u);
}

TEST(CoreSc, AbortDropsTheAccessAndTheProgramGoesOn) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(small_config(), program, vector, root);
  PageTables pt{m.memory()};
  pt.map(kVa, kData, kPresent | kUser, kTableFlags);  // read-only page
  m.write_cr3(0, pt.root(), kPcid, true);
  vector.on_fault = [](CpuId, VirtAddr, std::uint32_t, Cycles) {
    return FaultReply{FaultOutcome::kAbort, 500};
  };
  program.ops[0] = {store(kVa, 1, 8, 1), load(kVa, 8, 2)};
  m.run();
  ASSERT_EQ(vector.error_codes.size(), 1u);
  EXPECT_EQ(vector.error_codes[0], kPfPresent | kPfWrite | kPfUser) << "protection, write, user";
  const auto& d = program.done[0];
  ASSERT_EQ(d.size(), 2u);
  EXPECT_TRUE(d[0].aborted);
  EXPECT_EQ(d[0].now, kFaultWalk + 500);
  EXPECT_FALSE(d[1].aborted);
  EXPECT_EQ(d[1].value, 0u);
  EXPECT_EQ(d[1].now, kFaultWalk + 500 + kFirstWalk + kRead) << "the load walks again (A set)";
  EXPECT_EQ(m.memory().peek64(pfn_to_phys(kData)), 0u) << "the aborted store wrote nothing";
  EXPECT_TRUE(program.visible[0].empty()) << "nor entered the store buffer";
  EXPECT_EQ(count(root, "cpu0.aborted"), 1u);
  EXPECT_EQ(count(root, "cpu0.stores"), 0u);
  EXPECT_EQ(count(root, "cpu0.loads"), 1u);
  EXPECT_EQ(count(root, "cpu0.dtlb.invalidations.cr3"), 0u) << "noflush CR3 write";
}

TEST(CoreSc, HandlerSwitchesCr3AndPcidOnItsCore) {
  // The handler runs in the core's thread: a CR3 write there takes effect for the retry.
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(small_config(), program, vector, root);
  PageTables pt{m.memory()};
  pt.map(kVa, kData, kPresent | kRw | kUser, kTableFlags);
  m.memory().poke64(pfn_to_phys(kData), 0x77);
  // CR3 points at an empty PML4 (frame 40): everything faults until the handler switches.
  m.write_cr3(0, pfn_to_phys(40), 1, false);
  vector.on_fault = [&](CpuId cpu, VirtAddr, std::uint32_t, Cycles) {
    return FaultReply{FaultOutcome::kRetry, m.write_cr3(cpu, pt.root(), kPcid, false) + 50};
  };
  program.ops[0] = {load(kVa, 8, 1)};
  m.run();
  ASSERT_EQ(program.done[0].size(), 1u);
  EXPECT_EQ(program.done[0][0].value, 0x77u);
  const Cycles empty_walk = kL1 + kStlb + kWalkStart + kRead;  // the PML4E is not present
  EXPECT_EQ(program.done[0][0].now, empty_walk + kCr3 + 50 + kFirstWalk + kRead);
  EXPECT_EQ(vector.error_codes, std::vector<std::uint32_t>{kPfUser});
  EXPECT_EQ(m.core(0).pcid(), kPcid);
}

// Stores retire into the buffer and reach memory later; loads are forwarded; MFENCE waits for
// the buffer; a locked exchange drains it and is visible at once; fetches use the iTLB.
TEST(CoreSc, StoreBufferFenceLockedAndFetch) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(small_config(), program, vector, root);
  PageTables pt{m.memory()};
  pt.map(kVa, kData, kMapped, kTableFlags);
  m.write_cr3(0, pt.root(), kPcid, false);
  program.ops[0] = {store(kVa, 0x55, 8, 1), load(kVa, 8, 2),         store(kVa + 8, 0x66, 8, 3),
                    fence(),                locked(kVa, 0x77, 8, 4), fetch(kVa, 4, 5)};
  m.run();
  const auto& d = program.done[0];
  ASSERT_EQ(d.size(), 5u);
  const Cycles w = kWarmWalk;
  EXPECT_EQ(d[0].now, w) << "a store costs its translation; memory is written later";
  EXPECT_EQ(d[1].value, 0x55u) << "forwarded from the buffer";
  EXPECT_EQ(d[1].now, w + kL1 + kForward);
  EXPECT_EQ(d[2].now, w + kL1 + kForward + kL1);
  // The second store leaves at max(its retire, the first one's leave) + drain = w + 11; the
  // fence waits for it, then costs fence_cycles.
  const Cycles second_leaves = w + 2 * kL1 + kForward + kDrain;
  const Cycles after_fence = second_leaves + kFence;
  EXPECT_EQ(d[3].value, 0x55u) << "a locked exchange returns the old value";
  EXPECT_EQ(d[3].now, after_fence + kL1 + kFence + kRead + kWrite);
  EXPECT_EQ(d[4].value, 0x77u) << "the fetch reads what the locked op wrote";
  EXPECT_EQ(d[4].now, d[3].now + kL1 + kStlb + kRead) << "iTLB miss, STLB hit, read";
  ASSERT_EQ(program.visible[0].size(), 3u);
  EXPECT_EQ(program.visible[0][0].now, w + kDrain);
  EXPECT_EQ(program.visible[0][1].now, second_leaves);
  EXPECT_EQ(program.visible[0][2].token, 4u) << "the locked store";
  EXPECT_EQ(program.visible[0][2].now, d[3].now);
  EXPECT_EQ(count(root, "cpu0.sb.forwards"), 1u);
  EXPECT_EQ(count(root, "cpu0.sb.drains.fence"), 1u);
  EXPECT_EQ(count(root, "cpu0.sb.drains.locked"), 0u) << "the buffer was empty by then";
  EXPECT_EQ(count(root, "cpu0.sb.drain_wait_cycles"), kDrain) << "the fence waited one drain";
  EXPECT_EQ(count(root, "cpu0.fences"), 1u);
  EXPECT_EQ(count(root, "cpu0.locked"), 1u);
  EXPECT_EQ(count(root, "cpu0.fetches"), 1u);
  EXPECT_EQ(count(root, "cpu0.itlb.misses.fetch"), 1u);
  EXPECT_EQ(count(root, "cpu0.stlb.hits.fetch"), 1u);
  EXPECT_EQ(m.memory().peek64(pfn_to_phys(kData)), 0x77u);
  EXPECT_EQ(m.memory().peek64(pfn_to_phys(kData) + 8), 0x66u);
}

// Kernel entry and #PF delivery drain the buffer before the OS runs (architecture.md §2); a
// fetch fault has the I/D bit.
TEST(CoreSc, KernelEntryAndFaultDeliveryDrainTheBuffer) {
  stats::Group root("");
  Script program;
  Vector vector;
  MachineConfig c = small_config();
  constexpr Cycles kSlowDrain = 1000;  // so that the stores are still buffered at each entry
  c.store_buffer.drain_cycles = kSlowDrain;
  Machine m(c, program, vector, root);
  PageTables pt{m.memory()};
  pt.map(kVa, kData, kMapped, kTableFlags);
  m.write_cr3(0, pt.root(), kPcid, false);
  std::vector<std::uint64_t> seen;
  vector.on_kernel = [&](CpuId, const CoreOp&, Cycles now) {
    EXPECT_EQ(now, kWarmWalk + kSlowDrain) << "entry waited for the store";
    seen.push_back(m.memory().peek64(pfn_to_phys(kData)));
    return Cycles{0};
  };
  vector.on_fault = [&](CpuId, VirtAddr, std::uint32_t, Cycles) {
    seen.push_back(m.memory().peek64(pfn_to_phys(kData) + 8));
    return FaultReply{FaultOutcome::kAbort, 0};
  };
  program.ops[0] = {store(kVa, 1, 8, 1), kernel(1), store(kVa + 8, 2, 8, 2),
                    fetch(kVa + 0x10000, 4, 3)};
  m.run();
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2})) << "each store was in memory";
  ASSERT_EQ(vector.error_codes.size(), 1u);
  EXPECT_EQ(vector.error_codes[0], kPfInstr | kPfUser) << "not-present user fetch";
  EXPECT_EQ(count(root, "cpu0.sb.drains.kernel_entry"), 1u);
  EXPECT_EQ(count(root, "cpu0.sb.drains.exception"), 1u);
  // The second store leaves kSlowDrain after it retired; the fetch's walk took kFaultWalk of it.
  EXPECT_EQ(count(root, "cpu0.sb.drain_wait_cycles"), kSlowDrain + (kSlowDrain - kFaultWalk));
}

TEST(CoreSc, FullBufferStallsTheCore) {
  stats::Group root("");
  Script program;
  Vector vector;
  MachineConfig c = small_config();
  c.store_buffer.entries = 2;
  Machine m(c, program, vector, root);
  PageTables pt{m.memory()};
  pt.map(kVa, kData, kMapped, kTableFlags);
  m.write_cr3(0, pt.root(), kPcid, false);
  program.ops[0] = {store(kVa, 1, 8, 1), store(kVa + 8, 2, 8, 2), store(kVa + 16, 3, 8, 3)};
  m.run();
  const auto& d = program.done[0];
  ASSERT_EQ(d.size(), 3u);
  const Cycles w = kWarmWalk;
  EXPECT_EQ(d[1].now, w + kL1);
  // Entries leave at w+4 and w+8; the third store (at w+2) waits for the first to leave.
  EXPECT_EQ(d[2].now, w + kDrain);
  EXPECT_EQ(count(root, "cpu0.sb.full_stalls"), 1u);
  EXPECT_EQ(count(root, "cpu0.sb.full_stall_cycles"), kDrain - 2 * kL1);
  const auto* occupancy = distribution(root, "cpu0.sb.occupancy");
  ASSERT_NE(occupancy, nullptr);
  EXPECT_EQ(occupancy->count(), 3u);
  EXPECT_EQ(occupancy->max(), 2u);
  EXPECT_EQ(m.memory().peek64(pfn_to_phys(kData) + 16), 3u) << "drained after the program ended";
  EXPECT_EQ(m.now(0), w + kDrain) << "idle drains do not move the core's time";
}

TEST(CoreSc, AdvanceChargesTheHandlerAsItGoes) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(small_config(), program, vector, root);
  vector.on_kernel = [&](CpuId cpu, const CoreOp&, Cycles now) {
    m.advance(cpu, 123);
    EXPECT_EQ(m.now(cpu), now + 123);
    EXPECT_EQ(m.invpcid(cpu, 0, kPcid, kVa), kInvlpg);
    EXPECT_EQ(m.invpcid(cpu, 1, kPcid, 0), kFlushPcid);
    EXPECT_EQ(m.invpcid(cpu, 2, 0, 0), kFlushAll);
    EXPECT_EQ(m.invpcid(cpu, 3, 0, 0), kFlushAll);
    EXPECT_EQ(m.flush_pcid(cpu, kPcid), kFlushPcid);
    EXPECT_THROW(m.invpcid(cpu, 4, 0, 0), std::invalid_argument) << "#GP";
    return Cycles{7};
  };
  program.ops[0] = {compute(10), kernel(1), compute(10)};
  m.run();
  EXPECT_EQ(m.now(0), 10 + 123 + 7 + 10u);
  EXPECT_EQ(count(root, "cpu0.dtlb.invalidations.invpcid_address"), 1u);
  EXPECT_EQ(count(root, "cpu0.dtlb.invalidations.invpcid_single"), 2u);
  EXPECT_EQ(count(root, "cpu0.dtlb.invalidations.invpcid_all"), 2u);
  EXPECT_THROW(m.advance(0, 1), std::logic_error) << "only from the core's own thread";
}

TEST(CoreSc, EndlessRetryStopsWithAnError) {
  stats::Group root("");
  Script program;
  Vector vector;
  MachineConfig c = small_config();
  c.core.max_fault_retries = 3;
  Machine m(c, program, vector, root);
  m.write_cr3(0, pfn_to_phys(40), 1, false);
  vector.on_fault = [](CpuId, VirtAddr, std::uint32_t, Cycles) {
    return FaultReply{FaultOutcome::kRetry, 1};
  };
  program.ops[0] = {load(kVa, 8, 1)};
  try {
    m.run();
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("faulted 4 times"), std::string::npos) << e.what();
  }
  EXPECT_EQ(vector.error_codes.size(), 3u);
}

TEST(CoreSc, BadOperationIsReportedWithItsType) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(small_config(), program, vector, root);
  program.ops[0] = {load(kVa + 4094, 4, 1)};
  EXPECT_THROW(m.run(), std::invalid_argument);
}

// Sizes other than 1, 2, 4 and 8 are refused, naming the size (one Machine per case).
class CoreScBadSize : public ::testing::TestWithParam<unsigned> {};
TEST_P(CoreScBadSize, IsReportedWithTheSize) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(small_config(), program, vector, root);
  program.ops[0] = {load(kVa, GetParam(), 1)};
  try {
    m.run();
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("has size " + std::to_string(GetParam())),
              std::string::npos)
        << e.what();
  }
}
INSTANTIATE_TEST_SUITE_P(Sizes, CoreScBadSize, ::testing::Values(0u, 3u, 5u, 7u, 9u, 16u));

// The last byte of a page may be accessed by every size that fits.
TEST(CoreSc, AccessesEndingAtThePageEndAreAccepted) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(small_config(), program, vector, root);
  PageTables pt{m.memory()};
  pt.map(kVa, kData, kMapped, kTableFlags);
  m.write_cr3(0, pt.root(), kPcid, true);
  program.ops[0] = {load(kVa + 4095, 1, 1), load(kVa + 4094, 2, 2), load(kVa + 4092, 4, 3),
                    load(kVa + 4088, 8, 4)};
  m.run();
  EXPECT_EQ(program.done[0].size(), 4u);
}

TEST(CoreSc, WaitThatNothingWakesIsReported) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(small_config(), program, vector, root);
  program.ops[0] = {compute(5), wait_op(), compute(5)};
  try {
    m.run();
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cpu0 sleeps in a kWait"), std::string::npos)
        << e.what();
  }
}

TEST(CoreSc, SecondMachineInOneProcessIsRefused) {
  stats::Group root("");
  Script program;
  Vector vector;
  {
    Machine m(small_config(), program, vector, root);
    m.run();
  }
  stats::Group root2("");
  EXPECT_THROW(Machine(small_config(), program, vector, root2), std::logic_error);
}

TEST(CoreSc, InvalidConfigIsRejected) {
  stats::Group root("");
  Script program;
  Vector vector;
  MachineConfig c = small_config();
  c.dtlb.arrays[0].ways = 3;
  try {
    Machine m(c, program, vector, root);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("dtlb.array0.ways=3 does not divide"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(root.paths().empty()) << "a rejected machine registers no statistics";
}

}  // namespace
}  // namespace mmusim::machine
