// Core + Machine under SystemC. SystemC elaborates once per process: each TEST builds its own
// Machine and ctest runs each TEST as its own process (run by hand with --gtest_filter=one test).
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <stdexcept>
#include <vector>

#include "mmusim/machine/core.h"
#include "mmusim/machine/machine.h"
#include "mmusim/machine/phys_mem.h"
#include "mmusim/machine/tlb.h"
#include "page_tables.h"

namespace mmusim::machine {
namespace {

using x86::kAccessed, x86::kDirty, x86::kGlobal, x86::kNx, x86::kPresent, x86::kRw, x86::kUser;
using x86::kPfInstr, x86::kPfPresent, x86::kPfRsvd, x86::kPfUser, x86::kPfWrite;
using x86::kSoftSoftDirty, x86::kTableFlags, x86::pfn_pte, x86::PteVal;
using Kind = CoreOp::Kind;

constexpr VirtAddr kVa = 0x0000000000601000ull;
constexpr Pfn kData = 30;
constexpr Pcid kPcid = 3;

// A scripted program per cpu; records what completed or aborted, and when.
struct Script : CoreProgram {
  struct Done {
    std::uint64_t token;
    std::uint64_t value;
    Cycles now;
    bool aborted;
  };
  std::map<CpuId, std::vector<CoreOp>> ops;
  std::map<CpuId, std::size_t> pc;
  std::map<CpuId, std::vector<Done>> done;

  bool next(CpuId cpu, CoreOp& op) override {
    auto& list = ops[cpu];
    if (pc[cpu] >= list.size()) return false;
    op = list[pc[cpu]++];
    return true;
  }
  void completed(CpuId cpu, const CoreOp& op, std::uint64_t value, Cycles now) override {
    done[cpu].push_back({op.token, value, now, false});
  }
  void aborted(CpuId cpu, const CoreOp& op, Cycles now) override {
    done[cpu].push_back({op.token, 0, now, true});
  }
};

CoreOp load(VirtAddr va, unsigned size, std::uint64_t token) {
  CoreOp op;
  op.kind = Kind::kLoad;
  op.va = va;
  op.size = size;
  op.token = token;
  return op;
}
CoreOp store(VirtAddr va, std::uint64_t value, unsigned size, std::uint64_t token) {
  CoreOp op = load(va, size, token);
  op.kind = Kind::kStore;
  op.value = value;
  return op;
}
CoreOp compute(Cycles c) {
  CoreOp op;
  op.kind = Kind::kCompute;
  op.cycles = c;
  return op;
}
CoreOp kernel(std::uint64_t token) {
  CoreOp op;
  op.kind = Kind::kKernel;
  op.token = token;
  return op;
}

// An exception vector whose behaviour each test supplies.
struct Vector : ExceptionVector {
  std::function<FaultReply(CpuId, VirtAddr, std::uint32_t, Cycles)> on_fault;
  std::function<Cycles(CpuId, const CoreOp&, Cycles)> on_kernel;
  std::vector<std::uint32_t> error_codes;
  FaultReply page_fault(CpuId cpu, VirtAddr va, std::uint32_t ec, Cycles now) override {
    error_codes.push_back(ec);
    return on_fault(cpu, va, ec, now);
  }
  Cycles kernel_entry(CpuId cpu, const CoreOp& op, Cycles now) override {
    return on_kernel ? on_kernel(cpu, op, now) : 0;
  }
};

MachineConfig config(unsigned cores = 1) {
  MachineConfig c;
  c.cores = cores;
  c.memory.size_bytes = 64 * kPageSize;
  c.memory.read_cycles = 30;
  c.memory.write_cycles = 40;
  c.dtlb.entries = 16;
  c.dtlb.ways = 4;
  c.dtlb.hit_cycles = 1;
  c.walker.walk_start_cycles = 5;
  c.core.clock_ps = 333;
  c.core.quantum_cycles = 1000;
  c.core.invlpg_cycles = 300;
  c.core.cr3_write_cycles = 200;
  return c;
}

std::uint64_t count(const stats::Group& g, const char* path) {
  const stats::Stat* s = g.find(path);
  EXPECT_NE(s, nullptr) << path;
  return s ? static_cast<std::uint64_t>(s->value_as_double()) : ~0ull;
}

// Costs with config(): lookup 1; walk 5 + 30 per read + 40 per A/D write-back.
constexpr Cycles kFaultWalk = 1 + 5 + 4 * 30;       // miss, 4 reads, leaf not present
constexpr Cycles kFirstWalk = 1 + 5 + 4 * 30 + 40;  // miss, 4 reads, A|D in one write
constexpr Cycles kHandler = 1000;

TEST(CoreSc, FaultMapsPageRetryCompletesAndCyclesAddUp) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(config(), program, vector, root);
  testing::PageTables pt{m.memory()};
  pt.map(kVa, kData, 0, kTableFlags);  // upper levels present, leaf empty
  pt.set(kVa, 1, 0);
  EXPECT_EQ(m.write_cr3(0, pt.root(), kPcid, false), 200u);

  vector.on_fault = [&](CpuId cpu, VirtAddr va, std::uint32_t, Cycles now) {
    EXPECT_EQ(now, kFaultWalk) << "#PF is delivered after the faulting walk";
    EXPECT_EQ(m.now(cpu), now);
    EXPECT_FALSE(m.dtlb(cpu).probe(kPcid, va)) << "HW7: fault delivery dropped the VA";
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
  Cycles t = kFaultWalk + kHandler + kFirstWalk + 40;  // retried store + data write
  EXPECT_EQ(d[0].token, 1u);
  EXPECT_EQ(d[0].now, t);
  t += 100 + 1 + 30;  // compute; load hits, data read
  EXPECT_EQ(d[1].value, 0x1122334455667788ull) << "the value round-trips through memory";
  EXPECT_EQ(d[1].now, t);
  t += 300 + 10;                   // kernel entry: INVLPG + service
  t += 1 + 5 + 4 * 30 + 30;        // miss, walk without write-backs (A/D set), data read
  EXPECT_EQ(d[2].value, 0x11223344u) << "a 4-byte load is zero-extended, little-endian";
  EXPECT_EQ(d[2].now, t);
  t += 1 + 40;  // store hit, D cached
  EXPECT_EQ(d[3].value, 0xabcdu);
  EXPECT_EQ(d[3].now, t);
  t += 1 + 30;
  EXPECT_EQ(d[4].value, 0x1122334455abcd88ull) << "a 2-byte store at +9 replaced bytes 9..10";
  EXPECT_EQ(d[4].now, t);
  EXPECT_EQ(m.now(0), t);
  EXPECT_EQ(count(root, "cpu0.cycles"), t);
  EXPECT_EQ(m.memory().peek64(pfn_to_phys(kData) + 8), 0x1122334455abcd88ull);
  EXPECT_EQ(count(root, "cpu0.loads"), 3u);
  EXPECT_EQ(count(root, "cpu0.stores"), 2u);
  EXPECT_EQ(count(root, "cpu0.computes"), 1u);
  EXPECT_EQ(count(root, "cpu0.kernel_entries"), 1u);
  EXPECT_EQ(count(root, "cpu0.page_faults"), 1u);
  EXPECT_EQ(count(root, "cpu0.aborted"), 0u);
  EXPECT_EQ(count(root, "cpu0.dtlb.invalidations.fault"), 1u);
  EXPECT_EQ(count(root, "cpu0.dtlb.invalidations.invlpg"), 1u);
  EXPECT_EQ(count(root, "cpu0.dtlb.invalidations.flush_pcid"), 1u) << "CR3 write without noflush";
  EXPECT_EQ(count(root, "cpu0.dtlb.misses.store"), 2u) << "the faulting try and the retry";
  EXPECT_EQ(count(root, "cpu0.walker.walks"), 3u);
  EXPECT_EQ(count(root, "mem.frames_resident"), 5u) << "four tables and the data frame";
}

TEST(CoreSc, AbortDropsTheAccessAndTheProgramGoesOn) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(config(), program, vector, root);
  testing::PageTables pt{m.memory()};
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
  EXPECT_EQ(d[1].now, kFaultWalk + 500 + kFirstWalk + 30) << "the load walks again (A set)";
  EXPECT_EQ(m.memory().peek64(pfn_to_phys(kData)), 0u) << "the aborted store wrote nothing";
  EXPECT_EQ(count(root, "cpu0.aborted"), 1u);
  EXPECT_EQ(count(root, "cpu0.stores"), 0u);
  EXPECT_EQ(count(root, "cpu0.loads"), 1u);
  EXPECT_EQ(count(root, "cpu0.dtlb.invalidations.flush_pcid"), 0u) << "noflush CR3 write";
}

TEST(CoreSc, HandlerSwitchesCr3AndPcidOnItsCore) {
  // The handler runs in the core's thread: a CR3 write there takes effect for the retry.
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(config(), program, vector, root);
  testing::PageTables pt{m.memory()};
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
  const Cycles empty_walk = 1 + 5 + 30;  // the PML4E is not present
  EXPECT_EQ(program.done[0][0].now, empty_walk + 200 + 50 + kFirstWalk + 30);
  EXPECT_EQ(vector.error_codes, std::vector<std::uint32_t>{kPfUser});
  EXPECT_EQ(m.core(0).pcid(), kPcid);
}

TEST(CoreSc, TwoCoresRunIndependentlyAndCrossCpuInvlpgWorks) {
  stats::Group root("");
  Script program;
  Vector vector;
  MachineConfig c = config(2);
  c.core.quantum_cycles = 50;  // force many synchronisations
  Machine m(c, program, vector, root);
  testing::PageTables pt{m.memory()};
  pt.map(kVa, kData, kPresent | kRw | kUser | kAccessed | kDirty, kTableFlags);
  m.write_cr3(0, pt.root(), kPcid, false);
  m.write_cr3(1, pt.root(), kPcid, false);
  vector.on_kernel = [&](CpuId cpu, const CoreOp& op, Cycles) -> Cycles {
    // cpu0's kernel service invalidates the page on cpu1 (a shootdown's remote half).
    if (cpu == 0 && op.token == 9) return m.invlpg(1, kPcid, kVa);
    return 0;
  };
  vector.on_fault = [](CpuId, VirtAddr, std::uint32_t, Cycles) -> FaultReply {
    ADD_FAILURE() << "no fault expected";
    return {FaultOutcome::kAbort, 0};
  };
  program.ops[0] = {store(kVa, 5, 8, 1), compute(1000), kernel(9)};
  program.ops[1] = {load(kVa + 8, 8, 1), compute(2000), load(kVa + 8, 8, 2)};
  m.run();
  ASSERT_EQ(program.done[0].size(), 1u);
  ASSERT_EQ(program.done[1].size(), 2u);
  const Cycles walk = 1 + 5 + 4 * 30;  // no A/D write-backs
  EXPECT_EQ(m.now(0), walk + 40 + 1000 + 300);
  EXPECT_EQ(program.done[1][0].now, walk + 30);
  // cpu1's second load runs after cpu0's INVLPG in simulated time: it misses and walks again.
  EXPECT_EQ(program.done[1][1].now, 2 * (walk + 30) + 2000);
  EXPECT_EQ(count(root, "cpu1.walker.walks"), 2u);
  EXPECT_EQ(count(root, "cpu1.dtlb.invalidations.invlpg"), 1u);
  EXPECT_EQ(count(root, "cpu1.cycles"), m.now(1));
}

TEST(CoreSc, EndlessRetryStopsWithAnError) {
  stats::Group root("");
  Script program;
  Vector vector;
  MachineConfig c = config();
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
  Machine m(config(), program, vector, root);
  program.ops[0] = {load(kVa + 4094, 4, 1)};
  EXPECT_THROW(m.run(), std::invalid_argument);
}

TEST(CoreSc, SecondMachineInOneProcessIsRefused) {
  stats::Group root("");
  Script program;
  Vector vector;
  {
    Machine m(config(), program, vector, root);
    m.run();
  }
  stats::Group root2("");
  EXPECT_THROW(Machine(config(), program, vector, root2), std::logic_error);
}

TEST(CoreSc, InvalidConfigIsRejected) {
  stats::Group root("");
  Script program;
  Vector vector;
  MachineConfig c = config();
  c.dtlb.ways = 3;
  try {
    Machine m(c, program, vector, root);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("dtlb.ways=3 does not divide dtlb.entries=16"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(root.paths().empty()) << "a rejected machine registers no statistics";
}

}  // namespace
}  // namespace mmusim::machine
