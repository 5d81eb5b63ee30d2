// Several walks in flight per core (walker.max_walks, core.miss_window_ops; miss_window.h), on
// the SystemC core with small_config()'s hand-computable costs; and the batched program
// interface (next_batch, completed_batch) on the same cases. One Machine per process: ctest
// runs each TEST alone; the comparisons across settings run each setting in a child process.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "mmusim/machine/machine.h"
#include "page_tables.h"
#include "sc_test_support.h"

namespace mmusim::machine {
namespace {

using namespace testing;  // NOLINT: the test support helpers
using x86::kAccessed, x86::kDirty, x86::kPresent, x86::kRw, x86::kUser;
using x86::kTableFlags;

constexpr VirtAddr kVa = 0x0000000000601000ull;
constexpr Pfn kData = 30;
constexpr Pcid kPcid = 3;
constexpr unsigned kPages = 8;
constexpr x86::PteVal kMapped = kPresent | kRw | kUser | kAccessed | kDirty;

// small_config(): no paging-structure caches, A/D already set: a walk reads four levels.
constexpr Cycles kLookups = kL1 + kStlb;                 // 3: dTLB and STLB miss
constexpr Cycles kWalk = kWalkStart + 4 * kRead;          // 125: the walker's part
constexpr Cycles kMissLoad = kLookups + kWalk + kRead;   // 158: one missing load, alone

VirtAddr page(unsigned i) { return kVa + i * kPageSize; }
std::uint64_t value_of(unsigned i) { return 0x1000 + i; }

// kPages pages mapped (A and D set, tables with A set), page i holding value_of(i).
PageTables map_pages(Machine& m) {
  PageTables pt{m.memory()};
  for (unsigned i = 0; i < kPages; ++i) {
    pt.map(page(i), kData + i, kMapped, kTableFlags);
    m.memory().poke64(pfn_to_phys(kData + i), value_of(i));
  }
  m.write_cr3(0, pt.root(), kPcid, true);
  return pt;
}

MachineConfig config_with(unsigned max_walks, unsigned window_ops = 512) {
  MachineConfig c = small_config();
  c.walker.max_walks = max_walks;
  c.core.miss_window_ops = window_ops;
  return c;
}

std::vector<CoreOp> eight_missing_loads() {
  std::vector<CoreOp> ops;
  for (unsigned i = 0; i < kPages; ++i) ops.push_back(load(page(i), 8, i));
  return ops;
}

std::vector<Cycles> completion_times(const Script& program) {
  std::vector<Cycles> out;
  for (const auto& d : program.done.at(0)) out.push_back(d.now);
  return out;
}

void expect_values(const Script& program) {
  const auto& d = program.done.at(0);
  ASSERT_EQ(d.size(), kPages);
  for (unsigned i = 0; i < kPages; ++i) {
    EXPECT_EQ(d[i].token, i);
    EXPECT_EQ(d[i].value, value_of(i));
  }
}

// eight_missing_loads() run on cpu0 of a machine with `config` (values checked); the machine stays
// alive for its statistics.
template <class Program = Script>
struct EightMissingLoadsRun {
  explicit EightMissingLoadsRun(const MachineConfig& config)
      : m(config, program, vector, root) {
    map_pages(m);
    program.ops[0] = eight_missing_loads();
    m.run();
    expect_values(program);
  }
  stats::Group root{""};
  Program program;
  Vector vector;
  Machine m;
};

// One walker: each load waits for its walk, exactly the blocking model (8 x 158 cycles).
TEST(MissWindowSc, EightMissingLoadsOneWalkerRunBackToBack) {
  EightMissingLoadsRun<> run(config_with(1));
  const stats::Group& root = run.root;
  Script& program = run.program;
  std::vector<Cycles> want;
  for (unsigned i = 1; i <= kPages; ++i) want.push_back(i * kMissLoad);
  EXPECT_EQ(completion_times(program), want);
  EXPECT_EQ(count(root, "cpu0.cycles"), 8 * kMissLoad);  // 1264, ~8 walks
  EXPECT_EQ(count(root, "cpu0.walker.walks"), 8u);
  EXPECT_EQ(count(root, "cpu0.miss_window.overlapped_loads"), 0u);
  EXPECT_EQ(count(root, "cpu0.miss_window.walkers_busy_stalls"), 8u);
  EXPECT_EQ(count(root, "cpu0.miss_window.walkers_busy_stall_cycles"), 8 * kWalk);
  const stats::Distribution* d = distribution(root, "cpu0.miss_window.walks_in_flight");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->count(), 8u);
  EXPECT_EQ(d->max(), 1u);
}

// Two walkers. Load i: lookups 3, walk 125 on the walker free soonest, data 30 at the core; the
// odd loads find both walkers busy and wait 92 cycles. Issue times 0, 33, 158, 191, 316, ...
TEST(MissWindowSc, EightMissingLoadsTwoWalkersOverlapInPairs) {
  EightMissingLoadsRun<> run(config_with(2));
  const stats::Group& root = run.root;
  Script& program = run.program;
  EXPECT_EQ(completion_times(program),
            (std::vector<Cycles>{158, 191, 316, 349, 474, 507, 632, 665}));
  EXPECT_EQ(count(root, "cpu0.cycles"), 665u) << "~4 walks of 125 + issue costs";
  EXPECT_EQ(count(root, "cpu0.miss_window.overlapped_loads"), 8u);
  EXPECT_EQ(count(root, "cpu0.miss_window.walkers_busy_stalls"), 4u);
  EXPECT_EQ(count(root, "cpu0.miss_window.walkers_busy_stall_cycles"), 4 * 92u);
  EXPECT_EQ(count(root, "cpu0.miss_window.order_waits"), 1u) << "the program's end";
  EXPECT_EQ(count(root, "cpu0.miss_window.order_wait_cycles"), 665u - 632u);
  const stats::Distribution* d = distribution(root, "cpu0.miss_window.walks_in_flight");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->count(), 8u);
  EXPECT_EQ(d->sum(), 4 * 1u + 4 * 2u) << "1, 2, 1, 2, ...: each odd load's walk joins one";
}

// Four walkers (the default). Loads 0-3 start walks at 3, 36, 69, 102; load 3 takes the last
// walker and waits until 128; loads 4-6 reuse walkers as they free; load 7 waits again until 286.
TEST(MissWindowSc, EightMissingLoadsFourWalkersCostAboutTwoWalks) {
  EightMissingLoadsRun<> run(config_with(4));
  const stats::Group& root = run.root;
  Script& program = run.program;
  EXPECT_EQ(completion_times(program),
            (std::vector<Cycles>{158, 191, 224, 257, 316, 349, 382, 415}));
  EXPECT_EQ(count(root, "cpu0.cycles"), 415u) << "~2 walks of 125 + issue costs";
  EXPECT_EQ(count(root, "cpu0.walker.walks"), 8u);
  EXPECT_EQ(count(root, "cpu0.walker.pte_reads"), 32u) << "the same walks as with one walker";
  EXPECT_EQ(count(root, "cpu0.miss_window.overlapped_loads"), 8u);
  EXPECT_EQ(count(root, "cpu0.miss_window.walkers_busy_stalls"), 2u);
  EXPECT_EQ(count(root, "cpu0.miss_window.walkers_busy_stall_cycles"), 26u + 26u);
  EXPECT_EQ(count(root, "cpu0.miss_window.window_full_stalls"), 0u);
  EXPECT_EQ(count(root, "cpu0.miss_window.order_wait_cycles"), 415u - 316u);
  const stats::Distribution* d = distribution(root, "cpu0.miss_window.walks_in_flight");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->count(), 8u);
  EXPECT_EQ(d->sum(), 1u + 2 + 3 + 4 + 3 + 3 + 3 + 4);
  EXPECT_EQ(d->max(), 4u);
}

// A program handing out its operations three at a time (CoreProgram::next_batch) gets the run
// it gets one at a time: the four-walker case above, to the cycle.
struct BatchedScript : Script {
  unsigned calls = 0;
  unsigned next_batch(CpuId cpu, CoreOp* ops, unsigned max) override {
    ++calls;
    unsigned n = 0;
    while (n < 3 && n < max && next(cpu, ops[n])) ++n;
    return n;
  }
};
TEST(MissWindowSc, OperationsHandedOutInBatchesRunAsOneByOne) {
  EightMissingLoadsRun<BatchedScript> run(config_with(4));
  BatchedScript& program = run.program;
  EXPECT_EQ(completion_times(program),
            (std::vector<Cycles>{158, 191, 224, 257, 316, 349, 382, 415}));
  EXPECT_EQ(program.calls, 4u) << "3 + 3 + 2 operations, then the end";
}

// A program that watches no store visibility gets its completions in runs
// (CoreProgram::completed_batch), in order and with the times it would get one by one; never a
// store_visible(); and every completion before the next callback of its exception vector.
struct QuietBatchedScript : BatchedScript {
  std::vector<unsigned> runs;
  bool watches_store_visibility() const override { return false; }
  void completed_batch(CpuId cpu, const Completion* c, unsigned n) override {
    runs.push_back(n);
    BatchedScript::completed_batch(cpu, c, n);
  }
};
TEST(MissWindowSc, CompletionsInRunsForAProgramWatchingNoStores) {
  stats::Group root("");
  QuietBatchedScript program;
  Vector vector;
  Machine m(config_with(4), program, vector, root);
  map_pages(m);
  program.ops[0] = eight_missing_loads();
  program.ops[0].push_back(store(page(0) + 8, 0x77, 8, 100));
  program.ops[0].push_back(kernel(101));
  program.ops[0].push_back(load(page(0) + 8, 8, 102));
  std::size_t seen_at_kernel = 0;
  vector.on_kernel = [&](CpuId, const CoreOp&, Cycles) {
    seen_at_kernel = program.done[0].size();
    return Cycles{0};
  };
  m.run();
  const auto& d = program.done.at(0);
  ASSERT_EQ(d.size(), 10u);
  std::vector<Cycles> loads;
  for (unsigned i = 0; i < kPages; ++i) loads.push_back(d[i].now);
  EXPECT_EQ(loads, (std::vector<Cycles>{158, 191, 224, 257, 316, 349, 382, 415}))
      << "the same times as reported one by one";
  EXPECT_EQ(d[8].token, 100u);
  EXPECT_EQ(seen_at_kernel, 9u) << "the eight loads and the store, before the kernel entry";
  EXPECT_EQ(d[9].value, 0x77u) << "the load sees the store";
  EXPECT_TRUE(program.visible[0].empty()) << "no store_visible for a program not watching";
  EXPECT_EQ(m.memory().peek64(pfn_to_phys(kData) + 8), 0x77u) << "the store still drained";
  EXPECT_EQ(count(root, "cpu0.sb.stores_drained"), 1u);
  unsigned total = 0;
  for (const unsigned n : program.runs) total += n;
  EXPECT_EQ(total, 10u);
  EXPECT_LT(program.runs.size(), 10u) << "some completions came together";
}

// ...and before another core runs: whenever cpu1 asks for operations, cpu0 (which yields at
// every 40-cycle quantum) has reported every load it executed.
struct CrossCheckScript : QuietBatchedScript {
  const stats::Group* root = nullptr;
  unsigned checks = 0;
  unsigned next_batch(CpuId cpu, CoreOp* ops, unsigned max) override {
    if (cpu == 1) {
      ++checks;
      EXPECT_EQ(done[0].size(), count(*root, "cpu0.loads"));
    }
    return QuietBatchedScript::next_batch(cpu, ops, max);
  }
};
TEST(MissWindowSc, HeldCompletionsAreReportedBeforeOtherCoresRun) {
  stats::Group root("");
  CrossCheckScript program;
  program.root = &root;
  Vector vector;
  MachineConfig c = config_with(4);
  c.cores = 2;
  c.core.quantum_cycles = 40;
  Machine m(c, program, vector, root);
  PageTables pt = map_pages(m);
  m.write_cr3(1, pt.root(), kPcid, true);
  for (unsigned i = 0; i < 200; ++i) {
    program.ops[0].push_back(load(page(i % kPages) + 8 * (i % 512), 8, i));
    program.ops[1].push_back(compute(7));
  }
  m.run();
  EXPECT_EQ(program.done[0].size(), 200u);
  EXPECT_GT(program.checks, 20u);
}

// A window of one operation: a load may issue under one incomplete overlapped load, not two.
// Loads 2, 4 and 6 wait 92 cycles for the load two before them.
TEST(MissWindowSc, AWindowOfOneOperationLimitsTheOverlap) {
  EightMissingLoadsRun<> run(config_with(4, 1));
  const stats::Group& root = run.root;
  Script& program = run.program;
  EXPECT_EQ(completion_times(program),
            (std::vector<Cycles>{158, 191, 316, 349, 474, 507, 632, 665}));
  EXPECT_EQ(count(root, "cpu0.miss_window.window_full_stalls"), 3u);
  EXPECT_EQ(count(root, "cpu0.miss_window.window_full_stall_cycles"), 3 * 92u);
  EXPECT_EQ(count(root, "cpu0.miss_window.walkers_busy_stalls"), 0u);
}

// A fence waits for every overlapped load; so does a store (it retires in order, TSO), and a
// load whose walk must set A (a locked write-back). Four walkers.
TEST(MissWindowSc, FencesStoresAndADWritesWaitForOverlappedWalks) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(config_with(4), program, vector, root);
  PageTables pt = map_pages(m);
  pt.set(page(7), 1, x86::pfn_pte(kData + 7, kPresent | kRw | kUser | kDirty));  // A clear
  program.ops[0] = {load(page(0), 8, 0), load(page(1), 8, 1), fence(),
                    load(page(2), 8, 2), store(page(3), 5, 8, 3),
                    load(page(4), 8, 4), load(page(7), 8, 7)};
  m.run();
  const auto& d = program.done.at(0);
  ASSERT_EQ(d.size(), 6u);
  // load 0: walk 3..128, data until 33, done 158; load 1: walk 36..161, data until 66, done 191.
  EXPECT_EQ(d[0].now, 158u);
  EXPECT_EQ(d[1].now, 191u);
  // The fence waits until 191, then costs kFence: 221. Load 2: walk 224..349, done 379.
  EXPECT_EQ(d[2].now, 379u);
  // The store waits from 254 until 379, then walks blocking: 382 + 125 = 507.
  EXPECT_EQ(d[3].now, 507u);
  // Load 4 overlaps again: walk 510..635, data until 540, done 665.
  EXPECT_EQ(d[4].now, 665u);
  // Load 7's walk sets A: it waits until 665 after its lookups (543), then walks 125 + kWrite
  // and reads: 665 + 165 + 30.
  EXPECT_EQ(d[5].now, 665u + kWalk + kWrite + kRead);
  EXPECT_EQ(d[5].value, value_of(7));
  EXPECT_EQ(count(root, "cpu0.cycles"), 860u);
  EXPECT_EQ(count(root, "cpu0.miss_window.overlapped_loads"), 4u);
  EXPECT_EQ(count(root, "cpu0.miss_window.order_waits"), 3u) << "fence, store, A write";
  EXPECT_EQ(count(root, "cpu0.miss_window.order_wait_cycles"),
            (191u - 66u) + (379u - 254u) + (665u - 543u));
  EXPECT_EQ(count(root, "cpu0.walker.ad_writes"), 1u);
}

// ---- identical values and faults across settings; identical runs ----

// Stores, loads, fetches, fences, computes and faults over the eight pages (two start
// unmapped; the handler maps them), pseudo-random from a fixed seed. Returns what the program
// saw and the functional statistics (timing left out when `with_time` is false).
std::string mixed_run(unsigned max_walks, unsigned window_ops, bool with_time) {
  stats::Group root("");
  Script program;
  Vector vector;
  Machine m(config_with(max_walks, window_ops), program, vector, root);
  PageTables pt = map_pages(m);
  pt.set(page(5), 1, 0);
  pt.set(page(6), 1, 0);
  vector.on_fault = [&](CpuId, VirtAddr va, std::uint32_t, Cycles) {
    const unsigned i = static_cast<unsigned>((va - kVa) / kPageSize);
    pt.set(va, 1, x86::pfn_pte(kData + i, kPresent | kRw | kUser));
    return FaultReply{FaultOutcome::kRetry, 700};
  };
  vector.on_kernel = [&](CpuId cpu, const CoreOp& op, Cycles) {
    return m.invlpg(cpu, kPcid, page(static_cast<unsigned>(op.token % kPages)));
  };
  std::uint64_t x = 99;
  for (unsigned i = 0; i < 400; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const VirtAddr va = page(static_cast<unsigned>((x >> 20) % kPages)) + ((x >> 30) % 512) * 8;
    switch ((x >> 40) % 10) {
      case 0: program.ops[0].push_back(kernel(x >> 50)); break;
      case 1: program.ops[0].push_back(compute((x >> 45) % 200)); break;
      case 2: program.ops[0].push_back(fence()); break;
      case 3: case 4: program.ops[0].push_back(store(va, x, 8, i)); break;
      default: program.ops[0].push_back(load(va, 8, i)); break;
    }
  }
  m.run();
  std::ostringstream out;
  for (const auto& d : program.done.at(0)) {
    out << d.token << ':' << d.value << (d.aborted ? "!" : "");
    if (with_time) out << '@' << d.now;
    out << ' ';
  }
  out << "\nfaults:";
  for (const std::uint32_t ec : vector.error_codes) out << ' ' << ec;
  for (const char* s : {"cpu0.loads", "cpu0.stores", "cpu0.walker.walks", "cpu0.walker.pte_reads",
                        "cpu0.walker.ad_writes", "cpu0.dtlb.misses.load", "cpu0.stlb.misses.load",
                        "cpu0.sb.stores_drained"})
    out << '\n' << s << '=' << count(root, s);
  for (unsigned i = 0; i < kPages; ++i) {  // every word of the data pages
    std::uint64_t h = 0;
    for (unsigned w = 0; w < kPageSize / 8; ++w)
      h = h * 31 + m.memory().peek64(pfn_to_phys(kData + i) + 8 * w);
    out << '\n' << h;
  }
  if (with_time)
    out << "\noverlapped=" << count(root, "cpu0.miss_window.overlapped_loads")
        << "\ncycles=" << count(root, "cpu0.cycles");
  return out.str();
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
    _exit(::testing::Test::HasFailure() ? 3 : 0);
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

TEST(MissWindowSc, ValuesAndFaultsDoNotDependOnWalkersOrWindow) {
  const std::string one = in_child([] { return mixed_run(1, 512, false); });
  const std::string two = in_child([] { return mixed_run(2, 512, false); });
  const std::string four = in_child([] { return mixed_run(4, 512, false); });
  const std::string narrow = in_child([] { return mixed_run(4, 1, false); });
  ASSERT_NE(one, "child failed");
  EXPECT_NE(one.find("faults: "), std::string::npos) << "the run takes faults";
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, four);
  EXPECT_EQ(one, narrow);
  // ...while time does depend on them: more walkers, fewer cycles.
  const std::string t1 = in_child([] { return mixed_run(1, 512, true); });
  const std::string t4 = in_child([] { return mixed_run(4, 512, true); });
  const auto stat = [](const std::string& s, const std::string& name) {
    return std::stoull(s.substr(s.rfind(name + '=') + name.size() + 1));
  };
  EXPECT_LT(stat(t4, "cycles"), stat(t1, "cycles"));
  EXPECT_EQ(stat(t1, "overlapped"), 0u);
  EXPECT_GT(stat(t4, "overlapped"), 0u);
}

TEST(MissWindowSc, SameSettingsGiveIdenticalRunsIncludingTime) {
  const std::string a = in_child([] { return mixed_run(4, 8, true); });
  const std::string b = in_child([] { return mixed_run(4, 8, true); });
  ASSERT_NE(a, "child failed");
  EXPECT_NE(a.find('@'), std::string::npos);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace mmusim::machine
