// The multi-core machine under SystemC: shootdowns by IPI and by INVLPGB with every cost landing
// exactly, interrupts taken at the right points (HW5), the store-buffer hazard and its cure
// (HW4), kWait/wake, and determinism. One Machine per process (ctest runs each case alone).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>

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
using x86::kTableFlags, x86::pfn_pte;

constexpr VirtAddr kVa = 0x0000000000601000ull;
constexpr Pfn kX = 30, kY = 31;
constexpr Pcid kPcid = 3;
constexpr x86::PteVal kMapped = kPresent | kRw | kUser | kAccessed | kDirty;
constexpr Cycles kWarmWalk = kL1 + kStlb + kWalkStart + 4 * kRead;

// Interconnect costs, set explicitly (the defaults may move).
constexpr Cycles kSend = 300, kDelivery = 600, kEntry = 600, kExit = 300, kAck = 300;
constexpr Cycles kIssue = 100, kPerTarget = 50, kTlbsync = 500;
constexpr Cycles kStolenOnePage = kEntry + kInvlpg + kExit;

MachineConfig smp_config(unsigned cores, ShootdownMechanism mechanism) {
  MachineConfig c = small_config(cores);
  InterconnectParams& ic = c.interconnect;
  ic.mechanism = mechanism;
  ic.ipi_send_cycles = kSend;
  ic.ipi_delivery_cycles = kDelivery;
  ic.ipi_handler_entry_cycles = kEntry;
  ic.ipi_handler_exit_cycles = kExit;
  ic.ipi_ack_cycles = kAck;
  ic.invlpgb_issue_cycles = kIssue;
  ic.invlpgb_per_target_cycles = kPerTarget;
  ic.tlbsync_cycles = kTlbsync;
  return c;
}

std::uint64_t all_but_0(unsigned cores) {
  return (cores == 64 ? ~0ull : (1ull << cores) - 1) & ~1ull;
}

// Every core maps kVa -> kX and uses the same address space.
PageTables map_all(Machine& m) {
  PageTables pt{m.memory()};
  pt.map(kVa, kX, kMapped, kTableFlags);
  for (CpuId cpu = 0; cpu < m.cores(); ++cpu) m.write_cr3(cpu, pt.root(), kPcid, false);
  return pt;
}

// ---- exact shootdown costs: n = 1, 2, 4, 16 and 63 targets, both mechanisms ----
// Targets are idle (they cached kVa, then their programs ended), or cpu1 is busy in OS code (a
// kernel op charging 5000 cycles, not interruptible): it takes its IPI at that op boundary.

class ShootdownCosts
    : public ::testing::TestWithParam<std::tuple<ShootdownMechanism, unsigned, bool>> {};

TEST_P(ShootdownCosts, LatencyAndStolenCyclesAreExact) {
  const auto [mechanism, n, busy] = GetParam();
  constexpr Cycles kBusyUntil = 5000, kT0 = 1000;
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(smp_config(n + 1, mechanism), program, vector, root);
  map_all(m);
  Cycles latency = 0;
  vector.on_kernel = [&](CpuId cpu, const CoreOp&, Cycles now) {
    if (cpu == 1) {
      m.advance(cpu, kBusyUntil);
      return Cycles{0};
    }
    EXPECT_EQ(now, kT0);
    latency = m.shootdown(cpu, all_but_0(n + 1), Invalidation::range(kPcid, kVa, kVa + 1));
    EXPECT_EQ(m.now(cpu), now + latency) << "the initiator's time already includes the latency";
    for (CpuId t = 1; t <= n; ++t) {
      if (mechanism == ShootdownMechanism::kIpi && t == 1 && busy) continue;  // not taken yet
      EXPECT_FALSE(m.mmu(t).dtlb().probe(kPcid, kVa)) << "cpu" << t << " dropped the page";
    }
    return Cycles{0};
  };
  program.ops[0] = {compute(kT0), kernel(1)};
  for (CpuId t = 1; t <= n; ++t) program.ops[t] = {load(kVa, 8, t)};  // cache kVa, then idle
  if (busy) program.ops[1] = {kernel(2)};
  m.run();

  const bool ipi = mechanism == ShootdownMechanism::kIpi;
  // IPI t (cpu t, the t-th target) is sent at T0 + t*send and arrives delivery later; an idle
  // target takes it then, the busy one at kBusyUntil. Its ack is visible ack after the handler.
  auto taken = [&](CpuId t) {
    const Cycles arrival = kT0 + t * kSend + kDelivery;
    return busy && t == 1 ? std::max(arrival, kBusyUntil) : arrival;
  };
  Cycles expected = 0;
  if (ipi) {
    for (CpuId t = 1; t <= n; ++t)
      expected = std::max(expected, taken(t) + kStolenOnePage + kAck - kT0);
  } else {
    expected = kIssue + std::max(kTlbsync, kPerTarget * n);
  }
  EXPECT_EQ(latency, expected);
  if (ipi && !busy) {
    EXPECT_EQ(latency, n * kSend + kDelivery + kStolenOnePage + kAck) << "the closed form";
  }
  for (CpuId t = 1; t <= n; ++t) {
    const std::string cpu = "cpu" + std::to_string(t);
    EXPECT_EQ(count(root, cpu + ".ipi.ipis_received"), ipi ? 1u : 0u) << cpu;
    EXPECT_EQ(count(root, cpu + ".ipi.stolen_cycles"), ipi ? kStolenOnePage : 0u) << cpu;
    EXPECT_EQ(count(root, cpu + ".dtlb.invalidations.invlpg"), 1u) << cpu;
    const Cycles own_end = busy && t == 1 ? kBusyUntil : kWarmWalk + kRead;
    EXPECT_EQ(m.now(t), ipi ? taken(t) + kStolenOnePage : own_end) << cpu;
  }
  EXPECT_EQ(count(root, "interconnect.shootdowns"), 1u);
  EXPECT_EQ(count(root, "interconnect.ipis_sent"), ipi ? n : 0u);
  EXPECT_EQ(count(root, "interconnect.invlpgb_instructions"), ipi ? 0u : 1u);
  const auto* lat = distribution(root, "interconnect.initiator_latency");
  const auto* targets = distribution(root, "interconnect.targets");
  const auto* pages = distribution(root, "interconnect.pages");
  ASSERT_TRUE(lat && targets && pages);
  EXPECT_EQ(lat->sum(), expected);
  EXPECT_EQ(targets->sum(), n);
  EXPECT_EQ(pages->sum(), 1u);
  if (ipi) {
    const auto* per_ipi = distribution(root, "cpu1.ipi.stolen_cycles_per_ipi");
    ASSERT_NE(per_ipi, nullptr);
    EXPECT_EQ(per_ipi->count(), 1u);
    EXPECT_EQ(per_ipi->sum(), kStolenOnePage);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Targets, ShootdownCosts,
    ::testing::Combine(::testing::Values(ShootdownMechanism::kIpi, ShootdownMechanism::kInvlpgb),
                       ::testing::Values(1u, 2u, 4u, 16u, 63u), ::testing::Bool()),
    [](const auto& info) {
      return std::string(shootdown_mechanism_name(std::get<0>(info.param))) + "_" +
             std::to_string(std::get<1>(info.param)) + "_targets" +
             (std::get<2>(info.param) ? "_cpu1_busy" : "_idle");
    });

// ---- busy targets ----

// cpu1 runs OS code (a kernel op that charges 5000 cycles as it goes): not interruptible, so it
// takes the IPI (arrived at 1900) at its next op boundary, 5000.
TEST(SmpSc, BusyTargetTakesTheIpiAtItsNextOpBoundary) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(smp_config(2, ShootdownMechanism::kIpi), program, vector, root);
  map_all(m);
  Cycles latency = 0;
  vector.on_kernel = [&](CpuId cpu, const CoreOp& op, Cycles) {
    if (cpu == 1) m.advance(1, 5000);
    if (op.token == 1) latency = m.shootdown(0, 0b10, Invalidation::whole_pcid(kPcid));
    return Cycles{0};
  };
  program.ops[0] = {compute(1000), kernel(1)};
  program.ops[1] = {kernel(2), compute(1000)};
  m.run();
  const Cycles stolen = kEntry + kFlushPcid + kExit;
  EXPECT_EQ(latency, 5000 + stolen + kAck - 1000);
  EXPECT_EQ(count(root, "cpu1.ipi.stolen_cycles"), stolen);
  EXPECT_EQ(m.now(1), 5000 + stolen + 1000) << "the compute after the handler";
  EXPECT_EQ(count(root, "cpu1.dtlb.invalidations.invpcid_single"), 1u);
  EXPECT_EQ(count(root, "interconnect.pages"), 0u) << "a whole-PCID flush is not sampled";
}

// cpu1 computes: interrupts are taken in the middle of kCompute work, at the IPI's arrival.
TEST(SmpSc, ComputingTargetTakesTheIpiAtItsArrival) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(smp_config(2, ShootdownMechanism::kIpi), program, vector, root);
  map_all(m);
  Cycles latency = 0;
  vector.on_kernel = [&](CpuId, const CoreOp&, Cycles) {
    latency = m.shootdown(0, 0b10, Invalidation::everything());
    return Cycles{0};
  };
  program.ops[0] = {compute(1000), kernel(1)};
  program.ops[1] = {compute(10000)};
  m.run();
  const Cycles stolen = kEntry + kFlushAll + kExit;
  EXPECT_EQ(latency, kSend + kDelivery + stolen + kAck);
  EXPECT_EQ(m.now(1), 10000 + stolen) << "the compute resumed after the handler";
  EXPECT_EQ(count(root, "cpu1.dtlb.invalidations.invpcid_all"), 1u);
}

// HW5: with IF clear the IPI stays pending, and the initiator waits, until cpu1 re-enables
// interrupts; INVLPGB does not wait for it.
class IrqsOff : public ::testing::TestWithParam<ShootdownMechanism> {};

TEST_P(IrqsOff, DisabledInterruptsHoldAnIpiShootdownOffButNotInvlpgb) {
  const bool ipi = GetParam() == ShootdownMechanism::kIpi;
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(smp_config(2, GetParam()), program, vector, root);
  map_all(m);
  Cycles latency = 0;
  vector.on_kernel = [&](CpuId cpu, const CoreOp& op, Cycles) {
    if (op.token == 1) latency = m.shootdown(0, 0b10, Invalidation::range(kPcid, kVa, kVa + 1));
    if (op.token == 2) m.set_irqs_enabled(cpu, false);
    if (op.token == 3) {
      EXPECT_EQ(m.mmu(1).dtlb().probe(kPcid, kVa).has_value(), ipi)
          << "an IPI shootdown has not reached cpu1 yet; INVLPGB has";
      m.set_irqs_enabled(cpu, true);
    }
    return Cycles{0};
  };
  program.ops[0] = {compute(1000), kernel(1)};
  program.ops[1] = {load(kVa, 8, 9), kernel(2), compute(5000 - kWarmWalk - kRead), kernel(3),
                    compute(1000)};
  m.run();
  if (ipi) {
    EXPECT_EQ(latency, 5000 + kStolenOnePage + kAck - 1000);
    EXPECT_EQ(m.now(1), 5000 + kStolenOnePage + 1000);
  } else {
    EXPECT_EQ(latency, kIssue + kTlbsync);
    EXPECT_EQ(m.now(1), 6000u) << "INVLPGB steals nothing";
  }
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, IrqsOff,
                         ::testing::Values(ShootdownMechanism::kIpi,
                                           ShootdownMechanism::kInvlpgb),
                         [](const auto& info) {
                           return std::string(shootdown_mechanism_name(info.param));
                         });

// Two CPUs shooting each other down at once: each takes the other's IPI while it waits.
TEST(SmpSc, CrossingShootdownsDoNotDeadlock) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(smp_config(2, ShootdownMechanism::kIpi), program, vector, root);
  map_all(m);
  Cycles latency[2] = {0, 0};
  vector.on_kernel = [&](CpuId cpu, const CoreOp&, Cycles) {
    latency[cpu] =
        m.shootdown(cpu, cpu == 0 ? 0b10 : 0b01, Invalidation::range(kPcid, kVa, kVa + 1));
    return Cycles{0};
  };
  program.ops[0] = {compute(1000), kernel(1)};
  program.ops[1] = {compute(1000), kernel(1)};
  m.run();
  for (CpuId cpu = 0; cpu < 2; ++cpu) {
    const std::string name = "cpu" + std::to_string(cpu);
    EXPECT_EQ(latency[cpu], kSend + kDelivery + kStolenOnePage + kAck) << name;
    EXPECT_EQ(count(root, name + ".ipi.stolen_cycles"), kStolenOnePage) << name;
  }
}

// A target that sleeps with interrupts disabled never acks: the run reports who waits for whom.
TEST(SmpSc, ShootdownThatCanNeverCompleteIsReported) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(smp_config(2, ShootdownMechanism::kIpi), program, vector, root);
  map_all(m);
  vector.on_kernel = [&](CpuId cpu, const CoreOp&, Cycles) {
    if (cpu == 1) m.set_irqs_enabled(1, false);
    else m.shootdown(0, 0b10, Invalidation::whole_pcid(kPcid));
    return Cycles{0};
  };
  program.ops[0] = {compute(100), kernel(1)};
  program.ops[1] = {kernel(2), wait_op()};
  try {
    m.run();
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cpu0 waits for 1 shootdown ack(s) (cpus with interrupts disabled: cpu1)"),
              std::string::npos) << what;
    EXPECT_NE(what.find("cpu1 sleeps in a kWait"), std::string::npos) << what;
  }
}

TEST(SmpSc, ShootdownArgumentsAreChecked) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(smp_config(3, ShootdownMechanism::kIpi), program, vector, root);
  map_all(m);
  const Invalidation inv = Invalidation::whole_pcid(kPcid);
  vector.on_kernel = [&](CpuId cpu, const CoreOp&, Cycles) {
    EXPECT_THROW(m.shootdown(cpu, 0b011, inv), std::invalid_argument) << "names the initiator";
    EXPECT_THROW(m.shootdown(cpu, 0b1010, inv), std::invalid_argument) << "cpu3 does not exist";
    EXPECT_THROW(m.shootdown(1, 0b100, inv), std::logic_error) << "not from cpu1's thread";
    EXPECT_THROW(m.invlpg(1, kPcid, kVa), std::logic_error) << "remote INVLPG: use shootdown";
    EXPECT_THROW(m.advance(1, 5), std::logic_error);
    EXPECT_EQ(m.shootdown(cpu, 0, inv), 0u) << "no targets";
    m.set_irqs_enabled(cpu, false);
    EXPECT_THROW(m.shootdown(cpu, 0b110, inv), std::logic_error) << "IPIs with IRQs off";
    m.set_irqs_enabled(cpu, true);
    return Cycles{0};
  };
  program.ops[0] = {kernel(1)};
  EXPECT_THROW(m.shootdown(0, 0b10, inv), std::logic_error) << "outside the simulation";
  m.run();
  EXPECT_EQ(count(root, "interconnect.shootdowns"), 0u);
}

// ---- the store-buffer hazard (architecture.md §2) and HW4 ----

// cpu1 stores to kVa (-> kX) and keeps the store buffered (slow drain); cpu0 then remaps kVa to
// kY with a local invalidation only. The store still lands in kX.
TEST(SmpSc, BufferedStoreLandsAtTheOldFrameWithoutADrain) {
  stats::Group root("");
  Script program;
  Vector vector;
  MachineConfig c = smp_config(2, ShootdownMechanism::kIpi);
  c.store_buffer.drain_cycles = 10000;
  Machine m(c, program, vector, root);
  PageTables pt = map_all(m);
  vector.on_kernel = [&](CpuId cpu, const CoreOp&, Cycles) {
    EXPECT_EQ(m.memory().peek64(pfn_to_phys(kX)), 0u) << "cpu1's store is still buffered";
    m.memory().write64(pt.entry(kVa, 1), pfn_pte(kY, kMapped));
    return m.invlpg(cpu, kPcid, kVa);
  };
  program.ops[0] = {compute(2000), kernel(1)};
  program.ops[1] = {store(kVa, 0xabc, 8, 1)};
  m.run();
  EXPECT_EQ(m.memory().peek64(pfn_to_phys(kX)), 0xabcu) << "the old frame got the store";
  EXPECT_EQ(m.memory().peek64(pfn_to_phys(kY)), 0u) << "the new frame did not";
  ASSERT_EQ(program.visible[1].size(), 1u);
  EXPECT_EQ(program.visible[1][0].pa, pfn_to_phys(kX));
  EXPECT_EQ(program.visible[1][0].now, kWarmWalk + 10000);
}

// The same with break-before-make: clear the PTE, shoot cpu1 down, then install kY. The shootdown
// returns only after cpu1's store is in memory (HW4(b)): by the IPI handler's entry, or (INVLPGB)
// by completion waiting for cpu1's buffer.
class Hw4 : public ::testing::TestWithParam<ShootdownMechanism> {};

TEST_P(Hw4, ShootdownReturnsOnlyAfterTheTargetsBufferedStoreLanded) {
  const bool ipi = GetParam() == ShootdownMechanism::kIpi;
  stats::Group root("");
  Script program;
  Vector vector;
  MachineConfig c = smp_config(2, GetParam());
  constexpr Cycles kSlow = 10000;
  c.store_buffer.drain_cycles = kSlow;
  Machine m(c, program, vector, root);
  PageTables pt = map_all(m);
  Cycles latency = 0;
  vector.on_kernel = [&](CpuId cpu, const CoreOp&, Cycles) {
    m.memory().write64(pt.entry(kVa, 1), 0);
    m.advance(cpu, m.invlpg(cpu, kPcid, kVa));
    latency = m.shootdown(cpu, 0b10, Invalidation::range(kPcid, kVa, kVa + 1));
    EXPECT_EQ(m.memory().peek64(pfn_to_phys(kX)), 0xabcu) << "landed before the return";
    EXPECT_EQ(program.visible[1].size(), 1u);
    m.memory().write64(pt.entry(kVa, 1), pfn_pte(kY, kMapped));
    return Cycles{0};
  };
  program.ops[0] = {compute(2000), kernel(1)};
  program.ops[1] = {store(kVa, 0xabc, 8, 1)};
  m.run();
  const Cycles start = 2000 + kInvlpg;
  const Cycles leaves = kWarmWalk + kSlow;
  if (ipi) {
    // cpu1 (idle) takes the IPI at its arrival; the entry waits for its buffer to drain.
    const Cycles arrival = start + kSend + kDelivery;
    EXPECT_EQ(latency, leaves + kStolenOnePage + kAck - start);
    EXPECT_EQ(count(root, "cpu1.ipi.stolen_cycles"), leaves - arrival + kStolenOnePage);
    EXPECT_EQ(count(root, "cpu1.sb.drains.interrupt"), 1u);
  } else {
    EXPECT_EQ(latency, leaves - start) << "completion waited for cpu1's store";
    EXPECT_EQ(count(root, "cpu1.ipi.stolen_cycles"), 0u);
  }
  EXPECT_EQ(program.visible[1][0].now, leaves);
  EXPECT_EQ(m.memory().peek64(pfn_to_phys(kY)), 0u);
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, Hw4,
                         ::testing::Values(ShootdownMechanism::kIpi,
                                           ShootdownMechanism::kInvlpgb),
                         [](const auto& info) {
                           return std::string(shootdown_mechanism_name(info.param));
                         });

// ---- kWait and wake ----

TEST(SmpSc, WaitSleepsUntilWokenAndAWakeBeforeTheWaitIsKept) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(smp_config(3, ShootdownMechanism::kIpi), program, vector, root);
  map_all(m);
  vector.on_kernel = [&](CpuId, const CoreOp& op, Cycles) {
    m.wake(static_cast<CpuId>(op.token));
    return Cycles{0};
  };
  program.ops[0] = {kernel(2), compute(500), kernel(1)};
  program.ops[1] = {wait_op(), load(kVa, 8, 1)};
  program.ops[2] = {compute(2000), wait_op(), compute(5)};
  m.run();
  ASSERT_EQ(program.done[1].size(), 1u);
  EXPECT_EQ(program.done[1][0].now, 500 + kWarmWalk + kRead) << "cpu1 woke at cpu0's 500";
  EXPECT_EQ(count(root, "cpu1.waits"), 1u);
  EXPECT_EQ(count(root, "cpu1.wait_cycles"), 500u);
  EXPECT_EQ(m.now(2), 2005u) << "the wake at 0 was kept for cpu2's later kWait";
  EXPECT_EQ(count(root, "cpu2.wait_cycles"), 0u);
}

// ---- determinism ----

// A 4-core run mixing stores, loads, shootdowns and waits, done twice in child processes (one
// elaboration per process): the statistics and every completion time must be identical.
std::string run_workload_once() {
  struct Dump : stats::Visitor {
    std::ostringstream out;
    void scalar(const std::string& p, const stats::Scalar& s) override {
      out << p << '=' << s.value() << '\n';
    }
    void distribution(const std::string& p, const stats::Distribution& d) override {
      out << p << '=' << d.count() << '/' << d.sum() << '/' << d.max() << '\n';
    }
    void formula(const std::string& p, const stats::Formula& f) override {
      out << p << '=' << f.value() << '\n';
    }
  };
  stats::Group root("");
  Script program;
  Vector vector;
  MachineConfig c = smp_config(4, ShootdownMechanism::kIpi);
  c.core.quantum_cycles = 300;
  Machine m(c, program, vector, root);
  PageTables pt = map_all(m);
  for (unsigned p = 1; p < 4; ++p) pt.map(kVa + p * kPageSize, kX + p, kMapped, kTableFlags);
  vector.on_kernel = [&](CpuId cpu, const CoreOp& op, Cycles) {
    m.advance(cpu, 100);
    m.shootdown(cpu, 0b1111 & ~(1ull << cpu), Invalidation::range(kPcid, kVa, kVa + op.token));
    return Cycles{0};
  };
  std::uint64_t x = 12345;
  for (CpuId cpu = 0; cpu < 4; ++cpu) {
    for (unsigned i = 0; i < 300; ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      const VirtAddr va = kVa + ((x >> 20) % 4) * kPageSize + ((x >> 30) % 512) * 8;
      switch ((x >> 40) % 8) {
        case 0: program.ops[cpu].push_back(kernel(1 + (x >> 50) % (3 * kPageSize))); break;
        case 1: program.ops[cpu].push_back(compute((x >> 45) % 700)); break;
        case 2: case 3: program.ops[cpu].push_back(load(va, 8, i)); break;
        default: program.ops[cpu].push_back(store(va, x, 8, i)); break;
      }
    }
  }
  m.run();
  Dump dump;
  root.accept(dump);
  for (CpuId cpu = 0; cpu < 4; ++cpu)
    for (const auto& d : program.done[cpu])
      dump.out << d.token << ':' << d.value << '@' << d.now << ' ';
  return dump.out.str();
}

std::string in_child(std::string (*f)()) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const std::string s = f();
    const char* p = s.data();
    for (std::size_t left = s.size(); left > 0;) {
      const ssize_t w = write(fds[1], p, left);
      if (w <= 0) _exit(2);
      p += w;
      left -= static_cast<std::size_t>(w);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t r; (r = read(fds[0], buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(r));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? out : "child failed";
}

TEST(SmpSc, SameConfigAndProgramGiveIdenticalResults) {
  const std::string a = in_child(run_workload_once);
  const std::string b = in_child(run_workload_once);
  ASSERT_NE(a, "child failed");
  EXPECT_GT(a.size(), 1000u);
  EXPECT_NE(a.find("interconnect.shootdowns="), std::string::npos);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace mmusim::machine
